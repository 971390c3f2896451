"""The interaction queue: each Slack request whose work runs after its ack is a row here first.

The web process turns a request into a typed command (`handlers/commands.py`), records it
here and only then acknowledges it, so a click Slack was told we accepted survives a crash.
The worker claims rows one at a time through the lease mechanism (`store/leases.py`),
applies them and marks them done. Each row carries the Slack request's identity (its
trigger id, and the action's time or the view's id and hash), unique, so a replayed or
retried request is recognised and changes nothing; done rows are kept a day for that, then
pruned. A row says who clicked, and the worker acts as that person: the queue is as
sensitive as the store.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Column, Engine, Index, Insert, Text, delete, select
from sqlmodel import Field, Session

from switchboard.store.engine import single_statement, upsert_insert
from switchboard.store.leases import Leasable, Lease, claim, claimable
from switchboard.store.types import UTCDateTime, enum_type

KEEP_DONE = timedelta(days=1)  # far beyond Slack's five-minute replay window
# The most requests recorded at once: SQLAlchemy sends this many rows as one INSERT, which
# is what makes a batch all or none without a transaction on SQLite.
MAX_BATCH = 1000


class InteractionState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"  # kept for KEEP_DONE so a replay of the same request is recognised
    FAILED = "failed"  # kept for inspection


class Interaction(Leasable, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_state_id", "state", "id"),
        Index("uq_interaction_request_key", "request_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=120)  # the command's kind, e.g. "alert.ack", "ops.reassign"
    # The Slack request's identity; None for work recorded without one (tests, the CLI).
    request_key: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))  # the command, JSON
    received_at: datetime = Field(sa_type=UTCDateTime())
    run_at: datetime = Field(sa_type=UTCDateTime())  # later than received_at while backing off
    state: InteractionState = Field(
        default=InteractionState.PENDING, sa_type=enum_type(InteractionState)
    )
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


@dataclass(frozen=True)
class NewRequest:
    kind: str
    body: str  # the typed command as JSON
    request_key: str | None


@dataclass(frozen=True)
class Claimed:
    lease: Lease
    kind: str
    body: str
    received_at: datetime

    @property
    def id(self) -> int:
        return self.lease.id

    @property
    def attempts(self) -> int:
        return self.lease.attempts


@functools.lru_cache(maxsize=8)
def _insert(engine: Engine) -> Insert:
    """An INSERT that skips known request keys and says which rows it wrote.

    Given a list of rows, SQLAlchemy sends them as one multi-row statement (its
    "insertmanyvalues", up to MAX_BATCH rows) and compiles this statement once, where a
    `.values([...])` of many rows is compiled again on every call.
    """
    return (
        upsert_insert(engine, Interaction)
        .on_conflict_do_nothing(index_elements=["request_key"])
        .returning(Interaction.request_key)
        .execution_options(insertmanyvalues_page_size=MAX_BATCH)
    )


def record(engine: Engine, requests: Sequence[NewRequest], *, now: datetime) -> set[str]:
    """Store requests for the worker, all or none, before they are acknowledged.

    Returns the request keys that were already recorded (a replay or a retry): those rows
    are not written again, and the caller answers them as already done.
    """
    if len(requests) > MAX_BATCH:
        raise ValueError(f"{len(requests)} requests at once; at most {MAX_BATCH}")
    rows = [
        {
            "kind": request.kind,
            "request_key": request.request_key,
            "body": request.body,
            "received_at": now,
            "run_at": now,
            "state": InteractionState.PENDING,
            "attempts": 0,
        }
        for request in requests
    ]
    # One multi-row INSERT is atomic by itself: no BEGIN and COMMIT around it.
    with single_statement(engine).begin() as connection:
        written = set(connection.execute(_insert(engine), rows).scalars())
    return {r.request_key for r in requests if r.request_key and r.request_key not in written}


def record_done(session: Session, request: NewRequest, *, now: datetime) -> bool:
    """Record a request applied at once (a modal's submission); False if it was seen before."""
    statement = (
        upsert_insert(session, Interaction)
        .values(
            kind=request.kind,
            request_key=request.request_key,
            body=request.body,
            received_at=now,
            run_at=now,
            state=InteractionState.DONE,
            attempts=1,
            finished_at=now,
        )
        .on_conflict_do_nothing(index_elements=["request_key"])
        .returning(Interaction.id)
    )
    return session.execute(statement).scalar() is not None


def claim_next(session: Session, *, now: datetime, lease: timedelta) -> Claimed | None:
    """Take the oldest due request, or one whose lease ran out, under a new lease.

    One row at a time: a worker that dies mid-way leaves only the request it was applying
    to be taken over, and `attempts` counts only the times a request was started.
    """
    candidates = (
        select(Interaction.id)
        .where(
            Interaction.state.in_([InteractionState.PENDING, InteractionState.CLAIMED]),
            Interaction.run_at <= now,
            claimable(Interaction, now),
        )
        .order_by(Interaction.id)
        .limit(1)
    )
    leases = claim(
        session, Interaction, candidates, now=now, lease=lease, state=InteractionState.CLAIMED
    )
    if not leases:
        return None
    row = session.execute(
        select(Interaction.kind, Interaction.body, Interaction.received_at).where(
            Interaction.id == leases[0].id
        )
    ).one()
    return Claimed(leases[0], row.kind, row.body, row.received_at)


def prune(session: Session, *, now: datetime) -> int:
    """Forget done requests older than KEEP_DONE (failed ones stay for whoever investigates)."""
    gone = session.execute(
        delete(Interaction).where(
            Interaction.state == InteractionState.DONE, Interaction.finished_at < now - KEEP_DONE
        )
    )
    return gone.rowcount  # type: ignore[attr-defined,no-any-return]


def seen(session: Session, request_key: str) -> bool:
    """Whether a request with this identity was recorded before."""
    found = session.scalar(select(Interaction.id).where(Interaction.request_key == request_key))
    return found is not None
