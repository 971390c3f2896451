"""The agency manifest read leniently, as plain data of any shape, for `switchboard check`.

A section that is not what it should be reads as empty: the strict manifest
(`store/manifest.py`) names that problem at its key, and no gap may stand in for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any

from switchboard.store.agent_state import Autonomy
from switchboard.store.manifest import Shadow
from switchboard.store.zones import zone_or_none


def as_mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _entries(value: Any) -> dict[str, dict[str, Any]]:
    return {name: as_mapping(v) for name, v in as_mapping(value).items() if isinstance(v, dict)}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def as_date(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def as_level(value: Any) -> Autonomy | None:
    try:
        return Autonomy(value) if isinstance(value, str) else None
    except ValueError:
        return None


class LenientManifest:
    """The manifest's sections as plain data of the expected shape; anything else is empty."""

    def __init__(self, data: Any) -> None:
        top = as_mapping(data)
        self.timezone = top.get("timezone")
        # Entries keep their list positions, so paths such as `people.2.lead` stay true.
        self.people = [as_mapping(p) for p in as_list(top.get("people"))]
        self.people_listed = isinstance(top.get("people"), list)
        # A domain or agent that is not a mapping is left out: the strict manifest names it,
        # and no gap may sit at its path and stand for that problem.
        self.domains = _entries(top.get("domains"))
        self.agents = _entries(top.get("agents"))
        policies = as_mapping(top.get("escalation_policies"))
        self.policy_names = set(policies)
        # A policy that is not a list of levels is the strict manifest's problem, not a gap.
        self.policies = {
            name: [as_mapping(level) for level in levels]
            for name, levels in policies.items()
            if isinstance(levels, list)
        }
        self.pacing = as_mapping(top.get("pacing"))
        days = as_mapping(top.get("shadow")).get("min_days")
        valid = isinstance(days, int) and not isinstance(days, bool) and days >= 0
        self.shadow_days: int = days if valid else Shadow().min_days

    def today(self, now: datetime) -> date:
        """Today in the agency's time zone (UTC while the manifest names none it can use)."""
        # A zone it cannot use is the strict manifest's problem, named at its key.
        name = as_text(self.timezone)
        zone: tzinfo = (zone_or_none(name) if name else None) or UTC
        return now.astimezone(zone).date()

    def slack_ids(self) -> set[str]:
        return {p["slack_id"] for p in self.people if isinstance(p.get("slack_id"), str)}

    def person_at(self, slack_id: str) -> int | None:
        return next((i for i, p in enumerate(self.people) if p.get("slack_id") == slack_id), None)

    def who(self, index: int) -> str:
        person = self.people[index]
        name = as_text(person.get("name"))
        return f"{name} ({person.get('slack_id')})" if name else str(person.get("slack_id"))

    def owned_by(self, agent: str) -> list[str]:
        return [name for name, d in self.domains.items() if d.get("agent") == agent]

    def policy_of(self, domain: str) -> tuple[str, list[dict[str, Any]]] | None:
        agent = as_text(self.domains[domain].get("agent"))
        policy = as_text(self.agents.get(agent or "", {}).get("escalation"))
        if policy is None or policy not in self.policies:
            return None
        return policy, self.policies[policy]
