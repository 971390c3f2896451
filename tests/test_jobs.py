"""Jobs on the lease mechanism: slow work on its own pool, leases kept alive while it runs,
taken over when a worker dies, shared by workers, retried, and given up with the error."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, select

from switchboard.bot.interactions import InteractionRunner, Recorder
from switchboard.bot.jobs import GiveUp, JobContext, JobKind, JobRunner, RetryLater
from switchboard.handlers.commands import Command, Origin
from switchboard.handlers.work import Work, registry, say
from switchboard.store import jobs
from switchboard.store.engine import reading, transaction
from switchboard.store.interactions import Interaction, InteractionState
from switchboard.store.jobs import Job, JobState
from switchboard.store.manifest import AgencyManifest
from tests.conftest import FakeClock, joined, poll_until

LEASE = timedelta(seconds=30)


def queue(engine: Engine, clock: FakeClock, kind: str, key: str, **payload: Any) -> None:
    with transaction(engine) as session:
        jobs.enqueue(session, kind=kind, key=key, now=clock(), payload=payload)


def all_jobs(engine: Engine) -> list[Job]:
    with reading(engine) as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def runner(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock, *kinds: JobKind, **options: Any
) -> JobRunner:
    return JobRunner(engine, manifest, {k.name: k for k in kinds}, clock, **options)


class Click(Command):
    kind: ClassVar[str] = "test.click"


def test_a_slow_job_never_delays_a_click_and_is_never_run_twice(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(ctx: JobContext) -> None:
        runs.append(ctx.job.key)
        started.set()
        assert release.wait(30), "the test never released the slow job"

    kind = JobKind("test.slow", slow, lease=LEASE)
    pool = runner(engine, manifest, clock, kind, threads=1, beat_interval=0.01)
    stop = threading.Event()
    queue(engine, clock, "test.slow", "slow-1")
    pool.start(stop)
    try:
        assert started.wait(10)
        # Long past its lease by the clock: the lease keeper has moved the expiry along.
        clock.advance(seconds=LEASE.total_seconds() * 3)
        poll_until(
            lambda: all_jobs(engine)[0].claim_expires_at > clock(),  # type: ignore[operator]
            what="the running job's lease to be extended",
        )
        another_worker = runner(engine, manifest, clock, kind)
        assert another_worker.run_one() is False  # it is not taken over while it runs

        # A click recorded now is applied at once, by the interaction runner, not behind it.
        Recorder(engine, clock=clock, wake=lambda: None)(
            Click(origin=Origin(user="U0AM", asked_at=clock())), None
        )
        clicks = InteractionRunner(
            queue=engine,
            store=engine,
            manifest=manifest,
            work=registry(Work(Click, lambda _ctx, _cmd: say("clicked"))),
            clock=clock,
        )
        assert clicks.drain() == 1
        with reading(engine) as session:
            assert [r.state for r in session.scalars(select(Interaction))] == [
                InteractionState.DONE
            ]
        assert all_jobs(engine)[0].state is JobState.RUNNING  # still going
    finally:
        release.set()
        stop.set()
        assert pool.join(10), "a job thread did not stop"

    [job] = all_jobs(engine)
    assert (job.state, job.attempts, runs) == (JobState.DONE, 1, ["slow-1"])


def test_a_job_whose_worker_died_is_taken_over_after_its_lease(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    runs: list[int] = []
    kind = JobKind("test.work", lambda ctx: runs.append(ctx.job.attempts), lease=LEASE)
    queue(engine, clock, "test.work", "w-1")
    with transaction(engine) as session:  # a worker claims it, then is killed before it finishes
        assert jobs.claim_due(session, kinds=["test.work"], now=clock(), lease=LEASE)

    survivor = runner(engine, manifest, clock, kind)
    assert survivor.run_one() is False
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert survivor.run_one() is True

    [job] = all_jobs(engine)
    assert (job.state, job.attempts) == (JobState.DONE, 2)  # the dead start counted
    assert len(runs) == 1


def test_two_workers_share_every_job_kind_and_run_each_job_once(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    ran: Counter[str] = Counter()
    lock = threading.Lock()

    def work(ctx: JobContext) -> None:
        with lock:
            ran[ctx.job.key] += 1

    kinds = [JobKind("test.draft", work), JobKind("test.send", work), JobKind("test.chart", work)]
    keys = [f"{k.name}:{n}" for k in kinds for n in range(15)]
    for key in keys:
        queue(engine, clock, key.split(":")[0], key)
    start = threading.Barrier(2)

    def drain() -> None:
        start.wait()
        runner(engine, manifest, clock, *kinds).run_due()

    workers = [threading.Thread(target=drain) for _ in range(2)]
    for t in workers:
        t.start()
    joined(workers, 60)

    assert ran == Counter(dict.fromkeys(keys, 1))
    assert {j.state for j in all_jobs(engine)} == {JobState.DONE}


def test_a_failing_job_is_retried_with_backoff_then_given_up_with_its_error(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    def broken(_ctx: JobContext) -> None:
        raise ConnectionError("smtp refused")

    kind = JobKind("test.broken", broken, max_attempts=3, retry_after=timedelta(seconds=10))
    queue(engine, clock, "test.broken", "b-1")
    pool = runner(engine, manifest, clock, kind)

    assert pool.run_one()
    [job] = all_jobs(engine)
    assert (job.state, job.attempts, job.run_at) == (
        JobState.PENDING,
        1,
        clock() + timedelta(seconds=10),
    )
    assert pool.run_one() is False  # backing off
    clock.advance(seconds=10)
    assert pool.run_one()
    clock.advance(seconds=20)  # doubled
    assert pool.run_one()

    [job] = all_jobs(engine)
    assert (job.state, job.attempts) == (JobState.FAILED, 3)
    assert job.last_error == "gave up after 3 attempts: ConnectionError: smtp refused"


def test_waiting_for_a_limit_does_not_use_up_an_attempt_and_give_up_is_final(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    def capped(_ctx: JobContext) -> None:
        raise RetryLater("50 sends this hour", timedelta(minutes=5))

    def impossible(_ctx: JobContext) -> None:
        raise GiveUp("no approval for this text")

    kinds = (JobKind("test.capped", capped), JobKind("test.impossible", impossible))
    queue(engine, clock, "test.capped", "c-1")
    queue(engine, clock, "test.impossible", "i-1")
    pool = runner(engine, manifest, clock, *kinds)
    assert pool.run_due() == 2

    capped_job, impossible_job = all_jobs(engine)
    assert (capped_job.state, capped_job.attempts) == (JobState.PENDING, 0)
    assert capped_job.run_at == clock() + timedelta(minutes=5)
    assert capped_job.last_error == "50 sends this hour"
    assert (impossible_job.state, impossible_job.last_error) == (
        JobState.FAILED,
        "no approval for this text",
    )


def test_a_job_key_is_queued_once(engine: Engine, clock: FakeClock) -> None:
    with transaction(engine) as session:
        assert jobs.enqueue(session, kind="test.k", key="draft:inbound-1", now=clock())
        assert not jobs.enqueue(session, kind="test.k", key="draft:inbound-1", now=clock())
    assert len(all_jobs(engine)) == 1


@pytest.mark.parametrize("kinds", [(), ("test.other",)])
def test_a_runner_only_takes_its_own_kinds(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock, kinds: tuple[str, ...]
) -> None:
    queue(engine, clock, "test.mine", "m-1")
    others = runner(engine, manifest, clock, *(JobKind(k, lambda ctx: None) for k in kinds))
    assert others.run_one() is False
    assert all_jobs(engine)[0].state is JobState.PENDING
