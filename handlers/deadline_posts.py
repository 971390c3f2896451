"""Overdue projects in Slack: each opens an escalation under the deadlines agent's policy.

Once per project and due date (the subject `project:P-1:2026-03-13`): a second run opens
nothing, even after someone acknowledged the first, while a new due date that passes too
opens a new one. `open_escalation` applies the autonomy gate, so in shadow each is one
"Would have escalated" post in the shadow channel, never a DM. An escalation whose project
is no longer overdue (done, or given a later date) is resolved and its messages say so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from switchboard.agents.deadlines import AGENT, DeadlinesReport, ProjectDue
from switchboard.handlers.escalation_posts import close_for, open_escalation
from switchboard.store import escalations
from switchboard.store.manifest import AgencyManifest

SUBJECT = "project"


def subject_of(project: ProjectDue) -> str:
    return f"{SUBJECT}:{project.project_id}:{project.due_date.isoformat()}"


def escalation_context(project: ProjectDue) -> dict[str, Any]:
    """What the escalation's messages say (raw text: the view escapes it)."""
    late = f"{project.days_late} day{'s' if project.days_late != 1 else ''} late"
    return {
        "headline": f"Overdue: {project.name} for {project.client_name}, {late}",
        "details": [
            f"{project.project_id} was due {project.due_date.isoformat()} and is "
            f"{project.status.value.replace('_', ' ')} (per {project.source})"
        ],
    }


def escalate_overdue(
    session: Session, report: DeadlinesReport, *, manifest: AgencyManifest, now: datetime
) -> int:
    """Open an escalation for each overdue project not escalated for its due date before,
    and resolve those no longer overdue; in the run's transaction. Returns how many opened
    (none in shadow: those are shadow posts)."""
    opened = 0
    overdue = {subject_of(project): project for project in report.overdue}
    for subject, project in overdue.items():
        if escalations.ever_opened(session, subject):
            continue
        escalation = open_escalation(
            session,
            subject=subject,
            domain=report.domain,
            agent=AGENT,
            context=escalation_context(project),
            manifest=manifest,
            now=now,
        )
        opened += escalation is not None
    for escalation in escalations.listing(session):
        ours = escalation.domain == report.domain and escalation.subject.startswith(f"{SUBJECT}:")
        if ours and escalation.subject not in overdue:
            close_for(
                session,
                escalation.subject,
                reason="the project is no longer overdue (done, or a later due date)",
                actor=f"agent:{AGENT}",
                manifest=manifest,
                now=now,
            )
    return opened
