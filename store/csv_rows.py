"""The row contract of each import file (DESIGN section 5), as pydantic models.

Column names are the field names; a failed field is reported as that column's problem.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic import field_validator as column_check

from switchboard.store.source_data import ClientStatus, Platform, ProjectStatus

MAX_MONEY = Decimal("999999999999.99")
# [0-9], not \d: \d also matches other scripts' digits (Arabic-Indic, full-width, ...).
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _iso_date(text: Any) -> date:
    if isinstance(text, date):
        return text
    if not isinstance(text, str) or not _ISO_DATE.match(text):
        raise ValueError(f"'{text}' is not a date in YYYY-MM-DD form")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"'{text}' is not a real date ({error})") from None


def _month(text: Any) -> str:
    match = _MONTH.match(text) if isinstance(text, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"'{text}' is not a month in YYYY-MM form")
    return text


def _money(text: Any) -> Decimal:
    if not isinstance(text, str) or not _DECIMAL.match(text):
        raise ValueError(f"'{text}' is not a decimal amount like 1234.50")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"'{text}' is not a decimal amount like 1234.50") from None
    if amount < 0:
        raise ValueError(f"{text} is negative")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"{text} has more than 2 decimal places")
    if amount > MAX_MONEY:
        raise ValueError(f"{text} is out of range (at most {MAX_MONEY})")
    return amount


def _identifier(text: str) -> str:
    if not _ID.match(text):
        raise ValueError(
            f"'{text}' is not an identifier (letters, digits and _.:@/-, at most 64 characters)"
        )
    return text


def _email(text: str) -> str:
    if not _EMAIL.match(text):
        raise ValueError(f"'{text}' is not an email address")
    return text


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{text}' is not an IANA time zone such as America/New_York") from None
    return text


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Month = Annotated[str, AfterValidator(_month)]
Money = Annotated[Decimal, BeforeValidator(_money)]
Identifier = Annotated[str, AfterValidator(_identifier)]
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,31}$")]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClientRow(_Row):
    client_id: Identifier
    name: Text
    status: ClientStatus
    offboarding_date: IsoDate | None = None
    owner_slack_id: SlackUserId | None = None
    email: Email | None = None


class AdAccountRow(_Row):
    account_id: Identifier
    client_id: Identifier
    platform: Platform
    name: Text
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    timezone: Annotated[str, AfterValidator(_zone)]


class BudgetRow(_Row):
    account_id: Identifier
    month: Month
    amount: Money
    effective_from: IsoDate | None = None

    @column_check("effective_from")
    @classmethod
    def _inside_month(cls, value: date | None, info: ValidationInfo) -> date | None:
        month = info.data.get("month")
        if value is not None and month is not None and value.strftime("%Y-%m") != month:
            raise ValueError(f"{value} is not in month {month}")
        return value


class SpendRow(_Row):
    account_id: Identifier
    date: IsoDate
    spend: Money
    leads: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class ExclusionRow(_Row):
    account_id: Identifier
    reason: Text
    starts: IsoDate | None = None
    ends: IsoDate | None = None

    @column_check("ends")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        starts = info.data.get("starts")
        if value is not None and starts is not None and value < starts:
            raise ValueError(f"{value} is before starts ({starts})")
        return value


class ProjectRow(_Row):
    project_id: Identifier
    client_id: Identifier
    name: Text
    due_date: IsoDate
    status: ProjectStatus
    source: Identifier


class InboxRow(_Row):
    message_id: Annotated[str, Field(min_length=1, max_length=200)]
    client_id: Identifier
    from_email: Email
    subject: Annotated[str, Field(max_length=500)]
    body: Annotated[str, Field(max_length=100_000)]
    received_at: datetime

    @column_check("received_at", mode="before")
    @classmethod
    def _aware(cls, value: Any, info: ValidationInfo) -> datetime:
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            raise ValueError(f"'{value}' is not an ISO date and time") from None
        if not isinstance(moment, datetime):
            raise ValueError(f"'{value}' is not an ISO date and time")
        if moment.tzinfo is None:  # a time without offset is the agency's local time
            moment = moment.replace(tzinfo=(info.context or {}).get("tz") or ZoneInfo("UTC"))
        try:
            moment.astimezone(UTC)  # stored in UTC: year 1 or 9999 may not fit
        except OverflowError:
            raise ValueError(f"'{value}' is out of range") from None
        return moment
