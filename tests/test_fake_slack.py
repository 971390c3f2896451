"""Prove FakeSlack behaves like Slack as seen by the real slack_sdk WebClient."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.fake_slack import FakeSlack

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
DIVIDER = {"type": "divider"}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    # No retry handlers: WebClient's default one silently retries a dropped connection once.
    return WebClient(token="xoxb-test", base_url=fake.api_url, retry_handlers=[])


def test_urls_point_at_loopback(fake: FakeSlack) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.api_url == fake.base_url + "/api/"
    assert fake.response_url("abc") == fake.base_url + "/response/abc"


def test_post_message_returns_increasing_ts_and_is_recorded(
    fake: FakeSlack, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C1", text="one", blocks=BLOCKS)
    second = client.chat_postMessage(channel="C2", text="two", thread_ts=first["ts"])

    assert first["channel"] == "C1"
    assert first["message"]["text"] == "one"
    assert first["message"]["ts"] == first["ts"]
    assert float(first["ts"]) < float(second["ts"])
    assert len(first["ts"]) == len("1700000000.000100")

    call = fake.calls_to("chat.postMessage")[0]
    assert call.path == "/api/chat.postMessage"
    assert call.status == 200
    assert call.params["channel"] == "C1"
    assert call.params["text"] == "one"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.response == first.data
    assert FakeSlack.blocks_of(call) == BLOCKS

    assert fake.messages("C2") == [
        {
            "channel": "C2",
            "ts": second["ts"],
            "text": "two",
            "blocks": None,
            "thread_ts": first["ts"],
            "metadata": None,
        }
    ]
    assert [m["text"] for m in fake.messages()] == ["one", "two"]


def test_form_encoded_json_fields_are_parsed(fake: FakeSlack, client: WebClient) -> None:
    metadata = {"event_type": "job", "event_payload": {"id": 7}}
    client.api_call(
        "chat.postMessage",
        params={"channel": "C1", "blocks": json.dumps(BLOCKS), "metadata": json.dumps(metadata)},
    )

    call = fake.calls[0]
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert isinstance(call.params["blocks"], str)
    assert FakeSlack.blocks_of(call) == BLOCKS
    assert fake.messages()[0]["blocks"] == BLOCKS
    assert fake.messages()[0]["metadata"] == metadata


def test_chat_update_changes_messages(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="before", blocks=BLOCKS)
    new_blocks = [{"type": "divider"}]

    updated = client.chat_update(channel="C1", ts=posted["ts"], text="after", blocks=new_blocks)

    assert updated["ts"] == posted["ts"]
    assert updated["text"] == "after"
    [message] = fake.messages()
    assert message["text"] == "after"
    assert message["blocks"] == new_blocks


def test_update_of_unknown_ts_is_message_not_found(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="hi")

    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert raised.value.response["error"] == "message_not_found"

    with pytest.raises(SlackApiError):  # right ts, wrong channel
        client.chat_update(channel="C2", ts=posted["ts"], text="x")
    assert fake.messages()[0]["text"] == "hi"


def test_rate_limit_answers_429_with_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hi")
    response = raised.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"
    assert fake.messages() == []

    client.chat_postMessage(channel="C1", text="hi again")
    assert [c.status for c in fake.calls] == [429, 200]
    assert [m["text"] for m in fake.messages()] == ["hi again"]


def test_retry_after_defaults_to_one(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("auth.test", status=429)

    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.headers["Retry-After"] == "1"


def test_server_error_status(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=503)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response.status_code == 503
    assert fake.calls[0].status == 503
    assert fake.messages() == []


def test_api_error_is_recorded_and_not_stored(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="CNOPE", text="hi")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    assert fake.messages() == []
    [call] = fake.calls
    assert call.params["channel"] == "CNOPE"
    assert call.response == {"ok": False, "error": "channel_not_found"}


def test_dropped_connection_raises_remote_disconnected(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", drop_connection=True)

    with pytest.raises(http.client.RemoteDisconnected) as raised:
        client.chat_postMessage(channel="C1", text="hi")
    assert isinstance(raised.value, ConnectionError)
    [call] = fake.calls
    assert (call.status, call.response) == (0, None)
    assert fake.messages() == []

    client.chat_postMessage(channel="C1", text="hi")
    assert len(fake.messages()) == 1


def test_times_consumes_exactly_that_many(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("auth.test", times=3, error="invalid_auth")

    for _ in range(3):
        with pytest.raises(SlackApiError):
            client.auth_test()
    assert client.auth_test()["user_id"] == "U0BOT"
    assert [c.status for c in fake.calls] == [200, 200, 200, 200]
    assert [c.response["ok"] for c in fake.calls if c.response] == [False, False, False, True]


def test_failures_only_match_their_method_or_wildcard(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.update", error="cant_update_message")
    fake.fail_next("*", error="fatal_error")

    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response["error"] == "fatal_error"
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1.1", text="x")
    assert raised.value.response["error"] == "cant_update_message"
    assert client.auth_test()["ok"] is True


def test_reset_clears_calls_and_failures(fake: FakeSlack, client: WebClient) -> None:
    client.auth_test()
    fake.fail_next("auth.test", status=500)

    fake.reset()

    assert fake.calls == []
    assert client.auth_test()["ok"] is True


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    webhook = WebhookClient(fake.response_url("abc"))

    answer = webhook.send(text="done", replace_original=True)

    assert answer.status_code == 200
    assert json.loads(answer.body) == {"ok": True}
    [call] = fake.calls_to("response_url")
    assert call.path == "/response/abc"
    assert call.params == {"text": "done", "replace_original": True}

    fake.fail_next("response_url", status=500)
    assert webhook.send(text="again").status_code == 500


def test_get_with_query_string(fake: FakeSlack) -> None:
    with urllib.request.urlopen(fake.api_url + "auth.test?token=xoxb-q") as response:
        body = json.load(response)

    assert body["team_id"] == "T0FAKE"
    assert fake.calls[0].params == {"token": "xoxb-q"}


def test_default_answers(fake: FakeSlack, client: WebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Pick"}, "blocks": [DIVIDER]}

    assert client.auth_test()["bot_id"] == "B0BOT"
    assert client.conversations_open(users="U123")["channel"]["id"] == "DU123"
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    opened = client.views_open(trigger_id="T1", view=view)["view"]
    assert opened["title"] == view["title"]
    assert opened["id"].startswith("V")
    updated = client.views_update(view_id=opened["id"], view=view)["view"]
    assert updated["id"] == opened["id"]
    assert client.reactions_add(channel="C1", timestamp="1.1", name="eyes").data == {"ok": True}


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    result = client.files_upload_v2(channel="C1", content=b"\x00report", filename="r.bin")

    file_id = result["file"]["id"]
    assert fake.uploads == {file_id: b"\x00report"}
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    assert fake.calls[2].params["channel_id"] == "C1"


def test_concurrent_posts_are_all_recorded_with_distinct_ts(
    fake: FakeSlack, client: WebClient
) -> None:
    def post(n: int) -> str:
        return client.chat_postMessage(channel="C1", text=f"m{n}")["ts"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        stamps = list(pool.map(post, range(20)))

    assert len(set(stamps)) == 20
    assert len(fake.calls_to("chat.postMessage")) == 20
    assert sorted(m["text"] for m in fake.messages()) == sorted(f"m{n}" for n in range(20))
    assert {m["ts"] for m in fake.messages()} == set(stamps)
