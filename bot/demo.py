"""`switchboard demo`: a sample agency in a fresh SQLite database, end to end, offline."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from agents.pacing import evaluate
from bot.agent_runs import run_agents
from bot.console_views import alerts_table, pacing_table
from bot.runtime import Runtime
from bot.sample_agency import SCENARIOS, write_sample
from bot.settings import REPO_MANIFESTS
from store import alerts
from store.csv_import import import_dir
from store.engine import reading

EXAMPLE_MANIFEST = REPO_MANIFESTS / "agency.example.yaml"


def run_demo(console: Console, *, directory: Path | None, as_of: date | None) -> None:
    with ExitStack() as stack:
        keep = directory is not None
        if directory is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="switchboard-demo-"))
            )
        directory.mkdir(parents=True, exist_ok=True)
        database = directory / "switchboard.db"
        database.unlink(missing_ok=True)
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
            title="1. CSV import (one transaction, upserts by key)", title_justify="left"
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
        console.print(
            f"Database: {database}" if keep else "Database: (temporary; use --dir to keep it)"
        )
