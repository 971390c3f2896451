"""Acknowledgement latency: signed `/ops help` and `alert.ack` at 50 concurrent, real app vs bare.

What runs, each piece in its own process so that no two share a GIL:

- FakeSlack (tests/fake_slack.py), the Web API and the `response_url`s: one process for the run;
- the server, one process per (server, threads, app), on a fresh copy of a seeded SQLite store:
  - `real`: `create_app` and its worker process (interaction queue, outbox drain), as
    `switchboard run --no-scheduler` serves it (no periodic tick: no agent or escalation runs
    mid-run);
  - `bare`: a Bolt `App` whose `/ops` and `alert.ack` listeners only call `ack()` (same signing
    secret; its client points at the fake, where Bolt sends its one auth.test);
  served by `bot.server.http_server` (waitress on 127.0.0.1, port 0, `--threads`) or, to compare
  servers, by wsgiref: `wsgiref` (a thread per connection) or `wsgiref-1` (one thread, listen
  backlog 5, HTTP/1.0: the shape of Bolt's development server, `http.server.HTTPServer`);
- the load generator (this process): C worker threads, one keep-alive `http.client`
  connection each, closed loop (the next request leaves when the previous answer is in).

A request's latency is from just before `request()` to the last byte of the response, i.e. the
time Slack waits for the acknowledgement. Bodies are built and signed before the clock starts.
Every scenario is warmed up first (`--warmup` requests, not counted); `alert.ack` then waits until
the background work of the warm-up (the worker's transactions) is done before measuring.

The store holds `--requests + --warmup` open alerts per server run (plus their posted channel
messages in the fake and their outbox rows), so every measured click takes the real
open -> acknowledged path: authorize from the manifest, compare-and-set, audit row, re-render
and the ephemeral answer queued in the outbox (which the worker sends). Each request has its
own identity (trigger id, action time), as Slack's do: the app refuses a replay. Users rotate
over U0ADMIN (admin), U0LEAD (the owner's lead) and U0AM (the owner): all allowed. After each
`alert.ack` phase the run waits until every answered click is acknowledged in the store and
reports that lag ("lag s").

CPU is reported per process as % of one core (load generator, server, fake) and, from
/proc/stat, "others": everything else on the machine (on a shared machine, the main noise).

    python bench/ack.py [--requests 2000] [--concurrency 50] [--threads 8,16,32]
                        [--apps bare,real] [--servers waitress,wsgiref,wsgiref-1]
                        [--warmup 200] [--rounds 3] [--quiet-wait 30] [--json PATH]
                        [--diagnose] [--profile DIR] [--no-worker]
                        [--listener-workers N] [--switch-interval S]

--rounds repeats everything and shows medians (and the p99 range); --quiet-wait waits, before
each server, up to S seconds for an idle machine. --diagnose adds server-side timing (Bolt
dispatch time; wait of listeners in Bolt's listener executor; listener run time); --profile
writes cProfile stats of the request and listener threads (slow: where the time goes, not
figures). What-ifs, not what production runs: --no-worker (real app without its worker
process: clicks are recorded and acknowledged, nothing applies them), --listener-workers (the
real app's listener executor size; Bolt's default is 5), --switch-interval (their GIL switch
interval). Loopback only; every phase is bounded by --requests and --max-seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import logging
import math
import multiprocessing as mp
import os
import platform
import pstats
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path
from socketserver import ThreadingMixIn
from statistics import median
from typing import Any, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.util import setup_testing_defaults

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, func, insert, select

from switchboard.bot.app import create_app
from switchboard.bot.server import EVENTS_PATH, http_server, stop_http, wsgi_app
from switchboard.bot.settings import load_settings
from switchboard.bot.worker import WorkerProcess, WorkerSpec
from switchboard.handlers.refs import AlertRef
from switchboard.store import ownership
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.engine import open_interactions, open_store, reading, transaction
from switchboard.store.manifest import load_manifest
from switchboard.store.outbox import OutboxKind, OutboxMessage, OutboxState
from switchboard.store.source_data import AdAccount, Client, ClientStatus, Platform

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # FakeSlack and the request builders live in tests/

MANIFEST = REPO / "manifests" / "agency.example.yaml"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-bench"
ACK_USERS = ("U0ADMIN", "U0LEAD", "U0AM")  # admin; the owner's lead; the owner (ad_performance)
SCENARIOS = ("/ops help", "alert.ack")
APPS = ("bare", "real")
SERVERS = ("waitress", "wsgiref", "wsgiref-1")

# Targets (from the issue).
TARGET_P99_MS = 100.0
TARGET_RATIO = 2.0
CPUS = os.cpu_count() or 1


# --- the store ------------------------------------------------------------------------------------


def source_rows(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`n` ad accounts (A00000...) of `(n + 1) // 2` active clients (C00000...), two each."""
    clients = [
        {"client_id": f"C{i:05d}", "name": f"Client {i}", "status": ClientStatus.ACTIVE}
        for i in range((n + 1) // 2)
    ]
    accounts = [
        {
            "account_id": f"A{i:05d}",
            "client_id": f"C{i // 2:05d}",
            "platform": Platform.GOOGLE_ADS,
            "name": f"Account {i}",
            "currency": "USD",
            "timezone": "America/New_York",
        }
        for i in range(n)
    ]
    return clients, accounts


def seed_template(path: Path, alerts: int, fake_api_url: str) -> float:
    """A migrated store with `alerts` open alerts, each posted (in the fake) and in the outbox.

    Returns the seconds it took. Alert ids run 1..alerts; the channel posts are real
    chat.postMessage calls to the fake so that the outbox's chat.update finds them.
    """
    started = time.perf_counter()
    manifest = load_manifest(MANIFEST)
    engine = open_store(f"sqlite:///{path}")
    now = datetime.now(UTC)
    today = now.date()
    month = today.strftime("%Y-%m")
    client = WebClient(token=TOKEN, base_url=fake_api_url)
    channel = manifest.channels.alerts
    posted = [client.chat_postMessage(channel=channel, text=f"alert {i}") for i in range(alerts)]
    clients, accounts = source_rows(alerts)
    rows = [
        {
            "id": i + 1,
            "domain": "ad_performance",
            "account_id": f"A{i:05d}",
            "client_id": f"C{i // 2:05d}",
            "month": month,
            "direction": AlertDirection.OVER,
            "state": AlertState.OPEN,
            "deviation_pct": Decimal("45.0"),
            "notified_deviation_pct": Decimal("45.0"),
            "notifications": 1,
            "assignee": manifest.domains["ad_performance"].owner,
            "first_seen_on": today,
            "last_seen_on": today,
            "opened_at": now,
            "updated_at": now,
        }
        for i in range(alerts)
    ]
    posts = [
        {
            "key": f"alert:{i + 1}",
            "kind": OutboxKind.POST,
            "channel": channel,
            "payload": {"text": f"alert {i}"},
            "state": OutboxState.SENT,
            "attempts": 1,
            "next_attempt_at": now - timedelta(hours=1),
            "ts": reply["ts"],
            "posted_channel": channel,
            "created_at": now - timedelta(hours=1),
            "sent_at": now - timedelta(hours=1),
        }
        for i, reply in enumerate(posted)
    ]
    with transaction(engine) as session:
        owners = {name: (d.agent, d.owner) for name, d in manifest.domains.items()}
        ownership.seed(session, owners, now=now)
        for table, values in (
            (Client, clients),
            (AdAccount, accounts),
            (Alert, rows),
            (OutboxMessage, posts),
        ):
            session.execute(insert(table.__table__), values)  # type: ignore[attr-defined]
    engine.dispose()
    return time.perf_counter() - started


def acknowledged(engine: Engine) -> int:
    with reading(engine) as session:
        query = select(func.count()).where(Alert.state == AlertState.ACKNOWLEDGED)
        return session.scalar(query.select_from(Alert)) or 0


# --- the fake Slack process -----------------------------------------------------------------------


def fake_slack_process(conn: Connection) -> None:
    from tests.fake_slack import FakeSlack

    with FakeSlack() as fake:
        conn.send(fake.base_url)
        while True:
            command = conn.recv()
            if command == "cpu":
                conn.send(time.process_time())
            elif command == "counts":
                with fake._lock:
                    conn.send(dict(Counter(call.method for call in fake.calls)))
            else:
                break


# --- the server process ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    app: str  # "bare" | "real"
    # "waitress" | "wsgiref" (thread per connection) | "wsgiref-1" (one thread, backlog 5,
    # HTTP/1.0: the shape of Bolt's development server, http.server.HTTPServer)
    server: str
    threads: int  # waitress worker threads (wsgiref: not used)
    db: str
    fake_url: str
    diagnose: bool = False
    profile: str | None = None  # directory for .pstats
    listener_workers: int | None = None
    worker: bool = True
    switch_interval: float | None = None


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A thread per connection. The listen backlog is waitress's (1024): socketserver's
    default of 5 resets or delays (SYN retry, ~1 s) a third of 50 concurrent connects."""

    daemon_threads = True
    request_queue_size = 1024


class Probe:
    """Server-side diagnostics: dispatch time, listener-executor wait, per-thread cProfile."""

    def __init__(self, profile: bool) -> None:
        self.profile = profile
        self.lock = threading.Lock()
        self.dispatch: list[float] = []
        self.queued: list[float] = []
        self.listener: list[float] = []
        self.local = threading.local()
        self.profilers: list[cProfile.Profile] = []

    def reset(self) -> None:
        with self.lock:
            self.dispatch, self.queued, self.listener = [], [], []

    def _profiler(self) -> cProfile.Profile:
        profiler = getattr(self.local, "profiler", None)
        if profiler is None:
            profiler = self.local.profiler = cProfile.Profile()
            with self.lock:
                self.profilers.append(profiler)
        return profiler

    def timed(self, samples: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            profiler = self._profiler() if self.profile else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            try:
                return function(*args, **kwargs)
            finally:
                if profiler:
                    profiler.disable()
                with self.lock:
                    getattr(self, samples).append(time.perf_counter() - started)

        return wrapper

    def executor(self, workers: int) -> ThreadPoolExecutor:
        probe = self

        class TimedExecutor(ThreadPoolExecutor):
            def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
                submitted = time.perf_counter()
                run = probe.timed("listener", fn)

                def task() -> Any:
                    with probe.lock:
                        probe.queued.append(time.perf_counter() - submitted)
                    return run(*args, **kwargs)

                return super().submit(task)

        return TimedExecutor(max_workers=workers)

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "dispatch": summarize(self.dispatch),
                "queued": summarize(self.queued),
                "listener": summarize(self.listener),
            }

    def dump(self, path: Path) -> str:
        with self.lock:
            profilers = list(self.profilers)
        stats = pstats.Stats(*profilers) if profilers else None
        if stats is None:
            return ""
        stats.dump_stats(path)
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(30)
        return out.getvalue()


def bare_app(fake_url: str) -> App:
    """Only acks. Its client points at the fake: Bolt calls auth.test once on the first request."""
    app = App(
        client=WebClient(token=TOKEN, base_url=fake_url + "/api/"),
        signing_secret=SECRET,
        token_verification_enabled=False,
    )

    @app.command("/ops")
    def ops(ack: Ack) -> None:
        ack()

    @app.action("alert.ack")
    def alert_ack(ack: Ack) -> None:
        ack()

    return app


def real_environment(db: str, fake_url: str) -> None:
    """The settings `switchboard run` reads, for this process and the worker it spawns."""
    os.environ.update(
        DATABASE_URL=f"sqlite:///{db}",
        SWITCHBOARD_MANIFEST=str(MANIFEST),
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_url + "/api/",
    )
    os.environ.pop("SLACK_APP_TOKEN", None)


def real_app(db: str, engine: Engine, wake: Callable[[], None]) -> App:
    return create_app(
        load_settings(),
        engine,
        load_manifest(MANIFEST),
        clock=lambda: datetime.now(UTC),
        interactions=open_interactions(f"sqlite:///{db}", engine),
        wake=wake,
    )


def server_process(conn: Connection, config: ServerConfig) -> None:
    logging.basicConfig(level=logging.WARNING, format="server: %(levelname)s %(name)s %(message)s")
    # APScheduler's warnings about skipped runs would flood the output under this load.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N"
    if config.switch_interval:
        sys.setswitchinterval(config.switch_interval)
    engine = open_store(f"sqlite:///{config.db}")
    worker: WorkerProcess | None = None
    if config.app == "real":
        # As `switchboard run --no-scheduler`: the worker process is spawned and reads its
        # settings from the environment; no periodic tick, so no agent runs mid-run.
        real_environment(config.db, config.fake_url)
        if config.worker:
            worker = WorkerProcess(WorkerSpec(log_level=logging.WARNING, scheduled=False))
        app = real_app(config.db, engine, wake=worker.wake.set if worker else lambda: None)
    else:
        app = bare_app(config.fake_url)

    probe = Probe(profile=config.profile is not None)
    runner = app._listener_runner
    if config.diagnose or config.profile or config.listener_workers:
        workers = config.listener_workers or 5  # Bolt's default
        executor = probe.executor(workers) if config.diagnose or config.profile else None
        runner.listener_executor = executor or ThreadPoolExecutor(max_workers=workers)
        runner.lazy_listener_runner.executor = runner.listener_executor  # as Bolt shares it
    if config.diagnose or config.profile:
        app.dispatch = probe.timed("dispatch", app.dispatch)  # type: ignore[method-assign]
    # The same front for both apps: /healthz, and Slack's signature checked before Bolt.
    application = wsgi_app(app, engine, clock=lambda: datetime.now(UTC), signing_secret=SECRET)

    if config.server == "waitress":
        server = http_server(application, host="127.0.0.1", port=0, threads=config.threads)
        port, serve = server.effective_port, server.run
    else:
        server_class = _ThreadingWSGIServer if config.server == "wsgiref" else WSGIServer
        server = make_server(
            "127.0.0.1",
            0,
            application,
            server_class=server_class,
            handler_class=_Quiet,
        )
        port, serve = server.server_port, server.serve_forever
    thread = threading.Thread(target=serve, name="server", daemon=True)
    thread.start()
    if worker:
        worker.start()
        if not worker.ready.wait(60):
            raise RuntimeError("the worker did not start within 60 s")
    conn.send({"port": port})
    try:
        while True:
            command = conn.recv()
            if command == "mark":
                probe.reset()
                conn.send(
                    {
                        "cpu": time.process_time(),
                        "worker": process_cpu(worker.pid) if worker else 0.0,
                    }
                )
            elif command == "cpu":
                worker_cpu = process_cpu(worker.pid) if worker else 0.0
                conn.send({"cpu": time.process_time(), "worker": worker_cpu, **probe.summary()})
            elif command == "acknowledged":
                conn.send(acknowledged(engine))
            elif command == "outbox":
                with reading(engine) as session:
                    query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                    conn.send({str(s.value): n for s, n in session.execute(query)})
            else:
                break
    finally:
        if config.server == "waitress":
            stop_http(server)
        else:
            server.shutdown()
        thread.join(timeout=10)
        if worker:
            worker.stop()
        report = ""
        if config.profile:
            name = f"{config.server}-{config.threads}-{config.app}.pstats"
            report = probe.dump(Path(config.profile) / name)
        conn.send(report)
        engine.dispose()


@dataclass
class ServerHandle:
    process: Any
    conn: Connection
    port: int

    def ask(self, command: str) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> str:
        report = self.ask("stop")
        self.process.join(timeout=30)
        return cast(str, report)


def start_server(context: Any, config: ServerConfig) -> ServerHandle:
    parent, child = context.Pipe()
    # Not a daemon: the real app's server starts its worker process, as `switchboard run` does.
    process = context.Process(target=server_process, args=(child, config))
    process.start()
    if not parent.poll(60):
        raise RuntimeError("server did not start within 60 s")
    return ServerHandle(process, parent, parent.recv()["port"])


# --- the load generator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    body: bytes
    headers: dict[str, str]


def sign(body: str) -> Signed:
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    return Signed(
        body.encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )


def requests_for(scenario: str, fake_url: str, first: int, count: int) -> list[Signed]:
    """Bodies for requests first..first+count-1; for alert.ack, alert id = index + 1."""
    from tests.slack_requests import block_action, slash_command

    signed = []
    for i in range(first, first + count):
        user = ACK_USERS[i % len(ACK_USERS)]
        response_url = f"{fake_url}/response/{scenario.strip('/').replace(' ', '-')}-{i}"
        # Each request its own identity (trigger id, action time), as Slack's are: the app
        # refuses a request it has seen before as a replay.
        trigger = f"{i + 1}.42.trigger"
        if scenario == "/ops help":
            body = slash_command("help", user=user, response_url=response_url, trigger_id=trigger)
        else:
            value = AlertRef(alert_id=i + 1).encode()
            body = block_action(
                "alert.ack",
                value,
                user=user,
                response_url=response_url,
                action_ts=time.time(),
                trigger_id=trigger,
            )
        signed.append(sign(body))
    return signed


def wait_for_quiet(limit: float, busy_below: float = 0.15) -> float:
    """Wait (at most `limit` s) for a 1 s window with the machine under `busy_below` busy.

    Returns the last window's busy fraction: on a shared machine, other people's work is
    the largest source of noise in these figures.
    """
    deadline, busy = time.monotonic() + limit, math.nan
    while True:
        busy0, total0 = cpu_ticks()
        time.sleep(1.0)
        busy1, total1 = cpu_ticks()
        busy = (busy1 - busy0) / (total1 - total0) if total1 > total0 else math.nan
        if not busy >= busy_below or time.monotonic() >= deadline:
            return busy


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used, from /proc (0 if unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat (0, 0 if unavailable)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]) - idle, sum(fields[:8])


@dataclass
class Load:
    latencies: list[float]
    statuses: Counter[str]
    wall: float
    loadgen_cpu: float
    machine_busy: float  # fraction of all cores


def drive(
    port: int, requests: list[Signed], concurrency: int, deadline: float, preconnect: bool = True
) -> Load:
    """Closed loop: `concurrency` workers, each on its own keep-alive connection.

    With `preconnect` the connections are opened before the clock starts. wsgiref answers
    HTTP/1.0 and closes every connection, so there each request connects (and that counts).
    """
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    next_index = iter(range(len(requests)))
    start = threading.Barrier(concurrency + 1)
    stop_at = [math.inf]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if preconnect:
            try:
                conn.connect()
            except OSError:
                conn.close()  # request() connects
        mine: list[float] = []
        seen: Counter[str] = Counter()
        start.wait()
        while time.perf_counter() < stop_at[0]:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            request = requests[index]
            began = time.perf_counter()
            try:
                conn.request("POST", EVENTS_PATH, request.body, request.headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as error:
                conn.close()  # the next request() reconnects
                status = type(error).__name__
            if status == "200":
                mine.append(time.perf_counter() - began)
            seen[status] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in workers:
        thread.start()
    start.wait()
    busy0, total0 = cpu_ticks()
    cpu0, began = time.process_time(), time.perf_counter()
    stop_at[0] = began + deadline
    for thread in workers:
        thread.join()
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu0
    busy1, total1 = cpu_ticks()
    busy = (busy1 - busy0) / (total1 - total0) if total1 > total0 else math.nan
    return Load(latencies, statuses, wall, cpu, busy)


def environ_of(request: Signed) -> dict[str, Any]:
    """The WSGI environ a server would build for `request` (wsgiref fills in the rest)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": EVENTS_PATH,
        "CONTENT_LENGTH": str(len(request.body)),
        "CONTENT_TYPE": request.headers["Content-Type"],
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": request.headers["X-Slack-Request-Timestamp"],
        "HTTP_X_SLACK_SIGNATURE": request.headers["X-Slack-Signature"],
        "wsgi.input": io.BytesIO(request.body),
    }
    setup_testing_defaults(environ)
    return environ


def cpu_per_request(
    template: Path, workdir: Path, fake_url: str, args: argparse.Namespace
) -> dict[str, float]:
    """Milliseconds of CPU per request of the real app's web side, one thread, in this process.

    The WSGI application is called directly: no HTTP, no worker, nothing competing for the
    GIL. It is the steadiest figure for comparing two commits; the closed-loop rounds
    swing with whatever else the machine runs.
    """
    # A directory per call: the interaction queue's file beside the store must be new too,
    # or a second round's requests would be answered as replays.
    db = Path(tempfile.mkdtemp(dir=workdir)) / "cpu.db"
    shutil.copy(template, db)
    real_environment(str(db), fake_url)
    engine = open_store(f"sqlite:///{db}")
    application = wsgi_app(
        real_app(str(db), engine, wake=lambda: None),
        engine,
        clock=lambda: datetime.now(UTC),
        signing_secret=SECRET,
    )
    statuses: list[str] = []

    def call(request: Signed) -> None:
        b"".join(application(environ_of(request), lambda status, _: statuses.append(status)))

    per_request = {}
    for scenario in SCENARIOS:
        for request in requests_for(scenario, fake_url, 0, args.warmup):
            call(request)
        measured = requests_for(scenario, fake_url, args.warmup, args.requests)
        started = time.process_time()
        for request in measured:
            call(request)
        per_request[scenario] = 1000 * (time.process_time() - started) / len(measured)
    refused = [status for status in statuses if not status.startswith("200")]
    if refused:
        raise RuntimeError(f"the app refused {len(refused)} requests: {refused[:3]}")
    engine.dispose()
    return per_request


# --- figures --------------------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": percentile(ordered, 50) * 1e3,
        "p99_ms": percentile(ordered, 99) * 1e3,
        "max_ms": (ordered[-1] if ordered else math.nan) * 1e3,
    }


@dataclass
class Row:
    server: str
    threads: int
    app: str
    scenario: str
    n: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    rps: float
    statuses: dict[str, int]
    loadgen_cpu_pct: float  # of one core
    server_cpu_pct: float
    worker_cpu_pct: float  # the real app's worker process
    fake_cpu_pct: float
    machine_busy_pct: float  # of all cores
    other_cpu_pct: float  # of one core: processes not ours (a shared machine)
    background_lag_s: float | None = None  # alert.ack: last ack -> all transitions committed
    server_side: dict[str, Any] = field(default_factory=dict)


def run_server(
    context: Any,
    fake: Connection,
    template: Path,
    workdir: Path,
    config: ServerConfig,
    args: argparse.Namespace,
) -> list[Row]:
    db = workdir / f"{config.server}-{config.threads}-{config.app}.db"
    shutil.copy(template, db)
    config = ServerConfig(**{**asdict(config), "db": str(db)})
    handle = start_server(context, config)
    rows = []
    warm_ok = 0
    try:
        for scenario in SCENARIOS:
            warm = requests_for(scenario, config.fake_url, 0, args.warmup)
            preconnect = config.server == "waitress"
            warm_load = drive(handle.port, warm, args.concurrency, args.max_seconds, preconnect)
            applied = scenario == "alert.ack" and config.app != "bare" and config.worker
            if applied:
                # A request that failed (wsgiref resets connections) acknowledged nothing.
                ok = sum(1 for r in warm_load.statuses.elements() if r == "200")
                if wait_for_acks(handle, ok, args.max_seconds) < 0:
                    raise RuntimeError("warm-up acknowledgements did not all commit")
                warm_ok = ok
            measured = requests_for(scenario, config.fake_url, args.warmup, args.requests)
            server0, fake0 = handle.ask("mark"), ask(fake, "cpu")
            load = drive(handle.port, measured, args.concurrency, args.max_seconds, preconnect)
            server1, fake1 = handle.ask("cpu"), ask(fake, "cpu")
            lag = None
            if applied:
                lag = wait_for_acks(handle, warm_ok + len(load.latencies), args.max_seconds)
            stats = summarize(load.latencies)
            rows.append(
                Row(
                    server=config.server,
                    threads=config.threads,
                    app=config.app,
                    scenario=scenario,
                    n=stats["n"],
                    p50_ms=stats["p50_ms"],
                    p99_ms=stats["p99_ms"],
                    max_ms=stats["max_ms"],
                    rps=stats["n"] / load.wall,
                    statuses=dict(load.statuses),
                    loadgen_cpu_pct=100 * load.loadgen_cpu / load.wall,
                    server_cpu_pct=100 * (server1["cpu"] - server0["cpu"]) / load.wall,
                    worker_cpu_pct=100 * (server1["worker"] - server0["worker"]) / load.wall,
                    fake_cpu_pct=100 * (fake1 - fake0) / load.wall,
                    machine_busy_pct=100 * load.machine_busy,
                    background_lag_s=lag,
                    other_cpu_pct=max(
                        0.0,
                        100 * load.machine_busy * CPUS
                        - 100
                        * (
                            load.loadgen_cpu
                            + server1["cpu"]
                            - server0["cpu"]
                            + server1["worker"]
                            - server0["worker"]
                            + fake1
                            - fake0
                        )
                        / load.wall,
                    ),
                    server_side=(
                        {k: server1[k] for k in ("dispatch", "queued", "listener")}
                        if config.diagnose
                        else {}
                    ),
                )
            )
            print(describe(rows[-1]), file=sys.stderr, flush=True)
        if config.app != "bare" and config.worker:
            outbox = handle.ask("outbox")
            print(f"    outbox rows by state: {outbox}", file=sys.stderr, flush=True)
    finally:
        report = handle.stop()
        if report:
            print(report, file=sys.stderr)
    return rows


def ask(conn: Connection, command: str) -> Any:
    conn.send(command)
    return conn.recv()


def wait_for_acks(handle: ServerHandle, expected: int, timeout: float) -> float:
    """Seconds until `expected` alerts are acknowledged in the store; -1 on timeout.

    Each request acknowledges its own alert, so more than `expected` would be a bug (a
    request that failed on the client side yet was applied would also show here).
    """
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        done = handle.ask("acknowledged")
        if done > expected:
            print(f"    note: {done} alerts acknowledged, {expected} answered 200", file=sys.stderr)
        if done >= expected:
            return time.perf_counter() - began
        time.sleep(0.02)
    return -1.0


def describe(row: Row) -> str:
    extra = ""
    if row.background_lag_s is not None:
        extra = f" background-lag={row.background_lag_s:.2f}s"
    if row.server_side:
        for name, label in (
            ("dispatch", "dispatch"),
            ("queued", "executor-wait"),
            ("listener", "listener-run"),
        ):
            d = row.server_side[name]
            extra += f" {label} p50/p99={d['p50_ms']:.1f}/{d['p99_ms']:.1f}ms"
    return (
        f"  {row.server:9} t={row.threads:<3} {row.app:4} {row.scenario:9}"
        f" n={row.n} p50={row.p50_ms:.1f} p99={row.p99_ms:.1f} max={row.max_ms:.1f}ms"
        f" {row.rps:.0f} req/s statuses={row.statuses}"
        f" cpu: loadgen {row.loadgen_cpu_pct:.0f}% server {row.server_cpu_pct:.0f}%"
        f" worker {row.worker_cpu_pct:.0f}%"
        f" fake {row.fake_cpu_pct:.0f}% others {row.other_cpu_pct:.0f}%"
        f" machine {row.machine_busy_pct:.0f}% of {CPUS}{extra}"
    )


@dataclass
class Summary:
    """One (server, threads, app, scenario) over all rounds: medians, and the p99 range."""

    server: str
    threads: int
    app: str
    scenario: str
    rounds: int
    n: int
    errors: int
    p50_ms: float
    p99_ms: float
    p99_low: float
    p99_high: float
    max_ms: float
    rps: float
    loadgen_cpu_pct: float
    server_cpu_pct: float
    worker_cpu_pct: float
    fake_cpu_pct: float
    other_cpu_pct: float
    background_lag_s: float | None


def combine(rows: list[Row]) -> list[Summary]:
    groups: dict[tuple[str, int, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.server, r.threads, r.app, r.scenario), []).append(r)
    summaries = []
    for (server, threads, app, scenario), group in groups.items():
        lags = [r.background_lag_s for r in group if r.background_lag_s is not None]
        summaries.append(
            Summary(
                server=server,
                threads=threads,
                app=app,
                scenario=scenario,
                rounds=len(group),
                n=sum(r.n for r in group),
                errors=sum(v for r in group for k, v in r.statuses.items() if k != "200"),
                p50_ms=median(r.p50_ms for r in group),
                p99_ms=median(r.p99_ms for r in group),
                p99_low=min(r.p99_ms for r in group),
                p99_high=max(r.p99_ms for r in group),
                max_ms=max(r.max_ms for r in group),
                rps=median(r.rps for r in group),
                loadgen_cpu_pct=median(r.loadgen_cpu_pct for r in group),
                server_cpu_pct=median(r.server_cpu_pct for r in group),
                worker_cpu_pct=median(r.worker_cpu_pct for r in group),
                fake_cpu_pct=median(r.fake_cpu_pct for r in group),
                other_cpu_pct=median(r.other_cpu_pct for r in group),
                background_lag_s=median(lags) if lags else None,
            )
        )
    order = {name: i for i, name in enumerate(SERVERS + APPS + SCENARIOS)}
    return sorted(
        summaries, key=lambda s: (order[s.server], s.threads, order[s.scenario], order[s.app])
    )


def table(summaries: list[Summary]) -> Iterator[str]:
    bare = {(s.server, s.threads, s.scenario): s for s in summaries if s.app == "bare"}
    yield (
        "| server | threads | scenario | app | n ok | failed | p50 ms | p99 ms (range) | max ms"
        " | req/s"
        " | p50 / bare | p99 / bare | lag s | CPU %: loadgen / server / worker / fake / others |"
    )
    yield "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for s in summaries:
        base = bare.get((s.server, s.threads, s.scenario))
        p50x = f"{s.p50_ms / base.p50_ms:.2f}x" if base and s.app != "bare" else ""
        p99x = f"{s.p99_ms / base.p99_ms:.2f}x" if base and s.app != "bare" else ""
        threads = str(s.threads) if s.server == "waitress" else "-"
        spread = f" ({s.p99_low:.0f}-{s.p99_high:.0f})" if s.rounds > 1 else ""
        lag = f"{s.background_lag_s:.1f}" if s.background_lag_s is not None else ""
        yield (
            f"| {s.server} | {threads} | `{s.scenario}` | {s.app} | {s.n} | {s.errors}"
            f" | {s.p50_ms:.1f}"
            f" | {s.p99_ms:.1f}{spread} | {s.max_ms:.1f} | {s.rps:.0f} | {p50x} | {p99x} | {lag}"
            f" | {s.loadgen_cpu_pct:.0f} / {s.server_cpu_pct:.0f} / {s.worker_cpu_pct:.0f}"
            f" / {s.fake_cpu_pct:.0f}"
            f" / {s.other_cpu_pct:.0f} |"
        )


def verdicts(summaries: list[Summary]) -> Iterator[str]:
    bare = {(s.server, s.threads, s.scenario): s for s in summaries if s.app == "bare"}
    for s in summaries:
        if s.app == "bare" or s.server != "waitress":
            continue
        base = bare.get((s.server, s.threads, s.scenario))
        ok_abs = s.p99_ms < TARGET_P99_MS
        relative = "no bare run to compare with"
        if base:
            ratio = s.p99_ms / base.p99_ms
            ok_rel = ratio <= TARGET_RATIO
            relative = (
                f"{ratio:.2f}x bare ({'met' if ok_rel else 'MISSED'}: <= {TARGET_RATIO:.0f}x)"
            )
        yield (
            f"- {s.app} app, waitress threads={s.threads}, `{s.scenario}`: p99 {s.p99_ms:.1f} ms"
            f" ({'met' if ok_abs else 'MISSED'}: < {TARGET_P99_MS:.0f} ms), {relative}"
        )


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()},"
        f" waitress {version('waitress')}, slack_bolt {version('slack_bolt')},"
        f" slack_sdk {version('slack_sdk')}, SQLAlchemy {version('SQLAlchemy')},"
        f" SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def report_cpu(template: Path, workdir: Path, fake_url: str, args: argparse.Namespace) -> int:
    rounds = [cpu_per_request(template, workdir, fake_url, args) for _ in range(args.rounds)]
    print(f"\n{machine()}\n")
    print(
        f"CPU per request of the real app's web side (ms; {args.requests} requests after"
        f" {args.warmup} warm-up, one thread, no HTTP, no worker; median of {args.rounds}):"
    )
    for scenario in SCENARIOS:
        figures = sorted(r[scenario] for r in rounds)
        print(f"- {scenario}: {median(figures):.3f} ({', '.join(f'{f:.3f}' for f in figures)})")
    if args.json:
        args.json.write_text(json.dumps(rounds, indent=2))
    return 0


def positive(text: str) -> int:
    number = int(text)  # argparse reports a ValueError as "invalid ... value"
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is less than 1")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=positive, default=2000, help="measured, per scenario")
    parser.add_argument("--concurrency", type=positive, default=50)
    parser.add_argument("--threads", default="8,16,32", help="waitress threads, comma-separated")
    parser.add_argument("--servers", default="waitress", help=f"any of {','.join(SERVERS)}")
    parser.add_argument("--apps", default="bare,real")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=positive, default=1, help="repeat all; medians are shown")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per phase")
    parser.add_argument("--diagnose", action="store_true")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR")
    parser.add_argument("--listener-workers", type=int, default=None)
    parser.add_argument(
        "--no-worker", action="store_true", help="real app with nothing applying the clicks"
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        metavar="S",
        help="sys.setswitchinterval in the real server (what-if; Python's default 0.005)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="instead: the real app's CPU per request, one thread calling it directly",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="S",
        help="before each server, wait up to S s for the machine to be idle (shared machines)",
    )
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    servers = args.servers.split(",")
    apps = args.apps.split(",")
    if not set(servers) <= set(SERVERS) or not set(apps) <= set(APPS):
        parser.error(f"--servers: {SERVERS}; --apps: {APPS}")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    print(f"machine: {machine()}", file=sys.stderr)
    context = mp.get_context("spawn")
    fake, fake_child = context.Pipe()
    fake_process = context.Process(target=fake_slack_process, args=(fake_child,), daemon=True)
    fake_process.start()
    fake_url = fake.recv()
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
            workdir = Path(tmp)
            template = workdir / "template.db"
            alerts = args.warmup + args.requests
            seconds = seed_template(template, alerts, fake_url + "/api/")
            print(f"seeded {alerts} open alerts in {seconds:.1f}s", file=sys.stderr)
            if args.cpu:
                return report_cpu(template, workdir, fake_url, args)
            configs = [
                ServerConfig(
                    app=app,
                    server=server,
                    threads=count,
                    db="",
                    fake_url=fake_url,
                    diagnose=args.diagnose,
                    profile=str(args.profile) if args.profile else None,
                    listener_workers=None if app == "bare" else args.listener_workers,
                    worker=not args.no_worker,
                    switch_interval=None if app == "bare" else args.switch_interval,
                )
                for server in servers
                for count in (threads if server == "waitress" else threads[:1])
                for app in apps
            ]
            for round_ in range(args.rounds):
                print(f"round {round_ + 1} of {args.rounds}", file=sys.stderr)
                for config in configs:
                    if args.quiet_wait:
                        busy = wait_for_quiet(args.quiet_wait)
                        print(f"  machine {100 * busy:.0f}% busy before start", file=sys.stderr)
                    rows += run_server(context, fake, template, workdir, config, args)
        print(f"fake Slack calls: {ask(fake, 'counts')}", file=sys.stderr)
    finally:
        fake.send("stop")
        fake_process.join(timeout=10)

    print(f"\n{machine()}\n")
    print(
        f"{args.requests} measured requests per scenario and round after {args.warmup} warm-up,"
        f" {args.rounds} round(s) (n: all rounds; p50, p99, req/s, lag, CPU: medians over rounds),"
        f" {args.concurrency} concurrent keep-alive clients (closed loop)"
        + (
            f", Bolt listener executor of the real app {args.listener_workers} threads"
            if args.listener_workers
            else ""
        )
        + "\n"
    )
    summaries = combine(rows)
    for line in table(summaries):
        print(line)
    print()
    for line in verdicts(summaries):
        print(line)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
