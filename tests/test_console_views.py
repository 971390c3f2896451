"""The terminal tables: they fit the width, cut nothing an ops lead needs, show data literally."""

from __future__ import annotations

import io
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console, RenderableType

from switchboard.agents.pacing import AccountPace, PaceStatus, PacingReport, Suppression, evaluate
from switchboard.agents.portfolio import Portfolio
from switchboard.bot.agent_runs import run_agents
from switchboard.bot.console_views import (
    ALERT_PRIORITY,
    PACING_PRIORITY,
    Names,
    alerts_table,
    audit_table,
    load_names,
    pacing_table,
)
from switchboard.bot.sample_agency import CLIENTS, SCENARIOS, write_sample
from switchboard.bot.terminal import FittedTable, slack_message_lines, slack_to_terminal
from switchboard.store import alerts, audit, ownership
from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.csv_import import import_dir
from switchboard.store.engine import reading, transaction
from switchboard.store.manifest import AgencyManifest
from tests.conftest import sqlite_store

NEW_YORK = ZoneInfo("America/New_York")
AS_OF = date(2026, 3, 16)
NOW = datetime(2026, 3, 16, 13, 14, tzinfo=UTC)  # 09:14 EDT
WIDTHS = [80, 120, 200]
ESSENTIAL_PACING = ["client", "status", "deviation", "owner"]
ESSENTIAL_ALERTS = ["client", "state", "deviation", "owner"]


# --- rendering and reading a table back ----------------------------------------------------------


def squeeze(text: str) -> str:
    """Without whitespace: wrapping moves and drops spaces, never anything else."""
    return re.sub(r"\s+", "", text)


@dataclass
class Rendered:
    """A rendered table read back: its lines, and its body's cells by column header."""

    lines: list[str]
    headers: list[str]  # each header squeezed: "plan to date" reads "plantodate"
    body: list[list[str]]  # per line of the body, each cell stripped

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def width(self) -> int:
        return max(cell_len(line) for line in self.lines)

    def has(self, header: str) -> bool:
        return squeeze(header) in self.headers

    def cells(self, header: str) -> list[str]:
        """The column's non-empty cells, one per line of the body."""
        index = self.headers.index(squeeze(header))
        return [line[index] for line in self.body if line[index]]

    def column(self, header: str) -> str:
        """Everything shown in the column, top to bottom, squeezed."""
        return squeeze("".join(self.cells(header)))


def render(renderable: RenderableType, width: int, *, crop: bool = True) -> Rendered:
    """As `switchboard` prints it: cropped at the width, except with --wide."""
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable, crop=crop)
    lines = console.export_text().split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    head = [line.split("┃")[1:-1] for line in lines if line.startswith("┃")]
    headers = [squeeze("".join(cells)) for cells in zip(*head, strict=True)]
    body = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    return Rendered(lines, headers, body)


def whole(values: Sequence[str]) -> str:
    return squeeze("".join(values))


# --- the sample agency, as the demo builds it ----------------------------------------------------


@dataclass
class Sample:
    report: PacingReport
    alerts: list[Alert]
    events: list[AuditEvent]
    names: Names


@pytest.fixture(scope="module")
def sample(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, manifest: AgencyManifest
) -> Sample:
    directory = tmp_path_factory.mktemp("sample")
    _, engine = sqlite_store(sqlite_template, directory)
    try:
        write_sample(directory / "data", AS_OF, manifest.timezone)
        import_dir(engine, directory / "data", manifest.tz, now=NOW, today=AS_OF)
        with transaction(engine) as session:
            seeded = {name: (d.agent, d.owner) for name, d in manifest.domains.items()}
            ownership.seed(session, seeded, now=NOW)
        run_agents(engine, manifest, as_of=AS_OF, now=NOW)
        with transaction(engine) as session:
            first = alerts.listing(session)[0]
            assert alerts.acknowledge(session, first.id or 0, by="U0AM", now=NOW).won
        with reading(engine) as session:
            return Sample(
                report=evaluate(session, as_of=AS_OF, thresholds=manifest.pacing),
                alerts=alerts.listing(session),
                events=audit.recent(session, 50),
                names=load_names(session, manifest),
            )
    finally:
        engine.dispose()


def pacing_values(sample: Sample, header: str) -> list[str]:
    """What the pacing table should show in a column, row by row."""
    values = {
        "client": [sample.names.clients[a.client_id] for a in sample.report.accounts],
        "status": [
            a.status.value
            + (f" (suppressed: {a.suppressed.code})" if a.suppressed else "")
            + (" ALERT" if a.alert and not a.suppressed else "")
            for a in sample.report.accounts
        ],
        "deviation": [
            "" if a.deviation_pct is None else f"{a.deviation_pct:+.1f}%"
            for a in sample.report.accounts
        ],
        "owner": ["@Ana"] * len(sample.report.accounts),
    }
    return values[header]


def alert_values(sample: Sample, header: str) -> list[str]:
    values = {
        "client": [sample.names.clients[a.client_id] for a in sample.alerts],
        "state": [a.state.value for a in sample.alerts],
        "deviation": [f"{a.deviation_pct:+.1f}%" for a in sample.alerts],
        "owner": ["@Ana"] * len(sample.alerts),
    }
    return values[header]


# --- fitting the width ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_pacing_table_fits_and_cuts_no_essential_cell(sample: Sample, width: int) -> None:
    shown = render(pacing_table(sample.report, names=sample.names), width)
    assert shown.width <= width
    assert "…" not in shown.text
    for header in ESSENTIAL_PACING:
        assert shown.column(header) == whole(pacing_values(sample, header)), header
    # Short values are whole on one line: the deviation and the owner of every row.
    for header in ("deviation", "owner"):
        assert shown.cells(header) == [v for v in pacing_values(sample, header) if v]
    # A client's accounts are told apart by the account id at every width.
    assert shown.cells("account") == [a.account_id for a in sample.report.accounts]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_alerts_table_fits_and_cuts_no_essential_cell(sample: Sample, width: int) -> None:
    shown = render(alerts_table(sample.alerts, NEW_YORK, names=sample.names), width)
    assert shown.width <= width
    assert "…" not in shown.text
    for header in ESSENTIAL_ALERTS:
        assert shown.column(header) == whole(alert_values(sample, header)), header
    for header in ("state", "deviation", "owner"):
        assert shown.cells(header) == alert_values(sample, header)
    assert shown.cells("id") == [str(a.id) for a in sample.alerts]
    reasons = [f"{a.suppressed_code}: {a.suppressed_detail}" for a in sample.alerts]
    assert shown.column("suppression") == whole([r for r in reasons if r != "None: None"])


@pytest.mark.parametrize(
    ("width", "columns"),
    [
        (80, "client account owner deviation status"),
        (
            120,
            "client account owner budget spend_to_date pace deviation month-end status",
        ),
        (
            200,
            "client client_id account account_name owner budget plan_to_date spend_to_date pace"
            " deviation month-end status",
        ),
    ],
)
def test_the_pacing_columns_at_each_width(sample: Sample, width: int, columns: str) -> None:
    """Headers in display order, `_` for a space."""
    shown = render(pacing_table(sample.report, names=sample.names), width)
    assert shown.headers == [c.replace("_", "") for c in columns.split()]


@pytest.mark.parametrize(
    ("width", "columns"),
    [
        (80, "id client deviation state owner suppression"),
        (
            120,
            "id client account direction deviation state owner acknowledged suppression",
        ),
    ],
)
def test_the_alert_columns_at_each_width(sample: Sample, width: int, columns: str) -> None:
    shown = render(alerts_table(sample.alerts, NEW_YORK, names=sample.names), width)
    assert shown.headers == columns.split()


@pytest.mark.parametrize(
    ("build", "priority"),
    [
        (lambda s: pacing_table(s.report, names=s.names), PACING_PRIORITY),
        (lambda s: alerts_table(s.alerts, NEW_YORK, names=s.names), ALERT_PRIORITY),
    ],
)
def test_columns_drop_in_the_declared_order(
    sample: Sample, build: object, priority: tuple[str, ...]
) -> None:
    """As the width shrinks, the columns shown are always the first ones of the priority."""
    table: FittedTable = build(sample)  # type: ignore[operator]
    priority = tuple(key for key in priority if key in table.columns)
    assert table.priority == priority
    seen = set()
    for width in range(260, 30, -1):
        shown = table.shown(width)
        assert sorted(shown) == sorted(priority[: len(shown)]), width
        assert len(shown) >= 4
        seen.add(len(shown))
    assert len(seen) > 5  # the range did cover the columns dropping one by one


def test_below_the_essential_columns_width_the_table_still_fits(sample: Sample) -> None:
    shown = render(pacing_table(sample.report, names=sample.names), 40)
    assert shown.width <= 40
    assert "…" not in shown.text
    assert shown.column("client") == whole(pacing_values(sample, "client"))
    assert shown.column("deviation") == whole(pacing_values(sample, "deviation"))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_table_fits_with_every_column(sample: Sample, width: int) -> None:
    shown = render(audit_table(sample.events, NEW_YORK, names=sample.names), width)
    assert shown.width <= width
    assert "…" not in shown.text
    assert shown.headers == ["time", "actor", "action", "subject", "before", "after"]
    assert shown.column("subject") == whole([e.subject for e in sample.events])
    assert shown.column("action") == whole([e.action for e in sample.events])


def test_wide_shows_every_column_with_no_value_broken(sample: Sample) -> None:
    shown = render(pacing_table(sample.report, names=sample.names, wide=True), 80, crop=False)
    assert len(shown.headers) == 12
    assert shown.width > 80  # wider than the terminal: for a pager
    assert shown.cells("client") == pacing_values(sample, "client")  # one line each
    assert shown.cells("account name") == [
        sample.names.accounts[a.account_id] for a in sample.report.accounts
    ]
    roomy = render(alerts_table(sample.alerts, NEW_YORK, names=sample.names, wide=True), 250)
    assert len(roomy.headers) == len(ALERT_PRIORITY)
    assert roomy.width <= 250


def test_without_names_the_tables_show_codes_and_the_demo_notes(sample: Sample) -> None:
    """As `switchboard demo` calls them: no names, and the scenario notes."""
    shown = render(pacing_table(sample.report, notes=SCENARIOS), 80)
    assert shown.width <= 80
    assert shown.headers[:2] == ["client", "account"]
    assert "owner" not in shown.headers  # no owner known: no empty column
    assert shown.cells("client") == [a.client_id for a in sample.report.accounts]
    assert shown.column("scenario") == whole(
        [SCENARIOS[a.account_id] for a in sample.report.accounts]
    )
    listed = render(alerts_table(sample.alerts, NEW_YORK), 80)
    assert listed.cells("owner") == ["U0AM"] * len(sample.alerts)


def test_the_pacing_caption_names_the_outlier_clients(sample: Sample) -> None:
    shown = render(pacing_table(sample.report, names=sample.names), 120)
    outliers = [sample.names.clients[c] for c in sample.report.portfolio.cpl_outliers]
    assert outliers == ["Iris Pediatrics"]
    assert "outliers Iris Pediatrics" in shown.text


# --- names ---------------------------------------------------------------------------------------


def test_load_names_reads_the_store_and_the_manifest(sample: Sample) -> None:
    names = sample.names
    assert names.people == {"U0ADMIN": "Maya", "U0LEAD": "Leo", "U0AM": "Ana"}
    assert names.clients == {cid: name for cid, name, *_ in CLIENTS}
    assert names.accounts["A03"] == "Birch & Co Legal Google"
    assert names.pacing_owner == "U0AM"
    assert (names.person("U0AM"), names.person("U0NOBODY"), names.person("agent:pacing")) == (
        "@Ana",
        "U0NOBODY",
        "agent:pacing",
    )


def test_the_pacing_owner_is_the_stored_one_after_a_reassignment(
    sqlite_template: Path, tmp_path: Path, manifest: AgencyManifest
) -> None:
    _, engine = sqlite_store(sqlite_template, tmp_path)
    with transaction(engine) as session:
        ownership.seed(session, {"ad_performance": ("pacing", "U0AM")}, now=NOW)
    with reading(engine) as session:
        assert load_names(session, manifest).pacing_owner == "U0AM"
    with transaction(engine) as session:
        moved = ownership.reassign(
            session, "ad_performance", expected_owner="U0AM", to="U0LEAD", by="U0ADMIN", now=NOW
        )
        assert moved
    with reading(engine) as session:
        names = load_names(session, manifest)
    engine.dispose()
    assert names.pacing_owner == "U0LEAD"


# --- times carry their zone ----------------------------------------------------------------------


def test_audit_and_alert_times_show_the_agency_zone() -> None:
    winter = datetime(2026, 11, 29, 14, 14, tzinfo=UTC)
    events = [
        AuditEvent(at=winter, actor="U0AM", action="alert.ack", subject="alert:1"),
        AuditEvent(at=NOW, actor="U0AM", action="alert.ack", subject="alert:2"),
    ]
    shown = render(audit_table(events, NEW_YORK), 120)
    assert shown.cells("time") == ["2026-11-29 09:14 EST", "2026-03-16 09:14 EDT"]
    tokyo = render(audit_table(events[:1], ZoneInfo("Asia/Tokyo")), 120)
    assert tokyo.cells("time") == ["2026-11-29 23:14 JST"]
    acknowledged = alert(1, acknowledged_by="U0AM", acknowledged_at=winter)
    listed = render(alerts_table([acknowledged], NEW_YORK, wide=True), 200)
    assert listed.cells("acknowledged") == ["U0AM 2026-11-29 09:14 EST"]


# --- data is never markup ------------------------------------------------------------------------


def alert(
    number: int,
    *,
    client_id: str = "C1",
    detail: str | None = None,
    assignee: str = "U0AM",
    acknowledged_by: str | None = None,
    acknowledged_at: datetime | None = None,
) -> Alert:
    return Alert(
        domain="ad_performance",
        id=number,
        account_id=f"A{number}",
        client_id=client_id,
        month="2026-03",
        direction=AlertDirection.UNDER,
        state=AlertState.SUPPRESSED if detail else AlertState.OPEN,
        deviation_pct=Decimal("-41.5"),
        suppressed_code="excluded" if detail else None,
        suppressed_detail=detail,
        assignee=assignee,
        first_seen_on=AS_OF,
        last_seen_on=AS_OF,
        opened_at=NOW,
        updated_at=NOW,
        acknowledged_by=acknowledged_by,
        acknowledged_at=acknowledged_at,
    )


def account(account_id: str, client_id: str, suppressed: str | None = None) -> AccountPace:
    return AccountPace(
        account_id=account_id,
        client_id=client_id,
        month="2026-03",
        budget=Decimal(3000),
        plan_to_date=Decimal(1500),
        spend_to_date=Decimal(600),
        leads_to_date=3,
        pace_pct=Decimal(40),
        deviation_pct=Decimal(-60),
        projected_month_end=Decimal(1200),
        status=PaceStatus.UNDER,
        alert=suppressed is None,
        suppressed=Suppression(code="excluded", detail=suppressed) if suppressed else None,
    )


def report(*accounts: AccountPace, outliers: Sequence[str] = ()) -> PacingReport:
    portfolio = Portfolio(
        median_cpl=Decimal(30), mean_cpl=Decimal(31), cpl_outliers=list(outliers), cpl_by_client={}
    )
    return PacingReport(
        as_of=AS_OF, data_through=date(2026, 3, 15), accounts=list(accounts), portfolio=portfolio
    )


def test_a_closing_tag_in_a_suppression_reason_is_shown_not_parsed() -> None:
    """It used to raise MarkupError and crash `switchboard alerts`."""
    shown = render(alerts_table([alert(1, detail="paused [/bold] until [red]May")], NEW_YORK), 200)
    assert shown.cells("suppression") == ["excluded: paused [/bold] until [red]May"]


def test_a_client_named_like_markup_is_not_styled() -> None:
    names = Names(clients={"C1": "[red]x", "C2": "[bold]Acme[/]"}, pacing_owner="U0AM")
    table = pacing_table(
        report(account("A1", "C1"), account("A2", "C2"), outliers=["C2"]), names=names
    )
    console = Console(width=120, record=True, file=io.StringIO(), force_terminal=True)
    console.print(table)
    text = console.export_text(clear=False)
    assert "[red]x" in text
    assert "outliers [bold]Acme[/]" in text
    styled = console.export_text(styles=True)
    assert "\x1b[31mx" not in styled  # "x" is not printed red
    assert "\x1b[1;31mover" not in styled and "\x1b[1;33munder" in styled  # table styles stay


def test_control_characters_are_shown_escaped_not_sent_to_the_terminal() -> None:
    names = Names(clients={"C1": "Acme\x1b[2J\x07\u202eevil\r"}, pacing_owner="U0AM")
    shown = render(pacing_table(report(account("A1", "C1")), names=names), 200)
    assert shown.cells("client") == ["Acme\\x1b[2J\\x07\\u202eevil\\x0d"]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", shown.text)


# Text that rich markup, emoji codes and wrapping could each get wrong.
FRAGMENTS = [
    "[",
    "]",
    "[/bold]",
    "[/]",
    "[red]x",
    "[link=https://example.com/?q=[1]]",
    "[/link]",
    "\\",
    "\\[",
    "[bold]\\",
    ":smile:",
    ":large_red_square:",
    "<@U0AM>",
    "&amp;",
    "\n",
    " ",
    "日本",
    "🟥",
]
ALPHABET = "".join(c for c in string.printable if c not in "\t\r\x0b\x0c") + "é日🟥"
data_text = st.lists(
    st.sampled_from(FRAGMENTS) | st.text(alphabet=ALPHABET, min_size=1, max_size=12),
    min_size=1,
    max_size=5,
).map("".join)


@settings(max_examples=60, deadline=None)
@example(  # a wide character in a narrow column was dropped: keep at least one in a line
    client="日",
    account_name="[",
    reason="[",
    person="[/bold][/bold][link=https://example.com/?q=[1]]",
    actor="[",
    subject="[",
    change="[",
)
@given(
    client=data_text,
    account_name=data_text,
    reason=data_text,
    person=data_text,
    actor=data_text,
    subject=data_text,
    change=data_text,
)
def test_any_data_renders_literally_in_every_table(
    client: str,
    account_name: str,
    reason: str,
    person: str,
    actor: str,
    subject: str,
    change: str,
) -> None:
    names = Names(
        people={"U0AM": person},
        clients={"C1": client, "C2": "Plain Co"},
        accounts={"A1": account_name},
        pacing_owner="U0AM",
    )
    paced = report(account("A1", "C1", suppressed=reason), account("A2", "C2"), outliers=["C1"])
    rows = [alert(1, detail=reason), alert(2, client_id="C2")]
    events = [
        AuditEvent(
            at=NOW, actor="U0AM", action="owner.reassign", subject=subject, after={"k": change}
        ),
        AuditEvent(
            at=NOW, actor=actor, action="alert.ack", subject="alert:1", before={"k": change}
        ),
    ]
    for width in (80, 120):
        pacing = render(pacing_table(paced, {"A1": reason}, names=names), width)
        assert pacing.width <= width
        assert pacing.column("client") == whole([client, "Plain Co"])
        assert pacing.column("owner") == whole(["@" + person] * 2)
        listed = render(alerts_table(rows, NEW_YORK, names=names), width)
        assert listed.width <= width
        assert listed.column("client") == whole([client, "Plain Co"])
        assert listed.column("owner") == whole(["@" + person] * 2)
        logged = render(audit_table(events, NEW_YORK, names=names), width)
        assert logged.width <= width
        assert logged.column("actor") == whole(["@" + person, actor])
        assert logged.column("subject") == whole([subject, "alert:1"])
        assert logged.column("after") == whole([f"k: {change}"])
        assert logged.column("before") == whole([f"k: {change}"])
    every = render(pacing_table(paced, {"A1": reason}, names=names, wide=True), 80, crop=False)
    assert every.column("account name") == whole([account_name])
    assert every.column("scenario") == whole([reason])
    assert squeeze(f"outliers {client}") in squeeze(every.text)
    listed = render(alerts_table(rows, NEW_YORK, names=names, wide=True), 80, crop=False)
    assert listed.column("suppression") == whole([f"excluded: {reason}"])


# --- Slack text in the terminal ------------------------------------------------------------------

PEOPLE = {"U0AM": "Ana", "U0LEAD": "Leo"}


@pytest.mark.parametrize(
    ("slack", "terminal"),
    [
        ("Acknowledged by <@U0AM> at 09:14", "Acknowledged by @Ana at 09:14"),
        ("now owned by <@U0LEAD> (was <@U0AM>).", "now owned by @Leo (was @Ana)."),
        ("<@U0NOBODY> clicked", "@U0NOBODY clicked"),
        ("<@U0NOBODY|sam> clicked", "@sam clicked"),
        ("<@U0AM|ana.old>", "@Ana"),
        ("see <#C0ALERTS|alerts> and <#C0BRIEF>", "see #alerts and #C0BRIEF"),
        ("<!here> <!channel> <!subteam^S0OPS|@ops>", "@here @channel @ops"),
        (
            "<https://example.com/a?b=1&amp;c=2|the report>",
            "the report (https://example.com/a?b=1&c=2)",
        ),
        ("<https://example.com>", "https://example.com"),
        ("<mailto:ops@example.com|ops@example.com>", "ops@example.com"),
        (":large_red_square: Over-pacing", "🟥 Over-pacing"),
        (":large_yellow_square: :black_large_square:", "🟨 ⬛"),
        (":white_check_mark: Acknowledged :warning:", "✅ Acknowledged ⚠"),
        (":+1::skin-tone-3:", "👍🏼"),
        (":no_such_emoji: at 10:30:00", ":no_such_emoji: at 10:30:00"),
        ("Birch &amp; Co &lt;legal&gt;", "Birch & Co <legal>"),
        ("&lt;@U0AM&gt; is text", "<@U0AM> is text"),
        ("[bold]not markup[/]", "[bold]not markup[/]"),
        ("*Acme* is `C1`; a*b and snake_case stay", "Acme is C1; a*b and snake_case stay"),
        ("<https://example.com/:x:|:x: link>", ":x: link (https://example.com/:x:)"),
    ],
)
def test_slack_to_terminal(slack: str, terminal: str) -> None:
    assert slack_to_terminal(slack, PEOPLE) == terminal


@given(st.text())
def test_slack_to_terminal_takes_any_text(text: str) -> None:
    shown = slack_to_terminal(text, PEOPLE)
    if not set(text) & set("<>&:*`"):
        assert shown == text  # no token, entity or bold/code marker: unchanged
    else:
        assert isinstance(shown, str)


def test_section_fields_read_two_a_line_as_slacks_two_columns() -> None:
    section = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Acme* &amp; Co\n+45.0% vs plan"},
        "fields": [
            {"type": "mrkdwn", "text": f"*{name}*\n{value}"}
            for name, value in [("Spend", "$1.00"), ("Plan", "$2.00"), ("Budget", "$3.00")]
        ],
    }
    assert slack_message_lines("", [section], PEOPLE) == [
        "Acme & Co",
        "+45.0% vs plan",
        "Spend: $1.00 · Plan: $2.00",
        "Budget: $3.00",
    ]
