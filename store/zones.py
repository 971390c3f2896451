"""IANA time zone names, checked in one place (the manifest's, an ad account's)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is tzdata's directory
        return None


def iana_zone(name: str) -> str:
    """A pydantic validator: `name` if it is a time zone, else a message saying what is."""
    if zone_or_none(name) is None:
        raise ValueError(f"'{name}' is not an IANA time zone such as America/New_York")
    return name
