"""`switchboard demo`: a sample agency in a fresh SQLite database, end to end, offline."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from slack_sdk import WebClient

from switchboard.agents.pacing import evaluate
from switchboard.bot.agent_runs import run_agents
from switchboard.bot.console_views import alerts_table, audit_table, pacing_table
from switchboard.bot.interactions import InteractionRunner, Recorder
from switchboard.bot.outbox import Outbox, OutboxPolicy, SlackTransport
from switchboard.bot.runtime import Runtime
from switchboard.bot.sample_agency import SCENARIOS, write_sample
from switchboard.bot.settings import BUNDLED_MANIFESTS
from switchboard.bot.slack_standin import SlackStandIn
from switchboard.handlers import WORK
from switchboard.handlers.alerts import AckAlert
from switchboard.handlers.commands import Origin
from switchboard.handlers.owners import ReassignDomain
from switchboard.handlers.work import apply
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
        explore = (
            f"Database: {database}  (look around: switchboard --db {database} alerts)"
            if keep
            else "Database: (temporary; use --dir to keep it)"
        )
        console.print(
            f"{explore}\n\n"
            "Next:\n"
            "  switchboard init my-agency   a commented manifest and empty CSV files to fill in\n"
            "  docs/data.md                 every CSV file and column, with examples\n"
            "  docs/manifest.md             every manifest key: people, owners, thresholds\n"
            '  README.md, "Slack set-up"    create the Slack app and run `switchboard run`',
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _described(text: str, blocks: list[dict[str, Any]] | None) -> str:
    blocks = blocks or []
    buttons = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    notes = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    shown = " ".join(f"[{name}]" for name in buttons) if buttons else "(no buttons)"
    return f"{text} {shown}" + (f" / {notes[0]}" if notes else "")


def show_slack(console: Console, rt: Runtime) -> None:
    """Deliver the outbox to a local Slack stand-in, then click Acknowledge as three people."""

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False)

    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-demo", base_url=slack.api_url, retry_handlers=[])
        # The stand-in is not Slack: no need to pace one message a second per channel.
        outbox = Outbox(
            rt.engine,
            SlackTransport(client),
            clock=rt.now,
            alerts_channel=rt.manifest.channels.alerts,
            policy=OutboxPolicy(channel_interval=timedelta(0)),
        )
        say("4. Slack, offline: the outbox delivers to a local stand-in of Slack's Web API")
        outbox.drain()
        for call in slack.calls_to("chat.postMessage"):
            shown = _described(call.params["text"], SlackStandIn.blocks_of(call))
            say(f"   chat.postMessage {call.params['channel']}: {shown}")
        with reading(rt.engine) as session:
            first = alerts.listing(session)[0]
        record = Recorder(rt.interactions, clock=rt.now, wake=lambda: None)
        people = [
            ("a stranger", "U0NOBODY"),
            ("Ana, the owner", "U0AM"),
            ("Leo, her lead", "U0LEAD"),
        ]
        for n, (who, user) in enumerate(people):
            origin = Origin(user=user, asked_at=rt.now(), response_url=slack.response_url(f"p{n}"))
            record(AckAlert(origin=origin, alert_id=first.id), f"demo:{n}")  # type: ignore[arg-type]
            say(
                f"   {who} clicks Acknowledge on alert #{first.id}: recorded, "
                "then Slack is told the click arrived"
            )
        runner = InteractionRunner(
            queue=rt.interactions, store=rt.engine, manifest=rt.manifest, work=WORK, clock=rt.now
        )
        runner.drain()
        slack.reset()
        outbox.drain()
        say("   the worker applies the clicks in order and answers each person privately:")
        for call in slack.calls_to("response_url"):
            who = people[int(call.path.rsplit("/p", 1)[1])][0]
            say(f"     to {who}: {call.params['text']}")
        for call in slack.calls_to("chat.update"):
            shown = _described(call.params["text"], SlackStandIn.blocks_of(call))
            say(f"   chat.update {call.params['channel']}, re-rendered from the database: {shown}")
        for who, user in [("Leo", "U0LEAD"), ("Maya, an admin", "U0ADMIN")]:
            command = ReassignDomain(
                origin=Origin(user=user, asked_at=rt.now()), domain="ad_performance", to="U0LEAD"
            )
            [reply] = apply(
                rt.engine, rt.manifest, WORK[command.kind], command, now=rt.now(), reply_key=None
            )
            say(f"   {who}: /ops reassign ad_performance @Leo -> {reply.message.text}")
