"""Rich tables for the terminal: pure functions from domain objects to renderables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.table import Table

from switchboard.agents.pacing import AccountPace, PaceStatus, PacingReport
from switchboard.store.alerts import Alert, AlertState
from switchboard.store.audit import AuditEvent

_STATUS_STYLE = {
    PaceStatus.OVER: "bold red",
    PaceStatus.UNDER: "bold yellow",
    PaceStatus.DARK: "bold magenta",
    PaceStatus.NO_BUDGET: "cyan",
    PaceStatus.NOT_ENOUGH_DATA: "dim",
    PaceStatus.ON_TRACK: "green",
}


def _pct(value: float | Decimal | None) -> str:
    if value is None:
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.1')) + 0:+.1f}%"  # never "-0.0%"


def _status(account: AccountPace) -> str:
    style = _STATUS_STYLE[account.status]
    text = f"[{style}]{account.status.value}[/]"
    if account.suppressed:
        text += f" [dim](suppressed: {account.suppressed.code})[/]"
    elif account.alert:
        text += " [bold]ALERT[/]"
    return text


def pacing_table(report: PacingReport, notes: dict[str, str] | None = None) -> Table:
    table = Table(
        title=f"Pacing as of {report.as_of} (data through {report.data_through})",
        title_justify="left",
    )
    for name, justify in [
        ("account", "left"),
        ("client", "left"),
        ("budget", "right"),
        ("plan to date", "right"),
        ("spend to date", "right"),
        ("pace", "right"),
        ("deviation", "right"),
        ("month-end", "right"),
        ("status", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    if notes:
        table.add_column("scenario", style="dim")
    for a in report.accounts:
        j = a.to_json()
        row = [
            a.account_id,
            a.client_id,
            j["budget"] or "-",
            j["plan_to_date"],
            j["spend_to_date"],
            "" if j["pace_pct"] is None else f"{j['pace_pct']:.1f}%",
            _pct(j["deviation_pct"]),
            j["projected_month_end"],
            _status(a),
        ]
        if notes:
            row.append(notes.get(a.account_id, ""))
        table.add_row(*row)
    p = report.portfolio.to_json()
    outliers = ", ".join(p["cpl_outliers"]) or "none"
    table.caption = (
        f"Portfolio CPL: median {p['median_cpl'] or '-'} · mean {p['mean_cpl'] or '-'} · "
        f"outliers {outliers}"
    )
    return table


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def alerts_table(rows: Sequence[Alert], tz: ZoneInfo) -> Table:
    table = Table(title="Alerts", title_justify="left")
    for name in [
        "id",
        "account",
        "client",
        "month",
        "direction",
        "deviation",
        "state",
        "acknowledged",
        "suppression",
    ]:
        table.add_column(name)
    for a in rows:
        ack = f"{a.acknowledged_by} {_when(a.acknowledged_at, tz)}" if a.acknowledged_by else ""
        style = "bold red" if a.state is AlertState.OPEN else ""
        table.add_row(
            str(a.id),
            a.account_id,
            a.client_id,
            a.month,
            a.direction.value,
            _pct(a.deviation_pct),
            f"[{style}]{a.state.value}[/]" if style else a.state.value,
            ack,
            f"{a.suppressed_code}: {a.suppressed_detail}" if a.suppressed_code else "",
        )
    return table


def audit_table(events: Sequence[AuditEvent], tz: ZoneInfo) -> Table:
    table = Table(title="Audit log (newest first)", title_justify="left")
    for name in ["time", "actor", "action", "subject", "before", "after"]:
        table.add_column(name)
    for e in events:
        table.add_row(
            _when(e.at, tz),
            e.actor,
            e.action,
            e.subject,
            "" if e.before is None else str(e.before),
            "" if e.after is None else str(e.after),
        )
    return table
