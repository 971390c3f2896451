"""State transitions: compare-and-set plus its audit row, the one way a state changes.

Every state machine in the store (alerts, domain ownership, escalations, drafts, agent
levels) changes through `transition`: `UPDATE ... WHERE id = ? AND field IN (expected)`,
and, only if this caller won the row, an audit row in the same transaction. A loser changes
nothing and reloads the row to tell the person who won.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import or_, update
from sqlmodel import Session, SQLModel

from switchboard.store import audit


def _values(expected: Any) -> list[Any]:
    many = isinstance(expected, Collection) and not isinstance(expected, str | Enum)
    return list(expected) if many else [expected]


def compare_and_set(
    session: Session,
    model: type[SQLModel],
    row_id: Any,
    *,
    expected: Any,
    to: Any,
    field: str = "state",
    **values: Any,
) -> bool:
    """`UPDATE model SET field = to, ... WHERE id = row_id AND field IN expected`.

    `expected` is one value or a collection of values (None matches NULL). Returns True
    when this caller won the row. Runs in the caller's transaction.
    """
    session.flush()  # pending edits must reach the row before it is expired below
    allowed = _values(expected)
    column = getattr(model, field)
    matches = column.in_([value for value in allowed if value is not None])
    if None in allowed:  # SQL's `IN (NULL)` never matches
        matches = or_(matches, column.is_(None))
    [key] = sa_inspect(model).primary_key  # `id`, or a natural key such as an agent's name
    statement = (
        update(model)
        .where(key == row_id, matches)
        .values({field: to, **values})
        .execution_options(synchronize_session=False)
    )
    won = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    if won:
        # The ORM copy (if loaded) is stale now; reload on next access.
        for obj in list(session.identity_map.values()):
            if isinstance(obj, model) and getattr(obj, key.name, None) == row_id:
                session.expire(obj)
    return won


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def transition(
    session: Session,
    model: type[SQLModel],
    row_id: Any,
    *,
    expected: Any,
    to: Any,
    actor: str,
    action: str,
    now: datetime,
    subject: str,
    field: str = "state",
    note: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Compare-and-set `field` from `expected` to `to` and, if won, audit it as `action`.

    The audit row records the value the row really had before (read first when several
    values were allowed) and `note`, in the caller's transaction.
    """
    allowed = _values(expected)
    before = allowed[0]
    if len(allowed) > 1:
        row = session.get(model, row_id)
        before = getattr(row, field) if row is not None else None
    won = compare_and_set(session, model, row_id, expected=expected, to=to, field=field, **values)
    if won:
        audit.record(
            session,
            at=now,
            actor=actor,
            action=action,
            subject=subject,
            before={field: _plain(before)},
            after={field: _plain(to), **(note or {})},
        )
    return won
