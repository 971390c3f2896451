"""The stand-in as a workspace, seen by slack_sdk's real WebClient and WebhookClient: each
method the bot calls answers in Slack's shape, and refuses as Slack refuses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from switchboard.bot.sandbox.slack_store import Responder
from switchboard.bot.sandbox.workspace import STRANGER, Workspace
from switchboard.bot.slack_standin import SlackStandIn
from switchboard.store.manifest import AgencyManifest

TOKEN = "xoxb-sandbox-test"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}
MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Pick"}, "blocks": [SECTION]}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def standin(manifest: AgencyManifest) -> Iterator[SlackStandIn]:
    with SlackStandIn(Workspace.of(manifest, token=TOKEN)) as server:
        yield server


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.api_url, retry_handlers=[])


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    """The error code Slack answers `call` with (it must refuse)."""
    with pytest.raises(SlackApiError) as raised:
        call(*args, **kwargs)
    assert raised.value.response.status_code == 200
    return str(raised.value.response["error"])


def test_only_the_sessions_token_is_accepted(standin: SlackStandIn, client: WebClient) -> None:
    assert client.auth_test()["user_id"] == "U0BOT"
    wrong = WebClient(token="xoxb-other", base_url=standin.api_url, retry_handlers=[])
    assert refused(wrong.auth_test) == "invalid_auth"
    assert refused(WebClient(base_url=standin.api_url).auth_test) == "not_authed"


def test_a_channel_outside_the_manifest_is_not_found(client: WebClient) -> None:
    assert client.chat_postMessage(channel="C0ALERTS", text="hi")["channel"] == "C0ALERTS"
    assert refused(client.chat_postMessage, channel="C0ELSEWHERE", text="hi") == (
        "channel_not_found"
    )
    assert refused(client.chat_postEphemeral, channel="C0NOPE", user="U0AM", text="x") == (
        "channel_not_found"
    )
    assert refused(client.chat_update, channel="C0NOPE", ts="1.1", text="x") == "channel_not_found"


def test_a_person_is_reached_in_their_dm(client: WebClient) -> None:
    opened = client.conversations_open(users="U0AM")
    assert opened["channel"]["id"] == "DU0AM"
    posted = client.chat_postMessage(channel=opened["channel"]["id"], text="psst")
    assert posted["channel"] == "DU0AM"
    assert client.chat_postMessage(channel="U0LEAD", text="by user id")["channel"] == "DU0LEAD"
    assert refused(client.conversations_open, users="U0GHOST") == "user_not_found"


def test_blocks_slack_sdk_refuses_are_invalid_blocks(client: WebClient) -> None:
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    unknown = {"type": "hologram"}
    bad_element = {"type": "actions", "elements": [{"type": "teleporter"}]}
    for blocks in ([too_long], [unknown], [bad_element], [SECTION] * 51):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C0ALERTS", text="x", blocks=blocks)
        answer = raised.value.response
        assert answer["error"] == "invalid_blocks"
        assert answer["response_metadata"]["messages"][0].startswith("[ERROR]")
    posted = client.chat_postMessage(channel="C0ALERTS", text="ok", blocks=[SECTION])
    update = {"channel": "C0ALERTS", "ts": posted["ts"], "text": "x", "blocks": [unknown]}
    assert refused(client.chat_update, **update) == "invalid_blocks"


def test_text_too_long_and_no_text(standin: SlackStandIn, client: WebClient) -> None:
    assert refused(client.chat_postMessage, channel="C0ALERTS", text="x" * 40_001) == (
        "msg_too_long"
    )
    assert refused(client.api_call, "chat.postMessage", params={"channel": "C0ALERTS"}) == (
        "no_text"
    )
    assert standin.messages() == []


def test_ephemeral_messages_are_kept_for_their_person(
    standin: SlackStandIn, client: WebClient
) -> None:
    answer = client.chat_postEphemeral(channel="C0ALERTS", user="U0AM", text="only you")
    [kept] = standin.ephemerals("U0AM")
    assert (kept["text"], kept["ts"], kept["channel"]) == (
        "only you",
        answer["message_ts"],
        "C0ALERTS",
    )
    assert standin.ephemerals("U0LEAD") == []
    assert refused(client.chat_postEphemeral, channel="C0ALERTS", user="U0GHOST", text="x") == (
        "user_not_found"
    )


def test_users_info_knows_the_manifest_and_the_stranger(client: WebClient) -> None:
    ana = client.users_info(user="U0AM")["user"]
    assert (ana["id"], ana["real_name"], ana["profile"]["display_name"]) == ("U0AM", "Ana", "Ana")
    assert client.users_info(user=STRANGER)["user"]["id"] == STRANGER
    assert refused(client.users_info, user="U0GHOST") == "user_not_found"


def test_a_trigger_opens_one_modal_within_three_seconds(
    standin: SlackStandIn, client: WebClient
) -> None:
    trigger = standin.issue_trigger("U0AM")
    view = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V") and view["hash"] and view["state"] == {"values": {}}
    assert view["root_view_id"] == view["id"]
    assert [v["id"] for v in standin.store.stack_of("U0AM")] == [view["id"]]

    assert refused(client.views_open, trigger_id=trigger, view=MODAL) == "trigger_exchanged"
    assert refused(client.views_open, trigger_id="made.up", view=MODAL) == "invalid_trigger_id"
    late = standin.issue_trigger("U0AM")
    issued = time.monotonic()
    standin.store.monotonic = lambda: issued + 3.5
    assert refused(client.views_open, trigger_id=late, view=MODAL) == "expired_trigger_id"


def test_views_update_and_push(standin: SlackStandIn, client: WebClient) -> None:
    root = client.views_open(trigger_id=standin.issue_trigger("U0AM"), view=MODAL)["view"]
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Changed"}}

    updated = client.views_update(view_id=root["id"], view=changed, hash=root["hash"])["view"]
    assert updated["title"]["text"] == "Changed" and updated["hash"] != root["hash"]
    assert refused(client.views_update, view_id=root["id"], view=MODAL, hash=root["hash"]) == (
        "hash_conflict"
    )
    assert refused(client.views_update, view_id="V0GONE", view=MODAL) == "not_found"

    pushed = client.views_push(trigger_id=standin.issue_trigger("U0AM"), view=MODAL)["view"]
    assert pushed["previous_view_id"] == root["id"]
    client.views_push(trigger_id=standin.issue_trigger("U0AM"), view=MODAL)
    assert len(standin.store.stack_of("U0AM")) == 3
    trigger = standin.issue_trigger("U0AM")
    assert refused(client.views_push, trigger_id=trigger, view=MODAL) == "push_limit_reached"


def test_a_view_slack_would_refuse_is_invalid_arguments(
    standin: SlackStandIn, client: WebClient
) -> None:
    empty = {**MODAL, "blocks": []}
    assert refused(client.views_open, trigger_id=standin.issue_trigger("U0AM"), view=empty) == (
        "invalid_arguments"
    )


def test_the_three_step_upload_shares_the_file_in_a_thread(
    standin: SlackStandIn, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel="C0BRIEFING", text="Morning briefing")

    done = client.files_upload_v2(
        channel="C0BRIEFING",
        thread_ts=parent["ts"],
        content=PNG,
        filename="pacing.png",
        title="Pacing",
        initial_comment="The chart",
    )

    shared = done["file"]
    assert (shared["name"], shared["title"], shared["mimetype"]) == (
        "pacing.png",
        "Pacing",
        "image/png",
    )
    [reply] = [m for m in standin.messages("C0BRIEFING") if m["thread_ts"] == parent["ts"]]
    assert reply["text"] == "The chart"
    assert [f["id"] for f in reply["files"]] == [shared["id"]]
    assert standin.store.files[shared["id"]].data == PNG


def test_upload_errors(standin: SlackStandIn, client: WebClient) -> None:
    assert refused(client.files_getUploadURLExternal, filename="x.png", length=None) == (
        "invalid_arguments"
    )
    asked = client.files_getUploadURLExternal(filename="x.png", length=len(PNG))
    files = [{"id": asked["file_id"], "title": "x"}]
    # Completed before its bytes arrived, or shared into a channel outside the manifest.
    assert refused(client.files_completeUploadExternal, files=files) == "file_not_found"
    standin.api.receive_upload(asked["file_id"], PNG)
    assert refused(client.files_completeUploadExternal, files=files, channel_id="C0NOPE") == (
        "channel_not_found"
    )


def responder(standin: SlackStandIn, **where: Any) -> WebhookClient:
    return WebhookClient(standin.responder_url(Responder(user="U0AM", **where)))


def test_response_url_answers_land_where_slack_puts_them(
    standin: SlackStandIn, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel="C0ALERTS", text="an alert", blocks=[SECTION])
    in_message = responder(standin, channel="C0ALERTS", message_ts=posted["ts"])

    assert in_message.send(text="only Ana sees this").status_code == 200
    assert in_message.send(text="replaced", replace_original=True).status_code == 200
    assert in_message.send(text="for all", response_type="in_channel").status_code == 200

    assert [e["text"] for e in standin.ephemerals("U0AM")] == ["only Ana sees this"]
    assert [m["text"] for m in standin.messages("C0ALERTS")] == ["replaced", "for all"]
    [ephemeral] = standin.ephemerals("U0AM")
    in_ephemeral = responder(standin, channel="C0ALERTS", ephemeral_id=ephemeral["id"])
    assert in_ephemeral.send(text="list, as it is now", replace_original=True).status_code == 200
    assert [e["text"] for e in standin.ephemerals("U0AM")] == ["list, as it is now"]
    assert in_ephemeral.send(delete_original=True).status_code == 200
    assert standin.ephemerals("U0AM") == []


def test_response_url_refusals_are_plain_text_as_slack_sends_them(standin: SlackStandIn) -> None:
    hook = responder(standin, channel="C0ALERTS")

    bad = hook.send(text="x", blocks=[{"type": "hologram"}])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    for _ in range(4):  # five uses in all, the refused one included
        assert hook.send(text="ok").status_code == 200
    used_up = hook.send(text="one too many")
    assert (used_up.status_code, used_up.body) == (404, "used_url")
    expired = responder(standin, channel="C0ALERTS")
    standin.store.monotonic = lambda: time.monotonic() + 31 * 60
    answer = expired.send(text="half an hour later")
    assert (answer.status_code, answer.body) == (404, "expired_url")


def test_without_a_workspace_any_channel_and_trigger_is_taken() -> None:
    with SlackStandIn() as open_standin:
        client = WebClient(token="xoxb-any", base_url=open_standin.api_url, retry_handlers=[])
        assert client.chat_postMessage(channel="C0ANY", text="hi")["ok"]
        assert client.views_open(trigger_id="made.up", view=MODAL)["ok"]
        assert client.reactions_add(channel="C0ANY", timestamp="1.1", name="eyes")["ok"]
        # Blocks are still checked as Slack checks them.
        assert refused(client.chat_postMessage, channel="C0ANY", text="x", blocks=[{"type": "x"}])


def test_a_method_the_bot_does_not_call_is_unknown_in_a_workspace(client: WebClient) -> None:
    assert refused(client.reactions_add, channel="C0ALERTS", timestamp="1.1", name="eyes") == (
        "unknown_method"
    )


def test_messages_are_dated_by_the_standins_clock(manifest: AgencyManifest) -> None:
    moment = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
    with SlackStandIn(Workspace.of(manifest), clock=lambda: moment) as dated:
        client = WebClient(base_url=dated.api_url, retry_handlers=[])
        first = client.chat_postMessage(channel="C0ALERTS", text="a")["ts"]
        second = client.chat_postMessage(channel="C0ALERTS", text="b")["ts"]
    assert float(first) == moment.timestamp()
    assert float(second) > float(first)  # the same moment, still in order
