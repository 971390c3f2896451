"""The session guards (tests/session_guards.py), each run in a child pytest on a tiny test file:
a leaked thread fails the run by name instead of hanging it after the summary, a hung
teardown ends the run with every thread's stack, a bare `import store` is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

LIMIT = 60  # seconds: a child that outlives this has hung, which is what the guards prevent
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "tests.session_guards"]
PYTEST += ["-p", "no:cacheprovider", "-o", "addopts="]


def child_pytest(tmp_path: Path, source: str, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(source)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # hypothesis and the like: seconds, unused here
    }
    return subprocess.run(
        [*PYTEST, "-o", "leak_grace=0.5", *options, "test_tiny.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT,
        check=False,
    )


def test_a_thread_left_running_fails_the_run_by_name_and_does_not_hang_it(tmp_path: Path) -> None:
    ran = child_pytest(
        tmp_path,
        "import threading\n"
        "def test_leaks():\n"
        "    threading.Thread(target=threading.Event().wait, name='leaky-thread').start()\n",
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "session guard: thread 'leaky-thread' is still alive after the session" in ran.stdout
    assert "1 passed" in ran.stdout  # the summary is printed before the process leaves


def test_a_clean_run_passes(tmp_path: Path) -> None:
    ran = child_pytest(
        tmp_path,
        "import threading\n"
        "def test_joins():\n"
        "    t = threading.Thread(target=lambda: None)\n"
        "    t.start()\n"
        "    t.join(10)\n",
    )
    assert (ran.returncode, "session guard" in ran.stdout) == (0, False), ran.stdout


def test_a_hung_teardown_ends_the_run_with_every_thread_stack(tmp_path: Path) -> None:
    ran = child_pytest(
        tmp_path,
        "import threading, pytest\n"
        "@pytest.fixture\n"
        "def stuck():\n"
        "    yield\n"
        "    threading.Event().wait()  # a server that never stops, say\n"
        "def test_uses(stuck):\n"
        "    pass\n",
        "-o",
        "teardown_timeout=1",
    )
    assert ran.returncode != 0
    assert "Timeout (0:00:01)!" in ran.stderr
    assert "in stuck" in ran.stderr, ran.stderr  # the fixture's frame, named


def test_a_bare_import_of_a_repository_folder_is_refused(tmp_path: Path) -> None:
    ran = child_pytest(tmp_path, "def test_bare():\n    import store.engine  # noqa: F401\n")
    assert ran.returncode == 1
    assert "bare `import store`: the package is `switchboard.store`" in ran.stdout
    assert "session guard: a bare import was refused: `import store` at " in ran.stdout
