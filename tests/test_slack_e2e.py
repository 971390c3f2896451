"""End to end: the real Bolt app over real HTTP, requests signed as Slack signs them,
the Web API a local fake that records every call (DESIGN sections 7, 8 and 13)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from switchboard.bot.agent_runs import run_pacing
from switchboard.bot.app import SlackApp, create_app
from switchboard.bot.interactions import Worker
from switchboard.bot.server import http_server, socket_mode_handler, stop_http
from switchboard.bot.settings import Settings
from switchboard.handlers.owners import reassign_domain
from switchboard.handlers.refs import AlertRef, DomainRef
from switchboard.store import ownership
from switchboard.store.alerts import Alert, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.engine import open_interactions, reading, transaction
from switchboard.store.interactions import Interaction, InteractionState
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner
from tests.agency_builder import AgencyBuilder
from tests.conftest import FakeClock, sqlite_store
from tests.fake_slack import Call, FakeSlack
from tests.slack_requests import (
    Reply,
    block_action,
    signed_post,
    slash_command,
    view_submission,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AS_OF = date(2026, 3, 16)  # the clock's day: 13:00 UTC is 09:00 in New York (EDT)
STRANGER = "U0NOBODY"


class WorkerThread:
    """The worker as `switchboard run` runs it, on a thread; stoppable and restartable."""

    def __init__(self, worker: Worker, wake: threading.Event) -> None:
        self.worker, self.wake = worker, wake
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stopping, self.wake))
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
            assert not self.thread.is_alive()


@dataclass
class Live:
    url: str
    fake: FakeSlack
    engine: Engine
    interactions: Engine
    worker: WorkerThread
    clock: FakeClock
    slack: SlackApp
    manifest: AgencyManifest
    alert_id: int
    _responses: int = 0

    def response_url(self) -> str:
        self._responses += 1
        return self.fake.response_url(f"r{self._responses}")

    def post(self, body: str, **kwargs: Any) -> Reply:
        return signed_post(f"{self.url}/slack/events", body, SECRET, **kwargs)

    def ops(self, text: str, user: str) -> Reply:
        return self.post(slash_command(text, user=user, response_url=self.response_url()))

    def click(self, action_id: str, value: str, user: str) -> Reply:
        return self.post(
            block_action(action_id, value, user=user, response_url=self.response_url())
        )

    def responses(self, count: int = 1) -> list[Call]:
        return self.fake.wait_for_calls("response_url", count)

    def alert(self) -> Alert:
        with reading(self.engine) as session:
            return session.get_one(Alert, self.alert_id)

    def audit_count(self, action: str | None = None) -> int:
        query = select(func.count()).select_from(AuditEvent)
        if action:
            query = query.where(AuditEvent.action == action)
        with reading(self.engine) as session:
            return session.scalar(query)

    def owner(self, domain: str) -> str:
        with reading(self.engine) as session:
            return session.get_one(DomainOwner, domain).owner

    def snapshot(self) -> tuple[Any, ...]:
        return (self.alert().model_dump(), self.audit_count(), self.owner("ad_performance"))

    def drain(self) -> None:
        """Deliver everything due, moving the clock past each channel's one-second pacing."""
        for _ in range(50):
            self.clock.advance(seconds=1.5)
            if not self.slack.outbox.drain():
                return


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path, manifest: AgencyManifest) -> Iterator[Live]:
    clock = FakeClock()
    url, engine = sqlite_store(sqlite_template, tmp_path)
    interactions_engine = open_interactions(url, engine)
    with transaction(engine) as session:
        owners = {name: (d.agent, d.owner) for name, d in manifest.domains.items()}
        ownership.seed(session, owners, now=clock())
    builder = AgencyBuilder().client("C1").account("A1", "C1").budget("A1", "2026-03", "3100")
    builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")  # +50%
    builder.load(engine)
    [change] = run_pacing(engine, manifest, as_of=AS_OF, now=clock()).changes

    with FakeSlack() as fake:
        settings = Settings(
            slack_bot_token=SecretStr("xoxb-test"),
            slack_signing_secret=SecretStr(SECRET),
            slack_app_token=None,
            slack_api_url=fake.api_url,
        )
        wake = threading.Event()
        slack = create_app(
            settings, engine, manifest, clock=clock, interactions=interactions_engine, wake=wake.set
        )
        # The tests drain the outbox themselves, moving the clock past each channel's pacing.
        worker = WorkerThread(Worker(interactions_engine, slack.work, clock=clock), wake)
        server = http_server(slack, engine, host="127.0.0.1", port=0, threads=12)
        thread = threading.Thread(target=server.run, daemon=True)
        worker.start()
        thread.start()
        try:
            yield Live(
                url=f"http://127.0.0.1:{server.effective_port}",
                fake=fake,
                engine=engine,
                interactions=interactions_engine,
                worker=worker,
                clock=clock,
                slack=slack,
                manifest=manifest,
                alert_id=change.alert_id,
            )
        finally:
            stop_http(server)
            thread.join(timeout=5)
            worker.stop()
            engine.dispose()
            interactions_engine.dispose()


def ref(alert_id: int) -> str:
    return AlertRef(alert_id=alert_id).encode()


def actions_in(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_the_app_verified_its_token_with_the_fake(live: Live) -> None:
    [auth] = live.fake.calls_to("auth.test")
    assert auth.headers["authorization"] == "Bearer xoxb-test"


def test_bad_signature_and_stale_timestamp_get_401_and_change_nothing(live: Live) -> None:
    before = live.snapshot()
    body = block_action(
        "alert.ack", ref(live.alert_id), user="U0ADMIN", response_url=live.response_url()
    )

    forged = signed_post(f"{live.url}/slack/events", body, "not-the-secret")
    stale = live.post(body, timestamp=int(time.time()) - 6 * 60)

    assert (forged.status, stale.status) == (401, 401)
    assert live.snapshot() == before
    assert live.fake.calls_to("response_url") == []


@pytest.mark.parametrize(
    "text",
    [
        "frobnicate",
        "audit 999",
        "audit x",
        "reassign",
        "reassign nosuch @Ana",
        "reassign ad_performance",
        "reassign ad_performance @Nobody",
        "alerts now",
        "💥" * 300,
    ],
)
def test_ops_junk_gets_an_ephemeral_usage_message(live: Live, text: str) -> None:
    before = live.snapshot()

    reply = live.ops(text, "U0AM")

    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert ":warning:" in body["blocks"][0]["text"]["text"]
    assert "`/ops alerts`" in json.dumps(body)
    assert live.snapshot() == before


def test_ops_help_answers_in_the_ack(live: Live) -> None:
    body = live.ops("help", "U0NOBODY").json()
    assert body["response_type"] == "ephemeral"
    assert "/ops reassign DOMAIN @user" in json.dumps(body)


def test_ops_alerts_lists_open_alerts_with_buttons(live: Live) -> None:
    assert live.ops("alerts", "U0AM").status == 200

    [call] = live.responses()
    assert call.params["response_type"] == "ephemeral"
    buttons = actions_in(call.params["blocks"])
    assert [b["action_id"] for b in buttons] == ["alert.ack", "alert.reassign"]
    assert {AlertRef.decode(b["value"]).alert_id for b in buttons} == {live.alert_id}


def test_alert_is_posted_to_the_alerts_channel_with_buttons(live: Live) -> None:
    live.drain()

    [post] = live.fake.messages("C0ALERTS")
    assert "Over-pacing" in post["text"]
    assert [b["action_id"] for b in actions_in(post["blocks"])] == ["alert.ack", "alert.reassign"]


def test_ack_by_owner_transitions_audits_and_rerenders_the_original(live: Live) -> None:
    live.drain()

    assert live.click("alert.ack", ref(live.alert_id), "U0AM").status == 200

    [reply] = live.responses()
    assert reply.params["text"] == f"You acknowledged alert #{live.alert_id}."
    assert reply.params["response_type"] == "ephemeral"
    alert = live.alert()
    assert (alert.state, alert.acknowledged_by) == (AlertState.ACKNOWLEDGED, "U0AM")
    assert live.audit_count("alert.ack") == 1

    live.drain()
    [update] = live.fake.calls_to("chat.update")
    [post] = live.fake.calls_to("chat.postMessage")
    assert update.params["ts"] == post.response["ts"]
    blocks = FakeSlack.blocks_of(update)
    assert actions_in(blocks) == []  # buttons gone
    assert "Acknowledged by <@U0AM> at 2026-03-16 09:00" in json.dumps(blocks)


def test_a_click_is_recorded_before_its_ack_and_survives_a_worker_restart(live: Live) -> None:
    live.worker.stop()

    assert live.click("alert.ack", ref(live.alert_id), "U0AM").status == 200

    with reading(live.interactions) as session:
        [recorded] = session.scalars(select(Interaction)).all()
    assert (recorded.kind, recorded.state) == ("action:alert.ack", InteractionState.PENDING)
    assert live.alert().state is AlertState.OPEN  # acknowledged to Slack, not yet applied
    assert live.fake.calls_to("response_url") == []

    live.worker.start()  # as after a restart
    [reply] = live.responses()
    assert reply.params["text"] == f"You acknowledged alert #{live.alert_id}."
    assert live.alert().state is AlertState.ACKNOWLEDGED
    live.worker.stop()  # it finishes its batch: the done request is deleted
    with reading(live.interactions) as session:
        assert session.scalars(select(Interaction)).all() == []


def test_a_queued_reassign_never_undoes_a_change_made_after_it_was_asked(live: Live) -> None:
    live.worker.stop()
    assert live.ops("reassign ad_performance @Leo", "U0ADMIN").status == 200  # queued at 09:00
    live.clock.advance(minutes=1)
    done = reassign_domain(live.slack.deps, "ad_performance", "U0ADMIN", by="U0ADMIN")
    assert done.done  # someone else, meanwhile, straight away

    live.worker.start()  # the queued request comes late (a slow worker, or a replay)
    [reply] = live.responses()
    assert reply.params["text"] == (
        "ad_performance was reassigned to <@U0ADMIN> by <@U0ADMIN> after you asked; "
        "nothing changed."
    )
    assert live.owner("ad_performance") == "U0ADMIN"


def test_queued_reassigns_apply_in_the_order_they_were_asked(live: Live) -> None:
    live.worker.stop()
    assert live.ops("reassign ad_performance @Leo", "U0ADMIN").status == 200
    live.clock.advance(seconds=5)
    assert live.ops("reassign ad_performance @Maya", "U0ADMIN").status == 200
    live.clock.advance(seconds=10)  # the worker comes to both after both were asked

    live.worker.start()
    first, second = live.responses(2)
    assert first.params["text"] == "ad_performance is now owned by <@U0LEAD> (was <@U0AM>)."
    assert second.params["text"] == "ad_performance is now owned by <@U0ADMIN> (was <@U0LEAD>)."
    assert live.owner("ad_performance") == "U0ADMIN"


def test_a_click_that_cannot_be_recorded_is_not_acknowledged(live: Live) -> None:
    before = live.snapshot()
    with live.interactions.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE interaction RENAME TO interaction_gone")

    reply = live.click("alert.ack", ref(live.alert_id), "U0AM")
    failed_ops = live.ops("owners", "U0AM")

    # Slack shows the person an error and the click changes nothing.
    assert (reply.status, failed_ops.status) == (500, 500)
    assert live.snapshot() == before
    assert live.fake.calls_to("response_url") == []


def test_ack_from_the_ephemeral_list_replaces_the_list(live: Live) -> None:
    body = block_action(
        "alert.ack",
        ref(live.alert_id),
        user="U0AM",
        response_url=live.response_url(),
        ephemeral=True,
    )

    assert live.post(body).status == 200

    replaced, told = live.responses(2)
    assert replaced.params["replace_original"] is True
    assert actions_in(replaced.params["blocks"]) == []  # the only alert is acknowledged now
    assert "Acknowledged by <@U0AM>" in json.dumps(replaced.params["blocks"])
    assert told.params["text"] == f"You acknowledged alert #{live.alert_id}."


def test_ack_by_the_owners_lead_and_by_an_admin_are_allowed(live: Live) -> None:
    live.click("alert.ack", ref(live.alert_id), "U0LEAD")
    assert live.responses()[0].params["text"].startswith("You acknowledged")


def test_ack_by_a_user_with_no_role_is_refused_and_changes_nothing(live: Live) -> None:
    before = live.snapshot()

    live.click("alert.ack", ref(live.alert_id), STRANGER)

    [reply] = live.responses()
    assert reply.params["text"] == (
        "Only the domain owner, the owner's lead or an admin can acknowledge this alert."
    )
    assert live.snapshot() == before


def test_a_button_value_is_a_reference_never_authority(live: Live) -> None:
    live.click("alert.ack", '{"alert_id": "1; DROP TABLE alert"}', "U0ADMIN")
    live.click("alert.ack", ref(999), "U0ADMIN")
    live.click("alert.ack", "not json", "U0ADMIN")

    texts = sorted(c.params["text"] for c in live.responses(3))
    assert texts == [
        "That alert no longer exists.",
        "That button is not one of ours.",
        "That button is not one of ours.",
    ]
    assert live.alert().state is AlertState.OPEN


def test_ten_concurrent_acks_make_one_transition_and_tell_the_others_who(live: Live) -> None:
    users = ["U0ADMIN", "U0LEAD", "U0AM"] * 3 + ["U0ADMIN"]
    bodies = [
        block_action("alert.ack", ref(live.alert_id), user=u, response_url=live.response_url())
        for u in users
    ]
    start = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def click(body: str) -> None:
        start.wait()
        statuses.append(live.post(body).status)

    threads = [threading.Thread(target=click, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [200] * 10
    texts = [c.params["text"] for c in live.responses(10)]
    winner = live.alert().acknowledged_by
    assert sum(t.startswith("You acknowledged") for t in texts) == 1
    assert texts.count(f"Already acknowledged by <@{winner}> at 09:00 on 2026-03-16.") == 9
    assert live.audit_count("alert.ack") == 1


def test_reassign_domain_refused_for_non_admin_then_done_by_an_admin(live: Live) -> None:
    live.ops("reassign ad_performance @Leo", "U0LEAD")  # a lead, not the owner or an admin
    [refused] = live.responses()
    assert refused.params["text"] == "Only the domain owner or an admin can reassign this domain."
    assert live.owner("ad_performance") == "U0AM"

    live.ops("reassign ad_performance <@U0LEAD|leo>", "U0ADMIN")
    done = live.responses(2)[1]
    assert done.params["text"] == "ad_performance is now owned by <@U0LEAD> (was <@U0AM>)."
    assert live.owner("ad_performance") == "U0LEAD"
    assert live.audit_count("owner.reassign") == 1


def test_owner_reassign_modal_round_trip(live: Live) -> None:
    domain = DomainRef(domain="project_status").encode()
    live.click("owner.reassign", domain, "U0ADMIN")
    [opened] = live.fake.wait_for_calls("views.open")
    view = (
        json.loads(opened.params["view"])
        if isinstance(opened.params["view"], str)
        else opened.params["view"]
    )
    assert (view["callback_id"], view["private_metadata"]) == ("owner.reassign", domain)

    refused = live.post(view_submission("owner.reassign", domain, "U0AM", user=STRANGER))
    assert refused.json()["response_action"] == "errors"
    assert live.owner("project_status") == "U0LEAD"

    accepted = live.post(view_submission("owner.reassign", domain, "U0AM", user="U0ADMIN"))
    assert accepted.json()["response_action"] == "update"
    assert live.owner("project_status") == "U0AM"


def test_alert_reassign_is_refused_for_a_non_assignee_non_admin(live: Live) -> None:
    live.click("alert.reassign", ref(live.alert_id), "U0LEAD")
    [reply] = live.responses()
    assert reply.params["text"] == "Only the assignee or an admin can reassign this alert."
    assert live.fake.calls_to("views.open") == []

    submitted = live.post(
        view_submission("alert.reassign", ref(live.alert_id), "U0LEAD", user="U0LEAD")
    )
    assert submitted.json()["response_action"] == "errors"
    assert live.alert().assignee == "U0AM"


def test_alert_reassign_by_the_assignee_updates_the_post(live: Live) -> None:
    live.drain()
    live.click("alert.reassign", ref(live.alert_id), "U0AM")
    live.fake.wait_for_calls("views.open")

    reply = live.post(view_submission("alert.reassign", ref(live.alert_id), "U0LEAD", user="U0AM"))

    assert reply.json()["response_action"] == "update"
    assert live.alert().assignee == "U0LEAD"
    live.drain()
    [update] = live.fake.calls_to("chat.update")
    assert "assigned to <@U0LEAD>" in json.dumps(FakeSlack.blocks_of(update))


def test_worsening_updates_the_original_and_replies_in_its_thread(live: Live) -> None:
    live.drain()
    builder = AgencyBuilder()
    builder.spend_each_day("A1", date(2026, 3, 16), date(2026, 3, 20), "400.00")
    builder.load(live.engine)
    run_pacing(live.engine, live.manifest, as_of=AS_OF + timedelta(days=5), now=live.clock())

    live.drain()

    [post] = live.fake.calls_to("chat.postMessage")[:1]
    [update] = live.fake.calls_to("chat.update")
    [reply] = [m for m in live.fake.messages("C0ALERTS") if m.get("thread_ts")]
    assert update.params["ts"] == post.response["ts"] == reply["thread_ts"]
    assert "Worse" in reply["text"]


def test_healthz_and_unknown_paths(live: Live) -> None:
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(f"{live.url}/healthz", timeout=5) as response:
        assert (response.status, json.loads(response.read())) == (200, {"ok": True})
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{live.url}/admin", timeout=5)
    assert missing.value.code == 404


def test_socket_mode_uses_the_app_token_and_the_same_listeners(
    tmp_path: Path, sqlite_template: Path, manifest: AgencyManifest
) -> None:
    _, engine = sqlite_store(sqlite_template, tmp_path)
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-test"),
        slack_app_token=SecretStr("xapp-1-test"),
        slack_signing_secret=None,
        slack_api_url="http://127.0.0.1:9/api/",  # never called: no network in this test
    )
    slack = create_app(
        settings, engine, manifest, clock=FakeClock(), interactions=engine, verify_token=False
    )

    handler = socket_mode_handler(slack, "xapp-1-test")

    assert handler.app is slack.app
    assert handler.client.app_token == "xapp-1-test"
    assert handler.client.web_client.base_url == "http://127.0.0.1:9/api/"
    # /ops, alert.ack, alert.reassign and its modal, owner.reassign and its modal: the one
    # set of listeners both transports dispatch to.
    assert len(slack.app._listeners) == 6
