"""Leases: the one way a row of work is taken by one worker at a time.

Every queue-like table (the interaction queue, the outbox, jobs, escalations) carries the
columns of `Leasable` and is claimed here. A claim writes a fresh token and an expiry; only
the holder of the current token may record the outcome, so a worker that stalled past its
lease and wakes up later changes nothing. A row whose lease expired (its worker died) is
claimable again, and `attempts` counts every start, so a row that keeps killing workers can
be given up. On PostgreSQL candidates are read `FOR UPDATE SKIP LOCKED`: replicas take
different rows instead of queueing on the same one.

A long piece of work keeps its lease alive with `LeaseKeeper`, which extends it on a timer
until the work ends.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, Text, or_, update
from sqlmodel import Field, Session, SQLModel

from switchboard.store.engine import skip_locked, transaction
from switchboard.store.types import UTCDateTime

log = logging.getLogger(__name__)


class Leasable(SQLModel):
    """The columns every leased table has (a mixin: no table of its own)."""

    attempts: int = 0  # starts, the current one included
    claim_token: str | None = Field(default=None, max_length=36)
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    last_error: str | None = Field(default=None, sa_type=Text)


@dataclass(frozen=True)
class Lease:
    """A claimed row: which table, which row, the token that proves it, and its start count."""

    model: type[Any]
    id: int
    token: str
    attempts: int


def claimable(model: type[Any], now: datetime) -> ColumnElement[bool]:
    """Not held by anyone, or held under a lease that has run out."""
    return or_(model.claim_token.is_(None), model.claim_expires_at < now)


def claim(
    session: Session,
    model: type[Any],
    candidates: Select[Any],
    *,
    now: datetime,
    lease: timedelta,
    **values: Any,
) -> list[Lease]:
    """Take the rows `candidates` selects (their ids), under one new token; returns the leases.

    `candidates` must already be limited to claimable rows (see `claimable`); it is read
    with SKIP LOCKED on PostgreSQL. `values` are set on every claimed row (its running
    state, say). Runs in the caller's transaction.
    """
    ids = list(session.scalars(skip_locked(candidates, session, of=model)))
    if not ids:
        return []
    token = str(uuid.uuid4())
    taken = session.execute(
        update(model)
        .where(model.id.in_(ids), claimable(model, now))
        .values(
            claim_token=token,
            claim_expires_at=now + lease,
            attempts=model.attempts + 1,
            **values,
        )
        .returning(model.id, model.attempts)
        .execution_options(synchronize_session=False)
    )
    leases = {row_id: Lease(model, row_id, token, attempts) for row_id, attempts in taken}
    return [leases[row_id] for row_id in ids if row_id in leases]  # in the order asked


def extend(session: Session, lease: Lease, *, now: datetime, by: timedelta) -> bool:
    """Push the lease's expiry to `now + by`; False if it was lost (taken over or finished)."""
    moved = session.execute(
        update(lease.model)
        .where(lease.model.id == lease.id, lease.model.claim_token == lease.token)
        .values(claim_expires_at=now + by)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]


def finish(session: Session, lease: Lease, **values: Any) -> bool:
    """Record the outcome and let the row go; False (nothing written) if the lease was lost.

    `values` say what the outcome is: a done or failed state, a retry time, an error.
    """
    done = session.execute(
        update(lease.model)
        .where(lease.model.id == lease.id, lease.model.claim_token == lease.token)
        .values(claim_token=None, claim_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


class LeaseKeeper:
    """Extends leases on a timer while their work runs; use as a context manager.

    The interval is a third of the lease, so two missed beats still leave the lease alive.
    `beat()` is public so a test can extend on its own (injected) clock without waiting.
    """

    def __init__(
        self,
        engine: Engine,
        leases: Sequence[Lease],
        *,
        length: timedelta,
        clock: Callable[[], datetime],
        interval: float | None = None,
    ) -> None:
        self.engine, self.leases, self.length, self.clock = engine, leases, length, clock
        self.interval = interval if interval is not None else length.total_seconds() / 3
        self.lost = False  # set once any lease could not be extended
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def beat(self) -> None:
        with transaction(self.engine) as session:
            for held in self.leases:
                if not extend(session, held, now=self.clock(), by=self.length):
                    self.lost = True

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.beat()
            except Exception:  # the store is down: the next beat tries again
                log.warning("could not extend a lease", exc_info=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopped.set()
        self._thread.join()
