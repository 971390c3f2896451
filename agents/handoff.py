"""What a person needs when mail is handed to them instead of drafted: the mail itself, the
client's recent history (other mail, open alerts, projects), what the agents know, and a
suggested next step. It becomes the escalation's context (raw text: views escape it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from switchboard.agents.deadlines import truths
from switchboard.agents.triage import BY_CODE
from switchboard.store.alerts import UNRESOLVED, Alert, AlertState
from switchboard.store.manifest import AgencyManifest
from switchboard.store.source_data import Client, InboundEmail, ProjectStatus

EXCERPT = 400
HISTORY_DAYS = 30


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def handoff(
    session: Session, email: InboundEmail, reasons: list[str], manifest: AgencyManifest
) -> dict[str, Any]:
    client = session.get(Client, email.client_id)
    name = client.name if client else email.client_id
    why = ", ".join(BY_CODE[code].what for code in reasons)
    since = email.received_at - timedelta(days=HISTORY_DAYS)
    others = session.scalars(
        select(InboundEmail)
        .where(
            InboundEmail.client_id == email.client_id,
            InboundEmail.message_id != email.message_id,
            InboundEmail.received_at >= since,
        )
        .order_by(col(InboundEmail.received_at).desc())
        .limit(3)
    ).all()
    alerts = session.scalars(
        select(Alert).where(
            Alert.client_id == email.client_id,
            col(Alert.state).in_([s for s in UNRESOLVED if s is not AlertState.SUPPRESSED]),
        )
    ).all()
    # Each project as its owning source reports it: one due date, never one per source.
    projects = [
        p
        for p in truths(session, manifest, client_id=email.client_id)
        if p.status is not ProjectStatus.DONE
    ]
    details = [
        f'From {email.from_email}, "{email.subject}": {_excerpt(email.body)}',
        "Other mail in 30 days: "
        + ("; ".join(f'"{m.subject}"' for m in others) if others else "none"),
        "Open alerts: "
        + (
            "; ".join(
                f"{a.direction.value} {a.account_id} {a.deviation_pct:+.1f}%"
                if a.deviation_pct is not None
                else f"{a.direction.value} {a.account_id}"
                for a in alerts
            )
            if alerts
            else "none"
        ),
        "Projects: "
        + (
            "; ".join(f"{p.name} due {p.due_date} ({p.status.value})" for p in projects)
            if projects
            else "none open"
        ),
        "No draft was written: " + why + ".",
        "Suggested next step: " + " ".join(BY_CODE[code].next_step for code in reasons),
    ]
    return {"headline": f"{name} needs a person: {why}", "details": details}
