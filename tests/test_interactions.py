"""The interaction queue: typed commands recorded before the ack, applied by the worker
through the lease mechanism, replays recognised, failures kept and told."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, select
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from switchboard.bot.interactions import (
    SORRY,
    InteractionRunner,
    QueuePolicy,
    Recorder,
    RecordFailed,
    new_request,
)
from switchboard.handlers.commands import Command, Origin
from switchboard.handlers.work import Reply, Work, WorkContext, registry, say
from switchboard.store import interactions
from switchboard.store.engine import (
    interactions_url,
    open_interactions,
    open_store,
    reading,
    transaction,
)
from switchboard.store.interactions import Claimed, Interaction, InteractionState
from switchboard.store.leases import finish
from switchboard.store.outbox import OutboxKind, OutboxMessage
from tests.conftest import FakeClock, joined, poll_until

POLICY = QueuePolicy()


class Poke(Command):
    kind: ClassVar[str] = "test.poke"
    n: int


class Other(Command):
    kind: ClassVar[str] = "test.other"
    n: int


def poke(clock: FakeClock, n: int, response_url: str | None = None, kind: type = Poke) -> Any:
    origin = Origin(user="U0AM", asked_at=clock(), response_url=response_url)
    return kind(origin=origin, n=n)


def record(
    engine: Engine, clock: FakeClock, *commands: Command, key: str | None = None
) -> set[str]:
    requests = [new_request(c, key) for c in commands]
    return interactions.record(engine, requests, now=clock())


def rows(engine: Engine) -> list[Interaction]:
    with reading(engine) as session:
        return list(session.scalars(select(Interaction).order_by(Interaction.id)))


def replies(engine: Engine) -> list[OutboxMessage]:
    with reading(engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.RESPOND)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def runner(
    engine: Engine,
    clock: FakeClock,
    *works: Work[Any],
    policy: QueuePolicy = POLICY,
    manifest: Any = None,
) -> InteractionRunner:
    from switchboard.store.manifest import load_manifest
    from tests.conftest import EXAMPLE_MANIFEST

    return InteractionRunner(
        queue=engine,
        store=engine,
        manifest=manifest or load_manifest(EXAMPLE_MANIFEST),
        work=registry(*works),
        clock=clock,
        policy=policy,
    )


def seen_by(log: list[tuple[str, int]], name: str) -> Any:
    def run(_ctx: WorkContext, command: Any) -> Sequence[Reply]:
        log.append((name, command.n))
        return say(f"done {command.n}")

    return run


# --- the schema -----------------------------------------------------------------------------------


def test_the_migrations_create_exactly_the_models(engine: Engine) -> None:
    """The migrations (both branches, hand-checked) match the SQLModel tables."""
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


def test_a_command_is_stored_typed_and_read_back_as_the_same_command(
    engine: Engine, clock: FakeClock
) -> None:
    command = poke(clock, 7, "http://127.0.0.1:9/response/r1")
    record(engine, clock, command)

    [row] = rows(engine)
    assert (row.kind, row.state, row.attempts) == ("test.poke", InteractionState.PENDING, 0)
    assert Poke.model_validate_json(row.body) == command


def test_a_replayed_request_is_recognised_and_not_recorded_twice(
    engine: Engine, clock: FakeClock
) -> None:
    assert record(engine, clock, poke(clock, 1), key="action:T1:1.0") == set()
    assert record(engine, clock, poke(clock, 1), key="action:T1:1.0") == {"action:T1:1.0"}
    assert record(engine, clock, poke(clock, 2), key="action:T2:1.0") == set()
    assert record(engine, clock, poke(clock, 3), poke(clock, 4)) == set()  # no key: always new
    assert [r.request_key for r in rows(engine)] == ["action:T1:1.0", "action:T2:1.0", None, None]


def test_a_batch_is_written_by_one_statement_all_or_none(engine: Engine, clock: FakeClock) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    record(engine, clock, poke(clock, 0), key="action:T0:1.0")
    event.listen(engine, "before_cursor_execute", seen)
    try:
        pokes = [poke(clock, n) for n in range(40)]
        keys = [f"action:T{n}:1.0" for n in range(40)]
        known = interactions.record(
            engine,
            [new_request(c, k) for c, k in zip(pokes, keys, strict=True)],
            now=clock(),
        )
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    # One INSERT, so on SQLite it needs no transaction around it to be all or none.
    assert [s.split()[0] for s in statements if not s.startswith(("BEGIN", "COMMIT"))] == ["INSERT"]
    assert known == {"action:T0:1.0"}
    assert sorted(Poke.model_validate_json(r.body).n for r in rows(engine)) == list(range(40))


def claim(engine: Engine, clock: FakeClock) -> Claimed | None:
    with transaction(engine) as session:
        return interactions.claim_next(session, now=clock(), lease=POLICY.lease)


def test_claims_are_leases_oldest_first(engine: Engine, clock: FakeClock) -> None:
    record(engine, clock, *(poke(clock, n) for n in range(3)))

    first = [claim(engine, clock) for _ in range(3)]
    assert [Poke.model_validate_json(c.body).n for c in first if c] == [0, 1, 2]
    assert [c.attempts for c in first if c] == [1, 1, 1]
    assert first[0] and first[0].received_at == clock()
    assert claim(engine, clock) is None  # held rows are not claimed twice

    clock.advance(seconds=POLICY.lease.total_seconds() + 1)
    retaken = [claim(engine, clock) for _ in range(3)]
    assert [(c.id, c.attempts) for c in retaken if c] == [(c.id, 2) for c in first if c]

    # The first holders lost their leases: their outcome changes nothing.
    with transaction(engine) as session:
        assert not finish(session, first[0].lease, state=InteractionState.DONE)  # type: ignore[union-attr]
        assert finish(session, retaken[0].lease, state=InteractionState.DONE)  # type: ignore[union-attr]
        assert finish(session, retaken[1].lease, state=InteractionState.FAILED, last_error="boom")  # type: ignore[union-attr]
    assert [(r.state, r.last_error) for r in rows(engine)] == [
        (InteractionState.DONE, None),
        (InteractionState.FAILED, "boom"),
        (InteractionState.CLAIMED, None),
    ]


def test_done_requests_are_kept_a_day_for_replays_then_pruned(
    engine: Engine, clock: FakeClock
) -> None:
    done: list[tuple[str, int]] = []
    record(engine, clock, poke(clock, 1), key="command:T1")
    runner(engine, clock, Work(Poke, seen_by(done, "poke"))).drain()
    assert record(engine, clock, poke(clock, 1), key="command:T1") == {"command:T1"}

    with transaction(engine) as session:
        assert interactions.prune(session, now=clock() + timedelta(hours=23)) == 0
        assert interactions.prune(session, now=clock() + interactions.KEEP_DONE + timedelta(1)) == 1
    assert done == [("poke", 1)]


# --- bot/interactions.Recorder --------------------------------------------------------------------


def test_concurrent_requests_are_each_recorded_once_in_shared_commits(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    real_record = interactions.record

    def counting(engine: Engine, requests: Any, *, now: Any) -> set[str]:
        batches.append(len(requests))
        return real_record(engine, requests, now=now)

    monkeypatch.setattr(interactions, "record", counting)
    monkeypatch.setattr(interactions, "MAX_BATCH", 4)  # the rest wait for the next commit
    woken = threading.Semaphore(0)
    recorder = Recorder(engine, clock=clock, wake=woken.release)
    start = threading.Barrier(16)

    def send(thread: int) -> None:
        start.wait()
        for i in range(25):
            assert recorder(poke(clock, thread * 100 + i), f"k{thread}:{i}")

    threads = [threading.Thread(target=send, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    joined(threads, 30)

    recorded = sorted(Poke.model_validate_json(r.body).n for r in rows(engine))
    assert recorded == sorted(t * 100 + i for t in range(16) for i in range(25))
    assert sum(batches) == 400
    assert 1 < max(batches) <= 4, "requests that arrive during a commit share the next one"
    # The worker is woken once per commit, after it.
    assert all(woken.acquire(timeout=0) for _ in batches)
    assert not woken.acquire(timeout=0)


def test_the_recorder_says_which_requests_were_seen_before(
    engine: Engine, clock: FakeClock
) -> None:
    recorder = Recorder(engine, clock=clock, wake=lambda: None)
    assert recorder(poke(clock, 1), "view:V1:h1") is True
    assert recorder(poke(clock, 1), "view:V1:h1") is False
    assert len(rows(engine)) == 1


def test_a_failed_commit_fails_its_whole_batch_and_the_next_requests_go_on(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = interactions.record
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def first_batch_fails(engine: Engine, requests: Any, *, now: Any) -> set[str]:
        calls.append(len(requests))
        if len(calls) == 1:
            entered.set()
            release.wait(10)  # the others arrive while this commit is under way
        if len(calls) == 2:
            raise OSError("disk full")
        return real_record(engine, requests, now=now)

    monkeypatch.setattr(interactions, "record", first_batch_fails)
    recorder = Recorder(engine, clock=clock, wake=lambda: None)
    outcomes: dict[int, str] = {}

    def send(n: int) -> None:
        try:
            recorder(poke(clock, n), None)
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
    joined([leader, *followers], 10)

    assert calls == [1, 3]
    assert outcomes == {0: "recorded", 1: "failed", 2: "failed", 3: "failed"}
    recorder(poke(clock, 4), None)  # the turn moved on: nobody is left waiting
    assert [Poke.model_validate_json(r.body).n for r in rows(engine)] == [0, 4]


def test_a_wake_that_fails_does_not_fail_the_request(engine: Engine, clock: FakeClock) -> None:
    def broken_wake() -> None:
        raise OSError("no worker to wake")

    recorder = Recorder(engine, clock=clock, wake=broken_wake)
    recorder(poke(clock, 1), None)
    recorder(poke(clock, 2), None)
    assert len(rows(engine)) == 2


def test_a_request_that_cannot_be_recorded_raises_and_wakes_nobody(
    tmp_path: Path, clock: FakeClock
) -> None:
    broken = open_store(f"sqlite:///{tmp_path / 'broken.db'}")
    with broken.begin() as connection:
        connection.exec_driver_sql("DROP TABLE interaction")
    woken: list[bool] = []
    recorder = Recorder(broken, clock=clock, wake=lambda: woken.append(True))

    with pytest.raises(RecordFailed, match=r"could not record test\.poke"):
        recorder(poke(clock, 1), None)
    assert woken == []
    broken.dispose()


# --- bot/interactions.InteractionRunner -----------------------------------------------------------


def test_the_runner_applies_each_kind_once_in_order_and_marks_it_done(
    engine: Engine, clock: FakeClock
) -> None:
    seen: list[tuple[str, int]] = []
    work = (Work(Poke, seen_by(seen, "poke")), Work(Other, seen_by(seen, "other")))
    record(engine, clock, poke(clock, 1), poke(clock, 2, kind=Other))
    record(engine, clock, poke(clock, 3))

    assert runner(engine, clock, *work).drain() == 3
    assert seen == [("poke", 1), ("other", 2), ("poke", 3)]
    assert {r.state for r in rows(engine)} == {InteractionState.DONE}
    assert runner(engine, clock, *work).drain() == 0


def test_the_answer_is_queued_in_the_outbox_with_the_change(
    engine: Engine, clock: FakeClock
) -> None:
    url = "http://127.0.0.1:9/response/r1"  # never called here: the outbox is not drained
    record(engine, clock, poke(clock, 5, url))

    runner(engine, clock, Work(Poke, seen_by([], "poke"))).drain()

    [reply] = replies(engine)
    assert reply.payload["response_url"] == url
    assert (reply.payload["text"], reply.payload["response_type"]) == ("done 5", "ephemeral")
    assert reply.channel is None  # answers to one person are not paced with channel posts


def test_applying_a_request_twice_answers_once(engine: Engine, clock: FakeClock) -> None:
    record(engine, clock, poke(clock, 5, "http://127.0.0.1:9/response/r1"))
    item = claim(engine, clock)
    assert item is not None
    run = runner(engine, clock, Work(Poke, seen_by([], "poke")))
    run._apply(item)  # applied, then the worker died before it could say so
    clock.advance(seconds=POLICY.lease.total_seconds() + 1)
    run.drain()  # taken over and applied again

    assert len(replies(engine)) == 1


def test_work_that_fails_is_kept_as_failed_and_the_person_is_told(
    engine: Engine, clock: FakeClock
) -> None:
    def broken(_ctx: WorkContext, _command: Any) -> list[Reply]:
        raise ValueError("the store said no")

    url = "http://127.0.0.1:9/response/"
    record(engine, clock, poke(clock, 1, url + "r1"), poke(clock, 2, kind=Other))
    with transaction(engine) as session:  # a kind no release knows
        session.add(
            Interaction(
                kind="test.unknown",
                body=poke(clock, 3, url + "r3").model_dump_json(),
                received_at=clock(),
                run_at=clock(),
            )
        )

    runner(engine, clock, Work(Poke, broken), Work(Other, seen_by([], "other"))).drain()

    stored = rows(engine)
    assert [(r.kind, r.state, r.last_error) for r in stored] == [
        ("test.poke", InteractionState.FAILED, "ValueError: the store said no"),
        ("test.other", InteractionState.DONE, None),
        (
            "test.unknown",
            InteractionState.FAILED,
            "unreadable command: no work is registered for test.unknown",
        ),
    ]
    told = replies(engine)
    assert sorted(r.payload["text"] for r in told) == [
        SORRY.format(id=stored[0].id),
        SORRY.format(id=stored[2].id),
    ]
    assert sorted(r.payload["response_url"] for r in told) == [url + "r1", url + "r3"]


def test_a_transient_database_error_is_retried_with_backoff_not_failed(
    engine: Engine, clock: FakeClock
) -> None:
    """A lock held past the busy timeout, or a dropped connection, is not the person's fault."""
    calls: list[int] = []

    def busy_once(_ctx: WorkContext, command: Any) -> list[Reply]:
        calls.append(command.n)
        if len(calls) == 1:
            raise OperationalError("UPDATE alert", {}, Exception("database is locked"))
        return say("done")

    record(engine, clock, poke(clock, 1, "http://127.0.0.1:9/response/r1"))
    run = runner(engine, clock, Work(Poke, busy_once))

    run.drain()
    [row] = rows(engine)
    assert (row.state, row.attempts) == (InteractionState.PENDING, 1)
    assert row.last_error and "database is locked" in row.last_error
    assert run.drain() == 0  # it waits for its backoff
    clock.advance(seconds=POLICY.retry_after.total_seconds())
    run.drain()

    assert calls == [1, 1]
    assert [r.state for r in rows(engine)] == [InteractionState.DONE]
    assert [r.payload["text"] for r in replies(engine)] == ["done"]


def test_a_transient_error_that_never_clears_is_given_up(engine: Engine, clock: FakeClock) -> None:
    def always_busy(_ctx: WorkContext, _command: Any) -> list[Reply]:
        raise OperationalError("UPDATE alert", {}, Exception("database is locked"))

    policy = QueuePolicy(max_attempts=3)
    record(engine, clock, poke(clock, 1))
    run = runner(engine, clock, Work(Poke, always_busy), policy=policy)
    for _ in range(policy.max_attempts):
        run.drain()
        clock.advance(minutes=10)

    [row] = rows(engine)
    assert row.state is InteractionState.FAILED
    assert row.last_error and "database is locked" in row.last_error


def test_a_worker_that_dies_leaves_only_its_current_request_to_be_taken_over(
    engine: Engine, clock: FakeClock
) -> None:
    applied: list[int] = []

    def dies_on_the_second(_ctx: WorkContext, command: Any) -> list[Reply]:
        if command.n == 2 and not applied.count(2):
            applied.append(2)
            raise SystemExit("killed")  # not an Exception: the worker process ends here
        applied.append(command.n)
        return []

    record(engine, clock, *(poke(clock, n) for n in (1, 2, 3)))
    work = Work(Poke, dies_on_the_second)
    with pytest.raises(SystemExit):
        runner(engine, clock, work).drain()
    # The next worker goes on with the third; the second waits for its lease to expire.
    assert runner(engine, clock, work).drain() == 1
    clock.advance(seconds=POLICY.lease.total_seconds() + 1)
    assert runner(engine, clock, work).drain() == 1

    assert applied == [1, 2, 3, 2]  # the first is not applied again
    assert {r.state for r in rows(engine)} == {InteractionState.DONE}


def test_two_runners_share_the_queue_and_apply_each_request_once(
    engine: Engine, clock: FakeClock
) -> None:
    applied: list[tuple[str, int]] = []
    start = threading.Barrier(2)
    work = Work(Poke, seen_by(applied, "poke"))

    def drain() -> None:
        start.wait()
        runner(engine, clock, work).drain()

    record(engine, clock, *(poke(clock, n) for n in range(60)))
    workers = [threading.Thread(target=drain) for _ in range(2)]
    for t in workers:
        t.start()
    joined(workers, 30)

    assert sorted(n for _, n in applied) == list(range(60))
    assert {r.state for r in rows(engine)} == {InteractionState.DONE}


def test_a_claim_that_fails_keeps_the_request_before_it_done(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied: list[tuple[str, int]] = []
    real_claim = interactions.claim_next
    claims: list[int] = []

    def second_claim_fails(session: Any, **kwargs: Any) -> Claimed | None:
        claims.append(1)
        if len(claims) == 2:
            raise OSError("connection reset")
        return real_claim(session, **kwargs)

    record(engine, clock, *(poke(clock, n) for n in (1, 2)))
    monkeypatch.setattr(interactions, "claim_next", second_claim_fails)
    work = Work(Poke, seen_by(applied, "poke"))
    with pytest.raises(OSError):
        runner(engine, clock, work).drain()
    assert [r.state for r in rows(engine)] == [InteractionState.DONE, InteractionState.PENDING]

    runner(engine, clock, work).drain()
    assert [n for _, n in applied] == [1, 2]  # not [1, 1, 2]


def test_a_stopping_runner_finishes_its_request_and_takes_no_more(
    engine: Engine, clock: FakeClock
) -> None:
    stop = threading.Event()
    applied: list[int] = []

    def stop_after_the_first(_ctx: WorkContext, command: Any) -> list[Reply]:
        applied.append(command.n)
        stop.set()  # as SIGTERM does, mid-drain
        return []

    record(engine, clock, *(poke(clock, n) for n in range(5)))
    assert runner(engine, clock, Work(Poke, stop_after_the_first)).drain(stop) == 1
    assert applied == [0]
    assert [r.state for r in rows(engine)][1:] == [InteractionState.PENDING] * 4


def test_a_request_that_kills_every_worker_is_given_up(engine: Engine, clock: FakeClock) -> None:
    policy = QueuePolicy(max_attempts=2)
    record(engine, clock, poke(clock, 1))
    runs: list[int] = []

    def fatal(_ctx: WorkContext, _command: Any) -> list[Reply]:
        runs.append(1)
        raise SystemExit("killed")

    work = Work(Poke, fatal)
    for _ in range(policy.max_attempts):
        with pytest.raises(SystemExit):
            runner(engine, clock, work, policy=policy).drain()
        clock.advance(seconds=policy.lease.total_seconds() + 1)
    assert runner(engine, clock, work, policy=policy).drain() == 1

    assert len(runs) == policy.max_attempts
    [row] = rows(engine)
    assert row.state is InteractionState.FAILED
    assert row.last_error == "not completed in 2 attempts"


@pytest.fixture
def running(engine: Engine, clock: FakeClock) -> Iterator[tuple[Any, threading.Event, list[bool]]]:
    done = threading.Semaphore(0)
    commits: list[bool] = []

    def release(_ctx: WorkContext, _command: Any) -> list[Reply]:
        done.release()
        return []

    run = runner(engine, clock, Work(Poke, release), policy=QueuePolicy(idle=30))
    run.on_commit = lambda: commits.append(True)
    wake, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=run.run, args=(stop, wake), name="interaction-runner")
    thread.start()
    try:
        yield done, wake, commits
    finally:
        stop.set()
        wake.set()
        joined([thread], 10)


def test_run_applies_on_wake_and_passes_each_commit_on(
    running: tuple[Any, threading.Event, list[bool]], engine: Engine, clock: FakeClock
) -> None:
    done, wake, commits = running
    recorder = Recorder(engine, clock=clock, wake=wake.set)  # only a wake can be in time
    for n in range(3):
        recorder(poke(clock, n), None)
        assert done.acquire(timeout=10), f"request {n} was not applied after its wake"
    # Each commit follows its work's `done`: wait for the third, not just the third `done`.
    poll_until(lambda: len(commits) >= 3, what="three commits passed on")
