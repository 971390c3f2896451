"""Requests as Slack sends them to an app: a slash command's form fields, an interaction's
`payload`, and the signature headers over the exact body.

Built from what the stand-in holds (the message or modal acted in), never from what the page
says a button's value is: Slack sends the element as the app posted it.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from slack_sdk.signature import SignatureVerifier

from switchboard.bot.sandbox.standin_methods import AUTH_TEST
from switchboard.bot.sandbox.workspace import BOT_USER, Member

APP_ID = "A0SWITCH"
TEAM = {"id": AUTH_TEST["team_id"], "domain": "sandbox"}


def _user(member: Member) -> dict[str, str]:
    return {
        "id": member.id,
        "username": member.name.lower(),
        "name": member.name.lower(),
        "team_id": TEAM["id"],
    }


def slash_command(
    *,
    member: Member,
    command: str,
    text: str,
    channel: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> str:
    """The form-encoded body of a slash command."""
    return urllib.parse.urlencode(
        {
            "token": "sandbox-verification-token",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": member.id,
            "user_name": member.name.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def message_shown(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as an interaction payload carries it: a person's, or the bot's."""
    shown = {
        "type": "message",
        "user": message.get("user") or BOT_USER,
        "ts": message["ts"],
        "text": message.get("text") or "",
        "blocks": message.get("blocks") or [],
    }
    if not message.get("user"):
        shown["bot_id"] = AUTH_TEST["bot_id"]
    if message.get("thread_ts"):
        shown["thread_ts"] = message["thread_ts"]
    return shown


def view_shown(opened: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """An open modal as an interaction payload carries it, with its inputs' state."""
    view = opened["view"]
    return {
        **view,
        "id": opened["id"],
        "team_id": TEAM["id"],
        "hash": opened["hash"],
        "callback_id": view.get("callback_id", ""),
        "private_metadata": view.get("private_metadata", ""),
        "state": {"values": values},
        "root_view_id": opened["root_view_id"] or opened["id"],
        "previous_view_id": opened["previous_view_id"],
        "app_id": APP_ID,
        "bot_id": AUTH_TEST["bot_id"],
    }


def block_actions(
    *,
    member: Member,
    action: dict[str, Any],
    container: dict[str, Any],
    trigger_id: str,
    channel: dict[str, str] | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A click: `action` is the element clicked, with its block id and Slack's `action_ts`."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(member),
        "api_app_id": APP_ID,
        "token": "sandbox-verification-token",
        "container": container,
        "trigger_id": trigger_id,
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if channel is not None:
        payload["channel"] = channel
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def message_action(
    *,
    member: Member,
    callback_id: str,
    channel: dict[str, str],
    message: dict[str, Any],
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """A message shortcut used on `message`."""
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "token": "sandbox-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": TEAM,
        "user": _user(member),
        "channel": channel,
        "is_enterprise_install": False,
        "message": message,
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def view_submission(*, member: Member, view: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": TEAM,
        "user": _user(member),
        "api_app_id": APP_ID,
        "token": "sandbox-verification-token",
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def view_closed(*, member: Member, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_closed",
        "team": TEAM,
        "user": _user(member),
        "api_app_id": APP_ID,
        "token": "sandbox-verification-token",
        "view": view,
        "is_cleared": False,
        "is_enterprise_install": False,
    }


def interaction_body(payload: dict[str, Any]) -> str:
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def signed_headers(body: str, secret: str) -> dict[str, str]:
    """Slack's headers for `body`, signed now (Bolt refuses a signature over 5 minutes old)."""
    stamp = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(
            timestamp=stamp, body=body
        ),
    }
