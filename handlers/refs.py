"""Stable Slack ids and the typed references carried in button values and modal metadata.

A reference says which object a click is about; it is never authority. Handlers load the
object and check the clicking user's role before doing anything.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ActionId(StrEnum):
    ALERT_ACK = "alert.ack"
    ALERT_REASSIGN = "alert.reassign"
    ESCALATION_ACK = "escalation.ack"
    DRAFT_APPROVE = "draft.approve"
    DRAFT_EDIT = "draft.edit"
    DRAFT_REJECT = "draft.reject"
    SHADOW_AGREE = "shadow.agree"
    SHADOW_DISAGREE = "shadow.disagree"
    OWNER_REASSIGN = "owner.reassign"
    DRAFT_RETRY = "draft.retry"  # send again after a send that failed
    DRAFT_REDRAFT = "draft.redraft"  # write a new draft after one expired


class CallbackId(StrEnum):
    DRAFT_EDIT = "draft.edit"
    DRAFT_REJECT = "draft.reject"
    DRAFT_CLIENT = "draft.client"  # the message shortcut's client picker
    OWNER_REASSIGN = "owner.reassign"
    ALERT_REASSIGN = "alert.reassign"
    SHADOW_DISAGREE = "shadow.disagree"  # the optional note with a Disagree


# Inside modals: each input block holds one element with this action id, so every input's
# value is read back the same way; block ids name the inputs.
INPUT_ACTION = "value"
ASSIGNEE_BLOCK = "assignee"
BODY_BLOCK = "body"
REASON_BLOCK = "reason"
CLIENT_BLOCK = "client"
SENDER_BLOCK = "sender"
NOTE_BLOCK = "note"
SHORTCUT = "draft.from_message"  # the message shortcut's callback id


class BadReference(ValueError):
    """A button value or modal metadata that is not one of ours."""


class Ref(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> str:
        return self.model_dump_json()

    @classmethod
    def decode(cls, raw: str | None) -> Self:
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError:
            raise BadReference(f"not a {cls.__name__}: {raw!r:.80}") from None


class AlertRef(Ref):
    alert_id: int = Field(ge=1)


class EscalationRef(Ref):
    escalation_id: int = Field(ge=1)


class DraftRef(Ref):
    draft_id: int = Field(ge=1)
    # For Approve: the SHA-256 of the text the person saw, so a changed text is refused.
    text_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class MessageRef(Ref):
    """A Slack message a shortcut was used on, carried by the modal to its submission
    (private metadata holds 3,000 characters: a longer text is clipped)."""

    channel: str = Field(pattern=r"^[CGD][A-Z0-9]{2,31}$")
    ts: str = Field(pattern=r"^[0-9]{1,12}\.[0-9]{1,8}$")
    text: str = Field(max_length=2600)


class ShadowRef(Ref):
    output_id: int = Field(ge=1)


class DomainRef(Ref):
    domain: str = Field(min_length=1, max_length=64)
