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

from bot.interactions import SORRY, Recorder, RecordFailed, Worker, WorkerPolicy
from store import interactions
from store.engine import interactions_url, open_interactions, open_store, reading, transaction
from store.interactions import Interaction, InteractionState
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


def test_claims_are_leases_oldest_first(engine: Engine, clock: FakeClock) -> None:
    interactions.record(engine, [("k", click(n)) for n in range(5)], now=clock())
    lease = WorkerPolicy().lease

    with transaction(engine) as session:
        first = interactions.claim(session, now=clock(), lease=lease, limit=3)
    with transaction(engine) as session:
        second = interactions.claim(session, now=clock(), lease=lease, limit=10)
    assert [c.body["n"] for c in first] == [0, 1, 2]
    assert [c.body["n"] for c in second] == [3, 4]  # held rows are not claimed twice

    clock.advance(seconds=lease.total_seconds() + 1)
    with transaction(engine) as session:
        retaken = interactions.claim(session, now=clock(), lease=lease, limit=10)
    assert [(c.body["n"], c.attempts) for c in retaken] == [(n, 2) for n in range(5)]

    # The first holders lost their leases: their completion changes nothing.
    with transaction(engine) as session:
        assert interactions.complete(session, first) == 0
        assert interactions.complete(session, retaken[:2]) == 2
        assert interactions.fail(session, retaken[2], "boom")
    assert [(r.state, r.error) for r in rows(engine)] == [
        (InteractionState.FAILED, "boom"),
        (InteractionState.CLAIMED, None),
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
        "action:a": lambda body, respond: seen.append(("a", body["n"])),
        "command:/b": lambda body, respond: seen.append(("b", body["n"])),
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
    def broken(body: dict[str, Any], respond: Respond) -> None:
        raise ValueError("the store said no")

    work = {"action:broken": broken, "action:fine": lambda body, respond: None}
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


def test_a_worker_that_dies_mid_batch_is_replaced_after_the_lease(
    engine: Engine, clock: FakeClock
) -> None:
    applied: list[int] = []
    policy = WorkerPolicy(batch=2)

    def dies_on_the_second(body: dict[str, Any], respond: Respond) -> None:
        if body["n"] == 2 and not applied.count(2):
            applied.append(2)
            raise SystemExit("killed")  # not an Exception: the worker process ends here
        applied.append(body["n"])

    interactions.record(engine, [("k", click(n)) for n in (1, 2, 3)], now=clock())
    with pytest.raises(SystemExit):
        Worker(engine, {"k": dies_on_the_second}, clock=clock, policy=policy).drain()
    # Neither row of the dead worker's batch is taken before its lease expires.
    assert Worker(engine, {"k": dies_on_the_second}, clock=clock, policy=policy).drain() == 1

    clock.advance(seconds=policy.lease.total_seconds() + 1)
    assert Worker(engine, {"k": dies_on_the_second}, clock=clock, policy=policy).drain() == 2
    # At least once: the first row was applied before the crash and again after it (the
    # work is a compare-and-set, so the second time changes nothing).
    assert applied == [1, 2, 3, 1, 2]
    assert rows(engine) == []


def test_a_request_that_kills_every_worker_is_given_up(engine: Engine, clock: FakeClock) -> None:
    policy = WorkerPolicy(max_attempts=2)
    interactions.record(engine, [("k", click(1))], now=clock())
    runs: list[int] = []

    def fatal(body: dict[str, Any], respond: Respond) -> None:
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
        {"k": lambda body, respond: done.release()},
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
