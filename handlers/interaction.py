"""What every button and modal listener does the same way."""

from __future__ import annotations

from typing import Any, TypeVar

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from switchboard.handlers.context import Views
from switchboard.handlers.refs import ASSIGNEE_ACTION, ASSIGNEE_BLOCK, BadReference, _Ref

R = TypeVar("R", bound=_Ref)
NOT_OURS = "That button is not one of ours."


def ack_now(ack: Ack) -> None:
    """The ack half of a lazy listener: answer Slack within its 3 seconds, work afterwards."""
    ack()


def tell(respond: Respond, text: str) -> None:
    """An ephemeral reply to the clicking user; the message they clicked stays as it is."""
    respond(response_type="ephemeral", replace_original=False, text=text)


def clicked(body: dict[str, Any], ref_type: type[R], respond: Respond) -> R | None:
    """The reference a button carries, or None (the user is told) if it is not ours."""
    try:
        return ref_type.decode(body["actions"][0].get("value"))
    except BadReference:
        tell(respond, NOT_OURS)
        return None


def picked_person(view: dict[str, Any], ref_type: type[R], ack: Ack) -> tuple[R, str] | None:
    """A reassign modal's reference and chosen user, or None (the modal shows why)."""
    try:
        ref = ref_type.decode(view.get("private_metadata"))
        user = view["state"]["values"][ASSIGNEE_BLOCK][ASSIGNEE_ACTION]["selected_user"]
    except (BadReference, KeyError, TypeError):
        user = None
    if not user:
        ack(response_action="errors", errors={ASSIGNEE_BLOCK: "Choose a person."})
        return None
    return ref, user


def open_picker(
    client: WebClient,
    body: dict[str, Any],
    views: Views,
    *,
    callback_id: str,
    title: str,
    prompt: str,
    ref: _Ref,
    current: str | None,
) -> None:
    """Open a reassign modal; its submission carries `ref` back as private metadata."""
    client.views_open(
        trigger_id=body["trigger_id"],
        view=views.reassign_modal(
            callback_id=callback_id,
            title=title,
            prompt=prompt,
            metadata=ref.encode(),
            current=current,
        ),
    )


def refuse_in_modal(ack: Ack, text: str) -> None:
    ack(response_action="errors", errors={ASSIGNEE_BLOCK: text})
