"""Escalations that really execute, driven by an injected clock: levels, business hours,
DMs, acknowledgement from every button, the auditor, catching up, several ticks at once.

The agency's business hours are 09:00 to 17:00, Monday to Friday, New York time. 16 March
2026 is a Monday. The example `spend` policy: the owner by DM at once, the owner's lead by
DM two hours later, then the alerts channel the next business day.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from switchboard.bot.agent_runs import run_pacing
from switchboard.bot.escalations import EscalationDriver
from switchboard.bot.outbox import Outbox, OutboxPolicy
from switchboard.bot.runtime import seed
from switchboard.bot.slack_transport import SlackTransport
from switchboard.bot.tick import Tick
from switchboard.handlers.alerts import AckAlert
from switchboard.handlers.commands import Origin
from switchboard.handlers.escalations import AckEscalation, ListEscalations
from switchboard.handlers.registry import WORK
from switchboard.handlers.work import apply
from switchboard.store import alerts, escalations
from switchboard.store.alerts import Alert, AlertState
from switchboard.store.engine import reading, transaction
from switchboard.store.escalations import Escalation, EscalationStatus, StepState
from switchboard.store.manifest import AgencyManifest, EscalationLevel
from tests.agency_builder import AgencyBuilder
from tests.conftest import EXAMPLE_MANIFEST, FakeClock
from tests.fake_slack import FakeSlack

NY = ZoneInfo("America/New_York")
OWNER, LEAD, ADMIN = "U0AM", "U0LEAD", "U0ADMIN"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, New York time (16 is a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY)


@dataclass
class Agency:
    engine: Engine
    manifest: AgencyManifest
    fake: FakeSlack
    clock: FakeClock

    def raise_alert(self, when: datetime, *, data_through: date | None = None) -> Alert:
        self.clock.current = when
        through = data_through or when.date() - timedelta(days=1)
        builder = AgencyBuilder().client("C1").account("A1", "C1").budget("A1", "2026-03", "3100")
        builder.spend_each_day("A1", date(2026, 3, 1), through, "150.00")  # +50%: over
        builder.load(self.engine)
        [change] = run_pacing(self.engine, self.manifest, as_of=when.date(), now=when).changes
        with reading(self.engine) as session:
            return session.get_one(Alert, change.alert_id)

    def tick(self, when: datetime, manifest: AgencyManifest | None = None) -> Any:
        self.clock.current = when
        manifest = manifest or self.manifest
        driver = EscalationDriver(self.engine, manifest, self.clock)
        client = WebClient(token="xoxb-test", base_url=self.fake.api_url, retry_handlers=[])
        outbox = Outbox(
            self.engine,
            SlackTransport(client),
            clock=self.clock,
            alerts_channel=manifest.channels.alerts,
            admins=[ADMIN],
            policy=OutboxPolicy(channel_interval=timedelta(0)),
            on_outcome=driver.record_delivery,
        )
        return Tick(self.engine, manifest, self.clock, driver, outbox=outbox).run()

    def dms(self, user: str) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages(f"D{user}") if m["text"].startswith("Escalation")]

    def alerts_channel(self, words: str) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages("C0ALERTS") if words in m["text"]]

    def escalation(self) -> Escalation:
        with reading(self.engine) as session:
            [found] = escalations.listing(session, include_closed=True)
            return found

    def steps(self) -> list[Any]:
        with reading(self.engine) as session:
            return escalations.steps(session, self.escalation().id)  # type: ignore[arg-type]

    def act(self, command: Any) -> str:
        replies = apply(
            self.engine,
            self.manifest,
            WORK[command.kind],
            command,
            now=self.clock(),
            reply_key=None,
        )
        return replies[-1].message.text

    def ack(self, user: str, **options: Any) -> str:
        escalation_id: int = self.escalation().id  # type: ignore[assignment]
        command = AckEscalation(origin=self.origin(user), escalation_id=escalation_id, **options)
        return self.act(command)

    def reassign(self, alert: Alert, to: str, when: datetime) -> None:
        with transaction(self.engine) as session:
            before = session.get_one(Alert, alert.id).assignee
            alerts.reassign(
                session,
                alert.id,  # type: ignore[arg-type]
                expected_assignee=before,
                to=to,
                by=ADMIN,
                now=when,
            )

    def origin(self, user: str) -> Origin:
        return Origin(user=user, asked_at=self.clock())


@pytest.fixture
def agency(engine: Engine, manifest: AgencyManifest) -> Iterator[Agency]:
    clock = FakeClock(at(16, 10))
    seed(engine, manifest, now=clock())
    with FakeSlack() as fake:
        yield Agency(engine, manifest, fake, clock)


def with_policy(manifest: AgencyManifest, *levels: dict[str, Any]) -> AgencyManifest:
    policies = dict(manifest.escalation_policies)
    policies["spend"] = [EscalationLevel.model_validate(level) for level in levels]
    return manifest.model_copy(update={"escalation_policies": policies})


# -- the example spend policy, hour by hour -------------------------------------------------------


def test_owner_at_once_lead_two_hours_later_channel_next_business_morning(agency: Agency) -> None:
    agency.raise_alert(at(16, 10))

    agency.tick(at(16, 10))
    [owner_dm] = agency.dms(OWNER)
    assert "Level 1 of 3: Sent to you as its owner" in json.dumps(owner_dm["blocks"])
    # The money a person needs to act, as in the alert (15 days of $150 against $100 a day).
    assert "Spend to date $2,250.00 against a plan of $1,500.00; budget $3,100.00" in json.dumps(
        owner_dm["blocks"]
    )
    assert agency.escalation().next_step_at == at(16, 12)

    agency.tick(at(16, 11, 59))
    assert agency.dms(LEAD) == []
    agency.tick(at(16, 12))
    [lead_dm] = agency.dms(LEAD)
    assert "as <@U0AM>'s lead" in json.dumps(lead_dm["blocks"])

    agency.tick(at(16, 20))  # evening: nothing more, the channel waits for the morning
    assert agency.alerts_channel("Escalation (level 3") == []
    assert agency.escalation().next_step_at == at(17, 9)
    agency.tick(at(17, 9))
    [post] = agency.alerts_channel("Escalation (level 3")
    assert post["text"].startswith("<@U0AM> ")  # the channel level mentions the owner

    assert [(s.level, s.via.value, s.target, s.state) for s in agency.steps()] == [
        (1, "dm", OWNER, StepState.DELIVERED),
        (2, "dm", LEAD, StepState.DELIVERED),
        (3, "channel", "C0ALERTS", StepState.DELIVERED),
    ]
    assert [s.delivered_at for s in agency.steps()] == [at(16, 10), at(16, 12), at(17, 9)]


def test_unanswered_after_the_last_level_it_is_exhausted_and_the_channel_told_once(
    agency: Agency,
) -> None:
    agency.raise_alert(at(16, 10))
    for moment in (at(16, 10), at(16, 12), at(17, 9), at(17, 16)):
        agency.tick(moment)
    assert agency.escalation().status is EscalationStatus.OPEN

    agency.tick(at(18, 9))
    agency.tick(at(18, 10))

    assert agency.escalation().status is EscalationStatus.EXHAUSTED
    [notice] = agency.alerts_channel("is exhausted")
    assert "all 3 levels were notified" in notice["text"]
    # It can still be acknowledged.
    assert agency.ack(ADMIN).startswith("You acknowledged")


def test_an_alert_raised_friday_evening_reaches_its_owner_monday_morning(
    agency: Agency,
) -> None:
    agency.raise_alert(at(20, 18))  # Friday 18:00

    agency.tick(at(20, 18))
    agency.tick(at(21, 12))  # Saturday
    assert agency.dms(OWNER) == []
    assert agency.escalation().next_step_at == at(23, 9)

    agency.tick(at(23, 9))  # Monday
    assert len(agency.dms(OWNER)) == 1


def test_an_anytime_level_runs_outside_business_hours(agency: Agency) -> None:
    anytime = with_policy(
        agency.manifest,
        {"notify": "owner", "after": "0m", "anytime": True},
        {"notify": "lead", "after": "30m"},
    )
    agency.manifest = anytime
    agency.raise_alert(at(20, 18))

    agency.tick(at(20, 18))
    assert len(agency.dms(OWNER)) == 1  # Friday evening: anytime
    agency.tick(at(20, 18, 30))
    assert agency.dms(LEAD) == []  # the lead's level keeps business hours
    assert agency.escalation().next_step_at == at(23, 9)


# -- acknowledgement ------------------------------------------------------------------------------


@pytest.mark.parametrize("button", ["escalation DM", "alert", "ops list"])
def test_an_acknowledgement_at_eleven_stops_everything_after_it(
    agency: Agency, button: str
) -> None:
    alert = agency.raise_alert(at(16, 10))
    agency.tick(at(16, 10))
    agency.clock.current = at(16, 11)
    escalation_id: int = agency.escalation().id  # type: ignore[assignment]

    if button == "alert":
        text = agency.act(AckAlert(origin=agency.origin(OWNER), alert_id=alert.id))  # type: ignore[arg-type]
        assert text == f"You acknowledged alert #{alert.id}."
    else:
        in_list = button == "ops list"
        if in_list:
            listing = agency.act(ListEscalations(origin=agency.origin(OWNER)))
            assert listing == "1 open escalation(s)"
        text = agency.ack(OWNER, in_list=in_list)
        assert text.startswith(f"You acknowledged escalation #{escalation_id}")

    for moment in (at(16, 12), at(17, 9), at(18, 9)):
        agency.tick(moment)
    assert agency.dms(LEAD) == []
    assert agency.alerts_channel("Escalation (level") == []
    found = agency.escalation()
    assert (found.status, found.acknowledged_by) == (EscalationStatus.ACKNOWLEDGED, OWNER)
    with reading(agency.engine) as session:
        assert session.get_one(Alert, alert.id).state is AlertState.ACKNOWLEDGED
    # The owner's DM was re-rendered: no button, who and when.
    [dm] = agency.dms(OWNER)
    assert "escalation.ack" not in json.dumps(dm["blocks"])
    assert "Acknowledged by <@U0AM> at 2026-03-16 11:00" in json.dumps(dm["blocks"])


def test_who_may_acknowledge_and_who_is_told_why_not(agency: Agency) -> None:
    agency.raise_alert(at(16, 10))
    agency.tick(at(16, 10))

    refused = agency.ack("U0NOBODY")

    assert refused == (
        "Only someone it has notified, the assignee, the domain owner, the owner's lead or an "
        "admin can acknowledge this escalation."
    )
    assert agency.escalation().status is EscalationStatus.OPEN
    first, second = agency.ack(LEAD), agency.ack(ADMIN)
    assert first.startswith("You acknowledged")
    assert second == "Already acknowledged by <@U0LEAD> at 2026-03-16 10:00."


@pytest.mark.parametrize("how", ["resolved", "suppressed"])
def test_an_alert_that_resolves_or_is_held_back_closes_its_escalation(
    agency: Agency, how: str
) -> None:
    agency.raise_alert(at(16, 10))
    agency.tick(at(16, 10))
    if how == "resolved":  # corrected spend: +10%, back inside half the 30% threshold
        builder = AgencyBuilder()
        builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "110.00")
        builder.load(agency.engine)
        run_pacing(agency.engine, agency.manifest, as_of=date(2026, 3, 16), now=at(16, 11))
    else:  # an exclusion now covers the account: a cross-check holds the alert back
        AgencyBuilder().exclusion("A1", reason="client paused the campaign").load(agency.engine)
        run_pacing(agency.engine, agency.manifest, as_of=date(2026, 3, 16), now=at(16, 11))

    agency.tick(at(16, 12))

    assert agency.escalation().status is EscalationStatus.RESOLVED
    assert agency.dms(LEAD) == []
    [dm] = agency.dms(OWNER)
    assert "Resolved at 2026-03-16 11:00" in json.dumps(dm["blocks"])
    assert "escalation.ack" not in json.dumps(dm["blocks"])


# -- falling through, catching up, policies copied, reassigned owners ----------------------------


def test_an_undeliverable_owner_falls_through_to_the_lead_in_the_same_tick(agency: Agency) -> None:
    agency.raise_alert(at(16, 10))
    agency.fake.fail_next("conversations.open", error="user_not_found")

    agency.tick(at(16, 10))

    [lead_dm] = agency.dms(LEAD)
    assert lead_dm
    owner_step, lead_step = agency.steps()
    assert (owner_step.state, owner_step.error) == (StepState.FAILED, "user_not_found")
    assert (lead_step.state, lead_step.delivered_at) == (StepState.DELIVERED, at(16, 10))


def test_a_level_that_resolves_to_nobody_falls_through(agency: Agency) -> None:
    agency.manifest = with_policy(
        agency.manifest, {"notify": "lead", "after": "0m"}, {"notify": "U0ADMIN", "after": "1h"}
    )
    alert = agency.raise_alert(at(16, 10))
    agency.reassign(alert, ADMIN, at(16, 10))  # now the alert's owner has no lead

    agency.tick(at(16, 10))

    first, second = agency.steps()
    assert (first.state, first.error) == (StepState.FAILED, "U0ADMIN has no lead in the manifest")
    assert (second.target, second.state) == (ADMIN, StepState.DELIVERED)


def test_a_scheduler_stopped_for_a_day_catches_up_one_level_per_tick(agency: Agency) -> None:
    agency.raise_alert(at(16, 10))
    agency.tick(at(16, 10))  # then nothing runs until Tuesday 15:00

    agency.tick(at(17, 15))
    assert len(agency.dms(LEAD)) == 1
    [late] = agency.alerts_channel("is 1d 3h late")
    assert "level 2 was due at 2026-03-16 12:00" in late["text"]
    assert agency.alerts_channel("Escalation (level 3") == []  # its own after: tomorrow 09:00
    assert agency.escalation().next_step_at == at(18, 9)

    agency.tick(at(17, 16))
    assert len(agency.alerts_channel(" late.")) == 1  # reported once
    agency.tick(at(18, 9))
    assert len(agency.alerts_channel("Escalation (level 3")) == 1


def test_a_policy_edited_after_creation_does_not_change_a_running_escalation(
    agency: Agency,
) -> None:
    agency.raise_alert(at(16, 10))
    agency.tick(at(16, 10))
    hurried = with_policy(
        agency.manifest, {"notify": "owner", "after": "0m"}, {"notify": "U0ADMIN", "after": "5m"}
    )

    agency.tick(at(16, 10, 30), manifest=hurried)
    assert agency.dms(ADMIN) == [] and agency.dms(LEAD) == []
    agency.tick(at(16, 12), manifest=hurried)
    assert len(agency.dms(LEAD)) == 1  # the copied policy: the lead, two hours on


def test_an_alert_reassigned_mid_escalation_sends_the_next_step_to_the_new_assignee(
    agency: Agency,
) -> None:
    agency.manifest = with_policy(
        agency.manifest, {"notify": "owner", "after": "0m"}, {"notify": "owner", "after": "1h"}
    )
    alert = agency.raise_alert(at(16, 10))
    agency.tick(at(16, 10))
    agency.reassign(alert, LEAD, at(16, 10, 30))

    agency.tick(at(16, 11))

    assert len(agency.dms(OWNER)) == 1
    assert len(agency.dms(LEAD)) == 1


# -- several ticks, restarts, the undelivered ----------------------------------------------------


def test_two_ticks_racing_send_each_step_once(agency: Agency) -> None:
    agency.raise_alert(at(16, 10))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def tick() -> None:
        start.wait()
        try:
            agency.tick(at(16, 10))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert len(agency.dms(OWNER)) == 1
    assert len(agency.fake.calls_to("chat.postMessage")) == len(agency.fake.messages())
    assert [s.level for s in agency.steps()] == [1]


def test_a_restart_between_queued_and_delivered_sends_once_and_a_stuck_step_is_reported(
    agency: Agency,
) -> None:
    agency.raise_alert(at(16, 10))
    driver = EscalationDriver(agency.engine, agency.manifest, agency.clock)
    Tick(agency.engine, agency.manifest, agency.clock, driver).run()  # queued; no outbox here
    [step] = agency.steps()
    assert step.state is StepState.QUEUED

    agency.clock.current = at(16, 10, 6)  # Slack has not taken it for six minutes
    assert driver.audit() == 1
    assert driver.audit() == 0  # told once

    agency.tick(at(16, 10, 7))  # a new process, with its outbox
    assert len(agency.dms(OWNER)) == 1
    assert len(agency.alerts_channel("Slack has not taken it")) == 1
    assert agency.steps()[0].state is StepState.DELIVERED


def test_the_json_level_counts_steps_delivered_or_failed_never_one_still_queued(
    agency: Agency,
) -> None:
    agency.manifest = with_policy(
        agency.manifest, {"notify": "lead", "after": "0m"}, {"notify": "U0ADMIN", "after": "1h"}
    )
    alert = agency.raise_alert(at(16, 10))
    agency.reassign(alert, ADMIN, at(16, 10))  # the first level resolves to nobody: failed

    def as_json() -> dict[str, Any]:
        return escalations.to_json(agency.escalation(), agency.steps())

    assert as_json()["level"] == 0  # before the first
    driver = EscalationDriver(agency.engine, agency.manifest, agency.clock)
    Tick(agency.engine, agency.manifest, agency.clock, driver).run()  # no token: no outbox
    listed = as_json()
    assert [s["state"] for s in listed["steps"]] == ["failed", "queued"]
    assert listed["level"] == 1  # the failed first level counts, the queued second does not

    agency.tick(at(16, 10))  # now the outbox delivers it
    assert as_json()["level"] == 2


# -- the command line -----------------------------------------------------------------------------


def run_cli(tmp_path: Path, fake: FakeSlack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tick.db'}",
        "SWITCHBOARD_MANIFEST": str(EXAMPLE_MANIFEST),
        "SLACK_BOT_TOKEN": "xoxb-tick",
        "SLACK_API_URL": fake.api_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "switchboard.bot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_switchboard_tick_as_a_process_drives_an_escalation_against_the_web_api(
    tmp_path: Path, manifest: AgencyManifest
) -> None:
    from switchboard.store.engine import open_store

    engine = open_store(f"sqlite:///{tmp_path / 'tick.db'}")
    seed(engine, manifest, now=at(16, 9))
    builder = AgencyBuilder().client("C1").account("A1", "C1").budget("A1", "2026-03", "3100")
    builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")
    builder.load(engine)
    engine.dispose()

    with FakeSlack() as fake:
        first = run_cli(tmp_path, fake, "tick", "--now", "2026-03-16T10:00")
        second = run_cli(tmp_path, fake, "tick", "--now", "2026-03-16T12:00")
        listed = run_cli(tmp_path, fake, "escalations", "--json")
        bad = run_cli(tmp_path, fake, "tick", "--now", "Monday at ten")
        dms = {m["channel"] for m in fake.messages() if m["text"].startswith("Escalation")}

    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    part = {line.split(":")[0]: line for line in lines[1:]}
    assert lines[0] == "tick as of 2026-03-16T10:00:00-04:00"
    assert part["agents"].startswith("agents: pacing 2026-03-16: ")  # never run: due at once
    assert part["escalations"] == "escalations: 1 step(s) run"
    assert lines[-1].startswith("outbox: ") and "sent" in lines[-1]
    assert second.returncode == 0, second.stderr
    assert dms == {"DU0AM", "DU0LEAD"}

    [escalation] = json.loads(listed.stdout)
    assert set(escalation) == {
        "id",
        "subject",
        "domain",
        "policy",
        "status",
        "level",
        "levels",
        "created_at",
        "next_step_at",
        "acknowledged_by",
        "steps",
    }
    assert (
        escalation["subject"],
        escalation["policy"],
        escalation["level"],
        escalation["levels"],
    ) == (
        "alert:1",
        "spend",
        2,
        3,
    )
    assert escalation["created_at"] == "2026-03-16T14:00:00+00:00"
    assert escalation["next_step_at"] == "2026-03-17T13:00:00+00:00"  # Tuesday 09:00 New York
    assert [set(s) for s in escalation["steps"]] == [
        {"level", "notify", "target", "via", "state", "delivered_at", "error"}
    ] * 2
    assert [(s["target"], s["via"], s["state"]) for s in escalation["steps"]] == [
        ("U0AM", "dm", "delivered"),
        ("U0LEAD", "dm", "delivered"),
    ]

    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "--now: 'Monday at ten' is not an ISO-8601 date and time like 2026-03-16T10:00"
    ]


def test_tick_without_a_token_leaves_messages_queued_and_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'quiet.db'}"}
    env.pop("SLACK_BOT_TOKEN", None)
    env["SWITCHBOARD_MANIFEST"] = str(EXAMPLE_MANIFEST)
    done = subprocess.run(
        [sys.executable, "-m", "switchboard.bot", "tick", "--now", "2026-03-16T10:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "no SLACK_BOT_TOKEN, so none were sent" in done.stdout.splitlines()[-1]
