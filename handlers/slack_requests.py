"""Reading Slack's payloads the same way in every listener: who, when, which request, which
object a button is about, what a modal's inputs hold.

Times are Slack's own: an action's `action_ts`, else the signed request's timestamp (HTTP
mode), else the moment it arrived (Socket Mode signs nothing). Slack's times are real time; on
a clock that runs ahead of it by a known offset (the sandbox's) they move by that offset, so a
change is never dated before what the app's clock already recorded. A request's identity (its
trigger id, with the action's time or the view's id and hash) is what makes a replay of the
same signed request recognisable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from slack_bolt import Ack

from switchboard.handlers.commands import Origin
from switchboard.handlers.refs import INPUT_ACTION, BadReference, Ref

R = TypeVar("R", bound=Ref)
NOT_OURS = "That button is not one of ours."


def _epoch(text: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(str(text)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _header(headers: Mapping[str, Sequence[str]] | None, name: str) -> str | None:
    values = (headers or {}).get(name) or []
    return values[0] if values else None


def user_of(body: Mapping[str, Any]) -> str:
    """The person who acted: `user.id` in interactive payloads, `user_id` in commands."""
    user = body.get("user")
    if isinstance(user, Mapping):
        return str(user.get("id", ""))
    return str(body.get("user_id", ""))


def asked_at(
    body: Mapping[str, Any],
    headers: Mapping[str, Sequence[str]] | None,
    clock: Callable[[], datetime],
) -> datetime:
    # The sandbox's clock (bot/sandbox/clock.py) runs ahead of Slack's timestamps by `offset`.
    # getattr: a runtime-checkable Protocol's isinstance would cost ~25 µs a request.
    skew: timedelta = getattr(clock, "offset", timedelta(0))
    actions = body.get("actions") or []
    if actions and isinstance(actions[0], Mapping):
        when = _epoch(actions[0].get("action_ts"))
        if when is not None:
            return when + skew
    signed = _epoch(_header(headers, "x-slack-request-timestamp"))
    return signed + skew if signed is not None else clock()


def origin_of(
    body: Mapping[str, Any],
    headers: Mapping[str, Sequence[str]] | None,
    clock: Callable[[], datetime],
) -> Origin:
    return Origin(
        user=user_of(body),
        asked_at=asked_at(body, headers, clock),
        response_url=body.get("response_url") or None,
    )


def request_key(body: Mapping[str, Any]) -> str | None:
    """The request's identity, or None when Slack gave it none to recognise it by."""
    kind = body.get("type") or ("command" if "command" in body else "")
    if kind == "view_submission":
        view = body.get("view") or {}
        if view.get("id") and view.get("hash"):
            return f"view:{view['id']}:{view['hash']}"
        return None
    trigger = body.get("trigger_id")
    if not trigger:
        return None
    actions = body.get("actions") or []
    if actions and isinstance(actions[0], Mapping):
        return f"action:{trigger}:{actions[0].get('action_ts', '')}"
    return f"{kind}:{trigger}"


def clicked(body: Mapping[str, Any], ref_type: type[R]) -> R | None:
    """The reference a button carries, or None if it is not one of ours."""
    try:
        return ref_type.decode(body["actions"][0].get("value"))
    except (BadReference, KeyError, IndexError, TypeError, AttributeError):
        return None


def modal_ref(view: Mapping[str, Any], ref_type: type[R]) -> R | None:
    try:
        return ref_type.decode(view.get("private_metadata"))
    except BadReference:
        return None


def modal_value(view: Mapping[str, Any], block_id: str) -> str | None:
    """What the person entered or picked in one input: text, a person, or an option."""
    try:
        element = view["state"]["values"][block_id][INPUT_ACTION]
    except (KeyError, TypeError):
        return None
    if not isinstance(element, Mapping):
        return None
    option = element.get("selected_option") or {}
    found = (
        element.get("selected_user")
        or element.get("value")
        or (option.get("value") if isinstance(option, Mapping) else None)
    )
    return str(found).strip() or None if found is not None else None


def refuse_in_modal(ack: Ack, block_id: str, text: str) -> None:
    """Keep the modal open, showing `text` under the input `block_id`."""
    ack(response_action="errors", errors={block_id: text[:3000]})
