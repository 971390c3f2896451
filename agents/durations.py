"""How long something has waited, in words a person scans: `45m`, `3h`, `2d 4h`."""

from __future__ import annotations

from datetime import datetime


def age(since: datetime, now: datetime) -> str:
    """How long ago, briefly: `45m`, `3h`, `2d 4h`."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{hours}h" if hours else f"{mins}m"
