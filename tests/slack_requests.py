"""Requests exactly as Slack sends them: form bodies, signed with the signing secret."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier


@dataclass(frozen=True)
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def signed_post(url: str, body: str, secret: str, *, timestamp: int | None = None) -> Reply:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode())


def slash_command(
    text: str,
    *,
    user: str,
    response_url: str,
    command: str = "/ops",
    trigger_id: str = "1337.42.trigger",
) -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy-token",
            "team_id": "T0FAKE",
            "team_domain": "fake",
            "channel_id": "C0OPS",
            "channel_name": "ops",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0SWITCH",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def block_action(
    action_id: str,
    value: str,
    *,
    user: str,
    response_url: str,
    channel: str = "C0ALERTS",
    ephemeral: bool = False,
    action_ts: float = 1700000001.0002,
    trigger_id: str = "1337.42.trigger",
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0FAKE"},
        "api_app_id": "A0SWITCH",
        "token": "legacy-token",
        "container": {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "team": {"id": "T0FAKE", "domain": "fake"},
        "channel": {"id": channel, "name": "alerts"},
        "message": {"type": "message", "ts": "1700000000.000100", "text": "alert"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "type": "button",
                "action_ts": f"{action_ts:.6f}",
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def view_submission(
    callback_id: str,
    metadata: str,
    selected_user: str | None,
    *,
    user: str,
    view_id: str = "V0MODAL",
    view_hash: str = "1700000000.aBcD",
    values: dict[str, Any] | None = None,
) -> str:
    """A modal's submission: by default the person picker's, or the inputs in `values`
    (block id → the input's state, e.g. `{"type": "plain_text_input", "value": "..."}`)."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0FAKE"},
        "api_app_id": "A0SWITCH",
        "token": "legacy-token",
        "trigger_id": "1337.42.trigger",
        "view": {
            "id": view_id,
            "hash": view_hash,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "state": {
                "values": (
                    {block: {"value": state} for block, state in values.items()}
                    if values is not None
                    else {
                        "assignee": {
                            "value": {"type": "users_select", "selected_user": selected_user}
                        }
                    }
                )
            },
        },
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def message_shortcut(
    callback_id: str,
    *,
    user: str,
    channel: str,
    ts: str,
    text: str,
    response_url: str,
    trigger_id: str = "1337.42.trigger",
) -> str:
    """A message shortcut used on the message `ts` in `channel`."""
    payload = {
        "type": "message_action",
        "callback_id": callback_id,
        "token": "legacy-token",
        "action_ts": "1700000200.000001",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0FAKE"},
        "channel": {"id": channel, "name": "acme-shared"},
        "message": {"type": "message", "user": "U0CLIENT", "ts": ts, "text": text},
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})
