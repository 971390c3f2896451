"""The morning briefing, composed from the store: one section per subject, each from the
domain that owns it, so two agents can never report two truths for one thing.

Pure data (plain text and the ids each item is about); `handlers/views/briefing.py` renders
it for Slack and the terminal. Summaries are not gated by autonomy: a shadow agent's findings
are here, marked "(shadow)", because reading them is how people learn to trust it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from switchboard.agents import autonomy, deadlines
from switchboard.agents.deadlines import ProjectDue
from switchboard.agents.durations import age
from switchboard.agents.pacing import PaceStatus, PacingReport, evaluate
from switchboard.store import agent_state, drafts, escalations, import_records
from switchboard.store.agent_state import Autonomy
from switchboard.store.escalations import EscalationStatus
from switchboard.store.manifest import AgencyManifest
from switchboard.store.source_data import AdAccount, Client

CENT, TENTH = Decimal("0.01"), Decimal("0.1")  # rounded half up, as alerts and pacing are
Names = dict[str, str]  # client names by id


class SectionKey(StrEnum):
    PACING = "pacing"
    PORTFOLIO = "portfolio"
    ESCALATIONS = "escalations"
    DRAFTS = "drafts"
    DEADLINES = "deadlines"
    CONFLICTS = "conflicts"
    SHADOW = "shadow"
    STALE_SOURCES = "stale_sources"


# The agent whose findings a section shows: its level marks the section.
SECTION_AGENT = {
    SectionKey.PACING: "pacing",
    SectionKey.PORTFOLIO: "pacing",
    SectionKey.DRAFTS: "drafting",
    SectionKey.DEADLINES: "deadlines",
    SectionKey.CONFLICTS: "deadlines",
}


class Item(BaseModel):
    """One line of a section: plain text (escaped where it is shown) and what it is about."""

    text: str
    account_id: str | None = None
    client_id: str | None = None
    project_id: str | None = None
    escalation_id: int | None = None
    draft_id: int | None = None
    agent: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Section(BaseModel):
    key: SectionKey
    title: str
    items: list[Item] = Field(default_factory=list)
    note: str | None = None  # a summary line under the title (counts, the oldest age)
    marked: str | None = None  # "shadow" or "paused": the owning agent's level, shown

    @property
    def heading(self) -> str:
        return f"{self.title} ({self.marked})" if self.marked else self.title


class Briefing(BaseModel):
    agency: str
    day: date
    sections: list[Section]
    pacing: PacingReport | None = None  # for the chart; not part of the JSON

    def section(self, key: SectionKey) -> Section:
        return next(s for s in self.sections if s.key is key)

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "sections": [
                {
                    "key": s.key.value,
                    "title": s.heading,
                    "note": s.note,
                    "items": [i.to_json() for i in s.items],
                }
                for s in self.sections
            ],
        }


def _pct(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(TENTH, rounding=ROUND_HALF_UP):+}%"


_PACING_WORDS = {PaceStatus.OVER: "over", PaceStatus.UNDER: "under", PaceStatus.DARK: "dark"}


def pacing_section(session: Session, report: PacingReport, clients: Names) -> Section:
    accounts = {a.account_id: a.name for a in session.scalars(select(AdAccount))}
    items, held = [], Counter[str]()
    worst_first = sorted(
        (a for a in report.accounts if a.status in _PACING_WORDS),
        key=lambda a: -abs(a.deviation_pct or Decimal(0)),
    )
    for finding in worst_first:
        if finding.suppressed is not None:
            held[finding.suppressed.code] += 1
            continue
        if not finding.alert:
            continue
        name = accounts.get(finding.account_id, finding.account_id)
        client = clients.get(finding.client_id, finding.client_id)
        items.append(
            Item(
                text=f"{client} · {name} ({finding.account_id}): "
                f"{_PACING_WORDS[finding.status]} {_pct(finding.deviation_pct)}".rstrip(),
                account_id=finding.account_id,
                client_id=finding.client_id,
            )
        )
    note = None
    if held:
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(held.items()))
        note = f"{held.total()} held back by a cross-check ({reasons})"
    return Section(key=SectionKey.PACING, title="Pacing", items=items, note=note)


def portfolio_section(report: PacingReport, clients: Names) -> Section:
    portfolio = report.portfolio
    if portfolio.median_cpl is None:
        return Section(key=SectionKey.PORTFOLIO, title="Portfolio cost per lead")
    items = [
        Item(text=f"{clients.get(c, c)}: CPL far from the portfolio's", client_id=c)
        for c in portfolio.cpl_outliers
    ]
    note = f"Median CPL {portfolio.median_cpl.quantize(CENT, rounding=ROUND_HALF_UP)}"
    if portfolio.cpl_outliers:
        note += f", {len(portfolio.cpl_outliers)} outlier(s)"
    return Section(
        key=SectionKey.PORTFOLIO, title="Portfolio cost per lead", items=items, note=note
    )


def escalations_section(session: Session, now: datetime) -> Section:
    items = []
    waiting = [e for e in escalations.listing(session) if e.status is EscalationStatus.OPEN]
    steps = escalations.steps_of(session, [e.id for e in waiting])  # type: ignore[misc]
    for escalation in waiting:
        headline = escalation.context.get("headline") or escalation.subject
        level = escalations.reached(steps[escalation.id])  # type: ignore[index]
        items.append(
            Item(
                text=f"#{escalation.id} {headline} · level {level} of "
                f"{len(escalation.policy)} · open {age(escalation.created_at, now)}",
                escalation_id=escalation.id,
            )
        )
    return Section(key=SectionKey.ESCALATIONS, title="Open escalations", items=items)


def drafts_section(session: Session, now: datetime, clients: Names) -> Section:
    waiting = drafts.listing(session)
    items = [
        Item(
            text=f"#{d.id} {clients.get(d.client_id, d.client_id)}: {d.subject} · "
            f"waiting {age(d.created_at, now)}",
            draft_id=d.id,
            client_id=d.client_id,
        )
        for d in waiting
    ]
    note = None
    if waiting:
        note = f"Oldest waiting {age(min(d.created_at for d in waiting), now)}"
    return Section(key=SectionKey.DRAFTS, title="Drafts awaiting approval", items=items, note=note)


def shadow_section(session: Session, manifest: AgencyManifest, day: date) -> Section:
    items = []
    for status in autonomy.statuses(session, manifest, today=day):
        if status.level is Autonomy.PAUSED:
            was = f" (from {status.paused_from.value})" if status.paused_from else ""
            items.append(Item(text=f"{status.name}: paused{was}", agent=status.name))
        if status.level is not Autonomy.SHADOW:
            continue
        agreement = (
            "no verdicts yet"
            if status.agreement_pct is None
            else f"{status.agreement_pct.quantize(TENTH, rounding=ROUND_HALF_UP)}% agreement"
        )
        items.append(
            Item(
                text=f"{status.name}: {status.days_in_shadow or 0} days in shadow, "
                f"{status.reviewed} of {status.outputs} outputs reviewed, {agreement}",
                agent=status.name,
            )
        )
    return Section(key=SectionKey.SHADOW, title="Agents in shadow", items=items)


def _project(project: ProjectDue, when: str) -> Item:
    return Item(
        text=f"{project.client_name} · {project.name} ({project.project_id}): {when}",
        project_id=project.project_id,
        client_id=project.client_id,
        source=project.source,
    )


def deadline_sections(session: Session, manifest: AgencyManifest, day: date) -> list[Section]:
    """Due this week and overdue, then conflicts: each project once, by its owning source."""
    due, conflicts = [], []
    if manifest.domain_of(deadlines.AGENT) is not None:
        report = deadlines.evaluate(session, manifest=manifest, today=day)
        due += [_project(p, f"overdue {p.days_late}d, due {p.due_date}") for p in report.overdue]
        due += [_project(p, f"due {p.due_date:%a %d %b}") for p in report.due_this_week]
        for conflict in report.conflicts:
            values = "; ".join(
                f"{v.source} says {v.due_date} ({v.status.value})" for v in conflict.values
            )
            owner = manifest.name_of(conflict.owner)
            conflicts.append(
                Item(
                    text=f"{conflict.client_name} · {conflict.name} ({conflict.project_id}): "
                    f"{values}. {conflict.truth} is the truth; {owner} to reconcile",
                    project_id=conflict.project_id,
                    client_id=conflict.client_id,
                    source=conflict.truth,
                )
            )
    return [
        Section(key=SectionKey.DEADLINES, title="Deadlines: overdue and this week", items=due),
        Section(key=SectionKey.CONFLICTS, title="Conflicts between sources", items=conflicts),
    ]


def stale_section(session: Session, manifest: AgencyManifest, day: date) -> Section:
    expected = {source for domain in manifest.domains.values() for source in domain.sources}
    items = [
        Item(
            text=f"{stale.source}: no new rows since {stale.last_new_on} ({stale.days} days)"
            if stale.last_new_on
            else f"{stale.source}: no rows ever imported",
            source=stale.source,
        )
        for stale in import_records.stale_sources(session, day, expected=expected)
    ]
    return Section(key=SectionKey.STALE_SOURCES, title="Stale sources", items=items)


def _mark(session: Session, section: Section) -> Section:
    agent = SECTION_AGENT.get(section.key)
    level = agent_state.level(session, agent) if agent else None
    if level in (Autonomy.SHADOW, Autonomy.PAUSED):
        section.marked = level.value  # type: ignore[union-attr]
    return section


def compose(session: Session, manifest: AgencyManifest, *, day: date, now: datetime) -> Briefing:
    """The briefing for the agency-local `day`, as the store holds it at `now`."""
    report = evaluate(session, as_of=day, thresholds=manifest.pacing)
    clients: Names = {c: n for c, n in session.execute(select(Client.client_id, Client.name))}
    sections = [
        pacing_section(session, report, clients),
        portfolio_section(report, clients),
        escalations_section(session, now),
        drafts_section(session, now, clients),
        *deadline_sections(session, manifest, day),
        shadow_section(session, manifest, day),
        stale_section(session, manifest, day),
    ]
    return Briefing(
        agency=manifest.agency,
        day=day,
        sections=[_mark(session, s) for s in sections],
        pacing=report,
    )
