"""Compare-and-set: the one way a state column changes when several actors may race."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, SQLModel


def compare_and_set(
    session: Session,
    model: type[SQLModel],
    row_id: Any,
    *,
    expected: Any,
    to: Any,
    state_field: str = "state",
    **values: Any,
) -> bool:
    """`UPDATE model SET state = to, ... WHERE id = row_id AND state IN expected`.

    `expected` is one value or a collection of values of `state_field`.

    Returns True when this caller won the row. The loser changes nothing and should
    reload the row to tell the user who won. Runs in the caller's transaction.
    """
    session.flush()  # pending edits must reach the row before it is expired below
    many = isinstance(expected, list | tuple | set | frozenset)
    allowed = list(expected) if many else [expected]
    state = getattr(model, state_field)
    values_known = [value for value in allowed if value is not None]
    matches = state.in_(values_known)
    if None in allowed:  # SQL's `IN (NULL)` never matches
        matches = or_(matches, state.is_(None))
    statement = (
        update(model)
        .where(model.id == row_id, matches)  # type: ignore[attr-defined]
        .values({state_field: to, **values})
        .execution_options(synchronize_session=False)
    )
    won = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    if won:
        # The ORM copy (if loaded) is stale now; reload on next access.
        for obj in list(session.identity_map.values()):
            if isinstance(obj, model) and getattr(obj, "id", None) == row_id:
                session.expire(obj)
    return won
