"""Client email drafts and the approvals that bind to their exact text (DESIGN section 10)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from switchboard.store.types import UTCDateTime, enum_type


class DraftState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    SENDING = "sending"
    SENT = "sent"
    SEND_FAILED = "send_failed"


class Draft(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    inbound_message_id: str = Field(foreign_key="inbound_email.message_id", max_length=200)
    client_id: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=500)
    body: str = Field(sa_column=Column(Text, nullable=False))
    prompt_version: str = Field(max_length=32)
    drafter: str = Field(max_length=64)  # model name, or "offline-template"
    lint: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: DraftState = Field(sa_type=enum_type(DraftState), index=True)
    created_at: datetime = Field(sa_type=UTCDateTime())
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    reason: str | None = Field(default=None, sa_column=Column(Text))


class Approval(SQLModel, table=True):
    """A human's approval of one exact text; the email gateway sends nothing without one."""

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_sha256: str = Field(max_length=64)
    approved_by: str = Field(max_length=32)
    approved_at: datetime = Field(sa_type=UTCDateTime())
