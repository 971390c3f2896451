"""`/ops check`: the manifest's coordination score, then each gap with where it is and its fix."""

from __future__ import annotations

from switchboard.agents.coordination import Coordination
from switchboard.handlers.views.limits import fit, section
from switchboard.handlers.views.message import Message
from switchboard.handlers.views.text import escape


def coordination_report(result: Coordination) -> Message:
    """A section per gap; every code, path, message and fix escaped (they quote the manifest)."""
    count = len(result.gaps)
    gaps = "no gaps" if not count else f"{count} gap" + ("s" if count > 1 else "")
    icon = ":white_check_mark:" if not count else ":warning:"
    summary = f"Coordination score {result.score}/100, {gaps}"
    head = [section(f"{icon} *{summary}*")]
    items = [
        [
            section(
                f"*{escape(gap.code)}* · `{escape(gap.path)}`\n{escape(gap.message)}\n"
                f"_Fix:_ {escape(gap.fix)}"
            )
        ]
        for gap in result.gaps
    ]
    return Message(
        text=summary, blocks=fit(head, items, more="`switchboard check` lists every gap.")
    )
