"""The interaction queue: each Slack request whose work runs after its ack is a row here first.

The web process records the request and only then acknowledges it, so a click Slack was told
we accepted survives a crash; the worker (`bot/worker.py`) claims rows, applies them and
deletes them. Claims are leases, as in the outbox: a worker that dies mid-way is replaced once
its lease expires, and a row that keeps killing workers is given up as failed.
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
    func,
    insert,
    or_,
    select,
    update,
)
from sqlmodel import Field, Session, SQLModel

from store.engine import single_statement
from store.types import UTCDateTime, enum_type

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
    token: str
    attempts: int


_COLUMNS = ("kind", "body", "received_at", "state", "attempts")
_MAX_ROWS = 64  # per INSERT statement


@functools.lru_cache(maxsize=_MAX_ROWS)
def _insert(rows: int) -> Insert:
    """INSERT of `rows` rows with bound parameters: compiled once per row count."""
    return insert(Interaction).values(
        [{column: bindparam(f"{column}_{i}") for column in _COLUMNS} for i in range(rows)]
    )


def record(
    engine: Engine, requests: Sequence[tuple[str, dict[str, Any]]], *, now: datetime
) -> None:
    """Store requests (kind, body) for the worker before they are acknowledged."""
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
    # Multi-row INSERTs, each atomic on its own: no BEGIN and COMMIT around them.
    with single_statement(engine).begin() as connection:
        for start in range(0, len(rows), _MAX_ROWS):
            chunk = rows[start : start + _MAX_ROWS]
            params = {
                f"{column}_{i}": value
                for i, row in enumerate(chunk)
                for column, value in zip(_COLUMNS, row, strict=True)
            }
            connection.execute(_insert(len(chunk)), params)


def claim(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take the oldest pending rows, and rows whose claim has expired, under a new lease."""
    query = (
        select(
            Interaction.id,
            Interaction.kind,
            Interaction.body,
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
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # workers skip each other's rows
    claimed = []
    for row_id, kind, body, attempts, held_by in session.execute(query).all():
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
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(Claimed(row_id, kind, json.loads(body), token, attempts + 1))
    return claimed


def complete(session: Session, done: Sequence[Claimed]) -> int:
    """Done: the rows go. Returns how many; a row whose lease was lost meanwhile stays."""
    gone = 0
    for claimed in done:
        result = session.execute(
            delete(Interaction).where(
                Interaction.id == claimed.id, Interaction.claim_token == claimed.token
            )
        )
        gone += result.rowcount  # type: ignore[attr-defined]
    return gone


def fail(session: Session, claimed: Claimed, error: str) -> bool:
    """Give up on a row: it stays, failed, with the reason, for whoever investigates."""
    failed = session.execute(
        update(Interaction)
        .where(Interaction.id == claimed.id, Interaction.claim_token == claimed.token)
        .values(state=InteractionState.FAILED, claim_token=None, claim_expires_at=None, error=error)
    )
    return failed.rowcount == 1  # type: ignore[attr-defined]


def counts(session: Session) -> dict[InteractionState, int]:
    query = select(Interaction.state, func.count()).group_by(Interaction.state)
    return {state: count for state, count in session.execute(query)}
