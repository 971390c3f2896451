"""`switchboard sandbox`: start a session, say where to look, run until Ctrl-C."""

from __future__ import annotations

import signal
import tempfile
import threading
from pathlib import Path

from rich.console import Console

from switchboard.bot.sandbox.session import EXAMPLE_MANIFEST, Sandbox, SandboxOptions


def run_sandbox(
    console: Console, *, port: int, empty: bool, db: str | None, manifest: Path | None
) -> None:
    """Serve the sandbox on 127.0.0.1:`port` until SIGINT or SIGTERM, then stop it all.

    Raises what starting raises (a manifest or store that cannot be used, a port taken).
    """

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="switchboard-sandbox-") as folder:
        options = SandboxOptions(
            directory=Path(folder),
            port=port,
            empty=empty,
            db=db,
            manifest=manifest or EXAMPLE_MANIFEST,
        )
        with Sandbox(options) as sandbox:
            tz = sandbox.manifest.tz
            say(f"Switchboard sandbox for {sandbox.manifest.agency}: {sandbox.page_url}")
            if sandbox.sample_loaded is not None:
                say(
                    f"  the sample agency, on {sandbox.sample_loaded.astimezone(tz):%A %Y-%m-%d};"
                    " the clock starts at business hours"
                )
            elif not empty:
                say("  the store already holds data: the sample agency was not loaded")
            if db is None:
                say("  store: temporary (`switchboard --db FILE sandbox` keeps one)")
            else:
                say(f"  store: {sandbox.rt.settings.database_url}")
            say(f"  approved client mail is written to {sandbox.mail_dir}")
            say("Press Ctrl-C to stop.")
            stop.wait()
            say("stopping")
    say("stopped")
