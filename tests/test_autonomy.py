"""The autonomy dial: shadow outputs reach the shadow channel only, verdicts once per
reviewer, promotion by the numbers, the kill switch holding what was queued, the breaker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from switchboard.agents.autonomy import shadow_shortfall, statuses
from switchboard.agents.drafting import DraftingFailed
from switchboard.bot import agent_runs
from switchboard.bot import drafting as bot_drafting
from switchboard.bot.agent_runs import BREAKER_FAILURES, run_agents, run_pacing
from switchboard.bot.cli import app
from switchboard.handlers.alerts import AckAlert
from switchboard.handlers.autonomy import (
    DemoteAgent,
    ListAgents,
    PauseAgent,
    PromoteAgent,
    ResumeAgent,
    ReviewShadow,
)
from switchboard.handlers.refs import ActionId, CallbackId, ShadowRef
from switchboard.store import agent_state, shadow
from switchboard.store.agent_state import Autonomy
from switchboard.store.alerts import Alert
from switchboard.store.drafts import Draft, DraftState
from switchboard.store.engine import reading, transaction
from switchboard.store.escalations import Escalation
from switchboard.store.manifest import AgencyManifest, Shadow
from switchboard.store.outbox import OutboxKind, enqueue
from switchboard.store.shadow import ShadowOutput, ShadowRecord, ShadowReview, ShadowVerdict
from tests.agency_builder import AgencyBuilder
from tests.conftest import EXAMPLE_MANIFEST, poll_until
from tests.live_slack import STRANGER, Live
from tests.slack_requests import view_submission
from tests.test_client_email import (
    LEO,
    MAYA,
    START,
    Office,
    free_port,
    mail_server,
    opened_office,
)

ANA = "U0AM"  # owns ad_performance, the pacing agent's domain; no role
MARCH = date(2026, 3, 1)


@pytest.fixture
def office(engine: Engine, manifest: AgencyManifest, tmp_path: Path) -> Iterator[Office]:
    with opened_office(engine, manifest, tmp_path) as office:
        yield office


def over_plan(office: Office, *accounts: str) -> None:
    """Accounts of Acme Dental spending +50% against plan through yesterday."""
    builder = AgencyBuilder().client("C1", name="Acme Dental")
    for account in accounts:
        builder.account(account, "C1").budget(account, "2026-03", "3100")
        builder.spend_each_day(account, MARCH, START.date() - timedelta(days=1), "150.00")
    builder.load(office.engine)


def set_level(place: Office | Live, agent: str, level: Autonomy, since: date | None = None) -> None:
    with transaction(place.engine) as session:
        row = agent_state.get(session, agent)
        assert row is not None
        agent_state.change_level(
            session,
            agent,
            expected=row.autonomy,
            to=level,
            actor="test",
            now=place.clock(),
            shadow_since=since or row.shadow_since,
        )


def level_of(office: Office, agent: str) -> Autonomy | None:
    with reading(office.engine) as session:
        return agent_state.level(session, agent)


def count(engine: Engine, model: type) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def outputs(engine: Engine) -> list[ShadowOutput]:
    with reading(engine) as session:
        return list(session.scalars(select(ShadowOutput).order_by(ShadowOutput.id)))


def said(office: Office, command: Any) -> str:
    return office.act(command)


# -- shadow: nothing reaches anyone but the shadow channel --------------------------------------


def test_a_shadow_agents_outputs_reach_the_shadow_channel_and_nobody_else(office: Office) -> None:
    set_level(office, "pacing", Autonomy.SHADOW, START.date())
    set_level(office, "drafting", Autonomy.SHADOW, START.date())
    over_plan(office, "A1")
    office.mail("<calm@acme>", "Could you resend the October report?")
    office.mail("<angry@acme>", "This is unacceptable. We are cancelling the contract.")
    port = free_port()
    smtp = {"email_backend": "smtp", "smtp_url": f"smtp://127.0.0.1:{port}"}

    with mail_server(port) as inbox:
        office.tick(**smtp)
        office.clock.advance(hours=2)
        office.tick(**smtp)  # a later run says nothing it said before

    calls = office.slack.calls
    assert {call.method for call in calls} <= {"auth.test", "chat.postMessage"}
    # The briefing is a summary, not an action: it shows the shadow agents' findings, marked.
    [briefing] = office.slack.messages("C0BRIEFING")
    assert "Pacing (shadow)" in json.dumps(briefing["blocks"])
    posted = [
        c for c in office.slack.calls_to("chat.postMessage") if c.params["channel"] != "C0BRIEFING"
    ]
    assert {call.params["channel"] for call in posted} == {"C0SHADOW"}
    assert inbox.messages == []
    assert (count(office.engine, Alert), count(office.engine, Escalation)) == (0, 0)
    assert count(office.engine, Draft) == 0
    kinds = sorted((o.agent, o.kind) for o in outputs(office.engine))
    assert kinds == [
        ("drafting", "draft"),
        ("drafting", "escalation"),
        ("pacing", "alert"),
        ("pacing", "escalation"),
    ]
    texts = [call.params["text"] for call in posted]
    assert len(texts) == 4 and all("(shadow) would have" in text for text in texts)
    alert_post = next(t for t in texts if "posted" in t and "pacing" in t)
    assert "Acme Dental" in alert_post
    blocks = json.dumps([FakeSlackBlocks.of(call) for call in posted])
    assert ActionId.SHADOW_AGREE in blocks and ActionId.SHADOW_DISAGREE in blocks


class FakeSlackBlocks:
    @staticmethod
    def of(call: Any) -> Any:
        blocks = call.params.get("blocks")
        return json.loads(blocks) if isinstance(blocks, str) else blocks


# -- verdicts ---------------------------------------------------------------------------------


@pytest.fixture
def in_shadow(office: Office) -> ShadowOutput:
    set_level(office, "pacing", Autonomy.SHADOW, START.date())
    over_plan(office, "A1")
    run_pacing(office.engine, office.manifest, as_of=START.date(), now=office.clock())
    return outputs(office.engine)[0]


def review(office: Office, user: str, output: ShadowOutput, verdict: ShadowVerdict) -> str:
    command = ReviewShadow(origin=office.origin(user), output_id=output.id, verdict=verdict)
    return said(office, command)


def test_ten_concurrent_verdicts_of_one_reviewer_are_recorded_once(
    office: Office, in_shadow: ShadowOutput
) -> None:
    start = threading.Barrier(10)
    answers: list[str] = []

    def click() -> None:
        start.wait()
        answers.append(review(office, LEO, in_shadow, ShadowVerdict.AGREE))

    threads = [threading.Thread(target=click) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(a.startswith("Recorded") for a in answers) == 1
    assert sum("a second verdict changes nothing" in a for a in answers) == 9
    assert count(office.engine, ShadowReview) == 1
    # A second verdict, even a different one, changes nothing either.
    again = review(office, LEO, in_shadow, ShadowVerdict.DISAGREE)
    assert again.startswith("You already said agree")
    with reading(office.engine) as session:
        [kept] = shadow.reviews(session, in_shadow.id)
    assert kept.verdict is ShadowVerdict.AGREE


def test_reviewers_are_the_domain_owner_leads_approvers_and_admins(
    office: Office, in_shadow: ShadowOutput
) -> None:
    assert review(office, STRANGER, in_shadow, ShadowVerdict.AGREE).startswith("Only the domain")
    for user in (ANA, LEO, MAYA):  # owner of ad_performance; lead; admin
        assert review(office, user, in_shadow, ShadowVerdict.AGREE).startswith("Recorded")
    office.tick()
    updates = office.slack.calls_to("chat.update")
    assert updates, "the shadow post is re-rendered with the verdicts"
    assert "<@U0ADMIN> agrees" in json.dumps(FakeSlackBlocks.of(updates[-1]))


def test_agreement_counts_every_verdict() -> None:
    record = ShadowRecord(outputs=5, reviewed=3, agrees=3, disagrees=1)
    assert record.agreement_pct == Decimal(75)
    assert ShadowRecord(outputs=1, reviewed=0, agrees=0, disagrees=0).agreement_pct is None


# -- the dial ---------------------------------------------------------------------------------


def test_leaving_shadow_is_refused_with_the_numbers_until_they_are_met(
    office: Office, manifest: AgencyManifest
) -> None:
    thresholds = Shadow(min_days=1, min_reviewed=2, min_agreement_pct=Decimal(60))
    office.manifest = manifest.model_copy(update={"shadow": thresholds})
    set_level(office, "pacing", Autonomy.SHADOW, START.date())
    over_plan(office, "A1", "A2")
    run_pacing(office.engine, office.manifest, as_of=START.date(), now=office.clock())
    first, second, third = outputs(office.engine)[:3]

    def promote(reason: str | None = None) -> str:
        return said(office, PromoteAgent(origin=office.origin(MAYA), agent="pacing", reason=reason))

    assert promote() == (
        "Not promoted: pacing has 0 of 1 days in shadow; 0 of 2 outputs reviewed; "
        "no verdicts yet, 60% needed."
    )
    review(office, MAYA, first, ShadowVerdict.AGREE)
    review(office, LEO, second, ShadowVerdict.DISAGREE)
    office.clock.advance(days=1)
    assert promote() == "Not promoted: pacing has 50% agreement, 60% needed."
    review(office, MAYA, third, ShadowVerdict.AGREE)

    assert promote() == "Promoted pacing: shadow → supervised."
    assert level_of(office, "pacing") is Autonomy.SUPERVISED
    assert promote().startswith("Not promoted: say why pacing may act on its own")
    assert (
        promote("three weeks without a wrong call") == "Promoted pacing: supervised → autonomous."
    )
    with reading(office.engine) as session:
        changes = agent_state.history(session, "pacing")
    assert [(e.before, e.after) for e in changes][-2:] == [
        ({"autonomy": "shadow"}, {"autonomy": "supervised"}),
        (
            {"autonomy": "supervised"},
            {"autonomy": "autonomous", "reason": "three weeks without a wrong call"},
        ),
    ]
    assert changes[-1].actor == MAYA


def test_drafting_never_goes_above_supervised_and_only_admins_turn_the_dial(
    office: Office,
) -> None:
    up = said(office, PromoteAgent(origin=office.origin(MAYA), agent="drafting", reason="sure"))
    assert up.startswith("Not promoted: drafting can never be above supervised")
    leo = said(office, PauseAgent(origin=office.origin(LEO), agent="all"))
    assert leo == "Only an admin can change an agent's autonomy."
    assert level_of(office, "drafting") is Autonomy.SUPERVISED


def test_demoting_to_shadow_restarts_its_time_in_shadow(office: Office) -> None:
    office.clock.advance(days=3)
    answer = said(office, DemoteAgent(origin=office.origin(MAYA), agent="pacing"))
    assert answer.startswith("Demoted pacing: supervised → shadow.")
    with reading(office.engine) as session:
        [status] = [
            s
            for s in statuses(session, office.manifest, today=date(2026, 3, 19))
            if s.name == "pacing"
        ]
    assert (status.level, status.shadow_since, status.days_in_shadow) == (
        Autonomy.SHADOW,
        date(2026, 3, 19),
        0,
    )


def test_shortfall_lists_each_threshold_missed() -> None:
    record = ShadowRecord(outputs=30, reviewed=25, agrees=24, disagrees=1)
    enough = shadow_shortfall(
        record, since=date(2026, 3, 1), today=date(2026, 3, 15), thresholds=Shadow()
    )
    assert enough == []
    early = shadow_shortfall(
        record, since=date(2026, 3, 2), today=date(2026, 3, 15), thresholds=Shadow()
    )
    assert early == ["13 of 14 days in shadow"]


# -- the kill switch --------------------------------------------------------------------------


def alerts_posts(office: Office) -> list[Any]:
    return [
        c for c in office.slack.calls_to("chat.postMessage") if c.params["channel"] == "C0ALERTS"
    ]


def test_pause_holds_what_the_agent_queued_without_blocking_others_and_resume_sends_it_once(
    office: Office,
) -> None:
    over_plan(office, "A1")
    run_pacing(office.engine, office.manifest, as_of=START.date(), now=office.clock())  # queued
    paused = said(office, PauseAgent(origin=office.origin(MAYA), agent="pacing"))
    assert paused.startswith("Paused pacing: nothing runs")
    with transaction(office.engine) as session:  # a message of nobody's, behind the alert
        enqueue(
            session,
            key="note:1",
            kind=OutboxKind.POST,
            channel="C0ALERTS",
            payload={"text": "A person's note"},
            now=office.clock(),
        )

    office.tick()  # the escalation's DM goes: people's work is not held
    office.clock.advance(hours=2)
    report = office.tick()

    assert [c.params["text"] for c in alerts_posts(office)] == ["A person's note"]
    assert "pacing: skipped (paused)" in "; ".join(r.summary() for r in report.agent_runs)
    assert said(office, PauseAgent(origin=office.origin(MAYA), agent="pacing")).startswith(
        "Nothing to pause"
    )
    resumed = said(office, ResumeAgent(origin=office.origin(MAYA), agent="all"))
    assert resumed == "Resumed pacing (supervised); what they had queued goes out now."
    office.tick()
    office.clock.advance(hours=2)
    office.tick()

    posts = alerts_posts(office)
    assert len(posts) == 2 and "Acme Dental" in posts[1].params["text"]
    assert level_of(office, "pacing") is Autonomy.SUPERVISED


def test_while_drafting_is_paused_mail_waits_and_is_drafted_after_the_resume(
    office: Office,
) -> None:
    said(office, PauseAgent(origin=office.origin(MAYA), agent="drafting"))
    office.mail("<calm@acme>", "Could you resend the October report?")
    office.tick()
    assert count(office.engine, Draft) == 0
    assert office.approvals_channel() == []

    said(office, ResumeAgent(origin=office.origin(MAYA), agent="drafting"))
    office.tick()
    office.tick()
    assert count(office.engine, Draft) == 1
    assert len(office.approvals_channel()) == 1


# -- the circuit breaker ----------------------------------------------------------------------


def test_three_failed_runs_in_a_row_pause_the_agent_and_escalate_to_its_owner(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("spend table missing")

    monkeypatch.setitem(agent_runs.RUNNERS, "pacing", broken)

    def run() -> str:
        office.clock.advance(hours=1)
        [result] = run_agents(
            office.engine, office.manifest, as_of=START.date(), now=office.clock(), only="pacing"
        )
        return result.summary()

    for _ in range(BREAKER_FAILURES - 1):
        assert "failed: RuntimeError: spend table missing" in run()
        assert level_of(office, "pacing") is Autonomy.SUPERVISED
    assert run().endswith("paused by the circuit breaker after 3 failed runs in a row")
    assert level_of(office, "pacing") is Autonomy.PAUSED

    with reading(office.engine) as session:
        [escalation] = session.scalars(select(Escalation)).all()
    assert (escalation.subject, escalation.domain) == ("agent:pacing", "ad_performance")
    office.tick()
    [opened] = office.slack.calls_to("conversations.open")
    assert opened.params["users"] == ANA
    [dm] = [
        c for c in office.slack.calls_to("chat.postMessage") if c.params["channel"] == f"D{ANA}"
    ]
    assert "pacing was paused after 3 failed runs in a row" in dm.params["text"]

    said(office, ResumeAgent(origin=office.origin(MAYA), agent="pacing"))
    run()  # the count starts again: one failure does not pause
    assert level_of(office, "pacing") is Autonomy.SUPERVISED


def test_a_run_that_works_resets_the_count(office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    failing = {"now": True}
    real = agent_runs.RUNNERS["pacing"]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failing["now"]:
            raise RuntimeError("timeout")
        return real(*args, **kwargs)

    monkeypatch.setitem(agent_runs.RUNNERS, "pacing", flaky)
    args = {"as_of": START.date(), "only": "pacing"}
    for n in range(5):
        failing["now"] = n != 2  # fail, fail, work, fail, fail
        run_agents(office.engine, office.manifest, now=office.clock(), **args)
    assert level_of(office, "pacing") is Autonomy.SUPERVISED


# -- Slack and the CLI ------------------------------------------------------------------------


def test_ops_agents_lists_levels_and_shadow_records(
    office: Office, in_shadow: ShadowOutput
) -> None:
    [reply] = office.replies(ListAgents(origin=office.origin(ANA)))
    text = json.dumps([block.to_dict() for block in reply.message.blocks], ensure_ascii=False)
    assert "*pacing* · shadow" in text
    assert "0 days in shadow · 2 outputs, 0 reviewed, agreement no verdicts" in text
    assert "*drafting* · supervised" in text


def test_agree_and_disagree_with_a_note_through_slack(live: Live) -> None:
    set_level(live, "pacing", Autonomy.SHADOW, live.clock().date())
    builder = AgencyBuilder().client("C2", name="<!channel> Bright & Co").account("A2", "C2")
    builder.budget("A2", "2026-03", "3100").spend_each_day("A2", MARCH, date(2026, 3, 15), "150")
    builder.load(live.engine)
    run_pacing(live.engine, live.manifest, as_of=date(2026, 3, 16), now=live.clock())
    live.drain()
    [post] = [
        m for m in live.fake.messages("C0SHADOW") if "posted" in m["text"] and "A2" in m["text"]
    ]
    assert "&lt;!channel&gt; Bright &amp; Co" in post["text"]
    assert "spend to date $2,250.00 against a plan of $1,500.00" in json.dumps(post["blocks"])
    [output] = [o for o in outputs(live.engine) if o.key == "pacing:alert:A2:2026-03:over"]
    ref = ShadowRef(output_id=output.id).encode()

    assert live.click(ActionId.SHADOW_DISAGREE, ref, STRANGER).status == 200
    [refused] = live.responses()
    assert refused.params["text"].startswith("Only the domain owner")
    assert live.fake.calls_to("views.open") == []  # no form for someone who may not use it
    assert live.click(ActionId.SHADOW_AGREE, ref, LEO).status == 200
    poll_until(lambda: count(live.engine, ShadowReview) == 1, what="the verdict")
    assert live.click(ActionId.SHADOW_DISAGREE, ref, MAYA).status == 200
    [opened] = live.fake.wait_for_calls("views.open")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == CallbackId.SHADOW_DISAGREE
    body = view_submission(
        CallbackId.SHADOW_DISAGREE,
        view["private_metadata"],
        None,
        user=MAYA,
        values={"note": {"type": "plain_text_input", "value": "spend was agreed with <them>"}},
        view_hash="h1",
    )
    answer = live.post(body).json()
    assert answer["response_action"] == "update"
    assert "you disagree" in json.dumps(answer["view"])
    live.drain()
    [updated] = [m for m in live.fake.messages("C0SHADOW") if m["ts"] == post["ts"]]
    blocks = json.dumps(updated["blocks"])
    assert "<@U0LEAD> agrees" in blocks
    assert "<@U0ADMIN> disagrees: spend was agreed with &lt;them&gt;" in blocks


def test_the_cli_turns_the_dial_as_the_person_named_and_lists_json(
    office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if office.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is shown once, on SQLite")
    monkeypatch.setenv("DATABASE_URL", office.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", str(EXAMPLE_MANIFEST))

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    over_plan(office, "A1")  # the store holds data: `agents list` reads it
    by_name = cli("agents", "pause", "pacing", "--by", "Ana")  # a name works as the id does
    assert by_name.exit_code == 1 and "Only an admin" in by_name.output
    unknown_person = cli("agents", "pause", "pacing", "--by", "Zed")
    assert unknown_person.exit_code == 2 and "nor a person in the manifest" in unknown_person.output
    refused = cli("agents", "pause", "pacing", "--by", ANA)
    assert refused.exit_code == 1
    assert "Only an admin can change an agent's autonomy." in refused.output
    paused = cli("agents", "pause", "pacing", "--by", MAYA)
    assert paused.exit_code == 0, paused.output
    unknown = cli("agents", "pause", "nobody", "--by", MAYA)
    assert unknown.exit_code == 2 and "'nobody' is not an agent" in unknown.output

    listed = json.loads(cli("agents", "list", "--json").stdout)
    assert sorted(listed[0]) == sorted(
        [
            "name",
            "level",
            "domain",
            "shadow_since",
            "days_in_shadow",
            "outputs",
            "reviewed",
            "agreement_pct",
            "paused_from",
        ]
    )
    pacing = next(row for row in listed if row["name"] == "pacing")
    assert (pacing["level"], pacing["paused_from"]) == ("paused", "supervised")


# -- what a pause or shadow must not hold back, or let through ---------------------------------


def test_an_acknowledgement_while_the_agent_is_paused_still_shows(office: Office) -> None:
    over_plan(office, "A1")
    run_pacing(office.engine, office.manifest, as_of=START.date(), now=office.clock())
    office.tick()  # the alert is posted
    said(office, PauseAgent(origin=office.origin(MAYA), agent="pacing"))
    with reading(office.engine) as session:
        [alert] = session.scalars(select(Alert)).all()
    assert said(office, AckAlert(origin=office.origin(ANA), alert_id=alert.id)).startswith(
        "You acknowledged"
    )
    office.tick()
    [update] = [
        c for c in office.slack.calls_to("chat.update") if c.params["channel"] == "C0ALERTS"
    ]
    assert "Acknowledged by <@U0AM>" in json.dumps(FakeSlackBlocks.of(update))


def test_drafts_do_not_expire_while_drafting_is_paused(office: Office) -> None:
    office.mail("<m1@acme>", "Could you send the October report?")
    office.tick()
    said(office, PauseAgent(origin=office.origin(MAYA), agent="drafting"))
    office.clock.advance(hours=30)  # past approvals.expire_after (24h)
    office.tick()
    [draft] = office.drafts()
    assert draft.state is DraftState.PENDING
    said(office, ResumeAgent(origin=office.origin(MAYA), agent="drafting"))
    office.tick()
    assert office.drafts()[0].state is DraftState.EXPIRED


def test_an_agent_paused_from_the_start_resumes_in_shadow(office: Office) -> None:
    with transaction(office.engine) as session:
        agent_state.change_level(
            session,
            "deadlines",
            expected=Autonomy.SHADOW,
            to=Autonomy.PAUSED,
            actor="manifest",
            now=office.clock(),
        )
    assert said(office, ResumeAgent(origin=office.origin(MAYA), agent="deadlines")) == (
        "Resumed deadlines (shadow); what they had queued goes out now."
    )
    with reading(office.engine) as session:
        assert agent_state.get(session, "deadlines").shadow_since == START.date()  # type: ignore[union-attr]


def test_a_shadow_drafting_agents_failure_is_told_in_the_shadow_channel_only(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_level(office, "drafting", Autonomy.SHADOW, START.date())

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise DraftingFailed("overloaded_error")

    monkeypatch.setattr(bot_drafting, "write_draft", broken)
    office.mail("<m1@acme>", "Could you send the October report?")
    office.tick()
    assert office.approvals_channel() == []
    [told] = [o for o in outputs(office.engine) if o.kind == "message"]
    assert "told the approvers there is no draft yet" in told.what
    assert told.why == "overloaded_error"
