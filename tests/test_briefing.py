"""The morning briefing: its sections, its schedule, once per channel and day, Slack's
limits, the chart in the thread, and who may post it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pydantic import SecretStr
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from switchboard.agents.briefing import SectionKey, compose
from switchboard.bot.briefing import due_day, post_if_due
from switchboard.bot.cli import app
from switchboard.handlers.briefing import PostBriefing, PreviewBriefing
from switchboard.handlers.briefing_posts import post_key
from switchboard.handlers.views.briefing import NOTHING, briefing_view
from switchboard.handlers.views.limits import MAX_BLOCKS, MAX_SECTION_TEXT
from switchboard.store.agent_state import Autonomy
from switchboard.store.briefings import BriefingRun
from switchboard.store.engine import create, reading
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxMessage
from tests.agency_builder import AgencyBuilder
from tests.conftest import EXAMPLE_MANIFEST
from tests.live_slack import Live
from tests.test_autonomy import set_level
from tests.test_client_email import LEO, MAYA, START, Office, opened_office

ANA = "U0AM"
MONDAY = date(2026, 3, 16)
NEW_YORK_0830 = datetime(2026, 3, 16, 12, 30, tzinfo=UTC)  # 08:30 EDT


@pytest.fixture
def office(engine: Engine, manifest: AgencyManifest, tmp_path: Path) -> Iterator[Office]:
    with opened_office(engine, manifest, tmp_path) as office:
        yield office


def accounts(office: Office, count: int, *, daily: str = "150.00") -> None:
    builder = AgencyBuilder().client("C1", name="Acme Dental")
    for n in range(count):
        account = f"A{n:04d}"
        builder.account(account, "C1", name=f"Acme <campaign> {n}").budget(
            account, "2026-03", "3100"
        )
        builder.spend_each_day(account, date(2026, 3, 1), date(2026, 3, 15), daily)
    builder.load(office.engine)


def runs(engine: Engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count()).select_from(BriefingRun)) or 0


# -- what it says ---------------------------------------------------------------------------


def test_every_section_is_there_and_an_empty_one_says_so(office: Office) -> None:
    accounts(office, 2)
    with reading(office.engine) as session:
        briefing = compose(session, office.manifest, day=MONDAY, now=START)
    assert [s.key for s in briefing.sections] == list(SectionKey)
    pacing = briefing.section(SectionKey.PACING)
    assert [i.text for i in pacing.items] == [
        "Acme Dental · Acme <campaign> 0 (A0000): over +50.0%",
        "Acme Dental · Acme <campaign> 1 (A0001): over +50.0%",
    ]
    assert pacing.items[0].to_json() == {
        "text": "Acme Dental · Acme <campaign> 0 (A0000): over +50.0%",
        "account_id": "A0000",
        "client_id": "C1",
    }
    view = briefing_view(briefing)
    blocks = json.dumps([b.to_dict() for b in view.main.blocks])
    assert "Acme &lt;campaign&gt; 0" in blocks  # data is escaped where it meets mrkdwn
    assert blocks.count(NOTHING) == sum(1 for s in briefing.sections if not s.items)


def test_a_shadow_agents_sections_are_marked_and_its_findings_still_shown(
    office: Office,
) -> None:
    accounts(office, 1)
    set_level(office, "pacing", Autonomy.SHADOW, MONDAY)
    with reading(office.engine) as session:
        briefing = compose(session, office.manifest, day=MONDAY, now=START)
    pacing = briefing.section(SectionKey.PACING)
    assert pacing.heading == "Pacing (shadow)" and len(pacing.items) == 1
    assert briefing.section(SectionKey.ESCALATIONS).heading == "Open escalations"
    shadow = [i.text for i in briefing.section(SectionKey.SHADOW).items]
    assert "pacing: 0 days in shadow, 0 of 0 outputs reviewed, no verdicts yet" in shadow


def test_suppressed_accounts_are_counted_with_their_reasons(office: Office) -> None:
    accounts(office, 1)
    AgencyBuilder().exclusion("A0000", reason="client paused it").load(office.engine)
    with reading(office.engine) as session:
        pacing = compose(session, office.manifest, day=MONDAY, now=START).section(SectionKey.PACING)
    assert (pacing.items, pacing.note) == ([], "1 held back by a cross-check (excluded 1)")


def test_five_hundred_accounts_stay_within_slacks_limits_and_the_rest_goes_to_the_thread(
    office: Office,
) -> None:
    accounts(office, 500)
    with reading(office.engine) as session:
        view = briefing_view(compose(session, office.manifest, day=MONDAY, now=START))

    for message in [view.main, *view.thread]:
        payload = message.payload()
        assert len(payload["blocks"]) <= MAX_BLOCKS
        assert len(payload["text"]) < 12_000
        assert len(json.dumps(payload)) < 40_000
        for block in payload["blocks"]:
            Block.parse(block).validate_json()  # type: ignore[union-attr]
            text = (block.get("text") or {}).get("text", "")
            assert len(text) <= MAX_SECTION_TEXT
    everything = json.dumps([m.payload()["blocks"] for m in [view.main, *view.thread]])
    shown = [f"(A{n:04d})" for n in range(500) if f"(A{n:04d})" in everything]
    assert len(shown) == 500
    assert "…and 495 more in the thread" in json.dumps(view.main.payload(), ensure_ascii=False)
    assert len(view.thread) >= 2


# -- when it posts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (datetime(2026, 3, 16, 12, 29, tzinfo=UTC), None),  # Monday 08:29 in New York
        (NEW_YORK_0830, MONDAY),
        (datetime(2026, 3, 16, 20, 0, tzinfo=UTC), MONDAY),  # a missed morning posts late
        (datetime(2026, 3, 17, 3, 59, tzinfo=UTC), MONDAY),  # still Monday in New York
        (datetime(2026, 3, 17, 4, 1, tzinfo=UTC), None),  # Tuesday 00:01: not yet
        (datetime(2026, 3, 21, 18, 0, tzinfo=UTC), None),  # a Saturday afternoon
    ],
)
def test_it_is_due_at_a_fire_time_of_the_same_agency_local_day(
    manifest: AgencyManifest, now: datetime, due: date | None
) -> None:
    assert due_day(manifest, now) == due


def test_two_ticks_at_the_same_minute_post_once_and_a_restart_posts_nothing_more(
    office: Office,
) -> None:
    accounts(office, 1)
    start = threading.Barrier(2)
    posted: list[int] = []

    def tick() -> None:
        start.wait()
        posted.append(post_if_due(office.engine, office.manifest, NEW_YORK_0830))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(posted) == [0, 1]

    restarted = create(office.engine.url.render_as_string(hide_password=False))
    if office.engine.dialect.name == "postgresql":  # the test schema, as the fixture set it
        restarted.dispose()
        restarted = office.engine
    try:
        later = NEW_YORK_0830 + timedelta(hours=3)
        assert post_if_due(restarted, office.manifest, later) == 0
    finally:
        if restarted is not office.engine:
            restarted.dispose()
    assert runs(office.engine) == 1
    with reading(office.engine) as session:
        keys = list(session.scalars(select(OutboxMessage.key)))
    assert keys.count(post_key("C0BRIEFING", MONDAY)) == 1


def test_the_tick_posts_it_with_its_thread_and_the_chart_in_that_thread(office: Office) -> None:
    accounts(office, 12)
    office.clock.current = NEW_YORK_0830
    office.tick(slack_bot_token=SecretStr("xoxb-test"), slack_api_url=office.slack.api_url)

    [main, *thread] = office.slack.messages("C0BRIEFING")
    assert main["text"].startswith("Morning briefing for 2026-03-16")
    assert [m.get("thread_ts") for m in thread] == [main["ts"]] * len(thread)
    [asked] = office.slack.calls_to("files.getUploadURLExternal")
    [completed] = office.slack.calls_to("files.completeUploadExternal")
    assert completed.params["channel_id"] == "C0BRIEFING"
    assert completed.params["thread_ts"] == main["ts"]
    [png] = office.slack.uploads.values()
    assert png.startswith(b"\x89PNG") and int(asked.params["length"]) == len(png)


# -- who may post it --------------------------------------------------------------------------


def test_anyone_previews_only_admins_post_and_only_once_a_day(office: Office) -> None:
    accounts(office, 1)
    office.clock.current = NEW_YORK_0830
    [preview, *_] = office.replies(PreviewBriefing(origin=office.origin(ANA)))
    assert "Morning briefing · Monday 16 March 2026" in json.dumps(
        preview.message.payload(), ensure_ascii=False
    )

    def post(user: str) -> str:
        return office.act(PostBriefing(origin=office.origin(user)))

    assert post(ANA) == "Only an admin can post the briefing."
    assert post(LEO) == "Only an admin can post the briefing."
    assert runs(office.engine) == 0
    assert post(MAYA) == "Posting today's briefing in <#C0BRIEFING>."
    assert post(MAYA) == (
        "Today's briefing was already posted in <#C0BRIEFING> (2026-03-16 08:30); once a day."
    )
    assert runs(office.engine) == 1


def payload_of(call: Any) -> Any:
    blocks = call.params.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


# -- the CLI and Slack ------------------------------------------------------------------------


def test_switchboard_brief_prints_json_with_every_section_and_queues_once(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    if office.engine.dialect.name != "sqlite":
        pytest.skip("the CLI is shown once, on SQLite")
    accounts(office, 7)
    monkeypatch.setenv("DATABASE_URL", office.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SWITCHBOARD_MANIFEST", str(EXAMPLE_MANIFEST))

    def brief(*args: str) -> Any:
        with time_machine.travel(NEW_YORK_0830, tick=False):  # the CLI's today: that Monday
            return CliRunner().invoke(app, ["brief", "--date", "2026-03-16", *args])

    dry = brief("--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    printed = json.loads(dry.stdout)
    assert sorted(printed) == ["blocks", "date", "sections", "thread"]
    assert [s["key"] for s in printed["sections"]] == [k.value for k in SectionKey]
    pacing = printed["sections"][0]
    assert len(pacing["items"]) == 7 and pacing["items"][0]["account_id"] == "A0000"
    assert len(printed["thread"]) == 1  # the two that did not fit in the channel
    assert runs(office.engine) == 0

    shown = brief()
    assert shown.exit_code == 0
    assert "MORNING BRIEFING · MONDAY 16 MARCH 2026" in shown.stdout
    assert "Queued for C0BRIEFING" in shown.stderr
    again = brief()
    assert "was already posted; it is posted once a day" in again.stderr
    with time_machine.travel(NEW_YORK_0830 - timedelta(days=1), tick=False):  # the Sunday
        other = CliRunner().invoke(app, ["brief", "--date", "2026-03-16"])
    assert "Not queued: only today's briefing (2026-03-15) is posted" in other.stderr
    assert runs(office.engine) == 1


def test_ops_brief_through_slack_is_a_preview_for_the_caller_alone(live: Live) -> None:
    assert live.ops("brief", ANA).status == 200
    [reply] = live.responses()
    assert reply.params["response_type"] == "ephemeral"
    assert "Morning briefing" in json.dumps(reply.params["blocks"])
    assert live.fake.messages("C0BRIEFING") == []
    assert live.ops("brief post", ANA).status == 200
    [_, refused] = live.responses(2)
    assert refused.params["text"] == "Only an admin can post the briefing."
