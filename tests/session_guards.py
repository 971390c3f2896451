"""Guards for the whole test run, loaded by tests/conftest.py (a plugin, so a test can load it
alone in a child pytest: tests/test_session_guards.py).

- No test thread or child process outlives the session. A non-daemon thread still alive at
  the end would keep the interpreter from exiting after pytest's summary (a CI run that never
  ends); such a thread fails the run, named, and the process exits anyway.
- A teardown that hangs dumps every thread's stack and ends the run (`teardown_timeout`).
- The repository's folders are imported as `switchboard.*` only: a bare `import store` would
  load a second copy of every model beside `switchboard.store`'s.

Nothing here imports the application: the guards must not depend on what they guard.
"""

from __future__ import annotations

import faulthandler
import importlib.abc
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Generator, Sequence
from types import ModuleType
from typing import IO, Any

import pytest

# Seconds that threads still finishing (a server's last request, a worker's last beat) get
# to end on their own before they count as leaked (ini `leak_grace`).
LEAK_GRACE = 5.0
# Top-level names of the repository's folders; installed, they are `switchboard.<name>`.
BARE_PACKAGES = ("store", "bot", "agents", "handlers", "manifests")

_leaks = pytest.StashKey[list[str]]()
_exit_status = pytest.StashKey[int]()
_fault_file = pytest.StashKey[IO[str]]()


class BareImportGuard(importlib.abc.MetaPathFinder):
    """Refuses `import store` (and bot, agents, handlers, manifests), remembering who asked."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        if path is None and fullname in BARE_PACKAGES:
            caller = next(
                (
                    f"{frame.filename}:{frame.lineno}"
                    for frame in reversed(traceback.extract_stack())
                    if "importlib" not in frame.filename and frame.filename != __file__
                ),
                "?",
            )
            self.attempts.append(f"`import {fullname}` at {caller}")
            raise ImportError(
                f"bare `import {fullname}`: the package is `switchboard.{fullname}` "
                f"(a second copy would hold different model classes)",
                name=fullname,
            )
        return None


BARE_IMPORTS = BareImportGuard()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "teardown_timeout",
        "Seconds a test's teardown may take before every thread's stack is dumped and the "
        "run ends (0: no limit).",
        default="60",
    )
    parser.addini(
        "leak_grace",
        "Seconds threads and child processes get to end after the session before they "
        "count as leaked.",
        default=str(LEAK_GRACE),
    )


def pytest_configure(config: pytest.Config) -> None:
    sys.meta_path.insert(0, BARE_IMPORTS)
    # Output is not captured between tests: this is the terminal's stderr, which a dump
    # from the faulthandler watchdog must reach (the test's own stderr is a capture file).
    config.stash[_fault_file] = os.fdopen(os.dup(sys.stderr.fileno()), "w")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    limit = float(item.config.getini("teardown_timeout"))
    armed = limit > 0 and not float(item.config.getini("faulthandler_timeout") or 0)
    if armed:
        faulthandler.dump_traceback_later(limit, exit=True, file=item.config.stash[_fault_file])
    try:
        return (yield)
    finally:
        if armed:
            faulthandler.cancel_dump_traceback_later()


def _where(thread: threading.Thread) -> str:
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return ""
    summary = traceback.extract_stack(frame)[-1]
    return f" at {summary.filename}:{summary.lineno} in {summary.name}"


def leaked_threads(grace: float = LEAK_GRACE) -> list[threading.Thread]:
    """Non-daemon threads other than this one still alive after `grace` seconds in all."""
    deadline = time.monotonic() + grace
    alive = []
    for thread in threading.enumerate():
        if thread is threading.current_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            alive.append(thread)
    return alive


def leaked_processes(grace: float = LEAK_GRACE) -> list[Any]:
    """Child processes started with multiprocessing (non-daemon) still alive after `grace`."""
    deadline = time.monotonic() + grace
    alive = []
    for process in multiprocessing.active_children():
        if process.daemon:
            continue
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            alive.append(process)
    return alive


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    problems = [f"a bare import was refused: {attempt}" for attempt in BARE_IMPORTS.attempts]
    problems += [
        f"`{name}` was imported as a top-level module (it is `switchboard.{name}`)"
        for name in BARE_PACKAGES
        if name in sys.modules
    ]
    grace = float(session.config.getini("leak_grace"))
    threads = leaked_threads(grace)
    problems += [f"thread {t.name!r} is still alive after the session{_where(t)}" for t in threads]
    processes = leaked_processes(grace)
    for process in processes:
        problems.append(f"child process {process.name!r} (pid {process.pid}) is still alive")
        process.kill()
    session.config.stash[_leaks] = [t.name for t in threads]
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for problem in problems:
        line = f"session guard: {problem}"
        if reporter is not None:
            reporter.write_line(line, red=True, bold=True)
        else:
            sys.stderr.write(line + "\n")
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    session.config.stash[_exit_status] = int(session.exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if BARE_IMPORTS in sys.meta_path:
        sys.meta_path.remove(BARE_IMPORTS)
    if _fault_file in config.stash:
        config.stash[_fault_file].close()
    if config.stash.get(_leaks, []):
        # The interpreter would wait for those threads forever after pytest returns: leave now,
        # with the status the guard set (the summary has been printed).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash.get(_exit_status, int(pytest.ExitCode.TESTS_FAILED)))
