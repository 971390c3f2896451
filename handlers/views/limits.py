"""Slack's message limits, applied in one place (DESIGN section 8)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_TOTAL_TEXT = 11_000  # Slack's ceiling is 12,000; keep a margin for the fallback text


def clip(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str, fields: Sequence[str] = ()) -> SectionBlock:
    """A mrkdwn section; `fields` (Slack shows them in two columns) clipped to its limits."""
    shown = [MarkdownTextObject(text=clip(f, MAX_FIELD_TEXT)) for f in fields[:MAX_FIELDS]]
    return SectionBlock(text=MarkdownTextObject(text=clip(text)), fields=shown or None)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text))])


def text_length(block: Block) -> int:
    return len(str(block.to_dict()))


def fit(head: Sequence[Block], items: Sequence[Sequence[Block]], more: str) -> list[Block]:
    """`head` then as many whole items as fit in the limits, then "`more`" with the rest count."""
    blocks = list(head)
    used = sum(text_length(b) for b in blocks)
    for shown, item in enumerate(items):
        size = sum(text_length(b) for b in item)
        if len(blocks) + len(item) > MAX_BLOCKS - 1 or used + size > MAX_TOTAL_TEXT:
            blocks.append(context(f"…and {len(items) - shown} more. {more}"))
            break
        blocks.extend(item)
        used += size
    return blocks
