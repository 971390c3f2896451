"""The real processes: `switchboard run` (web and worker together), and `switchboard web`
beside `switchboard worker` as separate processes. They serve /healthz and /slack/events,
answer through the outbox, and stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from switchboard.store.engine import reading
from tests.conftest import EXAMPLE_MANIFEST
from tests.fake_slack import FakeSlack
from tests.slack_requests import block_action, signed_post, slash_command

SECRET = "run-secret"
TIMEOUT = 30.0  # seconds any one expected log line may take; a hang fails, never blocks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A switchboard command as a child process, its log read on a thread of its own.

    Waiting for a log line has a deadline: a process that never says it fails the test
    within seconds instead of hanging the run.
    """

    def __init__(self, args: list[str], env: dict[str, str], *, stdout: bool = False) -> None:
        """`stdout`: read what the command prints as well as its log (stderr)."""
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "switchboard.bot", *args],
            env=env,
            stderr=subprocess.STDOUT if stdout else subprocess.PIPE,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            text=True,
        )
        self.output = self.popen.stdout if stdout else self.popen.stderr
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.output is not None
        for line in self.output:
            self.lines.put(line)
        self.lines.put(None)  # the pipe closed: every writer has exited

    def wait_for(self, *texts: str, timeout: float = TIMEOUT) -> list[str]:
        """Log lines until each of `texts` has appeared."""
        seen, missing = [], set(texts)
        while missing:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no log line with {missing} within {timeout} s:\n{''.join(self.log)}"
                ) from None
            if line is None:
                raise AssertionError(
                    f"process ended before logging {missing}:\n{''.join(self.log)}"
                )
            self.log.append(line)
            seen.append(line)
            missing -= {text for text in missing if text in line}
        return seen

    def rest_of_log(self) -> str:
        """Everything logged until the pipe closes (every writer has exited)."""
        self._reader.join(TIMEOUT)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.log.append(line)
        return "".join(self.log)

    def stop(self) -> int:
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(TIMEOUT)


@contextmanager
def running(args: list[str], env: dict[str, str], *, stdout: bool = False) -> Iterator[Process]:
    process = Process(args, env, stdout=stdout)
    try:
        yield process
    finally:
        process.kill()


def environment(tmp_path: Path, fake: FakeSlack) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "SWITCHBOARD_MANIFEST": str(EXAMPLE_MANIFEST),
        "SLACK_BOT_TOKEN": "xoxb-run-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
    }
    env.pop("SLACK_APP_TOKEN", None)
    return env


def serve_args(port: int, command: str = "run") -> list[str]:
    return [command, "--host", "127.0.0.1", "--port", str(port)]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def worker_pids(log: list[str]) -> list[int]:
    return [int(line.split("(pid ")[1].split(",")[0]) for line in log if "worker started" in line]


def healthz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def ask_owners(port: int, fake: FakeSlack, answered_before: int, trigger: str) -> None:
    """`/ops owners`: acknowledged by the web process, answered by the worker process."""
    body = slash_command(
        "owners", user="U0AM", response_url=fake.response_url(), trigger_id=trigger
    )
    reply = signed_post(f"http://127.0.0.1:{port}/slack/events", body, SECRET)
    assert (reply.status, reply.body) == (200, "")
    answer = fake.wait_for_calls("response_url", answered_before + 1)[-1]
    assert "ad_performance" in json.dumps(answer.params)


def test_run_serves_http_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as fake, running(serve_args(port), environment(tmp_path, fake)) as process:
        log = process.wait_for("serving HTTP", "worker started")
        [worker_pid] = worker_pids(log)
        assert healthz(port) == (200, {"ok": True, "workers": 1})
        reply = signed_post(
            f"http://127.0.0.1:{port}/slack/events",
            slash_command("help", user="U0AM", response_url=fake.response_url()),
            SECRET,
        )
        assert reply.status == 200
        assert "/ops alerts" in reply.body
        ask_owners(port, fake, answered_before=0, trigger="T1")

        assert process.stop() == 0
        assert not pid_alive(worker_pid), "the worker stops with the web process"
        everything = process.rest_of_log()
    assert fake.calls_to("auth.test"), "the token is verified at start"
    assert "shutting down" in everything
    assert "xoxb-run-test" not in everything  # secrets are never logged


def test_a_worker_that_dies_is_replaced_and_nothing_is_lost(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as fake, running(serve_args(port), environment(tmp_path, fake)) as process:
        [first] = worker_pids(process.wait_for("serving HTTP", "worker started"))
        ask_owners(port, fake, answered_before=0, trigger="T1")  # the worker is idle after it
        os.kill(first, signal.SIGKILL)
        process.wait_for("worker exited with code -9")
        # No worker runs for a moment: the request is recorded and acknowledged anyway
        # (waking a killed worker must not hang), and the next worker answers it.
        ask_owners(port, fake, answered_before=1, trigger="T2")
        [second] = worker_pids(process.wait_for("worker started"))
        assert second != first
        assert process.stop() == 0


def test_the_worker_stops_when_the_web_process_is_killed(tmp_path: Path) -> None:
    port = free_port()
    with FakeSlack() as fake, running(serve_args(port), environment(tmp_path, fake)) as process:
        process.wait_for("serving HTTP", "worker started")
        process.popen.kill()  # no SIGTERM handler runs: nobody tells the worker to stop
        process.popen.wait(TIMEOUT)
        process.wait_for("the web process has gone")
        # The log pipe closes when its last writer, the worker, has exited.
        assert "stopped" in process.rest_of_log().rsplit("the web process has gone", 1)[1]


def test_web_and_worker_as_separate_processes_answer_a_signed_click(tmp_path: Path) -> None:
    """The two entry points for systemd, Kubernetes or a Procfile, sharing one store."""
    from switchboard.bot.agent_runs import run_pacing
    from switchboard.bot.runtime import Runtime
    from switchboard.handlers.refs import AlertRef
    from switchboard.store.alerts import Alert, AlertState
    from switchboard.store.engine import reading
    from tests.agency_builder import AgencyBuilder

    port = free_port()
    with FakeSlack() as fake:
        env = environment(tmp_path, fake)
        rt = Runtime(db_url=env["DATABASE_URL"], manifest_override=EXAMPLE_MANIFEST)
        builder = AgencyBuilder().client("C1").account("A1", "C1").budget("A1", "2026-03", "3100")
        builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")
        builder.load(rt.engine)
        [change] = run_pacing(rt.engine, rt.manifest, as_of=date(2026, 3, 16), now=rt.now()).changes

        with running(serve_args(port, "web"), env) as web, running(["worker"], env) as worker:
            web.wait_for("serving HTTP")
            worker.wait_for("worker started")
            assert healthz(port)[0] == 200  # the worker's heartbeat, read from the store
            click = block_action(
                "alert.ack",
                AlertRef(alert_id=change.alert_id).encode(),
                user="U0AM",
                response_url=fake.response_url("r1"),
            )
            assert signed_post(f"http://127.0.0.1:{port}/slack/events", click, SECRET).status == 200

            [answer] = fake.wait_for_calls("response_url", 1)
            assert answer.params["text"] == f"You acknowledged alert #{change.alert_id}."
            fake.wait_for_calls("chat.update", 1)  # the alert's post, re-rendered
            with reading(rt.engine) as session:
                assert session.get_one(Alert, change.alert_id).state is AlertState.ACKNOWLEDGED

            assert worker.stop() == 0
            assert "worker stopped" in worker.rest_of_log()
            assert healthz(port)[0] == 503  # its heartbeat row went with it
            assert web.stop() == 0
        rt.close()


class StalledMailServer:
    """aiosmtpd's handler that takes a message's DATA and then stalls before answering."""

    def __init__(self) -> None:
        self.data = threading.Semaphore(0)  # one release per DATA received
        self.release = threading.Event()

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
        self.data.release()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, TIMEOUT)
        return "250 OK"


def test_a_worker_killed_mid_send_is_taken_over_and_the_mail_is_not_sent_again(
    tmp_path: Path,
) -> None:
    """A real worker process dies while the mail server holds its message: the next worker
    takes the job over once the lease has run out and, the outcome being unknown, leaves
    the draft for a person's Retry instead of sending it twice."""
    from switchboard.handlers.drafts import SEND_JOB
    from switchboard.store.drafts import DraftState
    from switchboard.store.engine import open_store
    from switchboard.store.jobs import Job, JobState
    from switchboard.store.manifest import load_manifest
    from tests.test_client_email import MAYA, opened_office, serving_mail

    url = f"sqlite:///{tmp_path / 'run.db'}"
    engine = open_store(url)
    server, port = StalledMailServer(), free_port()
    smtp = {"email_backend": "smtp", "smtp_url": f"smtp://127.0.0.1:{port}"}
    with ExitStack() as cleanup:  # undone in reverse order
        cleanup.callback(engine.dispose)
        cleanup.enter_context(serving_mail(port, server))
        cleanup.callback(server.release.set)  # before the server stops: its handler waits
        office = cleanup.enter_context(
            opened_office(engine, load_manifest(EXAMPLE_MANIFEST), tmp_path)
        )
        office.mail("<m1@acme.example>", "Could you send the October report?", "October")
        office.tick()
        office.approve(MAYA)  # queues the send job
        env = {
            **environment(tmp_path, office.slack),
            "EMAIL_BACKEND": "smtp",
            "SMTP_URL": smtp["smtp_url"],
            "EMAIL_FROM": "team@northwind.example",
        }
        with running(["worker"], env) as worker:
            assert server.data.acquire(timeout=TIMEOUT), "the worker never sent the mail"
            worker.kill()  # SIGKILL while the server holds the message
        assert office.draft().state is DraftState.SENDING
        server.release.set()

        # Another worker, once the dead one's lease has run out (the job's is 2 minutes).
        office.clock.advance(seconds=(datetime.now(UTC) - office.clock()).total_seconds())
        office.tick(**smtp)
        assert office.draft().state is DraftState.SENDING  # still leased: not touched
        office.clock.advance(minutes=3)
        office.tick(**smtp)

        failed = office.draft()
        assert failed.state is DraftState.SEND_FAILED
        assert "stopped mid-send" in (failed.send_error or "")
        assert not server.data.acquire(timeout=0), "the mail was sent a second time"
        with reading(engine) as session:
            [job] = session.scalars(select(Job).where(Job.kind == SEND_JOB)).all()
        assert (job.state, job.attempts) == (JobState.FAILED, 2)
        update = office.slack.calls_to("chat.update")[-1]
        assert "draft.retry" in json.dumps(FakeSlack.blocks_of(update))  # a person decides
