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


class CallbackId(StrEnum):
    DRAFT_EDIT = "draft.edit"
    DRAFT_REJECT = "draft.reject"
    OWNER_REASSIGN = "owner.reassign"
    ALERT_REASSIGN = "alert.reassign"


# Inside modals: each input block holds one element with this action id, so every input's
# value is read back the same way; block ids name the inputs.
INPUT_ACTION = "value"
ASSIGNEE_BLOCK = "assignee"


class BadReference(ValueError):
    """A button value or modal metadata that is not one of ours."""


class _Ref(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> str:
        return self.model_dump_json()

    @classmethod
    def decode(cls, raw: str | None) -> Self:
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError:
            raise BadReference(f"not a {cls.__name__}: {raw!r:.80}") from None


class AlertRef(_Ref):
    alert_id: int = Field(ge=1)


class EscalationRef(_Ref):
    escalation_id: int = Field(ge=1)


class DomainRef(_Ref):
    domain: str = Field(min_length=1, max_length=64)
