"""Imported data reaches Slack as text, never as markup: `<!channel>` pings nobody and
`<http://evil|Open billing>` shows no link. Only the mentions the bot builds itself, from
user ids it checked, stay live."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from sqlalchemy import Engine, select

from switchboard.agents.briefing import Briefing, Item, Section, SectionKey
from switchboard.agents.coordination import Coordination
from switchboard.agents.manifest_gaps import Gap, GapCode
from switchboard.bot.agent_runs import run_pacing
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.runtime import seed
from switchboard.bot.slack_transport import SlackTransport
from switchboard.handlers.autonomy import ReviewShadow
from switchboard.handlers.commands import Origin
from switchboard.handlers.drafts import RejectDraft
from switchboard.handlers.ops import ListAlerts, list_alerts
from switchboard.handlers.views import alerts as alert_views
from switchboard.handlers.views import autonomy as autonomy_views
from switchboard.handlers.views import drafts as draft_views
from switchboard.handlers.views import escalations as escalation_views
from switchboard.handlers.views import ops as ops_views
from switchboard.handlers.views.alerts import AlertLabel
from switchboard.handlers.views.briefing import briefing_view
from switchboard.handlers.views.check import coordination_report
from switchboard.handlers.views.escalations import StepView
from switchboard.handlers.views.text import escape, money
from switchboard.handlers.work import WorkContext, queue_replies
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.drafts import Approval, Draft, DraftState
from switchboard.store.engine import reading, transaction
from switchboard.store.escalations import Escalation, EscalationStatus, Via
from switchboard.store.manifest import AgencyManifest
from switchboard.store.shadow import ShadowOutput, ShadowReview, ShadowVerdict
from switchboard.store.source_data import (
    Client,
    ClientStatus,
    InboundEmail,
    Project,
    ProjectStatus,
)
from tests.agency_builder import AgencyBuilder
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.test_client_email import LEO, MAYA, opened_office
from tests.test_views import make_step

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


# -- the views added after issue 9: client mail, the briefing, shadow posts, escalations, check --

PEOPLE = {"<@U0ADMIN>", "<@U0LEAD>", "<@U0AM>"}  # the example manifest's, mentioned by id
# Data from outside, and agent output built from it; <@U0NOBODY> is in the manifest nowhere.
HOSTILE = "<!here> <@U0NOBODY> <http://evil.example|Open billing>"
INERT = "&lt;!here&gt; &lt;@U0NOBODY&gt; &lt;http://evil.example|Open billing&gt;"
# Long enough to be clipped (a quote at 800 characters, a section at 3,000): a cut never
# leaves half an entity live.
hostile_long = st.one_of(hostile, hostile.map(lambda text: text * 300))


def assert_inert(payload: Any, allowed: set[str], *shown: str) -> None:
    """No live markup but the bot's own mentions, and each of `shown` still there as text."""
    assert live_entities(payload) <= allowed, payload
    texts = strings(payload)
    for data in shown:
        assert any(escape(data).strip()[:200] in text for text in texts), (data, payload)


@settings(max_examples=60, deadline=None)
@given(
    client=hostile,
    sender=hostile,
    subject=hostile,
    body=hostile_long,
    reply=hostile_long,
    edited=hostile_long,
    excerpt=hostile,
    drafter=hostile,
    reason=hostile,
    error=hostile,
    state=st.sampled_from(list(DraftState)),
)
def test_no_mail_or_draft_becomes_live_markup_in_the_approval_message(
    client: str,
    sender: str,
    subject: str,
    body: str,
    reply: str,
    edited: str,
    excerpt: str,
    drafter: str,
    reason: str,
    error: str,
    state: DraftState,
) -> None:
    inbound = InboundEmail(
        message_id="<m1@acme.example>",
        client_id="C1",
        from_email=sender,
        subject=subject,
        body=body,
        received_at=NOW,
    )
    draft = Draft(
        id=12,
        inbound_message_id=inbound.message_id,
        client_id="C1",
        generation=2,
        subject=subject,
        body=reply,
        prompt_version="drafting-v1",
        drafter=drafter,
        lint=[{"rule": "hedge", "level": "warn", "excerpt": excerpt}],
        state=state,
        created_at=NOW,
        decided_by="U0ADMIN",
        decided_at=NOW,
        reason=reason,
        sent_at=NOW,
        send_error=error,
    )
    approval = Approval(
        draft_id=12, text=edited, text_sha256="0" * 64, approved_by="U0ADMIN", approved_at=NOW
    )
    named = Client(client_id="C1", name=client, status=ClientStatus.ACTIVE)

    for shown in (None, approval):
        message = draft_views.approval_message(draft, inbound, named, shown, tz=TZ)
        assert_inert(message.payload(), {"<@U0ADMIN>"}, client)
    failed = draft_views.drafting_failed(inbound, named, error)
    assert_inert(failed.payload(), set(), client, error)
    listed = draft_views.draft_list([(draft, client)], tz=TZ, now=NOW)
    assert_inert(listed.payload(), set(), client)


@settings(max_examples=60, deadline=None)
@given(
    agent=hostile,
    what=hostile,
    for_whom=hostile,
    why=hostile,
    detail=hostile_long,
    note=hostile,
    stranger=hostile,
)
def test_no_agent_output_becomes_live_markup_in_a_shadow_post(
    agent: str, what: str, for_whom: str, why: str, detail: str, note: str, stranger: str
) -> None:
    output = ShadowOutput(
        id=5,
        key="deadlines:x",
        agent=agent,
        kind="escalation",
        what=what,
        for_whom=for_whom,
        why=why,
        detail=detail,
        created_at=NOW,
    )
    reviews = [
        ShadowReview(output_id=5, reviewer="U0LEAD", verdict=ShadowVerdict.AGREE, at=NOW),
        ShadowReview(
            output_id=5, reviewer=stranger, verdict=ShadowVerdict.DISAGREE, note=note, at=NOW
        ),
    ]
    message = autonomy_views.shadow_message(output, reviews, TZ)
    assert_inert(message.payload(), {"<@U0LEAD>"}, what, why)
    assert_inert(autonomy_views.disagree_modal(output).to_dict(), set(), what)


@settings(max_examples=60, deadline=None)
@given(
    agency=hostile,
    texts=st.lists(hostile_long, min_size=1, max_size=12),
    note=hostile,
)
def test_no_briefing_item_becomes_live_markup_in_the_channel_or_the_thread(
    agency: str, texts: list[str], note: str
) -> None:
    sections = [
        Section(key=key, title=key.value, items=[Item(text=t) for t in texts], note=note)
        for key in SectionKey
    ]
    view = briefing_view(Briefing(agency=agency, day=date(2026, 3, 16), sections=sections))
    assert_inert(view.main.payload(), set(), agency, note)
    for reply in view.thread:
        assert_inert(reply.payload(), set())


@settings(max_examples=60, deadline=None)
@given(
    headline=hostile,
    details=st.lists(hostile_long, max_size=6),
    policy=hostile,
    status=st.sampled_from(list(EscalationStatus)),
    via=st.sampled_from(list(Via)),
)
def test_no_handoff_context_becomes_live_markup_in_an_escalation_message(
    headline: str, details: list[str], policy: str, status: EscalationStatus, via: Via
) -> None:
    escalation = Escalation(
        id=3,
        subject="email:<m4@acme.example>",
        domain="client_comms",
        policy_name=policy,
        policy=[{"notify": "owner", "after": "0m"}, {"notify": "lead", "after": "30m"}],
        context={"headline": headline, "details": details, "redraft": 12},
        level=1,
        next_step_at=NOW,
        status=status,
        created_at=NOW,
        acknowledged_by="U0LEAD",
        acknowledged_at=NOW,
        closed_at=NOW,
    )
    step = make_step(1, via)
    view = StepView(level=1, via=via, notify="owner", person="U0AM", owner="U0AM")
    allowed = {"<@U0AM>", "<@U0LEAD>", "<#C0ALERTS>"}
    messages = [
        escalation_views.step_message(escalation, view, tz=TZ, now=NOW),
        escalation_views.escalation_list([(escalation, [step])], tz=TZ, now=NOW),
        escalation_views.late_notice(escalation, 2, NOW, tz=TZ, now=NOW),
        escalation_views.undelivered_notice(escalation, step, tz=TZ, now=NOW),
        escalation_views.exhausted_notice(escalation, tz=TZ, now=NOW),
    ]
    for message in messages:
        assert_inert(message.payload(), allowed, headline)
    assert_inert(messages[0].payload(), allowed, *details[:1])  # the rest may be clipped


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.tuples(st.sampled_from(list(GapCode)), hostile, hostile, hostile), min_size=1)
)
def test_no_manifest_text_becomes_live_markup_in_ops_check(
    gaps: list[tuple[GapCode, str, str, str]],
) -> None:
    found = [
        Gap(code=code, path=path, message=message, fix=fix) for code, path, message, fix in gaps
    ]
    report = coordination_report(Coordination(score=40, gaps=found))
    assert_inert(report.payload(), set(), found[0].message, found[0].fix)


def test_hostile_client_mail_and_project_names_reach_every_new_surface_as_text(
    engine: Engine, manifest: AgencyManifest, tmp_path: Path
) -> None:
    """End to end, one tick and the decisions after it: the approval post (the mail quoted,
    the offline draft built from the names), the escalation DM with the handoff context, the
    deadlines agent's shadow post, the briefing; then a rejection and a shadow review whose
    reasons re-render those posts."""
    with opened_office(engine, manifest, tmp_path) as office:
        builder = AgencyBuilder().client("C1", name=HOSTILE).account("A1", "C1", name=HOSTILE)
        builder.budget("A1", "2026-03", "3100")
        builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")
        builder.load(engine)
        with transaction(engine) as session:
            session.add(
                Project(
                    source="accelo",
                    project_id="P1",
                    client_id="C1",
                    name=f"Launch {HOSTILE}",
                    due_date=date(2026, 3, 10),  # overdue on Monday the 16th
                    status=ProjectStatus.OPEN,
                )
            )
        office.mail("<m1@acme.example>", f"Could you send the report? {HOSTILE}", HOSTILE)
        office.clock.advance(minutes=1)
        office.mail("<m2@acme.example>", f"This is unacceptable. {HOSTILE}", f"Re: {HOSTILE}")
        office.tick()

        draft = office.draft()
        rejected = office.act(
            RejectDraft(origin=office.origin(LEO), draft_id=draft.id, reason=HOSTILE)  # type: ignore[arg-type]
        )
        assert rejected.startswith("Rejected")
        with reading(engine) as session:
            [output] = session.scalars(select(ShadowOutput)).all()
        review = ReviewShadow(
            origin=office.origin(MAYA),
            output_id=output.id,  # type: ignore[arg-type]
            verdict=ShadowVerdict.DISAGREE,
            note=HOSTILE,
        )
        assert "disagree" in office.act(review).lower()
        office.tick()
        calls = [c for c in office.slack.calls if c.method in ("chat.postMessage", "chat.update")]

    allowed = PEOPLE | {f"<#{c}>" for c in manifest.channels.model_dump().values()}
    by_channel: dict[str, list[str]] = {}
    for call in calls:
        params = {k: v for k, v in call.params.items() if k != "metadata"}
        assert live_entities(params) <= allowed, (call.method, params)
        by_channel.setdefault(params["channel"], []).append(json.dumps(params))
    seen = {channel: "\n".join(posts) for channel, posts in by_channel.items()}
    inert = json.dumps(INERT)[1:-1]
    for channel in ("C0APPROVALS", "C0SHADOW", "C0BRIEFING", "DU0AM"):
        assert inert in seen[channel], channel
    approval = seen["C0APPROVALS"]
    assert json.dumps(f">Could you send the report? {INERT}")[1:-1] in approval  # quoted mail
    assert json.dumps("Rejected by <@U0LEAD>")[1:-1] in approval  # re-rendered
    assert json.dumps(f"{INERT} needs a person")[1:-1] in seen["DU0AM"]  # the handoff
    assert json.dumps(f"Projects: Launch {INERT} due 2026-03-10")[1:-1] in seen["DU0AM"]
    assert json.dumps(f"disagrees: {INERT}")[1:-1] in seen["C0SHADOW"]
