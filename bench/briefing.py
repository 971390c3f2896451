"""Briefing benchmark: composing the morning briefing for a large agency on SQLite, with its chart.

A fresh SQLite file is created with `open_store` (schema migrated) and filled with the pacing
benchmark's agency (bench/pacing.py's `generate`: by default 2,000 accounts of 1,000 clients,
one month of spend), then extended with what the briefing reads besides pacing, through the
store's own functions and tables: agent levels and domain owners seeded from the example
manifest, open (and closed) escalations, pending (and decided) drafts with their inbound mail,
projects from two sources (accelo, the owning one, and asana) with conflicts and overdue ones,
the deadlines agent's shadow outputs and reviews, and a month of import records in which asana
stopped bringing rows (a stale source). Then, for the agency-local day 2026-04-01 at 08:30
(the manifest's briefing time), each run times:

- compose: `agents.briefing.compose(session, manifest, day=, now=)` in `reading(engine)`,
  session opening included;
- view: `handlers.views.briefing.briefing_view(briefing)`, the main message and the thread;
- chart: `bot.chart.render_chart(briefing.pacing, manifest.pacing)`, the PNG;
- total: the three in a row.

matplotlib (and its Agg backend) is imported once before the clock starts and its import
time is reported on its own. One warm-up run, then `--repeat` runs; each figure is the best
of them. The briefing is cross-checked against the generated data and Slack's limits.
See bench/README.md for the results.

    python bench/briefing.py [--accounts 2000] [--repeat 5] [--keep] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from pacing import AS_OF, generate  # bench/pacing.py, next to this file
from sqlalchemy import Engine, insert, select
from sqlmodel import Session

from switchboard.agents import deadlines
from switchboard.agents.briefing import Briefing, SectionKey, compose
from switchboard.bot.chart import render_chart
from switchboard.bot.runtime import seed
from switchboard.handlers.views.briefing import BriefingView, briefing_view
from switchboard.handlers.views.limits import MAX_BLOCKS, MAX_SECTION_TEXT, text_length
from switchboard.store import drafts, escalations, import_records, shadow
from switchboard.store.drafts import Draft, DraftState
from switchboard.store.engine import open_store, reading, transaction
from switchboard.store.manifest import AgencyManifest, load_manifest
from switchboard.store.shadow import ShadowOutput, ShadowVerdict
from switchboard.store.source_data import Client, InboundEmail, Project, ProjectStatus

DAY = AS_OF  # 2026-04-01, a Wednesday: pacing's data runs through the 31st
NOW = datetime(2026, 4, 1, 12, 30, tzinfo=UTC)  # 08:30 in New York: the briefing's cron
WEEK_ENDS = deadlines.week_end(DAY)
DEFAULT_ACCOUNTS = 2_000
SEED = 20260414
STALE_SINCE = date(2026, 3, 28)  # asana's last import with new rows: 4 days before DAY

TARGET_SECONDS = 2.0
MAX_MESSAGE_TEXT = 12_000  # Slack's ceiling for a message's text (the views keep 11,000)

PROJECT_KINDS = ("Website refresh", "Spring campaign", "Landing pages", "Tracking audit", "Q2 plan")
HEADLINES = ("over-pacing", "under-pacing", "three zero days", "no spend data for 2 days")


@dataclass(frozen=True)
class Extended:
    """What the generator added to pacing's agency: the counts the briefing should show."""

    open_escalations: int
    closed_escalations: int
    pending_drafts: int
    decided_drafts: int
    projects: int  # distinct project ids
    project_rows: int  # one per source and project
    conflicts: int
    overdue: int
    due_this_week: int
    shadow_outputs: int
    import_records: int
    stale_sources: list[str]
    seconds: float


@dataclass(frozen=True)
class Timing:
    compose: float
    view: float
    chart: float
    total: float  # the three in a row, from the session's opening to the PNG


@dataclass(frozen=True)
class Output:
    briefing: Briefing
    view: BriefingView
    png: bytes


# --- the agency beyond pacing ------------------------------------------------------------------


def _escalations(
    session: Session, rng: random.Random, manifest: AgencyManifest, clients: list[Client]
) -> tuple[int, int]:
    """Open escalations (and some closed ones) under the pacing agent's policy."""
    policy = [level.model_dump() for level in manifest.escalation_policies["spend"]]
    opened = closed = 0
    for n in range(max(len(clients) // 20, 3)):  # 50 for 1,000 clients
        client = rng.choice(clients)
        created = NOW - timedelta(minutes=rng.randint(20, 6 * 24 * 60))
        escalation = escalations.open_new(
            session,
            subject=f"alert:{n + 1}",
            domain="ad_performance",
            policy_name="spend",
            policy=policy,
            context={"headline": f"{client.name}: {rng.choice(HEADLINES)}", "details": []},
            first_step_at=created,
            actor="agent:pacing",
            now=created,
        )
        assert escalation is not None and escalation.id is not None
        escalation.level = rng.randint(1, len(policy))
        if rng.random() < 0.2:
            escalations.acknowledge(session, escalation.id, by="U0AM", now=created)
            closed += 1
        else:
            opened += 1
    return opened, closed


def _drafts(session: Session, rng: random.Random, clients: list[Client]) -> tuple[int, int]:
    """Inbound mail with a draft reply each: most waiting for approval, some decided."""
    pending = decided = 0
    for n in range(max(len(clients) // 25, 3)):  # 40 for 1,000 clients
        client = rng.choice(clients)
        received = NOW - timedelta(minutes=rng.randint(30, 3 * 24 * 60))
        message_id = f"<bench-{n}@{client.client_id.lower()}.example>"
        session.add(
            InboundEmail(
                message_id=message_id,
                client_id=client.client_id,
                from_email=client.email or "ops@client.example",
                subject=f"Question about the {rng.choice(PROJECT_KINDS).lower()}",
                body="Could you tell us where things stand? Thanks.",
                received_at=received,
            )
        )
        session.flush()
        draft = drafts.add_draft(
            session,
            Draft(
                inbound_message_id=message_id,
                client_id=client.client_id,
                subject=f"Re: Question about the {rng.choice(PROJECT_KINDS).lower()}",
                body="Thanks for asking: here is where things stand.",
                prompt_version="bench",
                drafter="offline-template",
                state=DraftState.PENDING,
                created_at=received + timedelta(minutes=2),
            ),
            actor="agent:drafting",
            now=received + timedelta(minutes=2),
        )
        if rng.random() < 0.25:
            drafts.approve(session, draft, text=draft.body, by="U0LEAD", now=NOW, edited=False)
            decided += 1
        else:
            pending += 1
    return pending, decided


def _projects(
    rng: random.Random, clients: list[Client]
) -> tuple[list[dict[str, Any]], int, int, int, int]:
    """Rows for accelo (the owning source) and asana: about two projects per client, asana
    holding ~70% of them (~4% of those disagreeing) and ~5% only its own. Open projects are
    mostly due in April to July, a few late in March (overdue)."""
    rows: list[dict[str, Any]] = []
    conflicts = overdue = due_week = 0
    n = 0
    for client in clients:
        for _ in range(rng.choice((1, 2, 3))):
            n += 1
            status = rng.choices(list(ProjectStatus), weights=(75, 17, 8))[0]
            if status is ProjectStatus.DONE:
                due = date(2026, 3, 1) + timedelta(days=rng.randrange(31))
            elif rng.random() < 0.03:
                due = date(2026, 3, 18) + timedelta(days=rng.randrange(14))
            else:
                due = DAY + timedelta(days=rng.randrange(120))
            project = {
                "project_id": f"P{n:06d}",
                "client_id": client.client_id,
                "name": f"{rng.choice(PROJECT_KINDS)} {n}",
                "due_date": due,
                "status": status,
            }
            in_accelo = rng.random() >= 0.05
            in_asana = not in_accelo or rng.random() < 0.70
            disagrees = in_accelo and in_asana and rng.random() < 0.04
            if in_accelo:
                rows.append({"source": "accelo", **project})
            if in_asana:
                other = dict(project)
                if disagrees:
                    if rng.random() < 0.7:
                        other["due_date"] = due + timedelta(days=rng.choice((-7, -3, 2, 5, 14)))
                    else:
                        other["status"] = rng.choice([s for s in ProjectStatus if s is not status])
                rows.append({"source": "asana", **other})
            # What the briefing should count (the truth is accelo's row when it has one).
            if disagrees and not (status is other["status"] is ProjectStatus.DONE):
                conflicts += 1
            if status is not ProjectStatus.DONE and due < DAY:
                overdue += 1
            elif status is not ProjectStatus.DONE and due <= WEEK_ENDS:
                due_week += 1
    return rows, n, conflicts, overdue, due_week


def _shadow_outputs(session: Session, rng: random.Random) -> int:
    """The deadlines agent (in shadow since 2026-03-02): outputs, most of them reviewed."""
    count = 30
    for n in range(count):
        at = datetime(2026, 3, 3, 14, tzinfo=UTC) + timedelta(hours=n * 21)
        output = shadow.add_output(
            session,
            ShadowOutput(
                key=f"bench:deadlines:{n}",
                agent="deadlines",
                kind="escalation",
                what=f"escalate overdue project P{n:06d}",
                for_whom="DM to the domain owner",
                why="due date passed, project still open",
                created_at=at,
            ),
        )
        assert output is not None
        if n < 24:
            verdict = ShadowVerdict.AGREE if rng.random() < 0.85 else ShadowVerdict.DISAGREE
            shadow.review(session, output, reviewer="U0LEAD", verdict=verdict, note=None, now=at)
    return count


def _import_records(
    session: Session, manifest: AgencyManifest, accounts: int, projects: int
) -> int:
    """A month of daily imports at 06:00 agency time; asana brings nothing after STALE_SINCE."""
    written = 0
    day = date(2026, 3, 2)
    while day <= DAY:
        at = datetime(day.year, day.month, day.day, 6, tzinfo=manifest.tz).astimezone(UTC)
        new_rows = {
            ("spend.csv", "google_ads"): accounts // 2,
            ("spend.csv", "meta_ads"): accounts // 2,
            ("projects.csv", "accelo"): max(projects // 40, 1),
            ("projects.csv", "asana"): max(projects // 60, 1) if day <= STALE_SINCE else 0,
            ("inbox.csv", "inbox"): 3,
        }
        if day.day == 1:  # the agency's own lists change at the start of a month
            new_rows.update({("clients.csv", None): 5, ("budgets.csv", None): accounts})
        import_records.record(session, new_rows, now=at, tz=manifest.tz)
        written += sum(1 for n in new_rows.values() if n > 0)
        day += timedelta(days=1)
    return written


def extend(engine: Engine, manifest: AgencyManifest, accounts: int) -> Extended:
    """Add, in one transaction, everything besides pacing that the briefing reads."""
    started = time.perf_counter()
    rng = random.Random(SEED + accounts)
    seed(engine, manifest, now=datetime(2026, 3, 1, tzinfo=UTC))
    with transaction(engine) as session:
        clients = list(session.scalars(select(Client).order_by(Client.client_id)))
        opened, closed = _escalations(session, rng, manifest, clients)
        pending, decided = _drafts(session, rng, clients)
        rows, projects, conflicts, overdue, due_week = _projects(rng, clients)
        session.execute(insert(Project.__table__), rows)
        outputs = _shadow_outputs(session, rng)
        records = _import_records(session, manifest, accounts, projects)
    return Extended(
        open_escalations=opened,
        closed_escalations=closed,
        pending_drafts=pending,
        decided_drafts=decided,
        projects=projects,
        project_rows=len(rows),
        conflicts=conflicts,
        overdue=overdue,
        due_this_week=due_week,
        shadow_outputs=outputs,
        import_records=records,
        stale_sources=["asana"],
        seconds=time.perf_counter() - started,
    )


# --- measurement -------------------------------------------------------------------------------


def import_matplotlib() -> float:
    """Import what `render_chart` imports lazily, so that no timed run pays for it."""
    started = time.perf_counter()
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401

    return time.perf_counter() - started


def run_once(engine: Engine, manifest: AgencyManifest) -> tuple[Timing, Output]:
    started = time.perf_counter()
    with reading(engine) as session:
        briefing = compose(session, manifest, day=DAY, now=NOW)
    composed = time.perf_counter()
    view = briefing_view(briefing)
    viewed = time.perf_counter()
    assert briefing.pacing is not None
    png = render_chart(briefing.pacing, manifest.pacing)
    charted = time.perf_counter()
    timing = Timing(composed - started, viewed - composed, charted - viewed, charted - started)
    return timing, Output(briefing, view, png)


def best_runs(
    run: Callable[[], tuple[Timing, Output]], repeat: int
) -> tuple[Timing, Timing, Output]:
    """One warm-up, then `repeat` runs: (the best of each figure, each from its own run; the
    run with the best total; the last output)."""
    _, output = run()
    timings = []
    for _ in range(repeat):
        gc.collect()
        timing, output = run()
        timings.append(timing)
    best = Timing(
        compose=min(t.compose for t in timings),
        view=min(t.view for t in timings),
        chart=min(t.chart for t in timings),
        total=min(t.total for t in timings),
    )
    return best, min(timings, key=lambda t: t.total), output


def message_text(blocks: list[Any]) -> int:
    return sum(text_length(block) for block in blocks)


def cross_check(output: Output, extended: Extended) -> list[tuple[str, bool]]:
    """The briefing shows what was generated, and every message is within Slack's limits."""
    briefing, view = output.briefing, output.view
    counts = {s.key: len(s.items) for s in briefing.sections}
    expected = {
        SectionKey.ESCALATIONS: extended.open_escalations,
        SectionKey.DRAFTS: extended.pending_drafts,
        SectionKey.DEADLINES: extended.overdue + extended.due_this_week,
        SectionKey.CONFLICTS: extended.conflicts,
    }
    checks = [
        (
            f"{key.value}: {counts[key]:,} items, generated {want:,}",
            counts[key] == want,
        )
        for key, want in expected.items()
    ]
    stale = [i.source for i in briefing.section(SectionKey.STALE_SOURCES).items]
    checks.append((f"stale sources: {stale}", stale == extended.stale_sources))
    empty = [s.key.value for s in briefing.sections if not s.items]
    checks.append((f"every section has items (empty: {empty or 'none'})", not empty))
    main_blocks = view.main.payload()["blocks"]
    checks.append(
        (f"main message: {len(main_blocks)} blocks (at most {MAX_BLOCKS})", len(main_blocks) <= 50)
    )
    messages = [view.main, *view.thread]
    most_blocks = max(len(m.blocks) for m in view.thread) if view.thread else 0
    checks.append(
        (
            f"thread: {len(view.thread)} replies, at most {most_blocks} blocks each",
            most_blocks <= MAX_BLOCKS,
        )
    )
    longest = max(len(b.text.text) for m in messages for b in m.blocks if getattr(b, "text", None))
    checks.append(
        (
            f"longest block text {longest:,} characters (at most {MAX_SECTION_TEXT:,})",
            longest <= MAX_SECTION_TEXT,
        )
    )
    most_text = max(message_text(list(m.blocks)) for m in messages)
    checks.append(
        (
            f"largest message {most_text:,} characters of blocks (under {MAX_MESSAGE_TEXT:,})",
            most_text < MAX_MESSAGE_TEXT,
        )
    )
    checks.append(
        (f"chart: a PNG of {len(output.png):,} bytes", output.png.startswith(b"\x89PNG\r\n"))
    )
    return checks


def print_profile(engine: Engine, manifest: AgencyManifest, top: int = 30) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run_once, engine, manifest)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\ncProfile of one run (compose, view, chart):\n{out.getvalue()}", file=sys.stderr)


# --- report ------------------------------------------------------------------------------------


def table(best: Timing, fastest: Timing) -> str:
    rows = [
        ("compose", best.compose, fastest.compose),
        ("view", best.view, fastest.view),
        ("chart", best.chart, fastest.chart),
        ("total", best.total, fastest.total),
    ]
    lines = [
        "| phase | best (s) | in the fastest run (s) |",
        "|---|---:|---:|",
        *(f"| {name} | {b:.3f} | {f:.3f} |" for name, b, f in rows),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts",
        type=int,
        default=DEFAULT_ACCOUNTS,
        help="ad accounts, one client per two (default: 2000)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after the warm-up")
    parser.add_argument("--keep", action="store_true", help="keep the generated SQLite file")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of one run to stderr"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.accounts < 2:
        parser.error("--accounts must be at least 2")

    manifest = load_manifest(Path(str(files("switchboard.manifests"))) / "agency.example.yaml")
    directory = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    path = directory / f"briefing-{args.accounts}.sqlite"
    engine = open_store(f"sqlite:///{path}")
    try:
        generated = generate(engine, path, args.accounts)
        extended = extend(engine, manifest, args.accounts)
        matplotlib_s = import_matplotlib()
        best, fastest, output = best_runs(lambda: run_once(engine, manifest), args.repeat)
        if args.profile:
            print_profile(engine, manifest)
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept: {path}")
        else:
            shutil.rmtree(directory, ignore_errors=True)

    briefing, view = output.briefing, output.view
    report = briefing.pacing
    assert report is not None
    e = extended
    print(
        f"{args.accounts:,} accounts, {generated.clients:,} clients: pacing data "
        f"({generated.spend_rows:,} spend rows) in {generated.seconds:.1f} s; then "
        f"{e.open_escalations} open and {e.closed_escalations} closed escalations, "
        f"{e.pending_drafts} pending and {e.decided_drafts} decided drafts, {e.projects:,} "
        f"projects ({e.project_rows:,} rows from accelo and asana), {e.shadow_outputs} shadow "
        f"outputs, {e.import_records} import records in {e.seconds:.1f} s"
    )
    statuses = Counter(a.status.value for a in report.accounts)
    print(
        f"briefing {DAY} at {NOW:%H:%M} UTC: {len(report.accounts):,} accounts paced ("
        + ", ".join(f"{s} {n:,}" for s, n in sorted(statuses.items()))
        + "); items: "
        + ", ".join(f"{s.key.value} {len(s.items):,}" for s in briefing.sections)
    )
    print(
        f"view: {len(view.main.blocks)} blocks in the channel, {len(view.thread)} thread "
        f"replies ({sum(len(m.blocks) for m in view.thread):,} blocks); chart "
        f"{len(output.png):,} bytes; matplotlib imported in {matplotlib_s:.2f} s (not timed)"
    )
    print(f"\nbest of {args.repeat} after one warm-up\n")
    print(table(best, fastest))
    print()
    checks = [
        (
            f"{args.accounts:,} accounts ({generated.clients:,} clients) composed, viewed and "
            f"charted under {TARGET_SECONDS:.0f} s: {fastest.total:.2f} s",
            fastest.total < TARGET_SECONDS,
        ),
        *cross_check(output, extended),
    ]
    for line, ok in checks:
        print(f"- {'met' if ok else 'MISSED'}: {line}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
