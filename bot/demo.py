"""`switchboard demo`: a day at a sample agency, end to end, offline.

The real importer, agents, tick, interaction queue and outbox run on a simulated clock; Slack
is a local stand-in, and every message it receives is printed as a person would read it.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import tempfile
from contextlib import ExitStack
from datetime import date, datetime, time, timedelta
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import select

from switchboard.agents.coordination import check
from switchboard.agents.escalation_policy import BusinessCalendar
from switchboard.agents.pacing import evaluate
from switchboard.bot.check_command import report
from switchboard.bot.console_views import alerts_table, audit_table, load_names, pacing_table
from switchboard.bot.demo_world import DemoWorld, SimulatedClock
from switchboard.bot.runtime import Runtime
from switchboard.bot.sample_agency import SCENARIOS, write_sample
from switchboard.bot.settings import BUNDLED_MANIFESTS
from switchboard.bot.slack_standin import SlackStandIn
from switchboard.handlers.alerts import AckAlert
from switchboard.handlers.autonomy import PromoteAgent, ReviewShadow
from switchboard.handlers.drafts import ApproveDraft
from switchboard.handlers.escalations import AckEscalation
from switchboard.handlers.owners import ReassignDomain
from switchboard.store import alerts, audit, drafts, escalations
from switchboard.store.alerts import AlertState
from switchboard.store.csv_import import import_dir
from switchboard.store.drafts import sha256
from switchboard.store.engine import reading
from switchboard.store.escalations import EscalationStatus
from switchboard.store.manifest import read_manifest_yaml
from switchboard.store.shadow import ShadowOutput, ShadowVerdict

EXAMPLE_MANIFEST = BUNDLED_MANIFESTS / "agency.example.yaml"


def demo_day(requested: date, calendar: BusinessCalendar) -> date:
    """The day the demo plays: `requested`, or the next business day if it is not one."""
    morning = datetime.combine(requested, time(0), tzinfo=calendar.tz)
    return calendar.next_open(morning).date()


def run_demo(console: Console, *, directory: Path | None, as_of: date | None) -> None:
    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False)

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
        clock = SimulatedClock(datetime.now().astimezone())
        rt = Runtime(
            db_url=f"sqlite:///{database}", manifest_override=EXAMPLE_MANIFEST, clock=clock
        )
        stack.callback(rt.close)
        calendar = BusinessCalendar.of(rt.manifest)
        requested = as_of or rt.today()
        day = demo_day(requested, calendar)
        start = calendar.next_open(datetime.combine(day, time(0), tzinfo=rt.manifest.tz))
        clock.now = start
        data_dir = directory / "data"
        write_sample(data_dir, day, rt.manifest.timezone)

        moved = "" if day == requested else f" ({requested} is not a business day)"
        console.print(
            Panel.fit(
                f"{rt.manifest.agency} sample agency · {day:%A %Y-%m-%d}{moved} · "
                f"{rt.manifest.timezone} · data through {day - timedelta(days=1)}",
                title="Switchboard demo",
            ),
            markup=False,
        )
        # The demo's day is its today: spend is dated up to it, whatever the real date.
        report = import_dir(rt.engine, data_dir, rt.manifest.tz, now=rt.now(), today=day)
        imported = Table(
            title="1. CSV import", title_justify="left", caption="one transaction, upserts by key"
        )
        imported.add_column("file")
        imported.add_column("rows", justify="right")
        for name, count in report.rows.items():
            imported.add_row(name, str(count))
        console.print(imported)

        with reading(rt.engine) as session:
            pacing = evaluate(session, as_of=day, thresholds=rt.manifest.pacing)
            names = load_names(session, rt.manifest)
        table = pacing_table(pacing, notes=SCENARIOS, names=names)
        table.title = f"2. Pacing as of {day}: alerts on % deviation, cross-checked"
        console.print(table)

        with SlackStandIn() as slack:
            world = DemoWorld(rt, clock, slack, console, directory / "mail")
            morning(world, say)
            clicks(world, say)
            client_mail(world)
            later(world, say, at=start + timedelta(hours=2))
            shadow_mode(world)
            if keep:
                written = write_messages(world, directory)

        with reading(rt.engine) as session:
            events = audit.recent(session, 8)
            names = load_names(session, rt.manifest)
        table = audit_table(events, rt.manifest.tz, names=names)
        table.title = "9. Audit log: every change, in the same transaction as the change"
        console.print(table)
        coordination_check(console, now=clock())
        explore = (
            f"Database: {database}  (look around: switchboard --db {database} alerts)\n"
            f"Messages: {written} Block Kit files in {directory / 'messages'} (paste one into "
            "Block Kit Builder), the chart in the same folder"
            if keep
            else "Database and messages: (temporary; use --dir DIR to keep them)"
        )
        console.print(
            f"{explore}\n\n"
            "Next:\n"
            "  switchboard sandbox          the same agency in your browser: click, type /ops\n"
            "  switchboard init my-agency   a commented manifest and empty CSV files to fill in\n"
            "  docs/data.md                 every CSV file and column, with examples\n"
            "  docs/manifest.md             every manifest key: people, owners, thresholds\n"
            '  README.md, "Slack set-up"    create the Slack app and run `switchboard run`',
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def coordination_check(console: Console, *, now: datetime) -> None:
    """`switchboard check` on the example manifest, then on a copy with a dollar threshold."""
    console.print(
        "10. switchboard check: the manifest's coordination score (exit 1 on any gap, for CI)",
        markup=False,
        highlight=False,
    )
    data = read_manifest_yaml(EXAMPLE_MANIFEST)
    example = check(data, source=EXAMPLE_MANIFEST.name, now=now)
    data["pacing"]["over_usd"] = 500
    tweaked = check(data, source=EXAMPLE_MANIFEST.name, now=now)
    for result, source in ((example, EXAMPLE_MANIFEST.name), (tweaked, "with over_usd: 500")):
        console.print(report(result, source=source, indent="   "), soft_wrap=True)


def morning(world: DemoWorld, say: object) -> None:
    print_ = world.console.print
    print_(
        f"3. {world.clock():%H:%M}, the scheduler's tick: the agents run (deadlines in shadow), "
        "alerts are posted, each alert's escalation reaches its owner, and the morning briefing "
        "(due at 08:30, posted late once the day opens)",
        markup=False,
        highlight=False,
    )
    report = world.tick()
    for run in report.agent_runs:
        print_(f"   {run.summary()}", markup=False, highlight=False)
    world.show_new()
    with reading(world.rt.engine) as session:
        suppressed = [a for a in alerts.listing(session) if a.state is AlertState.SUPPRESSED]
        names = load_names(session, world.rt.manifest)
    table = alerts_table(suppressed, world.rt.manifest.tz, names=names)
    table.title = "   Held back by a cross-check (kept, with the reason; nobody is paged)"
    print_(table)


def clicks(world: DemoWorld, say: object) -> None:
    print_ = world.console.print
    with reading(world.rt.engine) as session:
        first = next(a for a in alerts.listing(session) if a.state is AlertState.OPEN)
    print_(
        f"4. Three people click Acknowledge on alert #{first.id}; each click is recorded "
        "before Slack is told it arrived, then applied in order",
        markup=False,
        highlight=False,
    )
    for who, user in (
        ("a stranger", "U0NOBODY"),
        ("Ana, the owner", "U0AM"),
        ("Leo, her lead", "U0LEAD"),
    ):
        print_(f"   {who} clicks:", markup=False, highlight=False)
        world.click(user, lambda origin: AckAlert(origin=origin, alert_id=first.id))  # type: ignore[arg-type]
        world.show_new(indent="     ")
    print_(
        "5. /ops reassign ad_performance @Leo, asked by Leo, then by Maya (an admin)",
        markup=False,
        highlight=False,
    )
    for user in ("U0LEAD", "U0ADMIN"):
        world.click(
            user, lambda origin: ReassignDomain(origin=origin, domain="ad_performance", to="U0LEAD")
        )
        world.show_new()


def client_mail(world: DemoWorld) -> None:
    """An approver approves a draft; the worker sends exactly that text (here, to a file)."""
    print_ = world.console.print
    with reading(world.rt.engine) as session:
        draft = drafts.listing(session)[0]
    shown = sha256(draft.body)  # the hash of the text on the approver's screen
    print_(
        f"6. Client email: Ana, then Maya (an approver) click Approve on draft #{draft.id}; "
        "the worker sends exactly the approved text",
        markup=False,
        highlight=False,
    )
    for user in ("U0AM", "U0ADMIN"):
        world.click(
            user,
            lambda origin: ApproveDraft(origin=origin, draft_id=draft.id, text_sha256=shown),  # type: ignore[arg-type]
        )
        world.show_new()
    for path in sorted(world.mail_dir.glob("*.eml")):
        sent = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        print_(
            f"   {path.name}, written by the file backend (EMAIL_BACKEND=smtp sends it):",
            markup=False,
            highlight=False,
        )
        for header in ("From", "To", "Subject", "In-Reply-To", "Message-ID"):
            print_(f"     {header}: {sent[header]}", markup=False, highlight=False)
        for line in sent.get_content().strip().splitlines():  # type: ignore[attr-defined]
            print_(f"     | {line}", markup=False, highlight=False)


def later(world: DemoWorld, say: object, *, at: datetime) -> None:
    print_ = world.console.print
    print_(
        f"7. Until {at:%H:%M}, a tick every half hour: escalations nobody acknowledged reach "
        "the owner's lead",
        markup=False,
        highlight=False,
    )
    moment = world.clock()
    while moment < at:
        moment = min(moment + timedelta(minutes=30), at)
        world.at(moment)
        world.tick()
        world.show_new("     ", heading=f"   {moment:%H:%M}")
    with reading(world.rt.engine) as session:
        waiting = [e for e in escalations.listing(session) if e.status is EscalationStatus.OPEN]
    if not waiting:
        return
    escalation = waiting[0]
    print_(
        f"   Leo clicks Acknowledge in his DM for escalation #{escalation.id}: it stops, its "
        "alert is acknowledged too, and every message is re-rendered",
        markup=False,
        highlight=False,
    )
    world.click(
        "U0LEAD",
        lambda origin: AckEscalation(origin=origin, escalation_id=escalation.id),  # type: ignore[arg-type]
    )
    world.show_new()


def shadow_mode(world: DemoWorld) -> None:
    """The deadlines agent is in shadow: its would-be escalation is reviewed; it cannot be
    promoted until its numbers are met."""
    print_ = world.console.print
    with reading(world.rt.engine) as session:
        first = session.scalars(select(ShadowOutput).order_by(ShadowOutput.id)).first()
    if first is None:
        return
    print_(
        f"8. Shadow mode: the deadlines agent has not earned trust yet, so its escalation of "
        f"an overdue project went to #shadow only (output #{first.id}, at 09:00). Leo, who "
        "owns project_status, clicks Agree; Maya tries /ops promote deadlines",
        markup=False,
        highlight=False,
    )
    world.click(
        "U0LEAD",
        lambda origin: ReviewShadow(origin=origin, output_id=first.id, verdict=ShadowVerdict.AGREE),  # type: ignore[arg-type]
    )
    world.click("U0ADMIN", lambda origin: PromoteAgent(origin=origin, agent="deadlines"))
    world.show_new()


def write_messages(world: DemoWorld, directory: Path) -> int:
    """Each message as a Block Kit JSON file (`{"blocks": [...]}`, what Block Kit Builder
    takes), and each uploaded file, under `directory/messages`; how many messages."""
    folder = directory / "messages"
    folder.mkdir(exist_ok=True)
    for stale in [*folder.glob("[0-9][0-9][0-9]-*.json"), *folder.glob("pacing-*.png")]:
        stale.unlink()  # an earlier demo's files; anything else there is left alone
    messages = world.messages()
    for n, (where, blocks) in enumerate(messages, 1):
        slug = re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")
        (folder / f"{n:03d}-{slug}.json").write_text(json.dumps({"blocks": blocks}, indent=2))
    for name, data in world.files().items():
        (folder / Path(name).name).write_bytes(data)
    return len(messages)
