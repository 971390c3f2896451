"""The morning briefing as Slack messages: one message with every section (each says
"nothing to report" when empty), and thread replies for what does not fit.

Each section shows its first few items in the channel; the rest continue in the thread, so
the message stays within Slack's limits (50 blocks, 3,000 characters a section, 12,000 in
all) however large the agency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock

from switchboard.agents.briefing import Briefing, Item, Section
from switchboard.handlers.views.limits import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    MAX_TOTAL_TEXT,
    context,
    section,
    text_length,
)
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.text import escape

SHOWN = 5  # items of a section shown in the channel; the rest go to the thread
NOTHING = "nothing to report"


@dataclass(frozen=True)
class BriefingView:
    main: Message
    thread: list[Message]

    def payload(self) -> dict[str, object]:
        return {
            "blocks": self.main.payload()["blocks"],
            "thread": [message.payload()["blocks"] for message in self.thread],
        }


LINE = 280  # characters of an item in the channel message: 8 sections of 5 stay under 12,000


def _line(item: Item, limit: int | None = None) -> str:
    text = item.text if limit is None or len(item.text) <= limit else item.text[: limit - 1] + "…"
    return f"• {escape(text)}"


def _section_blocks(part: Section) -> list[Block]:
    lines = [f"*{escape(part.heading)}*"]
    if part.note:
        lines.append(escape(part.note))
    shown = [_line(item, LINE) for item in part.items[:SHOWN]]
    lines.extend(shown or [NOTHING])
    rest = len(part.items) - len(shown)
    if rest > 0:
        lines.append(f"…and {rest} more in the thread")
    return [section(_packed(lines))]


def _packed(lines: Sequence[str], limit: int = MAX_SECTION_TEXT) -> str:
    """Lines joined within `limit`; a line too long is clipped rather than lost."""
    text = ""
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) > limit:
            break
        text = candidate
    return text or lines[0][: limit - 1] + "…"


def _chunks(lines: Sequence[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Lines in as few section texts as fit `limit` each."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _thread(briefing: Briefing) -> list[Message]:
    """The items each section could not show, as thread replies within the limits."""
    messages: list[Message] = []
    for part in briefing.sections:
        rest = part.items[SHOWN:]
        if not rest:
            continue
        title = f"*{escape(part.heading)}*, continued ({len(rest)} more)"
        blocks: list[Block] = [section(title)]
        used = text_length(blocks[0])
        for chunk in _chunks([_line(item) for item in rest]):
            block = section(chunk)
            size = text_length(block)
            if len(blocks) >= MAX_BLOCKS or used + size > MAX_TOTAL_TEXT:
                messages.append(Message(text=f"{part.heading}, continued", blocks=blocks))
                blocks, used = [section(f"*{escape(part.heading)}*, continued")], 0
            blocks.append(block)
            used += size
        messages.append(Message(text=f"{part.heading}, continued", blocks=blocks))
    return messages


def briefing_view(briefing: Briefing) -> BriefingView:
    blocks: list[Block] = [
        HeaderBlock(text=f"Morning briefing · {briefing.day:%A %d %B %Y}"[:150]),
        context(f"{escape(briefing.agency)} · each section from the domain that owns it"),
    ]
    for part in briefing.sections:
        blocks.append(DividerBlock())
        blocks.extend(_section_blocks(part))
    counts = ", ".join(
        f"{len(part.items)} {part.key.value.replace('_', ' ')}"
        for part in briefing.sections
        if part.items
    )
    text = f"Morning briefing for {briefing.day}: {counts or NOTHING}"
    return BriefingView(Message(text=text, blocks=blocks), _thread(briefing))
