"""Modals: a form of inputs that carries a typed reference back, and a closing notice.

Every input's value is read back the same way (`slack_requests.modal_value`): each input
block has one element, whose action id is `INPUT_ACTION`.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    UserSelectElement,
)
from slack_sdk.models.views import View

from switchboard.handlers.refs import ASSIGNEE_BLOCK, INPUT_ACTION
from switchboard.handlers.views.limits import section


def person_input(block_id: str, label: str, current: str | None = None) -> InputBlock:
    picker = UserSelectElement(action_id=INPUT_ACTION, placeholder="Choose a person")
    if current:
        picker.initial_user = current
    return InputBlock(block_id=block_id, label=label[:2000], element=picker)


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    max_length: int = 3000,
) -> InputBlock:
    element = PlainTextInputElement(
        action_id=INPUT_ACTION, multiline=multiline, max_length=max_length
    )
    if initial:
        element.initial_value = initial[:max_length]
    return InputBlock(block_id=block_id, label=label[:2000], element=element, optional=optional)


def form_modal(
    *,
    callback_id: str,
    title: str,
    submit: str,
    metadata: str,
    inputs: Sequence[InputBlock],
    intro: Sequence[Block] = (),
) -> View:
    """A modal whose submission comes back to `callback_id` with `metadata` (a reference)."""
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=title[:24]),
        submit=PlainTextObject(text=submit[:24]),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[*intro, *inputs],
    )


def reassign_modal(
    *, callback_id: str, title: str, prompt: str, metadata: str, current: str | None
) -> View:
    """A person picker; `metadata` carries the typed reference back to the submission."""
    return form_modal(
        callback_id=callback_id,
        title=title,
        submit="Reassign",
        metadata=metadata,
        inputs=[person_input(ASSIGNEE_BLOCK, prompt, current)],
    )


def notice_modal(title: str, text: str) -> View:
    """What a submitted modal turns into: the outcome, and a Close button."""
    return View(
        type="modal",
        title=PlainTextObject(text=title[:24]),
        close=PlainTextObject(text="Close"),
        blocks=[section(text)],
    )
