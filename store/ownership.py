"""Who owns each data domain: one owning agent and one human owner (one seat, one owner).

Seeded from the agency manifest; reassignments from Slack are stored here and audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from switchboard.store.engine import upsert_insert
from switchboard.store.transitions import transition
from switchboard.store.types import UTCDateTime


class DomainOwner(SQLModel, table=True):
    __tablename__ = "domain_owner"

    # `id` is the domain name, so the shared compare-and-set applies.
    id: str = Field(primary_key=True, max_length=64)
    agent: str = Field(max_length=64)
    owner: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime())
    updated_by: str = Field(max_length=64)


def seed(session: Session, owners: dict[str, tuple[str, str]], *, now: datetime) -> None:
    """Insert domains missing from the store as `{domain: (agent, owner)}`.

    Existing rows win: an owner reassigned from Slack is not reset by a restart. Two
    processes seeding a fresh database at once both succeed (ON CONFLICT DO NOTHING).
    """
    if not owners:
        return
    rows = [
        {"id": domain, "agent": agent, "owner": owner, "updated_at": now, "updated_by": "manifest"}
        for domain, (agent, owner) in owners.items()
    ]
    session.execute(upsert_insert(session, DomainOwner).values(rows).on_conflict_do_nothing())


def all_owners(session: Session) -> list[DomainOwner]:
    return list(session.exec(select(DomainOwner).order_by(col(DomainOwner.id))))


def reassign(
    session: Session, domain: str, *, expected_owner: str, to: str, by: str, now: datetime
) -> bool:
    """Compare-and-set the human owner, with its audit row. False: someone changed it first."""
    return transition(
        session,
        DomainOwner,
        domain,
        field="owner",
        expected=expected_owner,
        to=to,
        actor=by,
        action="owner.reassign",
        now=now,
        subject=f"domain:{domain}",
        updated_at=now,
        updated_by=by,
    )
