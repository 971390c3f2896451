"""The outbox: every message the bot sends is a row here first (DESIGN section 8).

A row is written in the same transaction as the change it reports, under a unique key that
names the event, so a retried run, a second replica or a Slack retry cannot send twice.
`bot/outbox.py` drains it.
"""

from __future__ import annotations

import functools
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Connection, Engine, Index, Insert
from sqlmodel import Field, Session, select

from switchboard.store.engine import upsert_insert
from switchboard.store.leases import Leasable
from switchboard.store.types import UTCDateTime, enum_type


class OutboxKind(StrEnum):
    POST = "post"  # chat.postMessage to a channel, or a thread reply (parent_key set)
    DM = "dm"  # a message to a person: conversations.open, then chat.postMessage
    UPDATE = "update"  # chat.update of the message sent for parent_key
    RESPOND = "respond"  # an answer to an interaction's response_url (ephemeral, or replacing)


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Leasable, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_channel_state", "channel", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    kind: OutboxKind = Field(sa_type=enum_type(OutboxKind))
    # The lane messages are ordered and paced in: a channel id, or a person's user id for a
    # DM. None for `respond`, whose answers are neither ordered nor paced.
    channel: str | None = Field(default=None, max_length=32)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    parent_key: str | None = Field(default=None, max_length=300)
    agent: str | None = Field(default=None, max_length=64)  # the agent that produced it
    state: OutboxState = Field(default=OutboxState.PENDING, sa_type=enum_type(OutboxState))
    next_attempt_at: datetime = Field(sa_type=UTCDateTime())
    ts: str | None = Field(default=None, max_length=32)
    # Where the message landed: the channel, or the DM conversation opened for a person.
    posted_channel: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime())
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), index=True)


def enqueue(
    session: Session,
    *,
    key: str,
    kind: OutboxKind,
    payload: dict[str, Any],
    now: datetime,
    channel: str | None = None,
    parent_key: str | None = None,
    agent: str | None = None,
) -> bool:
    """Add a message in the caller's transaction; a key already queued is left alone.

    Returns whether a row was added. For `respond`, `payload` carries its `response_url`.
    """
    row = {
        "key": key,
        "kind": kind,
        "channel": channel,
        "payload": payload,
        "parent_key": parent_key,
        "agent": agent,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return session.execute(_enqueue(session.get_bind()), row).scalar() is not None


@functools.lru_cache(maxsize=8)
def _enqueue(engine: Engine | Connection) -> Insert:
    """Built once and given each row as parameters: `.values(...)` per call would make
    SQLAlchemy walk the payload for the statement's cache key on every message."""
    return (
        upsert_insert(engine, OutboxMessage)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMessage.id)  # rowcount is not reliable here on psycopg
    )


def exists(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None


def by_key(session: Session, key: str) -> OutboxMessage | None:
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
