"""Imported data reaches Slack as text, never as markup: `<!channel>` pings nobody and
`<http://evil|Open billing>` shows no link. Only the mentions the bot builds itself, from
user ids it checked, stay live."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from sqlalchemy import Engine

from switchboard.bot.agent_runs import run_pacing
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.runtime import seed
from switchboard.bot.slack_transport import SlackTransport
from switchboard.handlers.commands import Origin
from switchboard.handlers.ops import ListAlerts, list_alerts
from switchboard.handlers.views import alerts as alert_views
from switchboard.handlers.views import ops as ops_views
from switchboard.handlers.views.alerts import AlertLabel
from switchboard.handlers.views.text import escape, money
from switchboard.handlers.work import WorkContext, queue_replies
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.engine import transaction
from switchboard.store.manifest import AgencyManifest
from tests.agency_builder import AgencyBuilder
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
ATTACK = "<!channel> <http://evil.example|Open billing>"
ENTITY = re.compile(r"<[^<>]*>")

PIECES = [*"<>&*_~`|!@#:/ aZ9\n", "<!channel>", "<!here>", "<@U0ADMIN>", "<#C0ALERTS>"]
PIECES += ["<http://evil.example|x>", "&amp;", "&lt;", "[/bold]"]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=20).map("".join)


def strings(payload: Any) -> list[str]:
    """Every string in a payload (text, blocks, nested), as Slack would read them."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for value in payload.values() for s in strings(value)]
    if isinstance(payload, list | tuple):
        return [s for value in payload for s in strings(value)]
    return []


def live_entities(payload: Any) -> set[str]:
    return {entity for text in strings(payload) for entity in ENTITY.findall(text)}


def make_alert(detail: str, reason: str, account_id: str, state: AlertState) -> Alert:
    return Alert(
        id=7,
        domain="ad_performance",
        account_id=account_id,
        client_id="C1",
        month="2026-03",
        direction=AlertDirection.UNDER,
        state=state,
        deviation_pct=Decimal("-42.0"),
        suppressed_code="excluded" if state is AlertState.SUPPRESSED else None,
        suppressed_detail=detail if state is AlertState.SUPPRESSED else None,
        assignee="U0AM",
        first_seen_on=date(2026, 3, 16),
        last_seen_on=date(2026, 3, 16),
        opened_at=NOW,
        updated_at=NOW,
        acknowledged_by="U0LEAD" if state is AlertState.ACKNOWLEDGED else None,
        acknowledged_at=NOW if state is AlertState.ACKNOWLEDGED else None,
        resolved_at=NOW if state is AlertState.RESOLVED else None,
        resolved_reason=reason if state is AlertState.RESOLVED else None,
        spend_to_date=Decimal("1064.52"),
        plan_to_date=Decimal("1935.48"),
        budget=Decimal("4000.00"),
        projected_month_end=Decimal("2200.01"),
        threshold_pct=Decimal("30.00"),
    )


@settings(max_examples=150, deadline=None)
@given(
    client=hostile,
    account=hostile,
    account_id=hostile,
    detail=hostile,
    reason=hostile,
    currency=hostile,
    state=st.sampled_from(list(AlertState)),
)
def test_no_data_becomes_live_markup_in_any_alert_view(
    client: str,
    account: str,
    account_id: str,
    detail: str,
    reason: str,
    currency: str,
    state: AlertState,
) -> None:
    alert = make_alert(detail, reason, account_id, state)
    label = AlertLabel(client_name=client, account_name=account, currency=currency)
    bot_mentions = {"<@U0AM>", "<@U0LEAD>"}  # the assignee and who acknowledged: from ids

    for message in (
        alert_views.alert_message(alert, label, TZ),
        alert_views.alert_worse(alert, label),
        alert_views.alert_list([(alert, label)], TZ),
    ):
        payload = message.payload()
        assert live_entities(payload) <= bot_mentions, payload
        # ...and the name is still there, shown as text.
        assert any(escape(client).strip() in text for text in strings(payload)), payload
    # The account's currency code is outside data too: shown beside each amount, as text.
    if currency.strip():
        shown = "\n".join(strings(alert_views.alert_message(alert, label, TZ).payload()))
        assert f"1,064.52 {escape(currency.strip())}" in shown


def test_money_is_shown_with_its_currency_and_its_code_is_escaped() -> None:
    assert money(Decimal("12615"), "USD") == "$12,615.00"
    assert money(Decimal("80.5"), "EUR") == "€80.50"
    assert money(Decimal("1234567.891"), "GBP") == "£1,234,567.89"
    assert money(Decimal("-3"), "USD") == "-$3.00"
    assert money(Decimal("0.005"), "USD") == "$0.01"  # half up, as `switchboard pacing` rounds
    assert money(Decimal("999999999999.99"), "USD") == "$999,999,999,999.99"  # the largest
    assert money(Decimal("1234"), "CAD") == "1,234.00 CAD"
    assert money(Decimal("1234"), None) == money(Decimal("1234"), "") == "1,234.00"
    assert money(Decimal("1"), "<!>") == "1.00 &lt;!&gt;"


@settings(max_examples=100, deadline=None)
@given(actor=hostile, action=hostile, subject=hostile, note=hostile)
def test_no_audit_data_becomes_live_markup(
    actor: str, action: str, subject: str, note: str
) -> None:
    event = AuditEvent(
        id=1,
        at=NOW,
        actor=actor,
        action=action,
        subject=subject,
        before={"state": note},
        after={"state": note, "reason": note},
    )
    assert live_entities(ops_views.audit_list([event], TZ).payload()) == set()


def test_a_hostile_client_reaches_slack_as_text_in_posts_replies_and_lists(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    """The issue's attack, end to end: pacing, publishing, the outbox, a fake Slack."""
    seed(engine, manifest, now=clock())
    builder = AgencyBuilder().client("C1", name=ATTACK).account("A1", "C1", name=ATTACK)
    builder.budget("A1", "2026-03", "3100")
    builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")  # +50%
    builder.account("A2", "C1", name="<!here>").budget("A2", "2026-03", "3100")
    builder.spend_each_day("A2", date(2026, 3, 1), date(2026, 3, 20), "40.00")  # under
    builder.load(engine)
    run_pacing(engine, manifest, as_of=date(2026, 3, 16), now=clock())
    builder = AgencyBuilder()
    builder.spend_each_day("A1", date(2026, 3, 16), date(2026, 3, 20), "400.00")  # worse
    builder.exclusion("A2", reason=f"paused {ATTACK}")  # its open alert becomes suppressed
    builder.load(engine)
    run_pacing(engine, manifest, as_of=date(2026, 3, 21), now=clock())
    with transaction(engine) as session:  # `/ops alerts`, answered through the outbox
        origin = Origin(user="U0AM", asked_at=clock(), response_url="http://127.0.0.1:1/r")
        command = ListAlerts(origin=origin)
        replies = list_alerts(WorkContext(session, manifest, clock()), command)

    with FakeSlack() as fake:
        with transaction(engine) as session:
            origin = Origin(user="U0AM", asked_at=clock(), response_url=fake.response_url())
            queue_replies(session, ListAlerts(origin=origin), replies, key="list", now=clock())
        client = WebClient(token="xoxb-test", base_url=fake.api_url, retry_handlers=[])
        outbox = Outbox(
            engine,
            SlackTransport(client),
            clock=clock,
            alerts_channel="C0ALERTS",
            policy=OutboxPolicy(channel_interval=timedelta(0)),
        )
        outbox.drain()
        calls = [
            c for c in fake.calls if c.method in ("chat.postMessage", "chat.update", "response_url")
        ]

    assert {c.method for c in calls} == {"chat.postMessage", "chat.update", "response_url"}
    for call in calls:
        params = {k: v for k, v in call.params.items() if k != "metadata"}
        assert live_entities(params) <= {"<@U0AM>"}, (call.method, params)
        assert "&lt;!channel&gt;" in json.dumps(params) or "&lt;!here&gt;" in json.dumps(params)
