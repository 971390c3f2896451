"""What Slack refuses in a message or a view, checked as Slack checks it: text too long
(`msg_too_long`), no text at all (`no_text`), blocks that slack_sdk's models refuse or do not
know (`invalid_blocks`), a view they refuse (`invalid_arguments`)."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_TEXT = 40_000  # characters of a message's text before Slack answers msg_too_long
MAX_BLOCKS = 50
Params = dict[str, Any]


def parse_json(value: Any) -> Any:
    """Decode a JSON string (form fields such as ``blocks``); pass anything else through."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def error(code: str, *messages: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"ok": False, "error": code}
    if messages:
        answer["response_metadata"] = {"messages": list(messages)}
    return answer


def _complete(shape: Any) -> bool:
    """slack_sdk turns a block or element type it does not know into None: Slack refuses it."""
    if shape is None:
        return False
    if isinstance(shape, dict):
        return all(_complete(v) for v in shape.values())
    if isinstance(shape, list):
        return all(_complete(v) for v in shape)
    return True


def blocks_problem(blocks: Any) -> str | None:
    """Why Slack would refuse these blocks (`invalid_blocks`), or None."""
    if not isinstance(blocks, list):
        return "blocks must be a JSON array"
    if len(blocks) > MAX_BLOCKS:
        return f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
    for n, raw in enumerate(blocks):
        try:
            block = Block.parse(raw)
            if block is None:
                return f"unknown block type [json-pointer:/blocks/{n}]"
            block.validate_json()
            if not _complete(block.to_dict()):
                return f"unknown element type [json-pointer:/blocks/{n}]"
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as e:
            return f"{e} [json-pointer:/blocks/{n}]"
    return None


def view_problem(view: Any) -> str | None:
    """Why Slack would refuse this view (`invalid_arguments`), or None."""
    if not isinstance(view, dict):
        return "view must be a JSON object"
    try:
        parsed = View(**view)
        parsed.validate_json()
        if not _complete(parsed.to_dict()):
            return "unknown block or element type [json-pointer:/view/blocks]"
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as e:
        return str(e)
    return None


def message_problem(params: Params, *, update: bool = False) -> dict[str, Any] | None:
    """Slack's error for a message's text and blocks, or None if it would take them (an
    update may leave both as they were)."""
    text, blocks = params.get("text"), parse_json(params.get("blocks"))
    if not update and not text and not blocks and not params.get("attachments"):
        return error("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        return error("msg_too_long")
    if blocks is not None and blocks != "":
        problem = blocks_problem(blocks)
        if problem is not None:
            return error("invalid_blocks", f"[ERROR] {problem}")
    return None
