"""A Slack message as the views build it: fallback text and Block Kit blocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block


@dataclass(frozen=True)
class Message:
    """Fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: Sequence[Block] = ()

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [block.to_dict() for block in self.blocks]}
