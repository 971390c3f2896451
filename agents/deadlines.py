"""Deadlines: projects due this week, overdue, and sources that disagree (DESIGN sections 1, 12).

The agent owns one data domain (`project_status` in the example manifest) and reads the
projects each source reported (`projects.csv`, one row per source and project). The domain
lists its sources in order and the first is the owning one: its word is the truth. When
another source disagrees on a project's due date or status, that is one conflict for the
domain's owner to reconcile, never a second due date in the lists: due and overdue always
use the truth's values. A source the domain does not list still counts, after the listed
ones, so a project only it reports is not lost.

"Today" is the agency-local date (the caller's), and the week runs through Sunday.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner
from switchboard.store.source_data import Client, Project, ProjectStatus

AGENT = "deadlines"
SUNDAY = 6  # date.weekday()

Disputed = Literal["due_date", "status"]


class ProjectDue(BaseModel):
    """A project as its truth reports it."""

    project_id: str
    client_id: str
    client_name: str
    name: str
    due_date: date
    status: ProjectStatus
    source: str  # where these values come from: the owning source whenever it has the project
    days_late: int  # 0 when not overdue


class SourceValue(BaseModel):
    """What one source says about a project."""

    source: str
    due_date: date
    status: ProjectStatus


class Conflict(BaseModel):
    """Sources that disagree on one project, for the domain's owner to reconcile."""

    project_id: str
    client_id: str
    client_name: str
    name: str
    fields: list[Disputed]  # what they disagree on
    values: list[SourceValue]  # every source that has the project, the truth first
    truth: str  # the source whose values the lists use
    owner: str  # the domain owner's Slack user id


class DeadlinesReport(BaseModel):
    """`model_dump(mode="json")` gives dates as ISO text."""

    today: date
    week_ends: date  # the Sunday of today's week (today itself on a Sunday)
    domain: str
    owner: str
    sources: list[str]  # the domain's sources, the owning one first
    due_this_week: list[ProjectDue]  # today through week_ends, not done
    overdue: list[ProjectDue]  # due before today, not done
    conflicts: list[Conflict]


def week_end(today: date) -> date:
    return today + timedelta(days=SUNDAY - today.weekday())


def _disagreement(truth: Project, other: Project) -> set[Disputed]:
    fields: set[Disputed] = set()
    if other.due_date != truth.due_date:
        fields.add("due_date")
    if other.status is not truth.status:
        fields.add("status")
    return fields


def _reported(
    session: Session, sources: Sequence[str], *, client_id: str | None = None
) -> list[tuple[list[Project], str]]:
    """Each project's rows, the truth first, with its client's name; by project id."""

    def rank(row: Project) -> tuple[int, str]:
        at = sources.index(row.source) if row.source in sources else len(sources)
        return at, row.source

    by_project: dict[str, list[Project]] = defaultdict(list)
    names: dict[str, str] = {}
    query = select(Project, Client.name).join(Client, Client.client_id == Project.client_id)
    if client_id is not None:
        query = query.where(Project.client_id == client_id)
    for project, client_name in session.execute(query):
        by_project[project.project_id].append(project)
        names[project.client_id] = client_name
    return [
        (sorted(rows, key=rank), names[rows[0].client_id]) for _, rows in sorted(by_project.items())
    ]


def _sources(manifest: AgencyManifest) -> list[str]:
    domain = manifest.domain_of(AGENT)
    return list(manifest.domains[domain].sources) if domain else []


def truths(
    session: Session, manifest: AgencyManifest, *, client_id: str | None = None
) -> list[Project]:
    """One row per project, the truth's: for anything else that shows projects to people
    (a handoff's context), so it never shows two due dates for one project either."""
    return [rows[0] for rows, _ in _reported(session, _sources(manifest), client_id=client_id)]


def evaluate(session: Session, *, manifest: AgencyManifest, today: date) -> DeadlinesReport:
    """Read every project from the store and report on it for `today` (read-only).

    Raises ValueError when the manifest gives the deadlines agent no domain.
    """
    domain = manifest.domain_of(AGENT)
    if domain is None:
        raise ValueError(f"the manifest gives the {AGENT} agent no domain to own")
    sources = _sources(manifest)
    stored = session.get(DomainOwner, domain)  # a reassignment from Slack wins over the manifest
    owner = stored.owner if stored else manifest.domains[domain].owner
    ends = week_end(today)
    due: list[ProjectDue] = []
    overdue: list[ProjectDue] = []
    conflicts: list[Conflict] = []
    for rows, client_name in _reported(session, sources):
        truth, others = rows[0], rows[1:]
        fields = set().union(*(_disagreement(truth, other) for other in others))
        # A project every source calls done has nothing left to reconcile.
        if fields and any(row.status is not ProjectStatus.DONE for row in rows):
            conflicts.append(
                Conflict(
                    project_id=truth.project_id,
                    client_id=truth.client_id,
                    client_name=client_name,
                    name=truth.name,
                    fields=sorted(fields),
                    values=[
                        SourceValue(source=r.source, due_date=r.due_date, status=r.status)
                        for r in rows
                    ],
                    truth=truth.source,
                    owner=owner,
                )
            )
        if truth.status is ProjectStatus.DONE or truth.due_date > ends:
            continue
        item = ProjectDue(
            project_id=truth.project_id,
            client_id=truth.client_id,
            client_name=client_name,
            name=truth.name,
            due_date=truth.due_date,
            status=truth.status,
            source=truth.source,
            days_late=max((today - truth.due_date).days, 0),
        )
        (overdue if truth.due_date < today else due).append(item)
    return DeadlinesReport(
        today=today,
        week_ends=ends,
        domain=domain,
        owner=owner,
        sources=sources,
        due_this_week=sorted(due, key=lambda p: (p.due_date, p.project_id)),
        overdue=sorted(overdue, key=lambda p: (p.due_date, p.project_id)),
        conflicts=conflicts,
    )
