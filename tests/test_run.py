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


def wait_for_line(process: subprocess.Popen[str], text: str) -> list[str]:
    """Read the process's log until `text` appears (event-driven: no sleeps)."""
    seen = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"process ended before logging {text!r}:\n{''.join(seen)}")


def test_run_serves_http_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as fake:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "SWITCHBOARD_MANIFEST": str(EXAMPLE_MANIFEST),
            "SLACK_BOT_TOKEN": "xoxb-run-test",
            "SLACK_SIGNING_SECRET": "run-secret",
            "SLACK_API_URL": fake.api_url,
        }
        env.pop("SLACK_APP_TOKEN", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        try:
            log = wait_for_line(process, "serving HTTP")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as health:
                assert json.loads(health.read()) == {"ok": True}
            reply = signed_post(
                f"http://127.0.0.1:{port}/slack/events",
                slash_command("help", user="U0AM", response_url=fake.response_url()),
                "run-secret",
            )
            assert reply.status == 200
            assert "/ops alerts" in reply.body

            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert fake.calls_to("auth.test"), "the token is verified at start"
        rest = process.stderr.read() if process.stderr else ""
        assert "shutting down" in "".join(log) + rest
        assert "xoxb-run-test" not in "".join(log) + rest  # secrets are never logged
