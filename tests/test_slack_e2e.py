"""End to end: the real Bolt app over real HTTP, requests signed as Slack signs them,
the Web API a local fake that records every call (DESIGN sections 7, 8 and 13)."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from switchboard.bot.agent_runs import run_pacing
from switchboard.bot.app import create_app
from switchboard.bot.server import socket_mode_handler
from switchboard.bot.settings import Settings
from switchboard.handlers.refs import AlertRef, DomainRef
from switchboard.store.alerts import AlertState
from switchboard.store.engine import reading
from switchboard.store.interactions import Interaction, InteractionState
from switchboard.store.manifest import AgencyManifest
from tests.agency_builder import AgencyBuilder
from tests.conftest import FakeClock, poll_until, sqlite_store
from tests.fake_slack import FakeSlack
from tests.live_slack import AS_OF, STRANGER, Live
from tests.slack_requests import (
    signed_post,
    slash_command,
    view_submission,
)


def ref(alert_id: int) -> str:
    return AlertRef(alert_id=alert_id).encode()


def actions_in(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_the_app_verified_its_token_with_the_fake(live: Live) -> None:
    [auth] = live.fake.calls_to("auth.test")
    assert auth.headers["authorization"] == "Bearer xoxb-test"


def test_bad_signature_and_stale_timestamp_get_401_and_change_nothing(live: Live) -> None:
    before = live.snapshot()
    body = live.click_body("alert.ack", ref(live.alert_id), "U0ADMIN")

    forged = signed_post(f"{live.url}/slack/events", body, "not-the-secret")
    stale = live.post(body, timestamp=int(time.time()) - 6 * 60)

    assert (forged.status, stale.status) == (401, 401)
    assert live.snapshot() == before
    with reading(live.interactions) as session:
        assert session.scalars(select(Interaction)).all() == []


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
    assert (recorded.kind, recorded.state) == ("alert.ack", InteractionState.PENDING)
    assert json.loads(recorded.body)["alert_id"] == live.alert_id  # a typed command
    assert live.alert().state is AlertState.OPEN  # acknowledged to Slack, not yet applied
    assert live.fake.calls_to("response_url") == []

    live.worker.start()  # as after a restart
    [reply] = live.responses()
    assert reply.params["text"] == f"You acknowledged alert #{live.alert_id}."
    assert live.alert().state is AlertState.ACKNOWLEDGED
    with reading(live.interactions) as session:
        assert [r.state for r in session.scalars(select(Interaction))] == [InteractionState.DONE]


def test_a_replayed_click_is_answered_as_done_and_changes_nothing(live: Live) -> None:
    body = live.click_body("alert.ack", ref(live.alert_id), "U0AM")
    assert live.post(body).status == 200
    live.responses()
    after_first = live.snapshot()

    assert live.post(body).status == 200  # the same signed request, byte for byte

    assert live.snapshot() == after_first
    with reading(live.interactions) as session:
        assert len(session.scalars(select(Interaction)).all()) == 1


def test_a_replayed_reassign_never_puts_the_old_owner_back(live: Live) -> None:
    """Captured `/ops reassign` replayed inside Slack's five minutes: recognised, refused."""
    n = 900
    first = slash_command(
        "reassign ad_performance @Leo",
        user="U0ADMIN",
        response_url=live.response_url(),
        trigger_id=f"T{n}",
    )
    assert live.post(first).status == 200
    live.responses()
    assert live.ops("reassign ad_performance @Maya", "U0ADMIN").status == 200
    live.responses(2)
    assert live.owner("ad_performance") == "U0ADMIN"
    audits = live.audit_count("owner.reassign")

    replayed = live.post(first)

    assert replayed.json()["text"] == "That request was already handled."
    assert live.owner("ad_performance") == "U0ADMIN"
    assert live.audit_count("owner.reassign") == audits


def test_a_replayed_modal_submission_changes_nothing(live: Live) -> None:
    domain = DomainRef(domain="project_status").encode()
    body = view_submission(
        "owner.reassign", domain, "U0AM", user="U0ADMIN", view_id="V0REPLAY", view_hash="h0"
    )
    assert live.post(body).json()["response_action"] == "update"
    live.submit("owner.reassign", domain, "U0LEAD", "U0ADMIN")  # a later change
    assert live.owner("project_status") == "U0LEAD"

    replayed = live.post(body)

    assert "already done" in json.dumps(replayed.json())
    assert live.owner("project_status") == "U0LEAD"


def test_a_queued_reassign_never_undoes_a_change_made_after_it_was_asked(live: Live) -> None:
    live.worker.stop()
    assert live.ops("reassign ad_performance @Leo", "U0ADMIN").status == 200  # queued
    domain = DomainRef(domain="ad_performance").encode()
    # Someone else, a minute later by Slack's clock, through the modal (applied at once).
    body = view_submission(
        "owner.reassign", domain, "U0ADMIN", user="U0ADMIN", view_id="V9", view_hash="h9"
    )
    assert live.post(body, timestamp=int(time.time()) + 60).json()["response_action"] == "update"
    assert live.owner("ad_performance") == "U0ADMIN"

    live.worker.start()  # the queued request comes late (a slow worker, or a replay)
    [reply] = live.responses()
    assert reply.params["text"] == (
        "ad_performance was reassigned to <@U0ADMIN> by <@U0ADMIN> after you asked; "
        "nothing changed."
    )
    assert live.owner("ad_performance") == "U0ADMIN"


def test_queued_reassigns_apply_in_the_order_they_were_asked(live: Live) -> None:
    live.worker.stop()
    now = int(time.time())
    assert live.ops("reassign ad_performance @Leo", "U0ADMIN", timestamp=now).status == 200
    assert live.ops("reassign ad_performance @Maya", "U0ADMIN", timestamp=now + 5).status == 200

    live.worker.start()  # the worker comes to both after both were asked
    first, second = live.responses(2)
    assert first.params["text"] == "ad_performance is now owned by <@U0LEAD> (was <@U0AM>)."
    assert second.params["text"] == "ad_performance is now owned by <@U0ADMIN> (was <@U0LEAD>)."
    assert live.owner("ad_performance") == "U0ADMIN"


def test_a_reply_that_cannot_be_delivered_leaves_the_click_done_and_is_audited(
    live: Live,
) -> None:
    live.fake.fail_next("response_url", times=10, status=404, error="expired_url")

    assert live.click("alert.ack", ref(live.alert_id), "U0AM").status == 200

    poll_until(lambda: live.audit_count("outbox.failed") == 1, what="the failed reply's audit row")
    assert live.alert().state is AlertState.ACKNOWLEDGED
    with reading(live.interactions) as session:
        assert [r.state for r in session.scalars(select(Interaction))] == [InteractionState.DONE]
    # A person's reply that failed is not reported to the alerts channel.
    assert not [m for m in live.fake.messages("C0ALERTS") if "could not deliver" in m["text"]]


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
    body = live.click_body("alert.ack", ref(live.alert_id), "U0AM", ephemeral=True)

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
    bodies = [live.click_body("alert.ack", ref(live.alert_id), u) for u in users]
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
    assert texts.count(f"Already acknowledged by <@{winner}> at 2026-03-16 09:00.") == 9
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

    refused = live.submit("owner.reassign", domain, "U0AM", STRANGER)
    assert refused.json()["response_action"] == "errors"
    assert live.owner("project_status") == "U0LEAD"

    accepted = live.submit("owner.reassign", domain, "U0AM", "U0ADMIN")
    assert accepted.json()["response_action"] == "update"
    assert live.owner("project_status") == "U0AM"


def test_alert_reassign_is_refused_for_a_non_assignee_non_admin(live: Live) -> None:
    live.click("alert.reassign", ref(live.alert_id), "U0LEAD")
    [reply] = live.responses()
    assert reply.params["text"] == "Only the assignee or an admin can reassign this alert."
    assert live.fake.calls_to("views.open") == []

    submitted = live.submit("alert.reassign", ref(live.alert_id), "U0LEAD", "U0LEAD")
    assert submitted.json()["response_action"] == "errors"
    assert live.alert().assignee == "U0AM"


def test_alert_reassign_by_the_assignee_updates_the_post(live: Live) -> None:
    live.drain()
    live.click("alert.reassign", ref(live.alert_id), "U0AM")
    live.fake.wait_for_calls("views.open")

    reply = live.submit("alert.reassign", ref(live.alert_id), "U0LEAD", "U0AM")

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
    # The post and the reply say the money as of the run that found it worse.
    assert "$2,250.00" in json.dumps(FakeSlack.blocks_of(post))
    assert "$4,250.00" in json.dumps(FakeSlack.blocks_of(update))
    assert "$4,250.00 spent to date against a plan of $2,000.00" in reply["text"]


def get(url: str) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body.startswith(b"{") else body


def test_healthz_reads_the_worker_heartbeat_and_unknown_paths_are_404(live: Live) -> None:
    assert get(f"{live.url}/healthz") == (200, {"ok": True, "workers": 1})
    assert get(f"{live.url}/admin")[0] == 404


def test_healthz_is_503_once_no_worker_heartbeat_is_fresh(live: Live) -> None:
    live.worker.stop()  # a clean stop removes its heartbeat row
    status, body = get(f"{live.url}/healthz")
    assert (status, body["ok"], body["workers"]) == (503, False, 0)
    assert body["problems"] == ["worker: none has run in the last 30 s"]

    live.worker.start()
    assert get(f"{live.url}/healthz")[0] == 200
    live.clock.advance(seconds=31)  # a worker that stopped beating (killed, say)
    assert get(f"{live.url}/healthz")[0] == 503


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
    app = create_app(
        settings, engine, manifest, clock=FakeClock(), interactions=engine, verify_token=False
    )

    handler = socket_mode_handler(app, "xapp-1-test")

    assert handler.app is app
    assert handler.client.app_token == "xapp-1-test"
    assert handler.client.web_client.base_url == "http://127.0.0.1:9/api/"
    # /ops, alert.ack, alert.reassign and its modal, owner.reassign and its modal,
    # escalation.ack, draft approve/retry/redraft/edit/reject, the edit and reject modals,
    # the message shortcut and its client modal, shadow.agree, shadow.disagree and its note
    # modal: the one set both transports dispatch to.
    assert len(app._listeners) == 19
    engine.dispose()
