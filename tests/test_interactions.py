"""The interaction queue: recorded before the ack, applied by the worker, leases, failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from slack_bolt import Respond
from sqlalchemy import Engine, inspect, select
from sqlmodel import SQLModel

from switchboard.bot.interactions import SORRY, Recorder, RecordFailed, Worker, WorkerPolicy
from switchboard.handlers.deferred import Request
from switchboard.store import interactions
from switchboard.store.engine import (
    interactions_url,
    open_interactions,
    open_store,
    reading,
    transaction,
)
from switchboard.store.interactions import Claimed, Interaction, InteractionState
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack


def rows(engine: Engine) -> list[Interaction]:
    with reading(engine) as session:
        return list(session.scalars(select(Interaction).order_by(Interaction.id)))


def click(n: int, response_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "block_actions", "n": n, "token": "legacy-verification"}
    if response_url:
        body["response_url"] = response_url
    return body


# --- the schema -----------------------------------------------------------------------------------


def test_the_migrations_create_exactly_the_models(engine: Engine) -> None:
    """The hand-written interactions branch and the initial schema match the SQLModel tables."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_a_sqlite_store_keeps_its_interactions_in_a_file_of_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agency.db'}"
    assert interactions_url(url) == f"sqlite:///{tmp_path / 'agency.interactions.db'}"
    assert interactions_url("sqlite://") is None
    assert interactions_url("postgresql://u@h/db") is None
    store = open_store(url)
    separate = open_interactions(url, store)
    try:
        assert set(inspect(separate).get_table_names()) == {"alembic_version", "interaction"}
        assert open_interactions(url, store).url == separate.url  # opening again migrates nothing
    finally:
        separate.dispose()
        store.dispose()


# --- store/interactions.py ------------------------------------------------------------------------


def test_record_keeps_the_body_but_never_the_verification_token(
    engine: Engine, clock: FakeClock
) -> None:
    interactions.record(
        engine, [("action:alert.ack", click(1)), ("command:/ops", click(2))], now=clock()
    )

    stored = rows(engine)
    assert [(r.kind, r.state, r.attempts) for r in stored] == [
        ("action:alert.ack", InteractionState.PENDING, 0),
        ("command:/ops", InteractionState.PENDING, 0),
    ]
    assert all("legacy-verification" not in r.body for r in stored)
    assert '"n":1' in stored[0].body


def claim(engine: Engine, clock: FakeClock) -> Claimed | None:
    with transaction(engine) as session:
        return interactions.claim_next(session, now=clock(), lease=WorkerPolicy().lease)


def test_claims_are_leases_oldest_first(engine: Engine, clock: FakeClock) -> None:
    interactions.record(engine, [("k", click(n)) for n in range(3)], now=clock())

    first = [claim(engine, clock) for _ in range(3)]
    assert [c.body["n"] for c in first if c] == [0, 1, 2]
    assert [c.attempts for c in first if c] == [1, 1, 1]
    assert first[0] and first[0].received_at == clock()
    assert claim(engine, clock) is None  # held rows are not claimed twice

    clock.advance(seconds=WorkerPolicy().lease.total_seconds() + 1)
    retaken = [claim(engine, clock) for _ in range(3)]
    assert [(c.body["n"], c.attempts) for c in retaken if c] == [(0, 2), (1, 2), (2, 2)]

    # The first holders lost their leases: their outcome changes nothing.
    with transaction(engine) as session:
        assert not interactions.complete(session, first[0])  # type: ignore[arg-type]
        assert not interactions.fail(session, first[1], "late")  # type: ignore[arg-type]
        assert interactions.complete(session, retaken[0])  # type: ignore[arg-type]
        assert interactions.fail(session, retaken[1], "boom")  # type: ignore[arg-type]
    assert [(r.state, r.error) for r in rows(engine)] == [
        (InteractionState.FAILED, "boom"),
        (InteractionState.CLAIMED, None),
    ]


# --- bot/interactions.Recorder --------------------------------------------------------------------


def test_concurrent_requests_are_each_recorded_once_in_shared_commits(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    real_record = interactions.record

    def counting(engine: Engine, requests: Any, *, now: Any) -> None:
        batches.append(len(requests))
        real_record(engine, requests, now=now)

    monkeypatch.setattr(interactions, "record", counting)
    woken = threading.Semaphore(0)
    recorder = Recorder(engine, clock=clock, wake=woken.release)
    start = threading.Barrier(16)

    def send(thread: int) -> None:
        start.wait()
        for i in range(25):
            recorder("action:alert.ack", click(thread * 100 + i))

    threads = [threading.Thread(target=send, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    recorded = sorted(int(r.body.split('"n":')[1].split(",")[0].rstrip("}")) for r in rows(engine))
    assert recorded == sorted(t * 100 + i for t in range(16) for i in range(25))
    assert sum(batches) == 400
    assert max(batches) > 1, "requests that arrive during a commit share the next one"
    # The worker is woken once per commit, after it.
    assert all(woken.acquire(timeout=0) for _ in batches)
    assert not woken.acquire(timeout=0)


def test_a_failed_commit_fails_its_whole_batch_and_the_next_requests_go_on(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = interactions.record
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def first_batch_fails(engine: Engine, requests: Any, *, now: Any) -> None:
        calls.append(len(requests))
        if len(calls) == 1:
            entered.set()
            release.wait(10)  # the others arrive while this commit is under way
        if len(calls) == 2:
            raise OSError("disk full")
        real_record(engine, requests, now=now)

    monkeypatch.setattr(interactions, "record", first_batch_fails)
    recorder = Recorder(engine, clock=clock, wake=lambda: None)
    outcomes: dict[int, str] = {}

    def send(n: int) -> None:
        try:
            recorder("k", click(n))
            outcomes[n] = "recorded"
        except RecordFailed:
            outcomes[n] = "failed"

    leader = threading.Thread(target=send, args=(0,))
    leader.start()
    assert entered.wait(10)
    followers = [threading.Thread(target=send, args=(n,)) for n in (1, 2, 3)]
    for t in followers:
        t.start()
    queued = threading.Event()
    for _ in range(10_000):  # until all three are queued behind the commit (not a timing)
        if len(recorder._waiting) == 3:
            break
        queued.wait(0.001)
    assert len(recorder._waiting) == 3
    release.set()
    for t in [leader, *followers]:
        t.join(10)

    assert calls == [1, 3]
    assert outcomes == {0: "recorded", 1: "failed", 2: "failed", 3: "failed"}
    recorder("k", click(4))  # the turn moved on: nobody is left waiting
    assert [r.body for r in rows(engine)] == [
        '{"type":"block_actions","n":0}',
        '{"type":"block_actions","n":4}',
    ]


def test_a_wake_that_fails_does_not_fail_the_request(engine: Engine, clock: FakeClock) -> None:
    def broken_wake() -> None:
        raise OSError("no worker to wake")

    recorder = Recorder(engine, clock=clock, wake=broken_wake)
    recorder("k", click(1))
    recorder("k", click(2))
    assert len(rows(engine)) == 2


def test_a_request_that_cannot_be_recorded_raises_and_wakes_nobody(
    tmp_path: Path, clock: FakeClock
) -> None:
    broken = open_store(f"sqlite:///{tmp_path / 'broken.db'}")
    with broken.begin() as connection:
        connection.exec_driver_sql("DROP TABLE interaction")
    woken: list[bool] = []
    recorder = Recorder(broken, clock=clock, wake=lambda: woken.append(True))

    with pytest.raises(RecordFailed, match=r"could not record action:alert\.ack"):
        recorder("action:alert.ack", click(1))
    assert woken == []
    broken.dispose()


# --- bot/interactions.Worker ----------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


def test_the_worker_runs_each_kind_once_in_order_and_deletes_what_is_done(
    engine: Engine, clock: FakeClock
) -> None:
    seen: list[tuple[str, int]] = []
    work = {
        "action:a": lambda request, respond: seen.append(("a", request.body["n"])),
        "command:/b": lambda request, respond: seen.append(("b", request.body["n"])),
    }
    interactions.record(engine, [("action:a", click(1)), ("command:/b", click(2))], now=clock())
    interactions.record(engine, [("action:a", click(3))], now=clock())

    assert Worker(engine, work, clock=clock).drain() == 3
    assert seen == [("a", 1), ("b", 2), ("a", 3)]
    assert rows(engine) == []
    assert Worker(engine, work, clock=clock).drain() == 0


def test_work_that_fails_is_kept_as_failed_and_the_person_is_told(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    def broken(request: Request, respond: Respond) -> None:
        raise ValueError("the store said no")

    work = {"action:broken": broken, "action:fine": lambda request, respond: None}
    interactions.record(
        engine,
        [
            ("action:broken", click(1, fake.response_url("r1"))),
            ("action:fine", click(2)),
            ("action:unknown", click(3, fake.response_url("r3"))),
        ],
        now=clock(),
    )

    Worker(engine, work, clock=clock).drain()

    stored = rows(engine)
    assert [(r.kind, r.state, r.error) for r in stored] == [
        ("action:broken", InteractionState.FAILED, "ValueError: the store said no"),
        ("action:unknown", InteractionState.FAILED, "no work is registered for action:unknown"),
    ]
    told = fake.wait_for_calls("response_url", 2)
    assert sorted(call.params["text"] for call in told) == sorted(
        SORRY.format(id=row.id) for row in stored
    )
    assert all(call.params["response_type"] == "ephemeral" for call in told)


def test_a_worker_that_dies_leaves_only_its_current_request_to_be_taken_over(
    engine: Engine, clock: FakeClock
) -> None:
    applied: list[int] = []

    def dies_on_the_second(request: Request, respond: Respond) -> None:
        if request.body["n"] == 2 and not applied.count(2):
            applied.append(2)
            raise SystemExit("killed")  # not an Exception: the worker process ends here
        applied.append(request.body["n"])

    interactions.record(engine, [("k", click(n)) for n in (1, 2, 3)], now=clock())
    with pytest.raises(SystemExit):
        Worker(engine, {"k": dies_on_the_second}, clock=clock).drain()
    # The next worker goes on with the third; the second waits for its lease to expire.
    assert Worker(engine, {"k": dies_on_the_second}, clock=clock).drain() == 1
    clock.advance(seconds=WorkerPolicy().lease.total_seconds() + 1)
    assert Worker(engine, {"k": dies_on_the_second}, clock=clock).drain() == 1

    assert applied == [1, 2, 3, 2]  # the first is not applied again
    assert rows(engine) == []


def test_two_workers_share_the_queue_and_apply_each_request_once(
    engine: Engine, clock: FakeClock
) -> None:
    applied: list[int] = []
    start = threading.Barrier(2)

    def apply(request: Request, respond: Respond) -> None:
        applied.append(request.body["n"])

    def drain() -> None:
        start.wait()
        Worker(engine, {"k": apply}, clock=clock).drain()

    interactions.record(engine, [("k", click(n)) for n in range(60)], now=clock())
    workers = [threading.Thread(target=drain) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)

    assert sorted(applied) == list(range(60))
    assert rows(engine) == []


def test_a_claim_that_fails_keeps_the_request_before_it_done(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied: list[int] = []
    real_claim = interactions.claim_next
    claims: list[int] = []

    def second_claim_fails(session: Any, **kwargs: Any) -> Claimed | None:
        claims.append(1)
        if len(claims) == 2:
            raise OSError("connection reset")
        return real_claim(session, **kwargs)

    def apply(request: Request, respond: Respond) -> None:
        applied.append(request.body["n"])

    interactions.record(engine, [("k", click(n)) for n in (1, 2)], now=clock())
    monkeypatch.setattr(interactions, "claim_next", second_claim_fails)
    with pytest.raises(OSError):
        Worker(engine, {"k": apply}, clock=clock).drain()
    assert [r.state for r in rows(engine)] == [InteractionState.PENDING]  # the first is gone

    clock.advance(seconds=WorkerPolicy().lease.total_seconds() + 1)
    Worker(engine, {"k": apply}, clock=clock).drain()
    assert applied == [1, 2]  # not [1, 1, 2]


def test_a_stopping_worker_finishes_its_request_and_takes_no_more(
    engine: Engine, clock: FakeClock
) -> None:
    stop = threading.Event()
    applied: list[int] = []

    def stop_after_the_first(request: Request, respond: Respond) -> None:
        applied.append(request.body["n"])
        stop.set()  # as SIGTERM does, mid-drain

    interactions.record(engine, [("k", click(n)) for n in range(5)], now=clock())
    assert Worker(engine, {"k": stop_after_the_first}, clock=clock).drain(stop) == 1
    assert applied == [0]
    assert [r.state for r in rows(engine)] == [InteractionState.PENDING] * 4


def test_a_request_that_kills_every_worker_is_given_up(engine: Engine, clock: FakeClock) -> None:
    policy = WorkerPolicy(max_attempts=2)
    interactions.record(engine, [("k", click(1))], now=clock())
    runs: list[int] = []

    def fatal(request: Request, respond: Respond) -> None:
        runs.append(1)
        raise SystemExit("killed")

    for _ in range(policy.max_attempts):
        with pytest.raises(SystemExit):
            Worker(engine, {"k": fatal}, clock=clock, policy=policy).drain()
        clock.advance(seconds=policy.lease.total_seconds() + 1)
    assert Worker(engine, {"k": fatal}, clock=clock, policy=policy).drain() == 1

    assert len(runs) == policy.max_attempts
    [row] = rows(engine)
    assert row.state is InteractionState.FAILED
    assert row.error == "the worker stopped during each of 2 attempts"


def test_run_drains_on_wake_and_kicks_after_work_until_stopped(
    engine: Engine, clock: FakeClock
) -> None:
    done = threading.Semaphore(0)
    kicks: list[bool] = []
    worker = Worker(
        engine,
        {"k": lambda request, respond: done.release()},
        clock=clock,
        policy=WorkerPolicy(idle=30),  # only a wake can make it look again in time
        after=lambda: kicks.append(True),
    )
    wake, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, wake))
    thread.start()
    try:
        recorder = Recorder(engine, clock=clock, wake=wake.set)
        for n in range(3):
            recorder("k", click(n))
            assert done.acquire(timeout=10), f"request {n} was not applied after its wake"
    finally:
        stop.set()
        wake.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert kicks, "the outbox is kicked after work"
    assert rows(engine) == []
