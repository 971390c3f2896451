"""The outbox table: every message the bot sends is a row here first (DESIGN section 8).

This module only records intent; `bot/outbox.py` claims due rows and talks to Slack.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from switchboard.store.types import UTCDateTime, enum_type


class OutboxKind(StrEnum):
    POST = "post"  # chat.postMessage to a channel, or a thread reply (parent_key set)
    DM = "dm"  # chat.postMessage to a user id
    UPDATE = "update"  # chat.update of the message sent for parent_key


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_channel_state", "channel", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: OutboxKind = Field(sa_type=enum_type(OutboxKind))
    channel: str = Field(max_length=32)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    parent_key: str | None = Field(default=None, max_length=200)
    state: OutboxState = Field(default=OutboxState.PENDING, sa_type=enum_type(OutboxState))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime())
    # A claim is a lease: a sender that dies mid-send is replaced once it expires, and only
    # the holder of the current token may record the outcome.
    claim_token: str | None = Field(default=None, max_length=36)
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    ts: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_type=UTCDateTime())
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), index=True)


def enqueue(
    session: Session,
    *,
    key: str,
    kind: OutboxKind,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    parent_key: str | None = None,
) -> bool:
    """Add a message in the caller's transaction; a key already queued is left alone.

    Returns whether a row was added. The unique key is what makes a retried agent run,
    a second replica or a Slack retry unable to post twice.
    """
    values = {
        "key": key,
        "kind": kind,
        "channel": channel,
        "payload": payload,
        "parent_key": parent_key,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(OutboxMessage)
        .values(values)
        .on_conflict_do_nothing()
        .returning(OutboxMessage.id)  # rowcount is not reliable here on psycopg
    )
    return session.execute(statement).scalar() is not None


def exists(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None


def by_key(session: Session, key: str) -> OutboxMessage | None:
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
