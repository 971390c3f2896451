"""Terminal output that reads well at any width and never takes data for markup.

`plain()` turns any value into rich `Text` shown literally (control characters made
visible); `slack_to_terminal()` shows Slack message text as a person reads it in Slack;
`FittedTable` chooses its columns and their widths for the width it is rendered at: the
most important columns always show, the others drop from the end of their priority as the
width shrinks, and nothing is cut with "…" (values wrap).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.emoji import Emoji
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

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
# Bold and code markers around a word or phrase; underscores are left alone (ids use them).
_MARKERS = re.compile(r"[*`]([^*`\n]+)[*`]")


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
    return _MARKERS.sub(r"\1", "".join(pieces))


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


def slack_message_lines(
    text: str, blocks: Sequence[Mapping[str, object]] | None, people: Mapping[str, str]
) -> list[str]:
    """A Slack message as a person reads it: its sections and context lines, then its buttons.

    Plain text (Slack's markup turned into names, emoji and links); print with markup off.
    """
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind == "section":
            body = block.get("text") or {}
            lines += slack_to_terminal(str(body.get("text", "")), people).splitlines()  # type: ignore[union-attr]
            # Two fields a line, as Slack's two columns; a field's "*Label*\nvalue" reads
            # "Label: value".
            fields = [
                ": ".join(slack_to_terminal(str(field.get("text", "")), people).splitlines())
                for field in block.get("fields") or []  # type: ignore[union-attr]
            ]
            lines += [" · ".join(fields[i : i + 2]) for i in range(0, len(fields), 2)]
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button":  # type: ignore[union-attr]
                lines.append(f"[{accessory['text']['text']}]")  # type: ignore[index]
        elif kind == "context":
            for element in block.get("elements") or []:  # type: ignore[union-attr]
                lines.append("  " + slack_to_terminal(str(element.get("text", "")), people))
        elif kind == "header":
            lines.append(slack_to_terminal(str(block["text"]["text"]), people).upper())  # type: ignore[index]
        elif kind == "actions":
            buttons = [e["text"]["text"] for e in block.get("elements") or []]  # type: ignore[union-attr,index]
            lines.append(" ".join(f"[{name}]" for name in buttons))
    return lines or slack_to_terminal(text, people).splitlines()
