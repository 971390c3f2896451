"""The agency's operating manifest (DESIGN section 4): YAML checked by pydantic.

Every problem is reported as `key.path: what is wrong`, all of them at once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from switchboard.store.agent_state import Autonomy
from switchboard.store.slack_ids import CHANNEL_ID as SLACK_CHANNEL_ID
from switchboard.store.slack_ids import USER_ID as SLACK_USER_ID
from switchboard.store.zones import iana_zone

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
NEXT_BUSINESS_DAY = "next_business_day"


class ManifestError(Exception):
    """The manifest cannot be used; `problems` holds one `key.path: problem` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        # One problem, one line: a value quoted in a problem may hold line breaks.
        self.problems = [p.replace("\r", "\\r").replace("\n", "\\n") for p in problems]
        super().__init__(f"{source}: " + "; ".join(self.problems))


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `45s` as a timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration like 30m, 2h or 1d")
    amount, unit = match.groups()
    try:
        return timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:
        raise ValueError(f"'{text}' is too long a duration") from None


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def _cron(expression: str) -> str:
    try:
        CronTrigger.from_crontab(expression)
    except ValueError as error:
        raise ValueError(f"'{expression}' is not a cron expression: {error}") from None
    return expression


Duration = Annotated[str, AfterValidator(_duration)]
Cron = Annotated[str, AfterValidator(_cron)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    ADMIN = "admin"
    APPROVER = "approver"
    LEAD = "lead"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class Channels(_Strict):
    briefing: str = Field(pattern=SLACK_CHANNEL_ID)
    alerts: str = Field(pattern=SLACK_CHANNEL_ID)
    approvals: str = Field(pattern=SLACK_CHANNEL_ID)
    shadow: str = Field(pattern=SLACK_CHANNEL_ID)


class Person(_Strict):
    slack_id: str = Field(pattern=SLACK_USER_ID)
    name: str = Field(min_length=1)
    roles: list[Role] = []
    lead: str | None = None


class Domain(_Strict):
    agent: str
    owner: str
    sources: list[str] = Field(min_length=1)


class AgentSpec(_Strict):
    autonomy: Autonomy = Autonomy.SHADOW
    shadow_since: date | None = None
    escalation: str | None = None
    cross_checks: list[str] = []
    schedule: Cron | None = None  # when `switchboard run` runs it; default hourly


class EscalationLevel(_Strict):
    # `owner`, `lead`, a Slack user id, or `channel:NAME` (a key of `channels`)
    notify: str
    # For a person, `dm` (the default); a channel level posts in the channel, mentioning
    # the owner, and takes no `via`.
    via: Literal["dm"] | None = None
    after: str = "0m"  # a duration (0m, 30m, 2h, 1d) or next_business_day
    anytime: bool = False  # run outside business hours too

    @field_validator("after")
    @classmethod
    def _after(cls, value: str) -> str:
        if value != NEXT_BUSINESS_DAY:
            _duration(value)
        return value

    @property
    def channel(self) -> str | None:
        """The `channels` key a channel level posts in, or None for a person."""
        return self.notify.removeprefix("channel:") if self.notify.startswith("channel:") else None


# Pacing thresholds are percentages of plan, never money (DESIGN section 1: a dollar threshold
# is noise on a big account and silence on a small one). A key naming money, or a value with a
# currency in it, is refused by name here and is `switchboard check`'s `money_threshold`.
_MONEY_WORDS = frozenset(
    {"usd", "eur", "gbp", "cad", "aud", "dollar", "dollars", "spend", "budget", "amount"}
    | {"money", "cost", "cents", "currency", "cash", "price"}
)
_PERCENT_WORDS = frozenset({"pct", "percent", "percentage"})
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:usd|eur|gbp|cad|aud|jpy|chf|inr)\b", re.IGNORECASE)
NOT_MONEY = "pacing thresholds are percentages of plan (over_pct, under_pct), never money"


def money_key(key: object) -> bool:
    """`over_usd`, `max_spend`, `budget_dollars`: a key that names money, not a percentage."""
    words = set(re.split(r"[^a-z0-9]+", str(key).lower()))
    return bool(words & _MONEY_WORDS) and not words & _PERCENT_WORDS


def money_value(value: object) -> bool:
    """`"$500"`, `"500 USD"`: text with a currency sign or code in it."""
    return isinstance(value, str) and _CURRENCY.search(value) is not None


class Pacing(_Strict):
    over_pct: Decimal = Field(default=Decimal(30), gt=0)
    under_pct: Decimal = Field(default=Decimal(30), gt=0)
    min_days: int = Field(default=3, ge=1, le=28)
    early_alert_pct: Decimal = Field(default=Decimal(200), gt=100)

    @field_validator("*", mode="before")
    @classmethod
    def _not_money(cls, value: object) -> object:
        if money_value(value):
            raise ValueError(f"{value!r} is an amount of money; {NOT_MONEY}")
        return value


class Briefing(_Strict):
    cron: Cron = "30 8 * * mon-fri"


def _local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a time of day in the agency's timezone, without an offset (like 09:00)")
    return value


LocalTime = Annotated[time, AfterValidator(_local_time)]


class BusinessHours(_Strict):
    start: LocalTime = time(9, 0)
    end: LocalTime = time(17, 0)
    days: list[Weekday] = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]


class Approvals(_Strict):
    expire_after: Duration = "24h"
    sends_per_hour: int = Field(default=50, ge=1)


class Shadow(_Strict):
    min_days: int = Field(default=14, ge=0)
    min_reviewed: int = Field(default=20, ge=0)
    min_agreement_pct: Decimal = Field(default=Decimal(80), ge=0, le=100)


class Writing(_Strict):
    # Writing rules a client has asked to relax, by client id: {C01: [hedge]}.
    allow: dict[str, list[str]] = {}


class AgencyManifest(_Strict):
    agency: str = Field(min_length=1)
    timezone: Annotated[str, AfterValidator(iana_zone)]
    channels: Channels
    people: list[Person] = Field(min_length=1)
    domains: dict[str, Domain]
    agents: dict[str, AgentSpec]
    escalation_policies: dict[str, list[EscalationLevel]] = {}
    pacing: Pacing = Pacing()
    briefing: Briefing = Briefing()
    business_hours: BusinessHours = BusinessHours()
    approvals: Approvals = Approvals()
    shadow: Shadow = Shadow()
    writing: Writing = Writing()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        """The agency-local date at `now`: it decides which day's data is complete."""
        return now.astimezone(self.tz).date()

    def name_of(self, slack_id: str) -> str:
        """The person's name as the manifest lists it, or the id for someone not listed."""
        person = self.person(slack_id)
        return person.name if person else slack_id

    def person(self, slack_id: str) -> Person | None:
        return next((p for p in self.people if p.slack_id == slack_id), None)

    def with_role(self, role: Role) -> set[str]:
        return {p.slack_id for p in self.people if role in p.roles}

    def lead_of(self, slack_id: str) -> str | None:
        person = self.person(slack_id)
        return person.lead if person else None

    def domain_of(self, agent: str) -> str | None:
        """The data domain `agent` owns (one seat, one owner), or None if it owns none."""
        return next((name for name, d in self.domains.items() if d.agent == agent), None)


def _reference_problems(m: AgencyManifest) -> list[str]:
    """Cross-references pydantic cannot see: every name must point at something declared."""
    problems: list[str] = []
    people = {p.slack_id for p in m.people}
    seen: set[str] = set()
    for i, person in enumerate(m.people):
        if person.slack_id in seen:
            problems.append(f"people.{i}.slack_id: {person.slack_id} is listed twice")
        seen.add(person.slack_id)
        if person.lead is not None and person.lead not in people:
            problems.append(f"people.{i}.lead: {person.lead} is not a listed person")
        if person.lead == person.slack_id:
            problems.append(f"people.{i}.lead: a person cannot be their own lead")
    for name, domain in m.domains.items():
        if domain.owner not in people:
            problems.append(f"domains.{name}.owner: {domain.owner} is not a listed person")
        if domain.agent not in m.agents:
            problems.append(f"domains.{name}.agent: {domain.agent} is not a listed agent")
    for name, agent in m.agents.items():
        if agent.escalation is not None and agent.escalation not in m.escalation_policies:
            problems.append(
                f"agents.{name}.escalation: no escalation policy named '{agent.escalation}'"
            )
        if name == "drafting" and agent.autonomy is Autonomy.AUTONOMOUS:
            problems.append(
                "agents.drafting.autonomy: the drafting agent can never be autonomous "
                "(client email always needs a human's approval)"
            )
    channels = set(Channels.model_fields)
    for policy, levels in m.escalation_policies.items():
        for i, level in enumerate(levels):
            target = level.notify
            path = f"escalation_policies.{policy}.{i}.notify"
            if target.startswith("channel:"):
                if target.removeprefix("channel:") not in channels:
                    problems.append(f"{path}: '{target}' names no channel in channels")
                if level.via is not None:
                    problems.append(
                        f"escalation_policies.{policy}.{i}.via: a channel level posts in the "
                        "channel; `via: dm` is for a person"
                    )
            elif target not in ("owner", "lead") and target not in people:
                problems.append(
                    f"{path}: '{target}' must be owner, lead, channel:NAME or a listed person"
                )
    hours = m.business_hours
    if hours.start >= hours.end:
        problems.append("business_hours.end: must be after business_hours.start")
    return problems


def _describe(error: dict[str, Any]) -> str:
    path = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        money = error["loc"][0] == "pacing" and money_key(error["loc"][-1])
        message = f"a threshold in money; {NOT_MONEY}" if money else "unknown key"
    elif error["type"] == "enum":
        message = f"must be one of {error['ctx']['expected']} (got {error['input']!r})"
    elif error["type"] == "missing":
        message = "required key is missing"
    elif error["type"] == "string_pattern_mismatch" and error["ctx"]["pattern"] in _ID_KINDS:
        kind, example = _ID_KINDS[error["ctx"]["pattern"]]
        message = f"{error['input']!r} is not a Slack {kind} id (like {example})"
    return f"{path}: {message}"


_ID_KINDS = {SLACK_USER_ID: ("user", "U0123ABCD"), SLACK_CHANNEL_ID: ("channel", "C0123ABCD")}


def parse_manifest(data: Any, source: str = "manifest") -> AgencyManifest:
    """Validate already-parsed YAML; raises ManifestError listing every problem."""
    if not isinstance(data, dict):
        raise ManifestError(source, ["(top level): must be a mapping of keys to values"])
    try:
        manifest = AgencyManifest.model_validate(data)
    except ValidationError as error:
        raise ManifestError(source, [_describe(e) for e in error.errors()]) from None
    problems = _reference_problems(manifest)
    if problems:
        raise ManifestError(source, problems)
    return manifest


class ManifestLoader(yaml.SafeLoader):
    """YAML as a person means it in a manifest.

    - A key given twice is an error (PyYAML keeps the last: a second `people:` would hide
      the first, admins and all).
    - Dates and times stay text for pydantic to check, so `2026-02-30` is a problem at its
      key path, not a traceback, and `17:00` is five o'clock, not YAML 1.1's base-60 1020.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    problem=f"key '{key}' appears twice (first at line {seen[key] + 1})",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


ManifestLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    yaml.SafeLoader.construct_yaml_str,  # type: ignore[arg-type]
)
# Integers without YAML 1.1's base 60 (`17:00` would be 1020).
ManifestLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if not (tag == "tag:yaml.org,2002:int" and ":" in regexp.pattern)
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ManifestLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def read_manifest_yaml(path: str | Path) -> Any:
    """The file's YAML as data, not yet checked; ManifestError (one line) if it cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(str(path), [f"cannot read: {error}"]) from None
    try:
        data = yaml.load(text, Loader=ManifestLoader)  # a SafeLoader, stricter
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        # One line per problem: PyYAML's own text spans several, with a snippet of the file.
        detail = getattr(error, "problem", None) or " ".join(str(error).split())
        raise ManifestError(str(path), [f"{where}: not valid YAML ({detail})"]) from None
    return data


def load_manifest(path: str | Path) -> AgencyManifest:
    return parse_manifest(read_manifest_yaml(path), str(path))
