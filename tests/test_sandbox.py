"""`switchboard sandbox` end to end without a browser: the page's API drives the real app
(signed requests to /slack/events, the worker, the outbox) and the answers land in the
stand-in as Slack would show them; the simulated clock; the page server's guards; and the
command itself as a process."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard.agents.escalation_policy import BusinessCalendar
from switchboard.bot.sandbox.clock import OffsetClock, next_business_morning
from switchboard.bot.sandbox.session import Sandbox
from switchboard.bot.sandbox.workspace import STRANGER
from switchboard.handlers.slack_requests import asked_at
from switchboard.store.manifest import AgencyManifest
from tests.sandbox_session import PageClient, conversation
from tests.test_run import free_port, running

ALERTS, ANA_DM, LEO_DM = "C0ALERTS", "DU0AM", "DU0LEAD"
CLOSE = timedelta(seconds=5)


def report_offset(clock: OffsetClock, offsets: Any) -> None:
    """In a spawned process, as the worker is: the offset it reads, after the parent moved."""
    offsets.put(clock.offset.total_seconds())


def test_a_spawned_process_reads_the_same_clock() -> None:
    clock = OffsetClock()
    context = multiprocessing.get_context("spawn")
    offsets = context.Queue()
    child = context.Process(target=report_offset, args=(clock, offsets))
    clock.advance(timedelta(hours=2))  # before the child reads, after it was given the clock
    child.start()
    try:
        assert offsets.get(timeout=30) == 7200
    finally:
        child.join(30)


@pytest.mark.parametrize(
    ("now", "morning"),
    [
        ("2026-03-16T07:00", "2026-03-16T09:00"),  # Monday, before the office opens
        ("2026-03-16T09:30", "2026-03-17T09:00"),  # Monday, open: Tuesday's
        ("2026-03-20T18:00", "2026-03-23T09:00"),  # Friday evening: Monday's
        ("2026-03-22T06:00", "2026-03-23T09:00"),  # Sunday
    ],
)
def test_next_business_morning(manifest: AgencyManifest, now: str, morning: str) -> None:
    calendar = BusinessCalendar.of(manifest)
    moment = datetime.fromisoformat(now).replace(tzinfo=manifest.tz)
    expected = datetime.fromisoformat(morning).replace(tzinfo=manifest.tz)
    assert next_business_morning(moment, calendar) == expected


def test_slacks_times_move_onto_an_offset_clock() -> None:
    clock = OffsetClock(start=datetime.now(UTC) + timedelta(days=3))
    action = {"actions": [{"action_ts": f"{time.time():.6f}"}]}
    signed = {"x-slack-request-timestamp": [str(int(time.time()))]}

    assert abs(asked_at(action, None, clock) - clock()) < CLOSE
    assert abs(asked_at({}, signed, clock) - clock()) < CLOSE
    # Any other clock takes Slack's time as it is.
    fixed = lambda: datetime(2020, 1, 1, tzinfo=UTC)  # noqa: E731
    assert abs(asked_at(action, None, fixed) - datetime.now(UTC)) < CLOSE


def ephemerals(state: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    return [m for m in conversation(state, channel)["messages"] if m["ephemeral"]]


def buttons(message: dict[str, Any]) -> list[tuple[int, int, dict[str, Any]]]:
    return [
        (b, e, element)
        for b, block in enumerate(message["blocks"])
        if block["type"] == "actions"
        for e, element in enumerate(block["elements"])
    ]


def button(message: dict[str, Any], action_id: str) -> tuple[int, int]:
    return next((b, e) for b, e, el in buttons(message) if el["action_id"] == action_id)


def test_ops_alerts_from_the_page_is_answered_in_the_standin(
    sandbox: Sandbox, page: PageClient
) -> None:
    assert page.act("/api/command", "U0AM", channel=ALERTS, text="/ops alerts") == {"ok": True}

    [answer] = page.wait_for("U0AM", lambda s: ephemerals(s, ALERTS), "the /ops alerts answer")
    assert "open alert" in answer["text"]
    # Slack's answer for one person: in the stand-in's store, for Ana alone.
    assert [e["user"] for e in sandbox.standin.ephemerals()] == ["U0AM"]
    assert ephemerals(page.state("U0LEAD"), ALERTS) == []
    [command] = sandbox.standin.calls_to("response_url")
    assert command.status == 200


def test_a_usage_mistake_is_answered_in_the_acknowledgement(page: PageClient) -> None:
    page.act("/api/command", "U0AM", channel=ALERTS, text="/ops frobnicate")

    [answer] = ephemerals(page.state("U0AM"), ALERTS)  # no wait: it came back with the ack
    assert "is not an /ops command" in json.dumps(answer["blocks"]) + answer["text"]


def test_an_app_that_does_not_answer_is_reported_as_slack_reports_it(
    sandbox: Sandbox, page: PageClient
) -> None:
    sandbox.acting.events_url = lambda: "http://127.0.0.1:9/slack/events"  # nothing listens

    answer = page.act("/api/command", "U0AM", channel=ALERTS, text="/ops alerts")

    assert answer == {"ok": False, "error": "Switchboard did not answer."}
    [failed] = ephemerals(page.state("U0AM"), ALERTS)
    assert failed["text"] == '/ops failed with the error "dispatch_failed"'


def test_the_owner_acknowledges_an_alert_and_the_message_says_who(page: PageClient) -> None:
    first = conversation(page.state("U0AM"), ALERTS)["messages"][0]
    block, element = button(first, "alert.ack")

    page.act("/api/action", "U0AM", channel=ALERTS, ts=first["ts"], block=block, element=element)

    def acknowledged(state: dict[str, Any]) -> Any:
        message = conversation(state, ALERTS)["messages"][0]
        return "Acknowledged by" in json.dumps(message["blocks"]) and message

    message = page.wait_for("U0AM", acknowledged, "the alert re-rendered")
    assert "alert.ack" not in json.dumps(message["blocks"])


def test_a_stranger_is_refused_privately(sandbox: Sandbox, page: PageClient) -> None:
    first = conversation(page.state(STRANGER), ALERTS)["messages"][0]
    block, element = button(first, "alert.ack")

    page.act("/api/action", STRANGER, channel=ALERTS, ts=first["ts"], block=block, element=element)

    [refusal] = page.wait_for(STRANGER, lambda s: ephemerals(s, ALERTS), "the refusal")
    assert "acknowledge" in refusal["text"].lower()
    assert ephemerals(page.state("U0AM"), ALERTS) == []


def test_another_persons_dm_cannot_be_clicked(page: PageClient) -> None:
    dm = conversation(page.state("U0AM"), ANA_DM)["messages"][0]
    block, element = button(dm, "escalation.ack")

    with pytest.raises(urllib.error.HTTPError) as refused:
        page.act("/api/action", "U0LEAD", channel=ANA_DM, ts=dm["ts"], block=block, element=element)
    assert refused.value.code == 400


def test_two_hours_later_the_escalation_reaches_the_lead(
    sandbox: Sandbox, page: PageClient
) -> None:
    before = len(conversation(page.state("U0LEAD"), LEO_DM)["messages"])
    start = sandbox.clock()

    answer = page.act("/api/clock", "U0LEAD", step="2h")

    assert answer["ok"]
    assert (sandbox.clock() - start).total_seconds() == pytest.approx(7200, abs=5)
    messages = conversation(page.state("U0LEAD"), LEO_DM)["messages"]
    assert len(messages) > before
    assert any("Sent to you as <@U0AM>'s lead" in json.dumps(m["blocks"]) for m in messages)
    # Stopped at each level's due moment on the way: no step ran late.
    alerts = conversation(page.state("U0LEAD"), ALERTS)["messages"]
    assert not [m for m in alerts if " late" in m["text"]]


def test_the_page_refuses_requests_not_addressed_to_it(page: PageClient) -> None:
    with pytest.raises(urllib.error.HTTPError) as rebound:
        page.request("/api/state?as=U0AM", Host="evil.example:80")
    assert rebound.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as cross_site:
        page.request("/api/clock", {"step": "2h"}, Origin="http://evil.example")
    assert cross_site.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as form:
        page.request("/api/clock", {"step": "2h"}, **{"Content-Type": "text/plain"})
    assert form.value.code == 415
    with pytest.raises(urllib.error.HTTPError) as nobody:
        page.request("/api/state?as=U0GHOST")
    assert nobody.value.code == 400


def test_the_page_is_served_with_a_strict_content_policy(page: PageClient) -> None:
    with urllib.request.urlopen(page.url + "/") as response:
        html = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert '<script src="/static/app.js"' in html
    for script in ("app.js", "blocks.js", "mrkdwn.js", "modal.js", "style.css"):
        with urllib.request.urlopen(f"{page.url}/static/{script}") as response:
            assert response.status == 200


def test_the_command_starts_everything_and_ctrl_c_stops_it() -> None:
    """As a person runs it: the worker in its own process, the environment's Slack ignored."""
    port = free_port()
    env = {
        **os.environ,
        "SLACK_API_URL": "http://127.0.0.1:9/",
        "DATABASE_URL": "/nonexistent/x.db",
    }
    with running(["sandbox", "--port", str(port), "--empty"], env, stdout=True) as process:
        process.wait_for(f"http://127.0.0.1:{port}/")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state?as=U0AM") as response:
            state = json.load(response)
        assert [c["name"] for c in state["conversations"] if c["kind"] == "channel"] == [
            "briefing",
            "alerts",
            "approvals",
            "shadow",
        ]
        process.popen.send_signal(signal.SIGINT)
        assert process.popen.wait(timeout=60) == 0
        assert "stopped" in process.rest_of_log()
