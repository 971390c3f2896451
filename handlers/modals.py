"""The two ends of every modal: opening it from a click, answering its submission; and the
person picker that the reassign buttons share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from switchboard.handlers.commands import Command, Notice, Origin
from switchboard.handlers.deps import Deps
from switchboard.handlers.refs import ASSIGNEE_BLOCK, Ref
from switchboard.handlers.slack_requests import (
    NOT_OURS,
    clicked,
    modal_ref,
    modal_value,
    origin_of,
    refuse_in_modal,
    request_key,
)
from switchboard.handlers.views.modals import notice_modal, reassign_modal
from switchboard.handlers.work import Reply

R = TypeVar("R", bound=Ref)


def open_modal(
    deps: Deps, client: WebClient, body: dict[str, Any], modal: View, origin: Origin
) -> None:
    """Open `modal` for the click in `body`; if it cannot open, the person is told why."""
    try:
        client.views_open(trigger_id=body["trigger_id"], view=modal)
    except (SlackApiError, OSError, KeyError) as error:  # an expired trigger, Slack down
        code = error.response.get("error") if isinstance(error, SlackApiError) else None
        text = (
            f"Sorry, the form could not be opened ({code or 'Slack did not answer'}). "
            "Please click the button again."
        )
        deps.record(Notice(origin=origin, text=text), None)


def answer_modal(
    ack: Ack, replies: Sequence[Reply] | None, *, title: str, error_block: str
) -> None:
    """A submission's acknowledgement: the refusal under `error_block`, else a closing notice.

    `replies` is None for a submission seen before (a replay): it changes nothing.
    """
    if replies is None:
        ack(response_action="update", view=notice_modal(title, "That was already done."))
        return
    text = "\n".join(reply.message.text for reply in replies)
    if any(reply.refused for reply in replies):
        refuse_in_modal(ack, error_block, text)
        return
    ack(response_action="update", view=notice_modal(title, text))


@dataclass(frozen=True)
class PersonPicker(Generic[R]):
    """A button that opens a person picker, and the command its submission applies.

    `prepare` loads the object the button refers to and checks the clicking person may
    act on it: it returns the picker's prompt and the person picked now, or the refusal.
    """

    action_id: str
    callback_id: str
    ref_type: type[R]
    title: str  # the modal's title
    done_title: str  # the notice's title once applied
    prepare: Callable[[Deps, R, Origin], tuple[str, str | None] | str]
    command: Callable[[Origin, R, str], Command]


def register_person_picker(app: App, deps: Deps, picker: PersonPicker[Any]) -> None:
    def open_picker(body: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        origin = origin_of(body, request.headers, deps.clock)
        ref = clicked(body, picker.ref_type)
        if ref is None:
            deps.record(Notice(origin=origin, text=NOT_OURS), None)
            return
        prepared = picker.prepare(deps, ref, origin)
        if isinstance(prepared, str):
            deps.record(Notice(origin=origin, text=prepared), None)
            return
        prompt, current = prepared
        modal = reassign_modal(
            callback_id=picker.callback_id,
            title=picker.title,
            prompt=prompt,
            metadata=ref.encode(),
            current=current,
        )
        open_modal(deps, client, body, modal, origin)

    # A modal opens from here, not from the worker's queue: its trigger_id lasts 3 seconds.
    app.action(picker.action_id)(ack=lambda ack: ack(), lazy=[open_picker])

    def on_submit(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], request: BoltRequest
    ) -> None:
        ref, to = modal_ref(view, picker.ref_type), modal_value(view, ASSIGNEE_BLOCK)
        if ref is None or to is None:
            refuse_in_modal(ack, ASSIGNEE_BLOCK, "Choose a person.")
            return
        origin = origin_of(body, request.headers, deps.clock)
        replies = deps.apply_now(picker.command(origin, ref, to), request_key(body))
        answer_modal(ack, replies, title=picker.done_title, error_block=ASSIGNEE_BLOCK)

    app.view(picker.callback_id)(on_submit)
