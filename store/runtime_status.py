"""What the running processes know about themselves, kept in the store so that every process
and replica sees the same: worker heartbeats, the outbox's pause, a channel Slack refuses.

`/healthz` reads these rows, so it tells the truth across replicas: a web process is healthy
only while some worker somewhere has beaten recently.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Text, delete, select, update
from sqlmodel import Field, Session, SQLModel

from switchboard.store.engine import upsert_insert
from switchboard.store.types import UTCDateTime

WORKER_PREFIX = "worker:"


class RuntimeStatus(SQLModel, table=True):
    __tablename__ = "runtime_status"

    key: str = Field(primary_key=True, max_length=200)  # "worker:host:pid", "outbox.paused"
    state: str = Field(max_length=64)
    detail: str | None = Field(default=None, sa_type=Text)
    since: datetime = Field(sa_type=UTCDateTime())  # when it entered this state
    checked_at: datetime = Field(sa_type=UTCDateTime())  # when it was last confirmed


def put(
    session: Session, key: str, state: str, *, now: datetime, detail: str | None = None
) -> bool:
    """Record `key` as `state` now; `since` moves only when the state changes.

    Returns True when the state is new (the caller may want to say so once).
    """
    current = session.get(RuntimeStatus, key, populate_existing=True)
    if current is None:
        session.execute(
            upsert_insert(session, RuntimeStatus)
            .values(key=key, state=state, detail=detail, since=now, checked_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        return True
    changed = current.state != state
    if changed:
        current.since = now
    current.state, current.detail, current.checked_at = state, detail, now
    return changed


def get(session: Session, key: str) -> RuntimeStatus | None:
    return session.get(RuntimeStatus, key, populate_existing=True)


def clear(session: Session, key: str) -> bool:
    """Forget `key`; True if it was there."""
    return session.execute(delete(RuntimeStatus).where(RuntimeStatus.key == key)).rowcount == 1  # type: ignore[attr-defined]


def beat(session: Session, worker: str, *, now: datetime) -> None:
    """A worker is alive."""
    put(session, WORKER_PREFIX + worker, "running", now=now)


def live_workers(session: Session, *, now: datetime, within: timedelta) -> list[RuntimeStatus]:
    """Workers that have beaten within `within` of `now`."""
    return list(
        session.scalars(
            select(RuntimeStatus).where(
                RuntimeStatus.key.startswith(WORKER_PREFIX),
                RuntimeStatus.checked_at >= now - within,
            )
        )
    )


def forget_worker(session: Session, worker: str) -> None:
    """A worker that stops cleanly removes its row (a killed one simply goes stale)."""
    clear(session, WORKER_PREFIX + worker)


def problems(session: Session) -> list[RuntimeStatus]:
    """Every recorded status that is not a worker heartbeat (a pause, a refused channel)."""
    return list(
        session.scalars(
            select(RuntimeStatus)
            .where(~RuntimeStatus.key.startswith(WORKER_PREFIX))
            .order_by(RuntimeStatus.key)
        )
    )


def take_turn(session: Session, key: str, *, now: datetime, every: timedelta) -> bool:
    """Compare-and-set `checked_at` to now if it is at least `every` old.

    True for the one caller (of any process) whose turn it is: the outbox's probe of a
    paused token runs at most once per `every`, whatever the number of replicas.
    """
    moved = session.execute(
        update(RuntimeStatus)
        .where(RuntimeStatus.key == key, RuntimeStatus.checked_at <= now - every)
        .values(checked_at=now)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]
