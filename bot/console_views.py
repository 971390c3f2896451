"""Rich tables for the terminal: pure functions from domain objects to renderables (and
`load_names`, the one query for the names they show).

Data never reaches rich as markup. Every value from the store or the manifest (names, ids,
reasons, actors, audit values) becomes a cell through `plain()`, a `Text` shown literally with
control characters made visible; the tables style those `Text` objects, they write no markup.

Tables fit the width they are rendered at. Each declares its columns in priority order: the
first ones (client, status, deviation, owner) are always shown, the others drop from the end
of that order as the width shrinks, and `wide=True` keeps them all. Nothing is cut with "…":
a value that does not fit wraps onto more lines (a word longer than its column folds).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.emoji import Emoji
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from sqlmodel import Session, select

from switchboard.store.alerts import Alert, AlertState
from switchboard.store.audit import AuditEvent
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner
from switchboard.store.source_data import AdAccount, Client

# `switchboard alerts` and `audit` do not load the pacing agent: only its types are named here.
if TYPE_CHECKING:
    from switchboard.agents.pacing import AccountPace, PacingReport

_STATUS_STYLE = {  # by PaceStatus value
    "over": "bold red",
    "under": "bold yellow",
    "dark": "bold magenta",
    "no_budget": "cyan",
    "not_enough_data": "dim",
    "on_track": "green",
}

# --- data as text --------------------------------------------------------------------------------

# Characters a terminal acts on instead of showing: C0 and C1 controls (ESC starts a terminal
# escape sequence) except newline and tab, and the bidirectional overrides that reorder what
# is shown. They are shown as escapes instead.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: object, style: str = "") -> Text:
    """A value as a table cell: literal text, never markup or emoji codes, controls visible."""
    text = "" if value is None else str(value)
    return Text(_INVISIBLE.sub(_visible, text), style=style)


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


# --- Slack message text in the terminal ----------------------------------------------------------

# Slack's names for emoji that rich knows by another name (or, for skin tones, not at all).
_SLACK_EMOJI = {
    "large_red_square": "red_square",
    "large_orange_square": "orange_square",
    "large_yellow_square": "yellow_square",
    "large_green_square": "green_square",
    "large_blue_square": "blue_square",
    "large_purple_square": "purple_square",
    "large_brown_square": "brown_square",
    "large_orange_circle": "orange_circle",
    "large_yellow_circle": "yellow_circle",
    "large_green_circle": "green_circle",
    "large_purple_circle": "purple_circle",
    "large_brown_circle": "brown_circle",
    "zipper_mouth_face": "zipper-mouth_face",
    "simple_smile": "slightly_smiling_face",
}
_SKIN_TONES = {f"skin-tone-{n}": chr(0x1F3FB + n - 2) for n in range(2, 7)}
# A <...> token (mention, channel, link) or an :emoji_code:, whichever comes first.
_SLACK_TOKEN = re.compile(r"<([^<>\n]*)>|:([a-z0-9_+-]+):")
_SPECIAL_MENTIONS = {"here", "channel", "everyone"}


def _unescape(text: str) -> str:
    """Slack escapes exactly these three in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _slack_token(body: str, people: Mapping[str, str]) -> str:
    target, _, label = body.partition("|")
    label = _unescape(label)
    if target.startswith("@"):
        user = target[1:]
        return f"@{people.get(user) or label or user}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        special = target[1:]
        if special in _SPECIAL_MENTIONS:
            return f"@{special}"
        if special.startswith("subteam^"):
            return label or f"@{special.removeprefix('subteam^')}"
        return label or f"<{_unescape(body)}>"  # e.g. <!date^...> without a fallback
    url = _unescape(target)
    if target.startswith("mailto:"):
        return label or url.removeprefix("mailto:")
    return f"{label} ({url})" if label and label != url else url


def _emoji(name: str) -> str | None:
    if name in _SKIN_TONES:
        return _SKIN_TONES[name]
    code = f":{_SLACK_EMOJI.get(name, name)}:"
    shown = Emoji.replace(code)
    return None if shown == code else shown


def slack_to_terminal(text: str, people: Mapping[str, str]) -> str:
    """Slack message text as a terminal shows it: `<@U0AM>` becomes `@Ana` (a Slack id not in
    `people` stays as `@U0AM`), channels `#name`, links `label (url)`, `:emoji:` codes emoji
    (unknown codes stay as written), and Slack's `&lt; &gt; &amp;` their characters.

    The result is plain text: print it with markup off (or wrap it in `plain()`).
    """

    def replace(match: re.Match[str]) -> str:
        if match[1] is not None:
            return _slack_token(match[1], people)
        return _emoji(match[2]) or match[0]

    pieces: list[str] = []
    last = 0
    for match in _SLACK_TOKEN.finditer(text):
        pieces.append(_unescape(text[last : match.start()]))
        pieces.append(replace(match))
        last = match.end()
    pieces.append(_unescape(text[last:]))
    return "".join(pieces)


# --- tables that fit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    justify: JustifyMethod = "left"
    # None: short values (numbers, ids, states), each kept whole on one line while the columns
    # shown fit. A number: text that wraps onto more lines; the column is only added if it
    # can have this many cells (or its widest value, if shorter).
    min_width: int | None = None

    @property
    def wraps(self) -> bool:
        return self.min_width is not None


@dataclass(frozen=True)
class _Size:
    natural: int  # on one line, header included
    floor: int  # narrowest without breaking a word (or a short value) in two
    glyph: int  # narrowest at all: its widest character (a CJK character or emoji takes 2)
    need: int  # what choosing the columns counts on it having


def _level(
    widths: dict[str, int], floors: Mapping[str, int], excess: int, words: Mapping[str, int]
) -> int:
    """Narrow the widest columns first, one cell at a time, none below its floor; of equally
    wide ones, the one with the longest word (the likeliest to be broken already).

    Returns the excess left when every column is at its floor.
    """
    while excess > 0:
        wider = [key for key in widths if key in floors and widths[key] > floors[key]]
        if not wider:
            break
        widths[max(wider, key=lambda key: (widths[key], words[key]))] -= 1
        excess -= 1
    return excess


class FittedTable:
    """A table that chooses its columns and their widths when rendered, for the width given.

    `columns` are in display order; `priority` names them most important first. The first
    `essential` of `priority` are always shown; the rest are added in order while the table
    still fits, so the last in `priority` is the first to go. Cells are `Text` (see `plain`);
    a row may leave a column out (shown empty).

    Widths: every column starts at its natural width and the widest narrow first. Words are
    broken only when whole words cannot fit, in text before short values, so the table is
    never wider than it is allowed. `wide` shows every column and breaks no word: if that
    is wider than allowed, so is the table (print it uncropped, for a pager or a wide window).
    """

    def __init__(
        self,
        title: str,
        columns: Mapping[str, Column],
        priority: Sequence[str],
        *,
        essential: int,
        wide: bool = False,
    ) -> None:
        assert sorted(priority) == sorted(columns), "each column has one place in the priority"
        self.title = title
        self.caption: Text | None = None
        self.columns = dict(columns)
        self.priority = tuple(priority)
        self.essential = essential
        self.wide = wide
        self.rows: list[dict[str, Text]] = []

    def add_row(self, cells: Mapping[str, Text]) -> None:
        self.rows.append(dict(cells))

    def _size(self, key: str) -> _Size:
        column = self.columns[key]
        lines = [line for row in self.rows for line in row.get(key, Text()).plain.split("\n")]
        widest = max(map(cell_len, lines), default=0)
        header_word = max(map(cell_len, column.header.split()), default=0)
        natural = max(widest, cell_len(column.header))
        glyph = max((cell_len(c) for c in set("".join(lines))), default=1)
        if column.min_width is None:
            return _Size(natural, max(widest, header_word), glyph, max(widest, header_word))
        longest_word = max((cell_len(word) for line in lines for word in line.split()), default=0)
        return _Size(
            natural,
            max(longest_word, header_word),
            glyph,
            max(min(widest, column.min_width), header_word),
        )

    @staticmethod
    def _chrome(count: int) -> int:
        """Cells that are not content: a space either side of each value, and the rules."""
        return 3 * count + 1

    def shown(self, width: int) -> list[str]:
        """The columns shown at `width`, in display order."""
        need = {key: self._size(key).need for key in self.columns}
        keys = list(self.priority if self.wide else self.priority[: self.essential])
        for key in [] if self.wide else self.priority[self.essential :]:
            if sum(need[k] for k in [*keys, key]) + self._chrome(len(keys) + 1) > width:
                break
            keys.append(key)
        return [key for key in self.columns if key in keys]

    def widths(self, width: int) -> dict[str, int]:
        """Content width of each column shown at `width`."""
        sizes = {key: self._size(key) for key in self.shown(width)}
        widths = {key: size.natural for key, size in sizes.items()}
        excess = sum(widths.values()) + self._chrome(len(widths)) - width
        floors = {key: size.floor for key, size in sizes.items()}
        # Narrow, until the table fits: 1. down to what choosing the columns counted on, then
        # 2. to the longest word, wrapping at spaces only; 3. break the longest words of text;
        # 4. break anything.
        excess = _level(widths, {k: max(s.need, s.floor) for k, s in sizes.items()}, excess, floors)
        excess = _level(widths, floors, excess, floors)
        if self.wide:
            # Wider than allowed in any case: then one line per row.
            return widths if excess <= 0 else {k: s.natural for k, s in sizes.items()}
        glyphs = {key: max(1, size.glyph) for key, size in sizes.items()}
        text = {key: glyph for key, glyph in glyphs.items() if self.columns[key].wraps}
        excess = _level(widths, text, excess, floors)
        _level(widths, glyphs, excess, floors)
        return widths

    def table(self, width: int) -> Table:
        """The rich table for `width`."""
        widths = self.widths(width)
        total = sum(widths.values()) + self._chrome(len(widths))
        table = Table(
            title=self.title,
            caption=self.caption,
            title_justify="left",
            width=total if total > width else None,  # only when wide
        )
        for key, size in widths.items():
            column = self.columns[key]
            table.add_column(column.header, justify=column.justify, overflow="fold", width=size)
        for row in self.rows:
            table.add_row(*(row.get(key, Text()) for key in widths))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table(options.max_width))


# --- pacing --------------------------------------------------------------------------------------


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
