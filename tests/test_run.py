"""`switchboard run` as a process: serves /healthz and /slack/events, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import EXAMPLE_MANIFEST
from tests.fake_slack import FakeSlack
from tests.slack_requests import signed_post, slash_command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_lines(process: subprocess.Popen[str], *texts: str) -> list[str]:
    """Read the process's log until each of `texts` has appeared (event-driven: no sleeps)."""
    seen, missing = [], set(texts)
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        missing -= {text for text in missing if text in line}
        if not missing:
            return seen
    raise AssertionError(f"process ended before logging {missing}:\n{''.join(seen)}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_run(tmp_path: Path, fake: FakeSlack, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "SWITCHBOARD_MANIFEST": str(EXAMPLE_MANIFEST),
        "SLACK_BOT_TOKEN": "xoxb-run-test",
        "SLACK_SIGNING_SECRET": "run-secret",
        "SLACK_API_URL": fake.api_url,
    }
    env.pop("SLACK_APP_TOKEN", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "switchboard.bot",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def worker_pids(log: list[str]) -> list[int]:
    return [int(line.split("(pid ")[1].split(")")[0]) for line in log if "worker started" in line]


def ask_owners(port: int, fake: FakeSlack, answered_before: int) -> None:
    """`/ops owners`: acknowledged by the web process, answered by the worker process."""
    reply = signed_post(
        f"http://127.0.0.1:{port}/slack/events",
        slash_command("owners", user="U0AM", response_url=fake.response_url()),
        "run-secret",
    )
    assert (reply.status, reply.body) == (200, "")
    answer = fake.wait_for_calls("response_url", answered_before + 1)[-1]
    assert "ad_performance" in json.dumps(answer.params)


def test_run_serves_http_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as fake:
        process = start_run(tmp_path, fake, port)
        try:
            log = wait_for_lines(process, "serving HTTP", "worker started")
            [worker_pid] = worker_pids(log)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as health:
                assert json.loads(health.read()) == {"ok": True, "worker": "running"}
            reply = signed_post(
                f"http://127.0.0.1:{port}/slack/events",
                slash_command("help", user="U0AM", response_url=fake.response_url()),
                "run-secret",
            )
            assert reply.status == 200
            assert "/ops alerts" in reply.body
            ask_owners(port, fake, answered_before=0)

            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
            assert not pid_alive(worker_pid), "the worker stops with the web process"
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert fake.calls_to("auth.test"), "the token is verified at start"
        rest = process.stderr.read() if process.stderr else ""
        assert "shutting down" in "".join(log) + rest
        assert "xoxb-run-test" not in "".join(log) + rest  # secrets are never logged


def test_a_worker_that_dies_is_replaced_and_nothing_is_lost(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as fake:
        process = start_run(tmp_path, fake, port)
        try:
            [first] = worker_pids(wait_for_lines(process, "serving HTTP", "worker started"))
            ask_owners(port, fake, answered_before=0)  # the worker is idle, waiting, after it
            os.kill(first, signal.SIGKILL)
            wait_for_lines(process, "worker exited with code -9")
            # No worker runs for a moment: the request is recorded and acknowledged anyway
            # (waking a killed worker must not hang), and the next worker answers it.
            ask_owners(port, fake, answered_before=1)
            [second] = worker_pids(wait_for_lines(process, "worker started"))
            assert second != first
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_worker_stops_when_the_web_process_is_killed(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as fake:
        process = start_run(tmp_path, fake, port)
        try:
            wait_for_lines(process, "serving HTTP", "worker started")
            process.kill()  # no SIGTERM handler runs: nobody tells the worker to stop
            process.wait()
            wait_for_lines(process, "the web process has gone")
            assert process.stderr is not None
            # The log pipe closes when its last writer, the worker, has exited.
            assert "worker stopped" in process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
