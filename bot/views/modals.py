"""Modals: pick a person."""

from __future__ import annotations

from slack_sdk.models.blocks import InputBlock, PlainTextObject, UserSelectElement
from slack_sdk.models.views import View

from switchboard.bot.views.limits import section
from switchboard.handlers.refs import ASSIGNEE_ACTION, ASSIGNEE_BLOCK


def reassign_modal(
    *, callback_id: str, title: str, prompt: str, metadata: str, current: str | None
) -> View:
    """A user picker; `metadata` carries the typed reference back to the submission."""
    picker = UserSelectElement(action_id=ASSIGNEE_ACTION, placeholder="Choose a person")
    if current:
        picker.initial_user = current
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=title[:24]),
        submit=PlainTextObject(text="Reassign"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[InputBlock(block_id=ASSIGNEE_BLOCK, label=prompt[:2000], element=picker)],
    )


def notice_modal(title: str, text: str) -> View:
    """What a submitted modal turns into: the outcome, and a Close button."""
    return View(
        type="modal",
        title=PlainTextObject(text=title[:24]),
        close=PlainTextObject(text="Close"),
        blocks=[section(text)],
    )
