"""The outbox against a fake Slack over HTTP: pacing, retries, failures, leases, replicas.

Time is the test's FakeClock: a drain sees `clock()`, and the test moves it by hand, so
"nothing before Retry-After" is checked against the clock time of every call the fake got.
No sleeps. Runs on SQLite and, when configured, PostgreSQL (`engine`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from switchboard.bot.app import outbox_transport
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.settings import Settings
from switchboard.bot.slack_transport import SlackTransport
from switchboard.store.audit import AuditEvent
from switchboard.store.engine import transaction
from switchboard.store.outbox import OutboxKind, OutboxMessage, OutboxState, enqueue
from tests.conftest import FakeClock
from tests.fake_slack import Call, FakeSlack

ALERTS = "C0ALERTS"
POLICY = OutboxPolicy()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def transport_for(fake: FakeSlack) -> SlackTransport:
    """The outbox's production client (no retries in place), pointed at the fake."""
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_api_url=fake.api_url)
    return outbox_transport(settings)


def make_outbox(
    engine: Engine, fake: FakeSlack, clock: FakeClock, policy: OutboxPolicy = POLICY
) -> Outbox:
    return Outbox(engine, transport_for(fake), clock=clock, alerts_channel=ALERTS, policy=policy)


def put(
    engine: Engine,
    clock: FakeClock,
    key: str,
    channel: str,
    text: str | None = None,
    *,
    kind: OutboxKind = OutboxKind.POST,
    parent_key: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> bool:
    payload: dict[str, Any] = {"text": text if text is not None else key}
    if blocks is not None:
        payload["blocks"] = blocks
    with transaction(engine) as session:
        return enqueue(
            session,
            key=key,
            kind=kind,
            channel=channel,
            payload=payload,
            parent_key=parent_key,
            now=clock(),
        )


def rows(engine: Engine) -> list[OutboxMessage]:
    with transaction(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def row(engine: Engine, key: str) -> OutboxMessage:
    (found,) = [r for r in rows(engine) if r.key == key]
    return found


def audit_events(engine: Engine, action: str = "outbox.failed") -> list[AuditEvent]:
    with transaction(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(session.exec(query))


def unfinished(engine: Engine) -> int:
    with transaction(engine) as session:
        query = select(func.count()).where(
            OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING])  # type: ignore[attr-defined]
        )
        return session.exec(query).one()


def posts(fake: FakeSlack, text: str | None = None) -> list[Call]:
    calls = fake.calls_to("chat.postMessage")
    return calls if text is None else [c for c in calls if c.params.get("text") == text]


class Driver:
    """Drains and moves the clock, noting the clock time at which each Slack call arrived."""

    def __init__(self, outbox: Outbox, clock: FakeClock, fake: FakeSlack) -> None:
        self.outbox, self.clock, self.fake = outbox, clock, fake
        self.stamps: list[datetime] = []  # parallel to fake.calls

    def drain_once(self) -> int:
        tried = self.outbox.drain_once()
        self._note()
        return tried

    def drain(self) -> int:
        tried = self.outbox.drain()
        self._note()
        return tried

    def _note(self) -> None:
        self.stamps.extend([self.clock()] * (len(self.fake.calls) - len(self.stamps)))

    def run(self, engine: Engine, step: float = 0.5, limit: int = 2000) -> None:
        """drain_once, then `step` seconds later again, until nothing is left to send."""
        for _ in range(limit):
            self.drain_once()
            if unfinished(engine) == 0:
                return
            self.clock.advance(seconds=step)
        raise AssertionError(f"outbox not drained after {limit} rounds: {rows(engine)}")

    def timeline(self, channel: str) -> list[tuple[datetime, Call]]:
        return [
            (stamp, call)
            for stamp, call in zip(self.stamps, self.fake.calls, strict=True)
            if call.params.get("channel") == channel
        ]


# -- transient failures ------------------------------------------------------------------


def test_429_and_5xx_bursts_deliver_everything_once_in_order(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    channels = ["C0ONE", "C0TWO", "C0THREE"]
    expected: dict[str, list[str]] = {c: [] for c in channels}
    for i in range(12):
        channel = channels[i % 3]
        put(engine, clock, f"msg-{i:02d}", channel)
        expected[channel].append(f"msg-{i:02d}")
    fake.fail_next("chat.postMessage", times=3, status=429, retry_after=2)
    fake.fail_next("chat.postMessage", times=2, status=503)
    fake.fail_next("chat.postMessage", times=2, status=429, retry_after=2)
    fake.fail_next("chat.postMessage", times=2, status=503)

    driver = Driver(make_outbox(engine, fake, clock), clock, fake)
    driver.run(engine, step=0.5)

    texts = [m["text"] for m in fake.messages()]
    assert sorted(texts) == sorted(f"msg-{i:02d}" for i in range(12))  # all, none twice
    for channel in channels:
        assert [m["text"] for m in fake.messages(channel)] == expected[channel]
    statuses = Counter(call.status for call in posts(fake))
    assert statuses == {429: 5, 503: 4, 200: 12}  # every scripted failure was met

    for channel in channels:
        timeline = driver.timeline(channel)
        for (at, call), (later, _) in pairwise(timeline):
            if call.status == 429:
                assert later >= at + timedelta(seconds=2), f"{channel}: before Retry-After"
            elif call.status == 503:
                assert later >= at + timedelta(seconds=1), f"{channel}: no backoff after 5xx"
            else:
                assert later >= at + timedelta(seconds=1), f"{channel}: over 1 msg/s"

    # A 429 is Slack pacing us, not a failure: only the 5xx answers and the send that worked
    # were counted as attempts.
    for message in rows(engine):
        assert message.state is OutboxState.SENT
        server_errors = [c for c in posts(fake, message.key) if c.status == 503]
        assert message.attempts == len(server_errors) + 1, message.key
        assert message.ts is not None and message.last_error is None


def test_rate_limits_never_use_up_attempts(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    policy = OutboxPolicy(max_attempts=2)
    put(engine, clock, "patient", "C0ONE")
    fake.fail_next("chat.postMessage", times=5, status=429, retry_after=3)
    driver = Driver(make_outbox(engine, fake, clock, policy), clock, fake)

    driver.drain_once()
    assert len(posts(fake)) == 1
    clock.advance(seconds=2.5)
    driver.drain()
    assert len(posts(fake)) == 1  # Retry-After: 3 has not elapsed
    clock.advance(seconds=0.5)
    driver.drain()
    assert len(posts(fake)) == 2

    driver.run(engine, step=1)
    message = row(engine, "patient")
    assert message.state is OutboxState.SENT
    assert message.attempts == 1  # the send that worked; waiting for Slack cost nothing
    assert [c.status for c in posts(fake)] == [429] * 5 + [200]


def test_at_most_one_message_per_second_per_channel(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    for i in range(5):
        put(engine, clock, f"busy-{i}", "C0BUSY")
    put(engine, clock, "other", "C0OTHER")
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)

    assert driver.drain_once() == 2  # one per channel
    assert [m["text"] for m in fake.messages("C0BUSY")] == ["busy-0"]
    assert driver.drain() == 0  # same second: nothing more
    clock.advance(seconds=0.5)
    assert driver.drain() == 0
    assert len(fake.messages("C0BUSY")) == 1
    for expected in range(2, 6):
        clock.advance(seconds=0.5 if expected == 2 else 1)
        assert driver.drain() == 1
        assert len(fake.messages("C0BUSY")) == expected
    assert [m["text"] for m in fake.messages("C0BUSY")] == [f"busy-{i}" for i in range(5)]
    assert fake.messages("C0OTHER")[0]["text"] == "other"


def test_dropped_connections_back_off_then_deliver(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "flaky", "C0ONE")
    fake.fail_next("chat.postMessage", times=2, drop_connection=True)
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)

    driver.drain_once()
    assert [c.status for c in posts(fake)] == [0]
    message = row(engine, "flaky")
    assert message.state is OutboxState.PENDING
    assert message.attempts == 1
    assert "connection" in (message.last_error or "")
    assert message.next_attempt_at > clock()
    assert driver.drain() == 0  # backing off, not retrying at once
    assert len(posts(fake)) == 1

    driver.run(engine, step=0.5)
    assert [c.status for c in posts(fake)] == [0, 0, 200]
    assert [m["text"] for m in fake.messages()] == ["flaky"]
    stamps = [at for at, _ in driver.timeline("C0ONE")]
    assert stamps[1] >= stamps[0] + timedelta(seconds=1)
    assert stamps[2] - stamps[1] > stamps[1] - stamps[0]  # the second wait is longer
    message = row(engine, "flaky")
    assert (message.state, message.attempts) == (OutboxState.SENT, 3)  # two drops, then sent


def test_server_errors_forever_give_up_after_max_attempts(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "doomed", "C0ONE")
    fake.fail_next("chat.postMessage", times=POLICY.max_attempts, status=503)
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)

    waits: list[timedelta] = []
    driver.drain_once()
    while row(engine, "doomed").state is OutboxState.PENDING:
        assert len(posts(fake, "doomed")) <= POLICY.max_attempts
        wait = row(engine, "doomed").next_attempt_at - clock()
        waits.append(wait)
        clock.advance(seconds=wait.total_seconds() - 0.1)
        calls_before = len(fake.calls)
        driver.drain()
        assert len(fake.calls) == calls_before, "retried before its backoff elapsed"
        clock.advance(seconds=0.1)
        driver.drain_once()
        assert len(fake.calls) == calls_before + 1

    assert len(posts(fake, "doomed")) == POLICY.max_attempts
    assert waits == sorted(waits)  # exponential backoff
    assert waits[0] >= timedelta(seconds=1)
    assert all(w <= POLICY.max_backoff for w in waits)
    doomed = row(engine, "doomed")
    assert doomed.state is OutboxState.FAILED
    assert doomed.attempts == POLICY.max_attempts
    assert "503" in (doomed.last_error or "")

    (event,) = audit_events(engine)
    assert event.subject == "outbox:doomed"
    clock.advance(minutes=30)
    driver.run(engine)
    (notice,) = fake.messages(ALERTS)
    assert "<#C0ONE>" in notice["text"] and "doomed" in notice["text"]
    assert len(posts(fake, "doomed")) == POLICY.max_attempts  # never again


# -- permanent failures ------------------------------------------------------------------


@pytest.mark.parametrize("error", ["channel_not_found", "invalid_blocks", "not_in_channel"])
def test_permanent_error_fails_after_one_call_and_is_surfaced(
    engine: Engine, clock: FakeClock, fake: FakeSlack, error: str
) -> None:
    put(engine, clock, "lost", "C0GONE", "the lost message")
    put(engine, clock, "next", "C0GONE", "the next message")
    fake.fail_next("chat.postMessage", error=error)  # HTTP 200, ok: false
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)

    driver.drain_once()
    assert len(posts(fake)) == 1
    lost = row(engine, "lost")
    assert lost.state is OutboxState.FAILED
    assert lost.attempts == 1
    assert lost.last_error == error
    (event,) = audit_events(engine)
    assert event.subject == "outbox:lost"
    assert event.actor == "outbox"
    assert event.after is not None and event.after["channel"] == "C0GONE"

    driver.run(engine, step=1)
    clock.advance(minutes=30)
    driver.run(engine)
    assert len(posts(fake, "the lost message")) == 1  # not retried
    assert [m["text"] for m in fake.messages("C0GONE")] == ["the next message"]  # not blocked
    (notice,) = fake.messages(ALERTS)
    assert "<#C0GONE>" in notice["text"] and error in notice["text"]


def test_a_failed_failure_notice_does_not_report_itself(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "lost", "C0GONE")
    fake.fail_next("chat.postMessage", times=2, error="channel_not_found")
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)

    driver.run(engine, step=1)
    clock.advance(minutes=30)
    driver.run(engine)

    assert len(posts(fake)) == 2  # the message, then its notice; nothing after
    assert fake.messages() == []
    all_rows = rows(engine)
    assert len(all_rows) == 2
    assert {r.state for r in all_rows} == {OutboxState.FAILED}
    assert [r.channel for r in all_rows] == ["C0GONE", ALERTS]
    assert len(audit_events(engine)) == 2


def test_an_update_whose_parent_failed_fails_without_calling_slack(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "alert:1", "C0GONE", "open")
    put(
        engine,
        clock,
        "alert:1:ack",
        "C0GONE",
        "acked",
        kind=OutboxKind.UPDATE,
        parent_key="alert:1",
    )
    fake.fail_next("chat.postMessage", error="channel_not_found")
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)

    driver.run(engine, step=1)
    assert fake.calls_to("chat.update") == []
    assert row(engine, "alert:1:ack").state is OutboxState.FAILED
    assert {e.subject for e in audit_events(engine)} == {"outbox:alert:1", "outbox:alert:1:ack"}


# -- keys, updates and threads -----------------------------------------------------------


def test_the_same_key_twice_is_one_row_and_one_post(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "alert:7", ALERTS, "first")
    put(engine, clock, "alert:7", ALERTS, "second")
    assert [r.payload["text"] for r in rows(engine)] == ["first"]
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)
    driver.run(engine)
    clock.advance(seconds=5)
    put(engine, clock, "alert:7", ALERTS, "third")  # already sent: still no
    driver.run(engine)
    assert [m["text"] for m in fake.messages()] == ["first"]
    assert len(posts(fake)) == 1
    assert len(rows(engine)) == 1


def test_enqueue_says_whether_it_added_a_row(engine: Engine, clock: FakeClock) -> None:
    """`enqueue` documents its return value; callers may rely on it to skip work."""
    assert put(engine, clock, "alert:8", ALERTS, "first") is True
    assert put(engine, clock, "alert:8", ALERTS, "second") is False
    assert len(rows(engine)) == 1


def test_updates_edit_the_parent_and_replies_go_in_its_thread(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*acked*"}}]
    put(engine, clock, "alert:1", ALERTS, "open")
    put(
        engine,
        clock,
        "alert:1:ack",
        ALERTS,
        "acked",
        kind=OutboxKind.UPDATE,
        parent_key="alert:1",
        blocks=blocks,
    )
    put(engine, clock, "alert:1:worse", ALERTS, "worse", parent_key="alert:1")
    driver = Driver(make_outbox(engine, fake, clock), clock, fake)
    driver.run(engine, step=1)

    parent = row(engine, "alert:1")
    assert parent.ts is not None
    (update,) = fake.calls_to("chat.update")
    assert update.params["ts"] == parent.ts
    assert update.params["channel"] == ALERTS
    original, reply = fake.messages(ALERTS)
    assert (original["ts"], original["text"], original["blocks"]) == (parent.ts, "acked", blocks)
    assert original["thread_ts"] in (None, "")
    assert reply["text"] == "worse"
    assert reply["thread_ts"] == parent.ts
    assert {r.state for r in rows(engine)} == {OutboxState.SENT}


# -- leases and replicas -----------------------------------------------------------------


def test_restart_mid_drain_waits_for_the_lease_then_delivers_once(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    channels = ["C0ONE", "C0TWO", "C0THREE"]
    for i in range(6):
        put(engine, clock, f"job-{i}", channels[i % 3])
    dead = make_outbox(engine, fake, clock)
    claims = dead._claim()  # ...and the process dies before sending
    assert len(claims) == 3
    assert len(fake.calls) == 0

    restarted = Driver(make_outbox(engine, fake, clock), clock, fake)
    assert restarted.drain() == 0
    clock.advance(seconds=POLICY.lease.total_seconds())
    assert restarted.drain() == 0  # the lease still stands at exactly its end
    assert len(fake.calls) == 0
    clock.advance(seconds=0.5)
    restarted.run(engine, step=1)

    assert sorted(m["text"] for m in fake.messages()) == [f"job-{i}" for i in range(6)]
    assert len(posts(fake)) == 6
    before = {r.id: (r.state, r.ts, r.attempts, r.sent_at) for r in rows(engine)}

    # The old sender comes back and tries to record what it thinks happened.
    for item in claims:
        assert dead._record(item.lease, state=OutboxState.FAILED, ts="stale") is False
        with transaction(engine) as session:
            stale = session.get_one(OutboxMessage, item.lease.id)
        dead._fail(stale, item.lease, "stale sender")
    assert {r.id: (r.state, r.ts, r.attempts, r.sent_at) for r in rows(engine)} == before
    assert audit_events(engine) == []
    assert len(rows(engine)) == 6  # no failure notice queued either


def test_a_row_locked_by_another_replica_is_skipped_not_waited_for(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's")
    put(engine, clock, "locked", "C0ONE")
    put(engine, clock, "free", "C0TWO")
    outbox = make_outbox(engine, fake, clock)
    with engine.connect() as other, ThreadPoolExecutor(max_workers=1) as pool:
        # Another replica is in the middle of claiming the head of C0ONE.
        locked = select(OutboxMessage.id).where(OutboxMessage.key == "locked")
        other.execute(locked.with_for_update())
        future = pool.submit(outbox.drain_once)
        try:
            tried = future.result(timeout=5)  # waiting on the lock would time out here
        finally:
            other.rollback()
    assert tried == 1
    assert [m["text"] for m in fake.messages()] == ["free"]
    clock.advance(seconds=1)
    assert outbox.drain() == 1
    assert [m["text"] for m in fake.messages()] == ["free", "locked"]


def test_two_replicas_draining_at_once_send_each_message_once(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    channels = [f"C0CH{i}" for i in range(8)]
    for i in range(40):
        put(engine, clock, f"m-{i:02d}", channels[i % 8])
    replicas = [make_outbox(engine, fake, clock) for _ in range(2)]
    barrier = threading.Barrier(2, timeout=10)

    def drain(outbox: Outbox) -> int:
        barrier.wait()
        return outbox.drain_once()

    rounds = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(40):
            calls_before = len(fake.calls)
            tried = [f.result(timeout=30) for f in [pool.submit(drain, r) for r in replicas]]
            rounds.append(tried)
            round_channels = [c.params["channel"] for c in fake.calls[calls_before:]]
            assert len(round_channels) == len(set(round_channels)), "two in a channel at once"
            if unfinished(engine) == 0:
                break
            clock.advance(seconds=1)
    assert unfinished(engine) == 0

    texts = [m["text"] for m in fake.messages()]
    assert sorted(texts) == [f"m-{i:02d}" for i in range(40)]
    assert len(posts(fake)) == 40
    for n, channel in enumerate(channels):
        assert [m["text"] for m in fake.messages(channel)] == [
            f"m-{i:02d}" for i in range(n, 40, 8)
        ]
    assert sum(sum(tried) for tried in rounds) == 40


# -- DMs and replies -------------------------------------------------------------------------


def test_a_dm_opens_the_conversation_then_posts_and_its_update_edits_the_dm(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "esc:1:dm", "U0AM", "please look", kind=OutboxKind.DM)
    put(
        engine,
        clock,
        "esc:1:dm:ack",
        "U0AM",
        "acknowledged",
        kind=OutboxKind.UPDATE,
        parent_key="esc:1:dm",
    )
    outbox = make_outbox(engine, fake, clock)

    Driver(outbox, clock, fake).run(engine)

    [opened] = fake.calls_to("conversations.open")
    assert opened.params["users"] == "U0AM"
    dm_channel = opened.response["channel"]["id"]  # type: ignore[index]
    [post] = posts(fake)
    assert post.params["channel"] == dm_channel
    [update] = fake.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (dm_channel, post.response["ts"])  # type: ignore[index]
    sent = row(engine, "esc:1:dm")
    assert (sent.posted_channel, sent.channel) == (dm_channel, "U0AM")  # the lane is the person


def test_every_post_carries_its_outbox_key_in_message_metadata(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "alert:7", ALERTS)
    make_outbox(engine, fake, clock).drain()

    [message] = fake.messages(ALERTS)
    assert message["metadata"] == {
        "event_type": "switchboard_outbox",
        "event_payload": {"key": "alert:7"},
    }


def put_reply(engine: Engine, clock: FakeClock, key: str, url: str, text: str = "done") -> None:
    with transaction(engine) as session:
        enqueue(
            session,
            key=key,
            kind=OutboxKind.RESPOND,
            payload={"response_url": url, "response_type": "ephemeral", "text": text},
            now=clock(),
        )


def test_replies_go_to_their_response_url_without_channel_pacing(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    for n in range(5):
        put_reply(engine, clock, f"interaction:{n}:reply:0", fake.response_url(f"r{n}"), f"t{n}")

    assert make_outbox(engine, fake, clock).drain_once() == 5  # all at once: not paced

    calls = fake.calls_to("response_url")
    assert sorted(c.params["text"] for c in calls) == [f"t{n}" for n in range(5)]
    assert all("response_url" not in c.params for c in calls)  # the URL is where, not what
    assert all(c.params["response_type"] == "ephemeral" for c in calls)


def test_a_reply_to_a_closed_port_is_retried_then_failed_audited_and_not_reported(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    import socket

    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/response/gone"
        put_reply(engine, clock, "interaction:1:reply:0", url)
        Driver(make_outbox(engine, fake, clock), clock, fake).run(engine, step=60)

    reply = row(engine, "interaction:1:reply:0")
    assert (reply.state, reply.attempts) == (OutboxState.FAILED, POLICY.max_respond_attempts)
    assert "connection" in (reply.last_error or "")
    [event] = audit_events(engine)
    assert event.after["kind"] == "respond"  # type: ignore[index]
    assert len(rows(engine)) == 1  # nothing queued to the alerts channel for one person's reply


# -- a token Slack refuses: pause, probe, resume --------------------------------------------


def make_paused_outbox(engine: Engine, fake: FakeSlack, clock: FakeClock) -> Outbox:
    return Outbox(
        engine, transport_for(fake), clock=clock, alerts_channel=ALERTS, admins=["U0ADMIN"]
    )


def test_a_token_slack_refuses_pauses_sending_and_nothing_is_lost_or_sent_twice(
    engine: Engine, clock: FakeClock, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    from switchboard.bot.server import health

    for n in range(6):
        put(engine, clock, f"m{n}", ["C0ONE", "C0TWO", "C0THREE"][n % 3])
    fake.fail_next("chat.postMessage", error="invalid_auth")  # the token stops working
    fake.fail_next("auth.test", error="token_revoked", times=3)  # ...for three probes
    outbox = make_paused_outbox(engine, fake, clock)

    outbox.drain_once()
    assert [c.status for c in posts(fake)] == [200]  # refused with ok: false, as Slack does
    body = health(engine, clock())
    assert "outbox.paused: paused (Slack answered invalid_auth)" in body["problems"]
    assert {r.state for r in rows(engine)} == {OutboxState.PENDING}  # nothing failed

    for _ in range(24):  # four minutes, a drain every ten seconds
        clock.advance(seconds=10)
        outbox.drain_once()
    probes = fake.calls_to("auth.test")
    assert len(probes) == 4  # at most one a minute: three refused, the fourth accepted
    assert len(posts(fake)) > 1  # it resumed by itself
    paused_logs = [r for r in caplog.records if "outbox paused since" in r.getMessage()]
    assert len(paused_logs) == 3  # once per probe, never per row

    Driver(outbox, clock, fake).run(engine)
    assert sorted(m["text"] for m in fake.messages()) == [f"m{n}" for n in range(6)]
    assert len(posts(fake)) == 7  # six sent once each, plus the one refused
    assert all(r.attempts == 1 for r in rows(engine))  # waiting for the token cost nothing
    assert "problems" not in health(engine, clock()) or not [
        p for p in health(engine, clock())["problems"] if p.startswith("outbox")
    ]


def test_the_pause_is_shared_by_every_drainer_and_probed_once(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "m0", "C0ONE")
    fake.fail_next("chat.postMessage", error="invalid_auth")
    fake.fail_next("auth.test", error="invalid_auth", times=10)
    first, second = make_paused_outbox(engine, fake, clock), make_paused_outbox(engine, fake, clock)
    first.drain_once()

    clock.advance(seconds=61)
    first.drain_once()
    second.drain_once()  # another replica, or a cron tick: it sees the same pause

    assert len(fake.calls_to("auth.test")) == 1
    assert len(posts(fake)) == 1


def test_the_alerts_channel_refusing_the_bot_is_told_to_the_admins_once(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    from switchboard.bot.server import health

    put(engine, clock, "alert:1", ALERTS)
    put(engine, clock, "alert:2", ALERTS)
    fake.fail_next("chat.postMessage", error="not_in_channel", times=2)
    outbox = make_paused_outbox(engine, fake, clock)

    Driver(outbox, clock, fake).run(engine)

    assert [row(engine, k).state for k in ("alert:1", "alert:2")] == [OutboxState.FAILED] * 2
    [dm] = [c for c in posts(fake) if c.params["channel"].startswith("D")]
    assert "cannot post in its alerts channel" in dm.params["text"]
    assert [c.params["users"] for c in fake.calls_to("conversations.open")] == ["U0ADMIN"]
    assert not [c for c in posts(fake) if "could not deliver" in c.params["text"]]
    assert "slack.alerts_channel: not_in_channel (C0ALERTS)" in health(engine, clock())["problems"]

    put(engine, clock, "alert:3", ALERTS)  # the bot was invited back
    Driver(outbox, clock, fake).run(engine)
    assert "problems" not in health(engine, clock()) or not [
        p for p in health(engine, clock())["problems"] if p.startswith("slack.alerts_channel")
    ]


# -- a crash between Slack's answer and recording it ----------------------------------------


class DiesAfterPosting(SlackTransport):
    """Slack takes the post, then the sender is killed before it can record the ts."""

    def post(self, *args: Any, **kwargs: Any) -> tuple[str, str]:
        super().post(*args, **kwargs)
        raise SystemExit("killed between Slack's answer and the commit")


@pytest.mark.parametrize("kind", ["post", "thread reply", "dm"])
def test_a_post_sent_before_a_crash_is_found_in_slack_and_not_sent_again(
    engine: Engine, clock: FakeClock, fake: FakeSlack, kind: str
) -> None:
    if kind == "thread reply":
        put(engine, clock, "alert:1", ALERTS, "parent")
        make_outbox(engine, fake, clock).drain()
        clock.advance(seconds=2)
        put(engine, clock, "alert:1:worse", ALERTS, "worse", parent_key="alert:1")
    elif kind == "dm":
        put(engine, clock, "esc:1:dm", "U0AM", "please look", kind=OutboxKind.DM)
    else:
        put(engine, clock, "alert:1", ALERTS, "over")
    key = {"post": "alert:1", "thread reply": "alert:1:worse", "dm": "esc:1:dm"}[kind]
    dying = Outbox(
        engine, DiesAfterPosting(transport_for(fake).client), clock=clock, alerts_channel=ALERTS
    )
    with pytest.raises(SystemExit):
        dying.drain()
    assert row(engine, key).state is OutboxState.SENDING  # Slack has it; the store does not
    sent_before = len(posts(fake))

    clock.advance(seconds=POLICY.lease.total_seconds() + 1)  # a new worker, after the lease
    make_outbox(engine, fake, clock).drain()

    assert len(posts(fake)) == sent_before  # not posted twice
    found = row(engine, key)
    assert (found.state, found.attempts) == (OutboxState.SENT, 2)  # the crash counted
    [message] = [m for m in fake.messages() if m["text"] == found.payload["text"]]
    assert (found.ts, found.posted_channel) == (message["ts"], message["channel"])
    history = "conversations.replies" if kind == "thread reply" else "conversations.history"
    [lookup] = fake.calls_to(history)
    assert lookup.params["include_all_metadata"] in ("1", "true", True)


def test_a_row_whose_sender_died_before_slack_answered_is_posted_once(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "alert:1", ALERTS, "over")
    make_outbox(engine, fake, clock)._claim()  # claimed, then the sender died before posting

    clock.advance(seconds=POLICY.lease.total_seconds() + 1)
    make_outbox(engine, fake, clock).drain()

    assert [m["text"] for m in fake.messages(ALERTS)] == ["over"]
    assert len(fake.calls_to("conversations.history")) == 1  # looked once, found nothing


def test_a_retry_after_that_is_not_a_number_is_waited_out_not_stuck(
    engine: Engine, clock: FakeClock, fake: FakeSlack
) -> None:
    put(engine, clock, "m", ALERTS)
    fake.fail_next("chat.postMessage", status=429, retry_after="Wed, 21 Oct 2026 07:28:00 GMT")
    outbox = make_outbox(engine, fake, clock)

    outbox.drain()
    waiting = row(engine, "m")
    assert waiting.state is OutboxState.PENDING
    assert waiting.next_attempt_at == clock() + timedelta(seconds=1)
    clock.advance(seconds=1)
    outbox.drain()
    assert row(engine, "m").state is OutboxState.SENT


def test_slack_failing_for_a_while_is_one_log_line_then_one_when_it_works(
    engine: Engine, clock: FakeClock, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(3):
        put(engine, clock, f"msg-{i}", "C0ONE")
    fake.fail_next("chat.postMessage", times=4, status=503)
    fake.fail_next("chat.postMessage", times=2, drop_connection=True)

    with caplog.at_level(logging.INFO, logger="switchboard.bot.outage"):
        Driver(make_outbox(engine, fake, clock), clock, fake).run(engine, step=0.5)

    lines = [r.getMessage() for r in caplog.records if r.name == "switchboard.bot.outage"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("Slack's Web API is failing (ConnectionError:")
    assert lines[1].startswith("Slack's Web API works again (failing since")
    assert sorted(m["text"] for m in fake.messages()) == ["msg-0", "msg-1", "msg-2"]
