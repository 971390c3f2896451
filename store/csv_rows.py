"""The row contract of each import file (DESIGN section 5), as pydantic models.

Column names are the field names; a failed field is reported as that column's problem. The
importer checks a file column by column (store/csv_read.py), each distinct value once, so every
rule about one value lives in its column's type; a rule on a column that depends on other
columns of the row is one of the model's `row_checks`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from switchboard.store.slack_ids import USER_ID
from switchboard.store.source_data import ClientStatus, Platform, ProjectStatus
from switchboard.store.zones import iana_zone

MAX_MONEY = Decimal("999999999999.99")
# [0-9], not \d: \d also matches other scripts' digits (Arabic-Indic, full-width, ...).
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
# An amount that needs no further check: not negative, at most 2 places, at most MAX_MONEY.
_PLAIN_MONEY = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
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
    if int(match.group(1)) < 1:  # no year 0 in the calendar (nor in Python's dates)
        raise ValueError(f"'{text}' is not a real month (year 0)")
    return text


def _money(text: Any) -> Decimal:
    if isinstance(text, str) and _PLAIN_MONEY.fullmatch(text):
        return Decimal(text)  # a million spend rows are a million amounts: the short way first
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


def _not_after_today(day: date, info: ValidationInfo) -> date:
    """A day that has begun for the agency: its `today` is the importer's context."""
    today = info.context["today"]  # type: ignore[index]
    if day > today:
        raise ValueError(f"{day} is after today ({today}): no spend is known for it yet")
    return day


def _agency_time(value: Any, info: ValidationInfo) -> datetime:
    """An ISO date and time; one without an offset is the agency's local time (`tz`)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        raise ValueError(f"'{value}' is not an ISO date and time") from None
    if not isinstance(moment, datetime):
        raise ValueError(f"'{value}' is not an ISO date and time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=(info.context or {}).get("tz") or ZoneInfo("UTC"))
    try:
        moment.astimezone(UTC)  # stored in UTC: year 1 or 9999 may not fit
    except OverflowError:
        raise ValueError(f"'{value}' is out of range") from None
    return moment


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


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
DayUpToToday = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_not_after_today)]
AgencyTime = Annotated[datetime, BeforeValidator(_agency_time)]
Month = Annotated[str, AfterValidator(_month)]
Money = Annotated[Decimal, BeforeValidator(_money)]
Identifier = Annotated[str, AfterValidator(_identifier)]
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
SlackUserId = Annotated[str, Field(pattern=USER_ID)]


# A rule on a column that depends on others of its row: given the row's valid values (the
# column's own among them), None or the problem.
RowCheck = Callable[[Mapping[str, Any]], str | None]


def _inside_month(row: Mapping[str, Any]) -> str | None:
    value, month = row.get("effective_from"), row.get("month")
    if value is not None and month is not None and value.strftime("%Y-%m") != month:
        return f"{value} is not in month {month}"
    return None


def _after_start(row: Mapping[str, Any]) -> str | None:
    value, starts = row.get("ends"), row.get("starts")
    if value is not None and starts is not None and value < starts:
        return f"{value} is before starts ({starts})"
    return None


class CsvRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # column -> its rule, checked where the column's value is valid on its own
    row_checks: ClassVar[Mapping[str, RowCheck]] = {}


class ClientRow(CsvRow):
    client_id: Identifier
    name: Text
    status: ClientStatus
    offboarding_date: IsoDate | None = None
    owner_slack_id: SlackUserId | None = None
    email: Email | None = None


class AdAccountRow(CsvRow):
    account_id: Identifier
    client_id: Identifier
    platform: Platform
    name: Text
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    timezone: Annotated[str, AfterValidator(iana_zone)]


class BudgetRow(CsvRow):
    account_id: Identifier
    month: Month
    amount: Money
    effective_from: IsoDate | None = None

    row_checks = {"effective_from": _inside_month}


class SpendRow(CsvRow):
    account_id: Identifier
    date: DayUpToToday
    spend: Money
    leads: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class ExclusionRow(CsvRow):
    account_id: Identifier
    reason: Text
    starts: IsoDate | None = None
    ends: IsoDate | None = None

    row_checks = {"ends": _after_start}


class ProjectRow(CsvRow):
    project_id: Identifier
    client_id: Identifier
    name: Text
    due_date: IsoDate
    status: ProjectStatus
    source: Identifier


class InboxRow(CsvRow):
    message_id: Annotated[str, Field(min_length=1, max_length=200)]
    client_id: Identifier
    from_email: Email
    subject: Annotated[str, Field(max_length=500)]
    body: Annotated[str, Field(max_length=100_000)]
    received_at: AgencyTime
