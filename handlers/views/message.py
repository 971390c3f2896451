"""A Slack message as the views build it: fallback text and Block Kit blocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block

from switchboard.handlers.views.limits import clip


@dataclass(frozen=True)
class Message:
    """Fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: Sequence[Block] = ()

    def payload(self) -> dict[str, Any]:
        # The fallback shows in notifications; clipped like a section, so a huge subject
        # cannot push the message past Slack's total.
        return {"text": clip(self.text), "blocks": [block.to_dict() for block in self.blocks]}
