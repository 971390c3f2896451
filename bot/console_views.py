"""Rich tables for the terminal: pure functions from domain objects to renderables (and
`load_names`, the one query for the names they show).

Data never reaches rich as markup: every value from the store or the manifest becomes a cell
through `plain()` (bot/terminal.py). Each table declares its columns in priority order (the
first ones, such as client, status, deviation, owner, always show) and is a `FittedTable`,
so it fits the width it is rendered at; `wide=True` keeps every column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.text import Text
from sqlmodel import Session, select

from switchboard.bot.terminal import Column, FittedTable, plain, slack_to_terminal
from switchboard.handlers.views.text import escape
from switchboard.store.alerts import Alert, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.drafts import Draft
from switchboard.store.escalations import Escalation, EscalationStep, Via
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner
from switchboard.store.source_data import AdAccount, Client

# `switchboard alerts` and `audit` do not load the pacing agent: only its types are named here.
if TYPE_CHECKING:
    from switchboard.agents.autonomy import AgentStatus
    from switchboard.agents.pacing import AccountPace, PacingReport

_STATUS_STYLE = {  # by PaceStatus value
    "over": "bold red",
    "under": "bold yellow",
    "dark": "bold magenta",
    "no_budget": "cyan",
    "not_enough_data": "dim",
    "on_track": "green",
}


@dataclass(frozen=True)
class Names:
    """What the tables show instead of codes and Slack ids; a code without a name shows as is."""

    people: Mapping[str, str] = field(default_factory=dict)  # Slack user id -> name
    clients: Mapping[str, str] = field(default_factory=dict)  # client_id -> name
    accounts: Mapping[str, str] = field(default_factory=dict)  # account_id -> account name
    # The human owner of the domain the pacing agent works in: every pacing alert is theirs.
    pacing_owner: str | None = None

    def person(self, slack_id: str | None) -> str:
        """`@Ana` for a person in the manifest; any other id (or actor) unchanged."""
        if not slack_id:
            return ""
        name = self.people.get(slack_id)
        return f"@{name}" if name else slack_id

    def client(self, client_id: str) -> str:
        return self.clients.get(client_id, client_id)


def load_names(session: Session, manifest: AgencyManifest) -> Names:
    """The names the tables need: the manifest's people, client and account names, and the
    current owner of the pacing agent's domain (as stored, or as the manifest seeds it)."""
    owner = None
    domain = next((name for name, d in manifest.domains.items() if d.agent == "pacing"), None)
    if domain is not None:
        stored = session.get(DomainOwner, domain)
        owner = stored.owner if stored else manifest.domains[domain].owner
    return Names(
        people={p.slack_id: p.name for p in manifest.people},
        clients=dict(session.exec(select(Client.client_id, Client.name)).all()),
        accounts=dict(session.exec(select(AdAccount.account_id, AdAccount.name)).all()),
        pacing_owner=owner,
    )


def _pct(value: float | Decimal | None) -> str:
    if value is None:
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.1')) + 0:+.1f}%"  # never "-0.0%"


def _status(account: AccountPace) -> Text:
    text = plain(account.status.value, _STATUS_STYLE[account.status.value])
    if account.suppressed:
        text.append_text(plain(f" (suppressed: {account.suppressed.code})", "dim"))
    elif account.alert:
        text.append_text(plain(" ALERT", "bold"))
    return text


PACING_COLUMNS = {
    "client": Column("client", min_width=20),
    "client id": Column("client id"),
    "account": Column("account"),
    "account name": Column("account name", min_width=24),
    "owner": Column("owner", min_width=12),
    "budget": Column("budget", "right"),
    "plan to date": Column("plan to date", "right"),
    "spend to date": Column("spend to date", "right"),
    "pace": Column("pace", "right"),
    "deviation": Column("deviation", "right"),
    "month-end": Column("month-end", "right"),
    "status": Column("status", min_width=20),
    "scenario": Column("scenario", min_width=12),
}
# Most important first; the last goes first as the terminal narrows. The account id tells a
# client's accounts apart; `scenario` (the demo's notes) says what each row shows; then the
# figures behind the deviation; the account name and client id repeat what is shown.
PACING_PRIORITY = (
    "client",
    "status",
    "deviation",
    "owner",
    "account",
    "scenario",
    "pace",
    "spend to date",
    "budget",
    "month-end",
    "plan to date",
    "account name",
    "client id",
)
ESSENTIAL = 4  # client, status, deviation, owner: always shown


def pacing_table(
    report: PacingReport,
    notes: dict[str, str] | None = None,
    *,
    names: Names | None = None,
    wide: bool = False,
) -> FittedTable:
    """The pacing report, one row per account; `notes` adds a scenario column by account id."""
    names = names or Names()
    columns = dict(PACING_COLUMNS)
    if not notes:
        del columns["scenario"]
    if names.pacing_owner is None:
        del columns["owner"]
    if not names.clients:
        del columns["client id"]  # the client column shows the id already
    if not names.accounts:
        del columns["account name"]
    table = FittedTable(
        f"Pacing as of {report.as_of} (data through {report.data_through})",
        columns,
        [key for key in PACING_PRIORITY if key in columns],
        essential=sum(key in columns for key in PACING_PRIORITY[:ESSENTIAL]),
        wide=wide,
    )
    owner = names.person(names.pacing_owner)
    for a in report.accounts:
        j = a.to_json()
        table.add_row(
            {
                "client": plain(names.client(a.client_id)),
                "client id": plain(a.client_id),
                "account": plain(a.account_id),
                "account name": plain(names.accounts.get(a.account_id, "")),
                "owner": plain(owner),
                "budget": plain(j["budget"] or "-"),
                "plan to date": plain(j["plan_to_date"]),
                "spend to date": plain(j["spend_to_date"]),
                "pace": plain("" if j["pace_pct"] is None else f"{j['pace_pct']:.1f}%"),
                "deviation": plain(_pct(j["deviation_pct"])),
                "month-end": plain(j["projected_month_end"]),
                "status": _status(a),
                "scenario": plain((notes or {}).get(a.account_id, ""), "dim"),
            }
        )
    p = report.portfolio.to_json()
    outliers = ", ".join(names.client(c) for c in p["cpl_outliers"]) or "none"
    table.caption = plain(
        f"Portfolio CPL: median {p['median_cpl'] or '-'} · mean {p['mean_cpl'] or '-'} · "
        f"outliers {outliers}",
        "table.caption",
    )
    return table


# --- alerts and audit ----------------------------------------------------------------------------


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    """Agency time with its zone, e.g. `2026-11-29 09:14 EST` (or `+04` where it has no name)."""
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


ALERT_COLUMNS = {
    "id": Column("id", "right"),
    "client": Column("client", min_width=20),
    "client id": Column("client id"),
    "account": Column("account"),
    "account name": Column("account name", min_width=24),
    "month": Column("month"),
    "direction": Column("direction"),
    "deviation": Column("deviation", "right"),
    "state": Column("state"),
    "owner": Column("owner", min_width=12),
    "acknowledged": Column("acknowledged", min_width=16),
    "suppression": Column("suppression", min_width=12),
}
# Most important first. The id is what a person acts on; a suppressed alert's reason comes
# before the direction (mostly the deviation's sign) and who acknowledged it when.
ALERT_PRIORITY = (
    "client",
    "state",
    "deviation",
    "owner",
    "id",
    "suppression",
    "direction",
    "acknowledged",
    "account",
    "month",
    "account name",
    "client id",
)


def alerts_table(
    rows: Sequence[Alert], tz: ZoneInfo, *, names: Names | None = None, wide: bool = False
) -> FittedTable:
    """Alerts with their owner (assignee), times in the agency's zone `tz`."""
    names = names or Names()
    columns = dict(ALERT_COLUMNS)
    if not names.clients:
        del columns["client id"]
    if not names.accounts:
        del columns["account name"]
    table = FittedTable(
        "Alerts",
        columns,
        [key for key in ALERT_PRIORITY if key in columns],
        essential=ESSENTIAL,
        wide=wide,
    )
    for a in rows:
        ack = ""
        if a.acknowledged_by:
            ack = f"{names.person(a.acknowledged_by)} {_when(a.acknowledged_at, tz)}".strip()
        table.add_row(
            {
                "id": plain(a.id),
                "client": plain(names.client(a.client_id)),
                "client id": plain(a.client_id),
                "account": plain(a.account_id),
                "account name": plain(names.accounts.get(a.account_id, "")),
                "month": plain(a.month),
                "direction": plain(a.direction.value),
                "deviation": plain(_pct(a.deviation_pct)),
                "state": plain(a.state.value, "bold red" if a.state is AlertState.OPEN else ""),
                "owner": plain(names.person(a.assignee)),
                "acknowledged": plain(ack),
                "suppression": plain(
                    f"{a.suppressed_code}: {a.suppressed_detail}" if a.suppressed_code else ""
                ),
            }
        )
    return table


AUDIT_COLUMNS = {
    "time": Column("time", min_width=10),  # wraps between the date and the time
    "actor": Column("actor", min_width=12),
    "action": Column("action", min_width=12),
    "subject": Column("subject", min_width=12),
    "before": Column("before", min_width=12),
    "after": Column("after", min_width=12),
}


def _change(values: dict[str, object] | None, names: Names) -> str:
    """`state: open, code: excluded`; a Slack id of a person in the manifest as `@Name`."""
    if values is None:
        return ""
    shown = (names.person(v) if isinstance(v, str) else v for v in values.values())
    return ", ".join(f"{key}: {value}" for key, value in zip(values, shown, strict=True))


def audit_table(
    events: Sequence[AuditEvent], tz: ZoneInfo, *, names: Names | None = None
) -> FittedTable:
    """The audit log as given (newest first); every column is kept, wrapping to fit."""
    names = names or Names()
    table = FittedTable(
        "Audit log (newest first)",
        AUDIT_COLUMNS,
        list(AUDIT_COLUMNS),
        essential=len(AUDIT_COLUMNS),
    )
    for e in events:
        table.add_row(
            {
                "time": plain(_when(e.at, tz)),
                "actor": plain(names.person(e.actor)),
                "action": plain(e.action),
                "subject": plain(e.subject),
                "before": plain(_change(e.before, names)),
                "after": plain(_change(e.after, names)),
            }
        )
    return table


ESCALATION_COLUMNS = {
    "id": Column("id", "right"),
    "about": Column("about", min_width=20),
    "status": Column("status"),
    "level": Column("level"),
    "last step": Column("last step", min_width=16),
    "next step": Column("next step"),
    "policy": Column("policy"),
    "opened": Column("opened"),
    "acknowledged": Column("acknowledged", min_width=14),
}
ESCALATION_PRIORITY = [
    "about",
    "status",
    "level",
    "next step",
    "last step",
    "id",
    "acknowledged",
    "opened",
    "policy",
]


def _about(escalation: Escalation) -> str:
    return str(escalation.context.get("headline") or escalation.subject)


def escalations_table(
    rows: Sequence[tuple[Escalation, Sequence[EscalationStep]]],
    tz: ZoneInfo,
    *,
    names: Names | None = None,
    wide: bool = False,
) -> FittedTable:
    names = names or Names()
    table = FittedTable(
        "Escalations", ESCALATION_COLUMNS, ESCALATION_PRIORITY, essential=4, wide=wide
    )
    for escalation, steps in rows:
        last = ""
        if steps:
            step = steps[-1]
            where = names.person(step.target) if step.via is Via.DM else f"#{step.target}"
            last = f"{step.level}: {where if step.target else 'nobody'} {step.state.value}"
            if step.error:
                last += f" ({step.error})"
        ack = ""
        if escalation.acknowledged_by:
            when = _when(escalation.acknowledged_at, tz)
            ack = f"{names.person(escalation.acknowledged_by)} {when}"
        table.add_row(
            {
                "id": plain(escalation.id),
                # Raw data: escaped first, so only its emoji codes become emoji.
                "about": plain(slack_to_terminal(escape(_about(escalation)), {})),
                "status": plain(escalation.status.value),
                "level": plain(f"{escalation.level} of {escalation.levels}"),
                "last step": plain(slack_to_terminal(last, names.people)),
                "next step": plain(_when(escalation.next_step_at, tz)),
                "policy": plain(escalation.policy_name),
                "opened": plain(_when(escalation.created_at, tz)),
                "acknowledged": plain(ack),
            }
        )
    return table


DRAFT_COLUMNS = {
    "id": Column("id", "right"),
    "client": Column("client", min_width=14),
    "subject": Column("subject", min_width=16),
    "state": Column("state"),
    "drafter": Column("drafter"),
    "flags": Column("flags", min_width=10),
    "written": Column("written"),
    "decided": Column("decided", min_width=14),
    "sent": Column("sent"),
}
DRAFT_PRIORITY = [
    "subject",
    "state",
    "client",
    "flags",
    "id",
    "decided",
    "drafter",
    "written",
    "sent",
]


def drafts_table(
    rows: Sequence[Draft], tz: ZoneInfo, *, names: Names | None = None, wide: bool = False
) -> FittedTable:
    names = names or Names()
    table = FittedTable("Drafts", DRAFT_COLUMNS, DRAFT_PRIORITY, essential=3, wide=wide)
    for draft in rows:
        decided = ""
        if draft.decided_by:
            decided = f"{names.person(draft.decided_by)} {_when(draft.decided_at, tz)}"
        flags = ", ".join(f"{f['rule']} ({f['level']})" for f in draft.lint)
        table.add_row(
            {
                "id": plain(draft.id),
                "client": plain(names.client(draft.client_id)),
                "subject": plain(draft.subject),
                "state": plain(draft.state.value),
                "drafter": plain(draft.drafter),
                "flags": plain(flags),
                "written": plain(_when(draft.created_at, tz)),
                "decided": plain(decided),
                "sent": plain(_when(draft.sent_at, tz)),
            }
        )
    return table


AGENT_COLUMNS = {
    "agent": Column("agent"),
    "level": Column("level"),
    "domain": Column("domain"),
    "in shadow": Column("in shadow", min_width=12),
    "outputs": Column("outputs", "right"),
    "reviewed": Column("reviewed", "right"),
    "agreement": Column("agreement", "right"),
}
AGENT_PRIORITY = ["agent", "level", "domain", "in shadow", "reviewed", "agreement", "outputs"]


def agents_table(rows: Sequence[AgentStatus]) -> FittedTable:
    """`switchboard agents list`: one agent per row, its shadow record beside its level."""
    table = FittedTable("Agents", AGENT_COLUMNS, AGENT_PRIORITY, essential=2)
    for status in rows:
        level = status.level.value
        if status.paused_from is not None:
            level += f" (from {status.paused_from.value})"
        since = ""
        if status.shadow_since is not None:
            since = f"{status.days_in_shadow} days (since {status.shadow_since})"
        agreement = "" if status.agreement_pct is None else f"{status.agreement_pct}%"
        table.add_row(
            {
                "agent": plain(status.name),
                "level": plain(level),
                "domain": plain(status.domain or ""),
                "in shadow": plain(since),
                "outputs": plain(status.outputs),
                "reviewed": plain(status.reviewed),
                "agreement": plain(agreement),
            }
        )
    return table
