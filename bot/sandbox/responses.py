"""Answers sent to a response_url, applied as Slack applies them.

A response URL the stand-in handed out (with a click or a command) knows who acted and in
which message: `replace_original` replaces that message (or the ephemeral one clicked in),
`delete_original` deletes it, `response_type: in_channel` posts for everyone, and anything
else is an ephemeral message for the person who acted. Slack refuses bad text or blocks at
a response URL as plain text with a 4xx status, which is how the stand-in answers too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.bot.sandbox.slack_checks import message_problem
from switchboard.bot.sandbox.slack_store import Responder, SlackStore


@dataclass(frozen=True)
class Answered:
    status: int
    error: str | None = None  # Slack's error code, sent as a plain-text body


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def respond(store: SlackStore, responder: Responder, payload: dict[str, Any]) -> Answered:
    """Apply one answer to `responder`'s request."""
    if _truthy(payload.get("delete_original")):
        deleted = store.delete(
            channel=responder.channel,
            ts=responder.message_ts,
            ephemeral_id=responder.ephemeral_id,
        )
        return Answered(200) if deleted else Answered(404, "message_not_found")
    problem = message_problem(payload)
    if problem is not None:
        return Answered(400, problem["error"])
    text, blocks = str(payload.get("text") or ""), payload.get("blocks")
    with store.lock:
        clicked_in = responder.message_ts or responder.ephemeral_id
        if _truthy(payload.get("replace_original")) and clicked_in:
            target = (
                store.ephemeral(responder.ephemeral_id)
                if responder.ephemeral_id
                else store.message(responder.channel, responder.message_ts or "")
            )
            if target is None:
                return Answered(404, "message_not_found")
            target.update(text=text, blocks=blocks)
            return Answered(200)
        if payload.get("response_type") == "in_channel":
            store.messages.append(
                {
                    "channel": responder.channel,
                    "ts": store.next_ts(),
                    "text": text,
                    "blocks": blocks,
                    "thread_ts": payload.get("thread_ts") or responder.thread_ts,
                    "metadata": None,
                }
            )
            return Answered(200)
        store.add_ephemeral(responder.channel, responder.user, text, blocks, responder.thread_ts)
    return Answered(200)
