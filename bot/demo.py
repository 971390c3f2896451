"""`switchboard demo`: a sample agency in a fresh SQLite database, end to end, offline."""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from switchboard.agents.pacing import evaluate
from switchboard.bot.agent_runs import run_agents
from switchboard.bot.app import create_app
from switchboard.bot.console_views import alerts_table, audit_table, pacing_table
from switchboard.bot.interactions import Worker
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.runtime import Runtime
from switchboard.bot.sample_agency import SCENARIOS, write_sample
from switchboard.bot.settings import BUNDLED_MANIFESTS, Settings
from switchboard.handlers.deferred import action_kind
from switchboard.handlers.owners import reassign_domain
from switchboard.handlers.refs import ActionId, AlertRef
from switchboard.store import alerts, audit
from switchboard.store.csv_import import import_dir
from switchboard.store.engine import reading

EXAMPLE_MANIFEST = BUNDLED_MANIFESTS / "agency.example.yaml"


def run_demo(console: Console, *, directory: Path | None, as_of: date | None) -> None:
    with ExitStack() as stack:
        keep = directory is not None
        if directory is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="switchboard-demo-"))
            )
        directory.mkdir(parents=True, exist_ok=True)
        database = directory / "switchboard.db"
        for stale in (database, directory / "switchboard.interactions.db"):
            stale.unlink(missing_ok=True)
        rt = Runtime(db_url=f"sqlite:///{database}", manifest_override=EXAMPLE_MANIFEST)
        as_of = as_of or rt.today()
        data_dir = directory / "data"
        write_sample(data_dir, as_of, rt.manifest.timezone)

        console.print(
            Panel.fit(
                f"[bold]{rt.manifest.agency}[/] sample agency · as of {as_of} "
                f"({rt.manifest.timezone}) · data through {as_of - timedelta(days=1)}",
                title="Switchboard demo",
            )
        )
        report = import_dir(rt.engine, data_dir, rt.manifest.tz)
        imported = Table(
            title="1. CSV import", title_justify="left", caption="one transaction, upserts by key"
        )
        imported.add_column("file")
        imported.add_column("rows", justify="right")
        for name, count in report.rows.items():
            imported.add_row(name, str(count))
        console.print(imported)

        with reading(rt.engine) as session:
            report = evaluate(session, as_of=as_of, thresholds=rt.manifest.pacing)
        table = pacing_table(report, notes=SCENARIOS)
        table.title = f"2. {table.title}: alerts on % deviation, cross-checked"
        console.print(table)

        now = rt.now()
        runs = run_agents(rt.engine, rt.manifest, as_of=as_of, now=now)
        again = run_agents(rt.engine, rt.manifest, as_of=as_of, now=now)
        console.print("3. Agents run: " + "; ".join(r.summary() for r in runs), highlight=False)
        console.print(
            "   Same date again: " + "; ".join(r.summary() for r in again), highlight=False
        )
        with reading(rt.engine) as session:
            stored = alerts.listing(session)
        table = alerts_table(stored, rt.manifest.tz)
        table.title = "   Stored alerts (suppressed ones are kept, with their reason)"
        console.print(table)
        show_slack(console, rt)
        with reading(rt.engine) as session:
            events = audit.recent(session, 6)
        table = audit_table(events, rt.manifest.tz)
        table.title = "5. Audit log: every change, in the same transaction as the change"
        console.print(table)
        console.print(
            f"Database: {database}" if keep else "Database: (temporary; use --dir to keep it)"
        )


class RecordingClient(WebClient):
    """The Web API for the offline demo: records each call and answers as Slack would."""

    def __init__(self) -> None:
        super().__init__(token="xoxb-demo")
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        args = {
            **(kwargs.get("params") or {}),
            **(kwargs.get("data") or {}),
            **(kwargs.get("json") or {}),
        }
        self.calls.append((api_method, args))
        ts = f"1700000000.{len(self.calls):06d}"
        return SlackResponse(
            client=self,
            http_verb="POST",
            api_url=api_method,
            req_args={},
            data={"ok": True, "ts": args.get("ts", ts), "channel": args.get("channel")},
            headers={},
            status_code=200,
        )


def _described(args: dict[str, Any]) -> str:
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    buttons = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    notes = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    shown = " ".join(f"[{name}]" for name in buttons) if buttons else "(no buttons)"
    return f"{args['text']} {shown}" + (f" / {notes[0]}" if notes else "")


class _PrintedRespond(Respond):
    """What the worker would post to a click's response_url, kept for the demo to print."""

    def __init__(self, response_url: str | None, answers: list[tuple[str, str]]) -> None:
        super().__init__(response_url=response_url)
        self.answers = answers

    def __call__(self, text: str | dict[str, Any] = "", **_kwargs: Any) -> Any:  # type: ignore[override]
        self.answers.append((self.response_url or "", str(text)))


def _click(action_id: str, ref: AlertRef, user: str, who: str) -> dict[str, Any]:
    """The parts of a Slack block_actions payload the listeners read."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "actions": [{"action_id": action_id, "value": ref.encode()}],
        "container": {"type": "message", "is_ephemeral": False},
        "response_url": who,
    }


def show_slack(console: Console, rt: Runtime) -> None:
    """Deliver the outbox to a recorder, then click Acknowledge as three different people."""
    client = RecordingClient()
    # The recorder is not Slack: no need to pace one message a second per channel.
    unpaced = OutboxPolicy(channel_interval=timedelta(0))
    outbox = Outbox(
        rt.engine, client, clock=rt.now, alerts_channel=rt.manifest.channels.alerts, policy=unpaced
    )
    offline = Settings(
        slack_bot_token=SecretStr("xoxb-demo"), slack_signing_secret=SecretStr("demo")
    )
    slack = create_app(
        offline,
        rt.engine,
        rt.manifest,
        clock=rt.now,
        interactions=rt.interactions,
        verify_token=False,
    )
    deps = slack.deps

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False)

    say("4. Slack, offline: the outbox delivers to an in-process recorder instead of Slack")
    outbox.drain()
    for method, args in client.calls:
        say(f"   {method} {args['channel']}: {_described(args)}")
    with reading(rt.engine) as session:
        first = alerts.listing(session)[0]
    people = [("a stranger", "U0NOBODY"), ("Ana, the owner", "U0AM"), ("Leo, her lead", "U0LEAD")]
    ref = AlertRef(alert_id=first.id)
    for who, user in people:
        deps.defer(action_kind(ActionId.ALERT_ACK), _click(ActionId.ALERT_ACK, ref, user, who))
        say(f"   {who} clicks Acknowledge on alert #{first.id}: recorded, acknowledged at once")
    answers: list[tuple[str, str]] = []
    worker = Worker(
        rt.interactions,
        slack.work,
        clock=rt.now,
        responder=lambda url: _PrintedRespond(url, answers),
    )
    worker.drain()
    say("   the worker applies the clicks in order and answers each person privately:")
    for who, text in answers:
        say(f"     to {who}: {text}")
    client.calls.clear()
    outbox.drain()
    for method, args in client.calls:
        say(f"   {method} {args['channel']}, re-rendered from the database: {_described(args)}")
    for who, user in [("Leo", "U0LEAD"), ("Maya, an admin", "U0ADMIN")]:
        outcome = reassign_domain(deps, "ad_performance", "U0LEAD", by=user)
        say(f"   {who}: /ops reassign ad_performance @Leo -> {outcome.text}")
