"""Every Block Kit view, with ordinary and very large inputs, against Slack's limits.

Views are pure functions, so these tests build `Alert`, `AuditEvent` and `DomainOwner`
objects in memory: no store, no Slack. Limits (DESIGN section 8): every block valid for
slack_sdk, at most 50 blocks, section text at most 3,000 characters, the whole message well
under 12,000 characters.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock
from slack_sdk.models.views import View

from switchboard.handlers.ops import help_message
from switchboard.handlers.refs import ActionId, AlertRef, CallbackId, DomainRef
from switchboard.handlers.registry import OPS
from switchboard.handlers.views import alerts as alert_views
from switchboard.handlers.views import escalations as escalation_views
from switchboard.handlers.views import modals
from switchboard.handlers.views import ops as ops_views
from switchboard.handlers.views.alerts import AlertLabel
from switchboard.handlers.views.message import Message
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.escalations import (
    Escalation,
    EscalationStatus,
    EscalationStep,
    StepState,
    Via,
)
from switchboard.store.manifest import AgencyManifest, Domain
from switchboard.store.ownership import DomainOwner

TZ = ZoneInfo("America/New_York")
# 13:07 UTC on 16 March 2026 is 09:07 in New York (daylight saving time began on 8 March).
NOW = datetime(2026, 3, 16, 13, 7, tzinfo=UTC)
LOCAL_HHMM = "09:07"
UTC_HHMM = "13:07"

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_TOTAL_TEXT = 12_000

ALL_VIEWS = {
    "alert_message",
    "alert_worse",
    "alert_list",
    "owners",
    "audit_list",
    "help",
    "notice",
    "reassign_modal",
    "notice_modal",
    "step_message",
    "escalation_list",
    "late_notice",
    "undelivered_notice",
    "exhausted_notice",
}
# Building blocks of views, exercised through the views above.
HELPERS = {"person_input", "text_input", "form_modal", "headline"}


# -- building inputs ---------------------------------------------------------------------


def make_alert(
    alert_id: int,
    state: AlertState = AlertState.OPEN,
    *,
    direction: AlertDirection = AlertDirection.OVER,
    deviation: str | None = "42.5",
    figures: bool = True,
) -> Alert:
    acknowledged = state is AlertState.ACKNOWLEDGED
    money = (
        {
            "spend_to_date": Decimal("12615.00"),
            "plan_to_date": Decimal("8700.00"),
            "budget": Decimal("18000.00"),
            "projected_month_end": Decimal("24440.63"),
            "threshold_pct": None if direction is AlertDirection.DARK else Decimal("30.00"),
        }
        if figures
        else {}
    )
    return Alert(
        domain="ad_performance",
        id=alert_id,
        account_id=f"act_{alert_id:06d}",
        client_id=f"client_{alert_id}",
        month="2026-03",
        direction=direction,
        state=state,
        deviation_pct=None if deviation is None else Decimal(deviation),
        assignee="U0AM",
        first_seen_on=date(2026, 3, 14),
        last_seen_on=date(2026, 3, 16),
        opened_at=NOW - timedelta(hours=2),
        updated_at=NOW,
        acknowledged_by="U0LEAD" if acknowledged else None,
        acknowledged_at=NOW if acknowledged else None,
        resolved_at=NOW if state is AlertState.RESOLVED else None,
        resolved_reason="spend back within plan" if state is AlertState.RESOLVED else None,
        suppressed_code="exclusions" if state is AlertState.SUPPRESSED else None,
        suppressed_detail="client paused" if state is AlertState.SUPPRESSED else None,
        **money,
    )


LABEL = AlertLabel(client_name="Acme Outdoor", account_name="Acme Search", currency="USD")
BIG_LABEL = AlertLabel(client_name="C" * 200, account_name="A" * 200)


def many_alerts(count: int, label: AlertLabel = BIG_LABEL) -> list[tuple[Alert, AlertLabel]]:
    states = [AlertState.OPEN, AlertState.ACKNOWLEDGED]
    return [(make_alert(i + 1, states[i % 2]), label) for i in range(count)]


def make_event(index: int, *, big: bool = False) -> AuditEvent:
    size = 40 if big else 1
    return AuditEvent(
        id=index + 1,
        at=NOW - timedelta(minutes=index),
        actor="U0ADMIN" if index % 2 else "pacing",
        action="alert.acknowledge",
        subject=f"alert:{index + 1}",
        before={f"field_{k}": "x" * 60 for k in range(size)} if big else {"state": "open"},
        after={f"field_{k}": "y" * 60 for k in range(size)} if big else {"state": "acked"},
    )


def manifest_with_domains(
    manifest: AgencyManifest, count: int, sources: int
) -> tuple[AgencyManifest, list[DomainOwner]]:
    domains = {
        f"domain_{i:02d}_{'d' * 50}": Domain(
            agent="pacing",
            owner="U0AM",
            sources=[f"source_{k:03d}_{'s' * 24}" for k in range(sources)],
        )
        for i in range(count)
    }
    rows = [
        DomainOwner(id=name, agent="pacing", owner="U0AM", updated_at=NOW, updated_by="U0ADMIN")
        for name in domains
    ]
    return manifest.model_copy(update={"domains": domains}), rows


# -- checking output ---------------------------------------------------------------------


def block_dicts(message: Message) -> list[dict[str, Any]]:
    return message.payload()["blocks"]


def section_texts(blocks: Sequence[dict[str, Any]]) -> list[str]:
    texts = []
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                texts.append(block["text"]["text"])
            texts.extend(field["text"] for field in block.get("fields", []))
    return texts


def all_texts(blocks: Sequence[dict[str, Any]]) -> str:
    """Every piece of text a person sees, joined (sections, contexts, buttons)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(list(blocks))
    return "\n".join(found)


def assert_within_limits(message: Message) -> list[dict[str, Any]]:
    """The rules of DESIGN section 8, on a message as it would be sent."""
    assert isinstance(message, Message)
    assert message.text, "a message needs fallback text"
    for block in message.blocks:
        assert isinstance(block, Block)
        block.validate_json()  # raises SlackObjectFormationError
    blocks = block_dicts(message)
    assert 1 <= len(blocks) <= MAX_BLOCKS
    for text in section_texts(blocks):
        assert len(text) <= MAX_SECTION_TEXT
    # Characters as Slack counts them (not JSON escapes of non-ASCII characters).
    total = len(json.dumps(message.payload(), ensure_ascii=False))
    assert total < MAX_TOTAL_TEXT, f"{total} characters"
    # Slack rejects a message whose block_ids repeat.
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))
    return blocks


def buttons(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        if block["type"] == "actions":
            found.extend(e for e in block["elements"] if e["type"] == "button")
        accessory = block.get("accessory")
        if accessory and accessory["type"] == "button":
            found.append(accessory)
    return found


def more_count(blocks: Sequence[dict[str, Any]]) -> int | None:
    """N from the closing "…and N more" line, or None when the list is complete."""
    last = blocks[-1]
    if last["type"] != "context":
        return None
    match = re.match(r"…and (\d+) more\.", last["elements"][0]["text"])
    return int(match.group(1)) if match else None


def test_every_public_view_is_tested_here() -> None:
    """A view added without a test here fails this: every view is checked against the limits."""
    public = {
        name
        for module in (alert_views, ops_views, modals, escalation_views)
        for name, value in vars(module).items()
        if inspect.isfunction(value)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }
    assert public <= ALL_VIEWS | HELPERS, f"untested views: {sorted(public - ALL_VIEWS - HELPERS)}"


# -- alert_message -----------------------------------------------------------------------


@pytest.mark.parametrize("label", [LABEL, BIG_LABEL, AlertLabel("N" * 5000, "M" * 5000)])
@pytest.mark.parametrize("state", list(AlertState))
@pytest.mark.parametrize("direction", list(AlertDirection))
def test_alert_message_is_valid_for_every_state_and_size(
    state: AlertState, direction: AlertDirection, label: AlertLabel
) -> None:
    deviation = None if direction is AlertDirection.DARK else "-37.0"
    alert = make_alert(7, state, direction=direction, deviation=deviation)
    blocks = assert_within_limits(alert_views.alert_message(alert, label, TZ))
    assert label.client_name[:100] in all_texts(blocks)


def test_open_alert_has_acknowledge_and_reassign_buttons_carrying_its_id() -> None:
    alert = make_alert(1234)
    blocks = assert_within_limits(alert_views.alert_message(alert, LABEL, TZ))
    found = buttons(blocks)
    assert [b["action_id"] for b in found] == [ActionId.ALERT_ACK, ActionId.ALERT_REASSIGN]
    assert [b["action_id"] for b in found] == ["alert.ack", "alert.reassign"]
    for button in found:
        assert AlertRef.decode(button["value"]).alert_id == 1234
    text = all_texts(blocks)
    assert "Acme Outdoor" in text and "Acknowledged by" not in text


@pytest.mark.parametrize(
    "state", [AlertState.ACKNOWLEDGED, AlertState.RESOLVED, AlertState.SUPPRESSED]
)
def test_buttons_disappear_once_the_alert_is_no_longer_open(state: AlertState) -> None:
    blocks = assert_within_limits(alert_views.alert_message(make_alert(5, state), LABEL, TZ))
    assert buttons(blocks) == []
    assert not any(isinstance(b, ActionsBlock) for b in blocks)


def test_acknowledged_alert_says_who_and_when_in_the_agency_timezone() -> None:
    blocks = assert_within_limits(
        alert_views.alert_message(make_alert(5, AlertState.ACKNOWLEDGED), LABEL, TZ)
    )
    text = all_texts(blocks)
    match = re.search(r"Acknowledged by <@(U\w+)> at (?:\d{4}-\d{2}-\d{2} )?(\d{2}:\d{2})", text)
    assert match, text
    assert match.group(1) == "U0LEAD"
    assert match.group(2) == LOCAL_HHMM
    assert UTC_HHMM not in text


def test_the_time_shown_follows_the_timezone_it_is_given() -> None:
    alert = make_alert(5, AlertState.ACKNOWLEDGED)
    tokyo = all_texts(block_dicts(alert_views.alert_message(alert, LABEL, ZoneInfo("Asia/Tokyo"))))
    assert "at 2026-03-16 22:07" in tokyo or "at 22:07" in tokyo


def test_fallback_text_has_no_markdown_stars() -> None:
    message = alert_views.alert_message(make_alert(3), LABEL, TZ)
    assert "*" not in message.text
    assert "Acme Outdoor" in message.text


def test_alert_message_carries_the_money_and_the_threshold_crossed() -> None:
    blocks = assert_within_limits(alert_views.alert_message(make_alert(3), LABEL, TZ))
    [summary] = [b for b in blocks if b["type"] == "section"]
    assert summary["text"]["text"].splitlines()[1] == (
        "+42.5% vs plan · threshold: over by 30% or more · 2026-03 · assigned to <@U0AM>"
    )
    assert [f["text"] for f in summary["fields"]] == [
        "*Spend to date*\n$12,615.00",
        "*Plan to date*\n$8,700.00",
        "*Budget*\n$18,000.00",
        "*Projected month-end*\n$24,440.63",
    ]
    assert all(f["type"] == "mrkdwn" for f in summary["fields"])


@pytest.mark.parametrize(
    ("direction", "threshold", "shown"),
    [
        (AlertDirection.OVER, "30.00", "threshold: over by 30% or more"),
        (AlertDirection.OVER, "100.00", "threshold: over by 100% or more"),  # early in a month
        (AlertDirection.UNDER, "12.50", "threshold: under by 12.5% or more"),
        (AlertDirection.DARK, None, "threshold: zero spend for 3 days"),
    ],
)
def test_the_threshold_crossed_is_said_in_words(
    direction: AlertDirection, threshold: str | None, shown: str
) -> None:
    alert = make_alert(3, direction=direction)
    alert.threshold_pct = None if threshold is None else Decimal(threshold)
    text = all_texts(assert_within_limits(alert_views.alert_message(alert, LABEL, TZ)))
    assert shown in text
    assert text.count("threshold:") == 1


@pytest.mark.parametrize(
    ("currency", "spend"),
    [("EUR", "€12,615.00"), ("GBP", "£12,615.00"), ("CAD", "12,615.00 CAD"), (None, "12,615.00")],
)
def test_the_money_is_shown_in_the_accounts_currency(currency: str | None, spend: str) -> None:
    label = AlertLabel("Acme Outdoor", "Acme Search", currency=currency)
    blocks = assert_within_limits(alert_views.alert_message(make_alert(3), label, TZ))
    assert f"*Spend to date*\n{spend}" in section_texts(blocks)


def test_an_alert_stored_before_its_figures_were_kept_shows_none() -> None:
    alert = make_alert(3, figures=False)
    blocks = assert_within_limits(alert_views.alert_message(alert, LABEL, TZ))
    [summary] = [b for b in blocks if b["type"] == "section"]
    assert "fields" not in summary
    assert (
        summary["text"]["text"].splitlines()[1] == "+42.5% vs plan · 2026-03 · assigned to <@U0AM>"
    )
    worse = alert_views.alert_worse(alert, LABEL)
    assert worse.text == "Worse: Acme Outdoor (act_000003) is now +42.5% vs plan."


def test_the_open_alert_list_shows_each_alerts_money() -> None:
    alerts = [(make_alert(1), LABEL), (make_alert(2, AlertState.ACKNOWLEDGED), LABEL)]
    texts = section_texts(assert_within_limits(alert_views.alert_list(alerts, TZ)))
    assert texts.count("*Spend to date*\n$12,615.00") == 2


# -- alert_worse -------------------------------------------------------------------------


@pytest.mark.parametrize("label", [LABEL, BIG_LABEL, AlertLabel("N" * 5000, "M" * 5000)])
def test_alert_worse_is_valid(label: AlertLabel) -> None:
    alert = make_alert(9, deviation="88.0")
    blocks = assert_within_limits(alert_views.alert_worse(alert, label))
    if len(label.client_name) < 1000:  # a 5,000-character name is clipped with the rest
        assert "+88.0%" in all_texts(blocks)
    assert buttons(blocks) == []


def test_alert_worse_says_the_spend_and_plan_it_is_worse_on() -> None:
    message = alert_views.alert_worse(make_alert(9, deviation="88.0"), LABEL)
    assert message.text == (
        "Worse: Acme Outdoor (act_000009) is now +88.0% vs plan: "
        "$12,615.00 spent to date against a plan of $8,700.00."
    )


# -- alert_list --------------------------------------------------------------------------


def test_alert_list_empty() -> None:
    message = alert_views.alert_list([], TZ)
    blocks = assert_within_limits(message)
    assert more_count(blocks) is None
    assert "No open alerts" in message.text


def test_alert_list_small_shows_every_alert_with_buttons_for_the_open_ones() -> None:
    alerts = [(make_alert(1), LABEL), (make_alert(2, AlertState.ACKNOWLEDGED), LABEL)]
    blocks = assert_within_limits(alert_views.alert_list(alerts, TZ))
    assert more_count(blocks) is None
    found = buttons(blocks)
    assert {AlertRef.decode(b["value"]).alert_id for b in found} == {1}
    assert "Acknowledged by <@U0LEAD>" in all_texts(blocks)


@pytest.mark.parametrize("count", [20, 49, 500])
def test_alert_list_large_stays_within_limits_and_counts_the_rest(count: int) -> None:
    alerts = many_alerts(count)
    message = alert_views.alert_list(alerts, TZ)
    blocks = assert_within_limits(message)
    shown = sum(isinstance(b, DividerBlock) for b in message.blocks)
    assert 0 < shown < count
    assert more_count(blocks) == count - shown
    # The alerts shown are the first ones, in order, each open one with its own buttons.
    open_ids = [a.id for a, _ in alerts[:shown] if a.state is AlertState.OPEN]
    ack_ids = [AlertRef.decode(b["value"]).alert_id for b in buttons(blocks)[::2]]
    assert ack_ids == open_ids


def test_alert_list_that_fits_has_no_more_line() -> None:
    alerts = many_alerts(3, LABEL)
    blocks = assert_within_limits(alert_views.alert_list(alerts, TZ))
    assert more_count(blocks) is None
    assert "more" not in blocks[-1].get("elements", [{}])[0].get("text", "")


# -- owners ------------------------------------------------------------------------------


def test_owners_for_the_example_manifest(manifest: AgencyManifest) -> None:
    rows = [
        DomainOwner(id=name, agent=d.agent, owner=d.owner, updated_at=NOW, updated_by="seed")
        for name, d in manifest.domains.items()
    ]
    blocks = assert_within_limits(ops_views.owners(rows, manifest))
    assert more_count(blocks) is None
    found = buttons(blocks)
    assert [b["action_id"] for b in found] == [ActionId.OWNER_REASSIGN] * len(rows)
    assert [DomainRef.decode(b["value"]).domain for b in found] == [r.id for r in rows]
    text = all_texts(blocks)
    for row in rows:
        assert f"<@{row.owner}>" in text and row.id in text


@pytest.mark.parametrize("sources", [1, 8, 200])
def test_owners_with_forty_domains(manifest: AgencyManifest, sources: int) -> None:
    big, rows = manifest_with_domains(manifest, 40, sources)
    blocks = assert_within_limits(ops_views.owners(rows, big))
    found = buttons(blocks)
    shown = len(found)
    assert shown >= 1
    assert [DomainRef.decode(b["value"]).domain for b in found] == [r.id for r in rows[:shown]]
    if shown < len(rows):
        assert more_count(blocks) == len(rows) - shown
    else:
        assert more_count(blocks) is None


def test_owners_with_no_domains(manifest: AgencyManifest) -> None:
    assert_within_limits(ops_views.owners([], manifest))


# -- audit_list --------------------------------------------------------------------------


def test_audit_list_empty() -> None:
    message = ops_views.audit_list([], TZ)
    assert_within_limits(message)
    assert "empty" in message.text


def test_audit_list_small_shows_local_time_and_actor() -> None:
    events = [make_event(0), make_event(1)]
    blocks = assert_within_limits(ops_views.audit_list(events, TZ))
    assert more_count(blocks) is None
    text = all_texts(blocks)
    assert LOCAL_HHMM in text and UTC_HHMM not in text
    assert "<@U0ADMIN>" in text and "`pacing`" in text


@pytest.mark.parametrize(("count", "big"), [(50, False), (300, True), (300, False)])
def test_audit_list_large_stays_within_limits_and_counts_the_rest(count: int, big: bool) -> None:
    events = [make_event(i, big=big) for i in range(count)]
    message = ops_views.audit_list(events, TZ)
    blocks = assert_within_limits(message)
    shown = len(blocks) - 2  # heading and the "more" line
    assert shown >= 1
    assert more_count(blocks) == count - shown
    assert f"alert:{shown}`" in all_texts(blocks)
    assert f"alert:{shown + 1}`" not in all_texts(blocks)


# -- help --------------------------------------------------------------------------------


@pytest.mark.parametrize("problem", [None, "Unknown command `frobnicate`.", "p" * 5000])
def test_help(problem: str | None) -> None:
    message = help_message(OPS, problem)
    blocks = assert_within_limits(message)
    text = all_texts(blocks)
    for command in ("/ops help", "/ops alerts", "/ops owners", "/ops reassign", "/ops audit"):
        assert command in text
    if problem:
        assert problem[:100] in text


# -- modals ------------------------------------------------------------------------------


def assert_valid_view(view: View) -> dict[str, Any]:
    assert isinstance(view, View)
    view.validate_json()
    for block in view.blocks:
        block.validate_json()
    data = view.to_dict()
    assert data["type"] == "modal"
    assert len(data["blocks"]) <= 100  # Slack's modal limit
    assert len(data["title"]["text"]) <= 24
    for text in section_texts(data["blocks"]):
        assert len(text) <= MAX_SECTION_TEXT
    return data


@pytest.mark.parametrize(
    ("title", "prompt", "current"),
    [
        ("Reassign alert", "Who should handle this alert?", "U0AM"),
        ("Reassign", "Who?", None),
        ("T" * 300, "P" * 5000, "U0LEAD"),
    ],
)
@pytest.mark.parametrize(
    "metadata",
    [AlertRef(alert_id=1).encode(), DomainRef(domain="d" * 64).encode()],
)
def test_reassign_modal(title: str, prompt: str, current: str | None, metadata: str) -> None:
    view = modals.reassign_modal(
        callback_id=CallbackId.ALERT_REASSIGN,
        title=title,
        prompt=prompt,
        metadata=metadata,
        current=current,
    )
    data = assert_valid_view(view)
    assert data["callback_id"] == "alert.reassign"
    assert data["private_metadata"] == metadata
    assert "submit" in data  # a modal with an input needs a submit button
    (block,) = data["blocks"]
    assert block["type"] == "input"
    assert block["element"]["type"] == "users_select"
    assert block["element"].get("initial_user") == current


@pytest.mark.parametrize(
    ("title", "text"),
    [("Reassigned", "ad_performance now belongs to <@U0LEAD>."), ("T" * 300, "x" * 5000)],
)
def test_notice_modal(title: str, text: str) -> None:
    data = assert_valid_view(modals.notice_modal(title, text))
    assert text[:100] in section_texts(data["blocks"])[0]


# -- escalations -----------------------------------------------------------------------------


def make_escalation(
    escalation_id: int, status: EscalationStatus = EscalationStatus.OPEN, *, headline: str = ""
) -> Escalation:
    return Escalation(
        id=escalation_id,
        subject=f"alert:{escalation_id}",
        domain="ad_performance",
        policy_name="spend",
        policy=[{"notify": "owner"}, {"notify": "lead"}, {"notify": "channel:alerts"}],
        context={"headline": headline or "Over-pacing: Birch & Co <!channel>", "details": ["A03"]},
        level=1,
        next_step_at=NOW + timedelta(hours=2),
        status=status,
        created_at=NOW,
        acknowledged_by="U0AM" if status is EscalationStatus.ACKNOWLEDGED else None,
        acknowledged_at=NOW if status is EscalationStatus.ACKNOWLEDGED else None,
        closed_at=NOW if status is EscalationStatus.RESOLVED else None,
    )


def make_step(level: int, via: Via = Via.DM) -> EscalationStep:
    return EscalationStep(
        escalation_id=1,
        level=level,
        notify="owner",
        via=via,
        target="U0AM" if via is Via.DM else "C0ALERTS",
        person="U0AM",
        state=StepState.DELIVERED,
        queued_at=NOW,
        delivered_at=NOW,
    )


@pytest.mark.parametrize("status", list(EscalationStatus))
@pytest.mark.parametrize("via", list(Via))
def test_a_step_message_is_valid_in_every_state_with_its_button_only_while_active(
    status: EscalationStatus, via: Via
) -> None:
    escalation = make_escalation(3, status)
    step = escalation_views.StepView(2, via, "lead", "U0LEAD", "U0AM")

    blocks = assert_within_limits(escalation_views.step_message(escalation, step, tz=TZ, now=NOW))

    active = status in (EscalationStatus.OPEN, EscalationStatus.EXHAUSTED)
    assert any(b["type"] == "actions" for b in blocks) is active
    text = all_texts(blocks)
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text  # data escaped
    assert "Level 2 of 3" in text


def test_a_step_message_with_a_huge_subject_stays_within_limits() -> None:
    escalation = make_escalation(3, headline="x" * 20_000)
    escalation.context["details"] = ["y" * 5_000] * 50
    step = escalation_views.StepView(1, Via.DM, "owner", "U0AM", "U0AM")
    assert_within_limits(escalation_views.step_message(escalation, step, tz=TZ, now=NOW))


def test_the_escalation_list_is_within_limits_however_long() -> None:
    rows = [(make_escalation(n), [make_step(1)]) for n in range(1, 200)]
    blocks = assert_within_limits(escalation_views.escalation_list(rows, tz=TZ, now=NOW))
    assert more_count(blocks) is not None
    empty = escalation_views.escalation_list([], tz=TZ, now=NOW)
    assert empty.text == "No open escalations."


def test_the_notices_to_the_alerts_channel_are_within_limits() -> None:
    escalation = make_escalation(4, headline="z" * 9_000)
    for message in (
        escalation_views.late_notice(escalation, 2, NOW - timedelta(hours=30), tz=TZ, now=NOW),
        escalation_views.undelivered_notice(escalation, make_step(2), tz=TZ, now=NOW),
        escalation_views.exhausted_notice(escalation, tz=TZ, now=NOW),
    ):
        assert_within_limits(message)
