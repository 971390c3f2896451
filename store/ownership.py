"""Who owns each data domain: one owning agent and one human owner (one seat, one owner).

Seeded from the agency manifest; reassignments from Slack are stored here and audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from switchboard.store import audit
from switchboard.store.transitions import compare_and_set
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

    Existing rows win: an owner reassigned from Slack is not reset by a restart.
    """
    known = set(session.exec(select(DomainOwner.id)))
    for domain, (agent, owner) in owners.items():
        if domain not in known:
            session.add(
                DomainOwner(
                    id=domain, agent=agent, owner=owner, updated_at=now, updated_by="manifest"
                )
            )


def all_owners(session: Session) -> list[DomainOwner]:
    return list(session.exec(select(DomainOwner).order_by(col(DomainOwner.id))))


def reassign(
    session: Session, domain: str, *, expected_owner: str, to: str, by: str, now: datetime
) -> bool:
    """Compare-and-set the human owner, with its audit row. False: someone changed it first."""
    won = compare_and_set(
        session,
        DomainOwner,
        domain,
        state_field="owner",
        expected=expected_owner,
        to=to,
        updated_at=now,
        updated_by=by,
    )
    if won:
        audit.record(
            session,
            at=now,
            actor=by,
            action="owner.reassign",
            subject=f"domain:{domain}",
            before={"owner": expected_owner},
            after={"owner": to},
        )
    return won
