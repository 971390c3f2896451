"""The interaction queue: each Slack request whose work runs after its ack is a row here first.

The web process records the request and only then acknowledges it, so a click Slack was told
we accepted survives a crash; the worker (`bot/interactions.py`) claims rows one at a time,
applies them and deletes them. Claims are leases, as in the outbox: the request a dead worker
was applying is taken over when its lease expires, and one that keeps killing workers is
given up as failed. A row says who clicked, and the worker acts as that person: the queue is
as sensitive as the store.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Insert,
    Text,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlmodel import Field, Session, SQLModel

from switchboard.store.engine import single_statement
from switchboard.store.types import UTCDateTime, enum_type

# Interaction payloads carry Slack's deprecated verification token; it is a secret and is
# not needed once the signature has been checked, so it is never stored.
_NOT_STORED = ("token",)


class InteractionState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    FAILED = "failed"  # kept for inspection; done rows are deleted


class Interaction(SQLModel, table=True):
    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_state_id", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=120)  # e.g. "action:alert.ack", "command:/ops"
    body: str = Field(sa_column=Column(Text, nullable=False))  # the request payload, JSON
    received_at: datetime = Field(sa_type=UTCDateTime())
    state: InteractionState = Field(
        default=InteractionState.PENDING, sa_type=enum_type(InteractionState)
    )
    attempts: int = 0
    claim_token: str | None = Field(default=None, max_length=36)
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    error: str | None = Field(default=None, sa_column=Column(Text))


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    body: dict[str, Any]
    received_at: datetime
    token: str
    attempts: int


_COLUMNS = ("kind", "body", "received_at", "state", "attempts")


@functools.lru_cache(maxsize=256)
def _insert(rows: int) -> Insert:
    """INSERT of `rows` rows with bound parameters: compiled once per row count."""
    return insert(Interaction).values(
        [{column: bindparam(f"{column}_{i}") for column in _COLUMNS} for i in range(rows)]
    )


def record(
    engine: Engine, requests: Sequence[tuple[str, dict[str, Any]]], *, now: datetime
) -> None:
    """Store requests (kind, body) for the worker, all or none, before they are acknowledged."""
    rows = [
        (
            kind,
            json.dumps(
                {key: value for key, value in body.items() if key not in _NOT_STORED},
                separators=(",", ":"),
            ),
            now,
            InteractionState.PENDING,
            0,
        )
        for kind, body in requests
    ]
    params = {
        f"{column}_{i}": value
        for i, row in enumerate(rows)
        for column, value in zip(_COLUMNS, row, strict=True)
    }
    # One multi-row INSERT is atomic by itself: no BEGIN and COMMIT around it.
    with single_statement(engine).begin() as connection:
        connection.execute(_insert(len(rows)), params)


def claim_next(session: Session, *, now: datetime, lease: timedelta) -> Claimed | None:
    """Take the oldest pending row, or one whose claim has expired, under a new lease.

    One row at a time: a worker that dies mid-way leaves only the request it was applying
    to be taken over, and `attempts` counts only the times a request was started.
    """
    query = (
        select(
            Interaction.id,
            Interaction.kind,
            Interaction.body,
            Interaction.received_at,
            Interaction.attempts,
            Interaction.claim_token,
        )
        .where(
            or_(
                Interaction.state == InteractionState.PENDING,
                (Interaction.state == InteractionState.CLAIMED)
                & (Interaction.claim_expires_at < now),
            )
        )
        .order_by(Interaction.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # workers skip each other's rows
    found = session.execute(query).first()
    if found is None:
        return None
    row_id, kind, body, received_at, attempts, held_by = found
    token = str(uuid.uuid4())
    taken = session.execute(
        update(Interaction)
        .where(Interaction.id == row_id, Interaction.claim_token.is_not_distinct_from(held_by))
        .values(
            state=InteractionState.CLAIMED,
            claim_token=token,
            claim_expires_at=now + lease,
            attempts=attempts + 1,
        )
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None  # another worker took it between the two statements (SQLite never does)
    return Claimed(row_id, kind, json.loads(body), received_at, token, attempts + 1)


def complete(session: Session, claimed: Claimed) -> bool:
    """Done: the row goes. False if its lease was lost to another worker meanwhile."""
    gone = session.execute(
        delete(Interaction).where(
            Interaction.id == claimed.id, Interaction.claim_token == claimed.token
        )
    )
    return gone.rowcount == 1  # type: ignore[attr-defined]


def fail(session: Session, claimed: Claimed, error: str) -> bool:
    """Give up on a row: it stays, failed, with the reason, for whoever investigates."""
    failed = session.execute(
        update(Interaction)
        .where(Interaction.id == claimed.id, Interaction.claim_token == claimed.token)
        .values(state=InteractionState.FAILED, claim_token=None, claim_expires_at=None, error=error)
    )
    return failed.rowcount == 1  # type: ignore[attr-defined]
