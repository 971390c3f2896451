"""CSV import (DESIGN section 5): all or nothing, every problem as FILE:LINE: column: problem."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from switchboard.store import bulk_write
from switchboard.store.csv_import import (
    FILE_NAMES,
    ImportFailed,
    ignored_note,
    import_dir,
    import_files,
)
from switchboard.store.engine import create, reading, transaction
from switchboard.store.import_records import ImportRecord
from switchboard.store.schema import metadata
from switchboard.store.source_data import (
    AdAccount,
    Budget,
    Client,
    ClientStatus,
    Exclusion,
    InboundEmail,
    Project,
    SpendDay,
)
from tests.conftest import sqlite_store

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
TODAY = date(2026, 3, 16)  # in New York at NOW
# Digits of other scripts, which \\d would match: full-width and Arabic-Indic.
WIDE_DATE = "2026-03-16".translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
WIDE_MONTH = WIDE_DATE[:7]
ARABIC_123 = "123".translate({ord(d): ord(d) + 0x0630 for d in "0123456789"})

CLIENTS = (
    "client_id,name,status,offboarding_date,owner_slack_id,email\n"
    "C1,Acme Dental,active,,U0AM,ops@acme.example\n"
    "C2,Birch Legal,offboarding,2026-04-01,,\n"
)
ACCOUNTS = (
    "account_id,client_id,platform,name,currency,timezone\n"
    "A1,C1,google_ads,Acme Google,USD,America/New_York\n"
    "A2,C2,meta_ads,Birch Meta,USD,America/New_York\n"
)
VALID: dict[str, str] = {
    "clients.csv": CLIENTS,
    "ad_accounts.csv": ACCOUNTS,
    "budgets.csv": (
        "account_id,month,amount,effective_from\n"
        "A1,2026-03,3100.00,\n"
        "A1,2026-03,6200.00,2026-03-16\n"
        "A2,2026-03,999999999999.99,\n"
    ),
    "spend.csv": (
        "account_id,date,spend,leads\n"
        "A1,2026-03-01,100.10,3\n"
        "A1,2026-03-02,0,\n"
        "A2,2026-03-01,0.01,0\n"
    ),
    "exclusions.csv": "account_id,reason,starts,ends\nA2,client paused,2026-03-10,2026-03-20\n",
    "projects.csv": (
        "project_id,client_id,name,due_date,status,source\n"
        "P1,C1,Spring promo,2026-03-25,open,accelo\n"
        "P1,C1,Spring promo,2026-03-30,on_hold,asana\n"
    ),
    "inbox.csv": (
        "message_id,client_id,from_email,subject,body,received_at\n"
        '<m1@acme.example>,C1,ops@acme.example,Report,"Hi,\n'
        'could you send the report?",2026-03-15T16:05:00\n'
    ),
}
VALID_COUNTS = {
    "clients.csv": 2,
    "ad_accounts.csv": 2,
    "budgets.csv": 3,
    "spend.csv": 3,
    "exclusions.csv": 1,
    "projects.csv": 2,
    "inbox.csv": 1,
}


def encode(files: dict[str, str]) -> dict[str, bytes]:
    return {name: text.encode() for name, text in files.items()}


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as the store returns them (Decimal, date, enum members)."""
    with reading(engine) as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for table in metadata.sorted_tables
        }


def run(engine: Engine, files: dict[str, str | bytes], tz: ZoneInfo = NEW_YORK) -> dict[str, int]:
    data = {n: t if isinstance(t, bytes) else t.encode() for n, t in files.items()}
    with transaction(engine) as session:
        return import_files(session, data, tz, now=NOW, today=TODAY)


def problems(engine: Engine, files: dict[str, str | bytes]) -> list[str]:
    with pytest.raises(ImportFailed) as failure:
        run(engine, files)
    count = len(failure.value.problems)
    noun = "problem" if count == 1 else "problems"
    assert str(failure.value) == f"{count} {noun}; nothing was imported"
    return [str(problem) for problem in failure.value.problems]


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """For checks that never reach the database: the parsing is the same on every backend."""
    _, engine = sqlite_store(sqlite_template, tmp_path)
    try:
        yield engine
    finally:
        engine.dispose()


# --- the happy path ------------------------------------------------------------------------------


def test_valid_files_import_with_their_counts(engine: Engine) -> None:
    assert run(engine, VALID) == VALID_COUNTS
    with reading(engine) as session:
        acme = session.get_one(Client, "C1")
        assert acme.status is ClientStatus.ACTIVE
        assert acme.email == "ops@acme.example"
        assert session.get_one(Client, "C2").offboarding_date == date(2026, 4, 1)
        big = session.get_one(Budget, ("A2", "2026-03", date(2026, 3, 1)))
        assert big.amount == Decimal("999999999999.99")
        mail = session.get_one(InboundEmail, "<m1@acme.example>")
        assert mail.body == "Hi,\ncould you send the report?"
        # No offset: the agency's local time (EDT on 15 March 2026), stored in UTC.
        assert mail.received_at == datetime(2026, 3, 15, 20, 5, tzinfo=UTC)
        assert mail.received_at.utcoffset() is not None
        sources = {p.source: p.due_date for p in session.scalars(select(Project))}
        assert sources == {"accelo": date(2026, 3, 25), "asana": date(2026, 3, 30)}
        exclusion = session.get_one(Exclusion, ("A2", "client paused"))
        assert (exclusion.starts, exclusion.ends) == (date(2026, 3, 10), date(2026, 3, 20))


def test_only_the_files_given_are_imported(engine: Engine) -> None:
    assert run(engine, {"clients.csv": CLIENTS}) == {"clients.csv": 2}
    assert dump(engine)["ad_account"] == []


def test_received_at_with_an_offset_keeps_its_instant(sqlite_engine: Engine) -> None:
    inbox = (
        "message_id,client_id,from_email,subject,body,received_at\n"
        "m1,C1,a@b.example,,,2026-03-15T16:05:00+01:00\n"
    )
    run(sqlite_engine, {"clients.csv": CLIENTS, "inbox.csv": inbox})
    with reading(sqlite_engine) as session:
        mail = session.get_one(InboundEmail, "m1")
    assert mail.received_at == datetime(2026, 3, 15, 15, 5, tzinfo=UTC)
    assert (mail.subject, mail.body) == ("", "")  # subject and body may be empty


def test_utf8_bom_and_crlf_are_accepted(engine: Engine) -> None:
    files = {
        name: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode() for name, text in VALID.items()
    }
    with transaction(engine) as session:
        assert import_files(session, files, NEW_YORK, now=NOW, today=TODAY) == VALID_COUNTS
    with_bom = dump(engine)
    [mail] = with_bom.pop("inbound_email")
    assert mail[4] == "Hi,\r\ncould you send the report?"  # a quoted line break is kept as is
    run(engine, VALID)  # the same data without BOM and CRLF replaces every row by its key
    plain = dump(engine)
    plain.pop("inbound_email")
    # Only the mail changed (its line breaks), so only the inbox brought something new.
    before, after = with_bom.pop("import_record"), plain.pop("import_record")
    assert [r[3:] for r in after if r not in before] == [("inbox.csv", "inbox", 1)]
    assert with_bom == plain
    assert plain["client"][0][0] == "C1"  # not "\ufeffC1"


def test_crlf_inside_a_quoted_field_is_kept(sqlite_engine: Engine) -> None:
    inbox = (
        "message_id,client_id,from_email,subject,body,received_at\r\n"
        'm1,C1,a@b.example,Hi,"line one\r\nline two",2026-03-15T16:05:00Z\r\n'
    )
    run(sqlite_engine, {"clients.csv": CLIENTS, "inbox.csv": inbox})
    with reading(sqlite_engine) as session:
        assert session.get_one(InboundEmail, "m1").body == "line one\r\nline two"


def test_a_spend_row_of_zero_and_a_missing_row_are_different(engine: Engine) -> None:
    run(engine, VALID)
    with reading(engine) as session:
        rows = {
            (s.account_id, s.day): (s.spend, s.leads) for s in session.scalars(select(SpendDay))
        }
    assert rows[("A1", date(2026, 3, 2))] == (Decimal("0.00"), None)  # no spend, leads unknown
    assert ("A1", date(2026, 3, 3)) not in rows  # no data
    assert rows[("A2", date(2026, 3, 1))] == (Decimal("0.01"), 0)


def test_a_budget_without_effective_from_is_in_force_from_day_1(engine: Engine) -> None:
    run(engine, VALID)
    with reading(engine) as session:
        budgets = {
            (b.account_id, b.effective_from): b.amount for b in session.scalars(select(Budget))
        }
    assert budgets == {
        ("A1", date(2026, 3, 1)): Decimal("3100.00"),
        ("A1", date(2026, 3, 16)): Decimal("6200.00"),
        ("A2", date(2026, 3, 1)): Decimal("999999999999.99"),
    }


def test_references_may_be_satisfied_by_rows_already_in_the_store(engine: Engine) -> None:
    run(engine, {"clients.csv": CLIENTS})
    run(engine, {"ad_accounts.csv": ACCOUNTS})
    spend = "account_id,date,spend\nA1,2026-03-01,5\n"
    projects = "project_id,client_id,name,due_date,status,source\nP9,C2,Wrap-up,2026-04-01,done,x\n"
    assert run(engine, {"spend.csv": spend, "projects.csv": projects}) == {
        "spend.csv": 1,
        "projects.csv": 1,
    }


# --- every error class, with its exact location --------------------------------------------------

SPEND_HEAD = "account_id,date,spend,leads\n"
INBOX_HEAD = "message_id,client_id,from_email,subject,body,received_at\n"
CLIENT_COLUMNS = "client_id, name, status, offboarding_date, owner_slack_id, email"

ERROR_CASES: list[tuple[str, dict[str, str], str]] = [
    (
        "unknown column",
        {"clients.csv": "client_id,name,status,colour\nC1,Acme,active,red\n"},
        f"clients.csv:1: colour: unknown column (expected: {CLIENT_COLUMNS})",
    ),
    (
        "blank column name",
        {"clients.csv": "client_id,name,status,\nC1,Acme,active,\n"},
        f"clients.csv:1: (blank): unknown column (expected: {CLIENT_COLUMNS})",
    ),
    (
        "missing required column",
        {"clients.csv": "client_id,name\nC1,Acme\n"},
        "clients.csv:1: status: required column is missing",
    ),
    (
        "duplicate column",
        {"clients.csv": "client_id,name,status,name\nC1,Acme,active,Acme\n"},
        "clients.csv:1: name: column appears twice",
    ),
    (
        "bad enum",
        {"clients.csv": "client_id,name,status\nC1,Acme,dormant\n"},
        "clients.csv:2: status: must be one of 'active', 'onboarding', 'offboarding' or"
        " 'churned' (got 'dormant')",
    ),
    (
        "bad platform",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": "account_id,client_id,platform,name,currency,timezone\n"
            "A1,C1,tiktok,Acme,USD,UTC\n",
        },
        "ad_accounts.csv:2: platform: must be one of 'google_ads' or 'meta_ads' (got 'tiktok')",
    ),
    (
        "impossible date",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-02-30,1.00,\n",
        },
        "spend.csv:2: date: '2026-02-30' is not a real date (day is out of range for month)",
    ),
    (
        "wrong date format",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,03/16/2026,1.00,\n",
        },
        "spend.csv:2: date: '03/16/2026' is not a date in YYYY-MM-DD form",
    ),
    (
        "date with other digits",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1," + WIDE_DATE + ",1.00,\n",
        },
        f"spend.csv:2: date: '{WIDE_DATE}' is not a date in YYYY-MM-DD form",
    ),
    (
        "bad month",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "budgets.csv": "account_id,month,amount\nA1,2026-13,100\n",
        },
        "budgets.csv:2: month: '2026-13' is not a month in YYYY-MM form",
    ),
    (
        "year 0",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "budgets.csv": "account_id,month,amount\nA1,0000-01,100\n",
        },
        "budgets.csv:2: month: '0000-01' is not a real month (year 0)",
    ),
    (
        "month in other digits",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "budgets.csv": "account_id,month,amount\nA1," + WIDE_MONTH + ",100\n",
        },
        f"budgets.csv:2: month: '{WIDE_MONTH}' is not a month in YYYY-MM form",
    ),
    (
        "non-decimal money",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01,$12.50,\n",
        },
        "spend.csv:2: spend: '$12.50' is not a decimal amount like 1234.50",
    ),
    (
        "money in exponent form",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01,1e3,\n",
        },
        "spend.csv:2: spend: '1e3' is not a decimal amount like 1234.50",
    ),
    (
        "money in other digits",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01," + ARABIC_123 + ",\n",
        },
        f"spend.csv:2: spend: '{ARABIC_123}' is not a decimal amount like 1234.50",
    ),
    (
        "negative money",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01,-5.00,\n",
        },
        "spend.csv:2: spend: -5.00 is negative",
    ),
    (
        "more than 2 decimal places",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01,1.005,\n",
        },
        "spend.csv:2: spend: 1.005 has more than 2 decimal places",
    ),
    (
        "money out of range",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "budgets.csv": "account_id,month,amount\nA1,2026-03,1000000000000.00\n",
        },
        "budgets.csv:2: amount: 1000000000000.00 is out of range (at most 999999999999.99)",
    ),
    (
        "too few fields",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01\n",
        },
        "spend.csv:2: row: has 2 fields, header has 4",
    ),
    (
        "too many fields",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01,1,2,3\n",
        },
        "spend.csv:2: row: has 5 fields, header has 4",
    ),
    (
        "duplicate key within a file",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01,1,\nA2,2026-03-01,1,\nA1,2026-03-01,2,\n",
        },
        "spend.csv:4: date: duplicate of line 2 (A1, 2026-03-01)",
    ),
    (
        # Both rows are in force from day 1: the second is the same budget again.
        "budget from day 1 twice, once implicitly",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "budgets.csv": "account_id,month,amount,effective_from\n"
            "A1,2026-03,100,\n"
            "A1,2026-03,200,2026-03-01\n",
        },
        "budgets.csv:3: effective_from: duplicate of line 2 (A1, 2026-03, 2026-03-01)",
    ),
    (
        "unknown client",
        {"clients.csv": CLIENTS, "ad_accounts.csv": ACCOUNTS.replace("A2,C2", "A2,C9")},
        "ad_accounts.csv:3: client_id: unknown client 'C9'",
    ),
    (
        "unknown account",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-01,1,\nA9,2026-03-01,1,\n",
        },
        "spend.csv:3: account_id: unknown ad account 'A9'",
    ),
    (
        "unknown client of a project",
        {
            "clients.csv": CLIENTS,
            "projects.csv": "project_id,client_id,name,due_date,status,source\n"
            "P1,C7,X,2026-03-01,open,accelo\n",
        },
        "projects.csv:2: client_id: unknown client 'C7'",
    ),
    (
        "effective_from outside its month",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "budgets.csv": "account_id,month,amount,effective_from\nA1,2026-03,100,2026-04-01\n",
        },
        "budgets.csv:2: effective_from: 2026-04-01 is not in month 2026-03",
    ),
    (
        "spend dated after the agency's today",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "spend.csv": SPEND_HEAD + "A1,2026-03-16,1.00,\nA1,2026-03-17,1.00,\n",
        },
        "spend.csv:3: date: 2026-03-17 is after today (2026-03-16): no spend is known for it yet",
    ),
    (
        "ends before starts",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": ACCOUNTS,
            "exclusions.csv": "account_id,reason,starts,ends\nA1,paused,2026-03-10,2026-03-09\n",
        },
        "exclusions.csv:2: ends: 2026-03-09 is before starts (2026-03-10)",
    ),
    (
        "required but empty",
        {"clients.csv": "client_id,name,status\nC1, ,active\n"},
        "clients.csv:2: name: required, but empty",
    ),
    (
        "received_at without a date",
        {"clients.csv": CLIENTS, "inbox.csv": INBOX_HEAD + "m1,C1,a@b.example,s,b,yesterday\n"},
        "inbox.csv:2: received_at: 'yesterday' is not an ISO date and time",
    ),
    (
        # Local midnight of year 1 in Tokyo is still year 0 in UTC: it cannot be stored.
        "received_at that does not fit in UTC",
        {
            "clients.csv": CLIENTS,
            "inbox.csv": INBOX_HEAD + "m1,C1,a@b.example,s,b,0001-01-01T00:00:00+09:00\n",
        },
        "inbox.csv:2: received_at: '0001-01-01T00:00:00+09:00' is out of range",
    ),
    (
        "bad email",
        {"clients.csv": CLIENTS, "inbox.csv": INBOX_HEAD + "m1,C1,nope,s,b,2026-03-01T00:00Z\n"},
        "inbox.csv:2: from_email: 'nope' is not an email address",
    ),
    (
        "bad time zone",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": "account_id,client_id,platform,name,currency,timezone\n"
            "A1,C1,meta_ads,X,USD,Mars/Base\n",
        },
        "ad_accounts.csv:2: timezone: 'Mars/Base' is not an IANA time zone such as"
        " America/New_York",
    ),
    (
        "a folder of time zones",
        {
            "clients.csv": CLIENTS,
            "ad_accounts.csv": "account_id,client_id,platform,name,currency,timezone\n"
            "A1,C1,meta_ads,X,USD,America\n",
        },
        "ad_accounts.csv:2: timezone: 'America' is not an IANA time zone such as America/New_York",
    ),
    (
        "NUL character",
        {"clients.csv": "client_id,name,status\nC1,Ac\x00me,active\n"},
        "clients.csv:2: name: contains a NUL character",
    ),
    (
        "empty file",
        {"clients.csv": ""},
        "clients.csv:1: header: missing header row",
    ),
    (
        "unreadable header",
        {"clients.csv": '"' + "x" * 200_000 + '"\n'},
        "clients.csv:1: row: unreadable CSV (field larger than field limit (131072))",
    ),
    (
        "blank header",
        {"clients.csv": "\n\nC1,Acme,active\n"},
        "clients.csv:1: header: missing header row",
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"),
    [pytest.param(files, expected, id=name) for name, files, expected in ERROR_CASES],
)
def test_each_error_is_located_exactly(
    sqlite_engine: Engine, files: dict[str, str], expected: str
) -> None:
    before = dump(sqlite_engine)
    assert problems(sqlite_engine, files) == [expected]
    assert dump(sqlite_engine) == before


def test_non_utf8_bytes_name_the_line_and_byte(sqlite_engine: Engine) -> None:
    data = b"client_id,name,status\nC1,Acme,active\nC2,Caf\xe9,active\n"
    assert problems(sqlite_engine, {"clients.csv": data}) == [
        "clients.csv:3: encoding: not UTF-8 (byte 0xe9)"
    ]


def test_non_utf8_bytes_after_a_bom_name_the_line_and_byte(sqlite_engine: Engine) -> None:
    data = b"\xef\xbb\xbfclient_id,name,status\r\nC1,Acme,active\r\nC2,Caf\xe9,active\r\n"
    assert problems(sqlite_engine, {"clients.csv": data}) == [
        "clients.csv:3: encoding: not UTF-8 (byte 0xe9)"
    ]


def test_a_multi_line_field_does_not_shift_later_line_numbers(sqlite_engine: Engine) -> None:
    inbox = (
        INBOX_HEAD  # line 1
        + 'm1,C1,a@b.example,Hi,"one\ntwo\nthree",2026-03-01T09:00:00\n'  # lines 2-4
        + "m2,C1,not-an-email,Hi,body,2026-03-01T09:00:00\n"  # line 5
        + 'm3,C1,a@b.example,Hi,"four\nfive",2026-03-01T09:00:00\n'  # lines 6-7
        + 'm4,C9,a@b.example,Hi,"six\nseven",2026-03-01T09:00:00\n'  # lines 8-9: bad client
        + "\n"  # line 10: blank, skipped
        + "m5,C1,a@b.example,Hi,body,never\n"  # line 11
    )
    assert problems(sqlite_engine, {"clients.csv": CLIENTS, "inbox.csv": inbox}) == [
        "inbox.csv:5: from_email: 'not-an-email' is not an email address",
        "inbox.csv:11: received_at: 'never' is not an ISO date and time",
        "inbox.csv:8: client_id: unknown client 'C9'",
    ]


def test_all_problems_are_reported_not_just_the_first(sqlite_engine: Engine) -> None:
    clients = (
        "client_id,name,status,email\n"
        "C1,Acme,active,ops@acme.example\n"
        "C2,Birch,sleeping,\n"  # line 3
        "C3,Cedar,active,not-an-email\n"  # line 4
    )
    spend = SPEND_HEAD + "A1,2026-03-01,1,\nA1,2026-03-02,-1,\nA1,2026-03-32,x,\n"
    inbox = INBOX_HEAD + "m1,C1,a@b.example,s\n"
    budgets = "account_id,month,amount,colour\n"
    found = problems(
        sqlite_engine,
        {
            "clients.csv": clients,
            "ad_accounts.csv": ACCOUNTS,
            "budgets.csv": budgets,
            "spend.csv": spend,
            "inbox.csv": inbox,
        },
    )
    assert found == [
        "clients.csv:3: status: must be one of 'active', 'onboarding', 'offboarding' or"
        " 'churned' (got 'sleeping')",
        "clients.csv:4: email: 'not-an-email' is not an email address",
        "budgets.csv:1: colour: unknown column (expected: account_id, month, amount,"
        " effective_from)",
        "spend.csv:3: spend: -1 is negative",
        "spend.csv:4: date: '2026-03-32' is not a real date (day is out of range for month)",
        "spend.csv:4: spend: 'x' is not a decimal amount like 1234.50",
        "inbox.csv:2: row: has 4 fields, header has 6",
    ]


def test_a_client_from_a_broken_row_is_not_reported_again_as_unknown(
    sqlite_engine: Engine,
) -> None:
    clients = "client_id,name,status\nC1,Acme,dormant\n"
    accounts = "account_id,client_id,platform,name,currency,timezone\nA1,C1,meta_ads,X,USD,UTC\n"
    assert problems(sqlite_engine, {"clients.csv": clients, "ad_accounts.csv": accounts}) == [
        "clients.csv:2: status: must be one of 'active', 'onboarding', 'offboarding' or"
        " 'churned' (got 'dormant')"
    ]


def test_unknown_references_are_checked_against_the_store(engine: Engine) -> None:
    run(engine, {"clients.csv": CLIENTS})
    accounts = (
        "account_id,client_id,platform,name,currency,timezone\n"
        "A1,C1,meta_ads,Known,USD,UTC\n"
        "A3,C3,meta_ads,Nowhere,USD,UTC\n"
    )
    spend = SPEND_HEAD + "A1,2026-03-01,1,\nA3,2026-03-01,1,\nA4,2026-03-01,1,\n"
    assert problems(engine, {"ad_accounts.csv": accounts, "spend.csv": spend}) == [
        "ad_accounts.csv:3: client_id: unknown client 'C3'",
        "spend.csv:4: account_id: unknown ad account 'A4'",
    ]


def test_values_the_database_cannot_hold_are_problems_not_crashes(engine: Engine) -> None:
    """PostgreSQL refuses what SQLite stores (long VARCHARs, NUL): the import must check first."""
    clients = (
        "client_id,name,status,owner_slack_id,email\n"
        f"C1,Acme,active,U{'A' * 40},\n"
        f"C2,Birch,active,,{'a' * 400}@x.example\n"
        f"C3,{'N' * 201},active,,\n"
        f"{'C' * 65},Acme,active,,\n"
        "C5,Ac\x00me,active,,\n"
    )
    before = dump(engine)
    assert problems(engine, {"clients.csv": clients}) == [
        f"clients.csv:2: owner_slack_id: 'U{'A' * 40}': string should match pattern"
        " '^[UW][A-Z0-9]{2,31}$'",
        "clients.csv:3: email: String should have at most 320 characters",
        "clients.csv:4: name: String should have at most 200 characters",
        f"clients.csv:5: client_id: '{'C' * 65}' is not an identifier (letters, digits and"
        " _.:@/-, at most 64 characters)",
        "clients.csv:6: name: contains a NUL character",
    ]
    assert dump(engine) == before


# --- all or nothing ------------------------------------------------------------------------------


def _changed_files_with_a_bad_last_row() -> dict[str, str]:
    """Every file changes something already stored; only the last row of the last file is bad."""
    files = dict(VALID)
    files["clients.csv"] = (
        CLIENTS.replace("Acme Dental", "Acme Dental Group") + "C3,New,active,,,\n"
    )
    files["spend.csv"] = VALID["spend.csv"].replace("100.10", "250.00") + "A1,2026-03-09,7,\n"
    files["inbox.csv"] = (
        VALID["inbox.csv"]
        + "m2,C1,a@b.example,Hi,body,2026-03-15T16:05:00\n"
        + "m3,C1,a@b.example,Hi,body,2026-03-15 teatime\n"
    )
    assert list(files) == list(FILE_NAMES)  # the bad row is in the file imported last
    return files


def test_a_bad_last_row_leaves_the_store_unchanged(engine: Engine) -> None:
    run(engine, VALID)
    before = dump(engine)
    assert problems(engine, _changed_files_with_a_bad_last_row()) == [
        "inbox.csv:5: received_at: '2026-03-15 teatime' is not an ISO date and time"
    ]
    assert dump(engine) == before


def test_a_bad_last_row_leaves_the_sqlite_file_byte_for_byte_unchanged(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url, engine = sqlite_store(sqlite_template, tmp_path)
    run(engine, VALID)
    engine.dispose()  # the last connection closes: the WAL is checkpointed into the file
    files_before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(files_before) == {"store.db"}

    engine = create(url)
    before = dump(engine)
    with pytest.raises(ImportFailed):
        run(engine, _changed_files_with_a_bad_last_row())
    assert dump(engine) == before
    engine.dispose()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files_before


def test_a_problem_in_one_file_writes_none_of_the_others(engine: Engine) -> None:
    files = dict(VALID)
    files["projects.csv"] = VALID["projects.csv"] + "P2,C1,Broken,2026-02-30,open,accelo\n"
    before = dump(engine)
    assert problems(engine, files) == [
        "projects.csv:4: due_date: '2026-02-30' is not a real date (day is out of range for month)"
    ]
    assert dump(engine) == before


# --- import_dir and re-import --------------------------------------------------------------------


def write_dir(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_bytes(text.encode())
    return directory


def test_re_importing_a_directory_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    data = write_dir(tmp_path / "data", VALID)
    first = import_dir(engine, data, NEW_YORK, now=NOW, today=TODAY)
    assert first.rows == VALID_COUNTS
    once = dump(engine)
    assert sum(len(rows) for rows in once.values()) >= sum(VALID_COUNTS.values())
    second = import_dir(engine, data, NEW_YORK, now=NOW, today=TODAY)
    assert second.rows == VALID_COUNTS
    assert dump(engine) == once


def test_a_changed_value_is_updated_not_duplicated(engine: Engine, tmp_path: Path) -> None:
    import_dir(engine, write_dir(tmp_path / "v1", VALID), NEW_YORK, now=NOW, today=TODAY)
    changed = dict(VALID)
    changed["spend.csv"] = VALID["spend.csv"].replace(
        "A1,2026-03-01,100.10,3", "A1,2026-03-01,42.00,"
    )
    changed["clients.csv"] = CLIENTS.replace("C2,Birch Legal,offboarding", "C2,Birch Legal,churned")
    changed["budgets.csv"] = VALID["budgets.csv"].replace("3100.00", "3300.00")
    import_dir(engine, write_dir(tmp_path / "v2", changed), NEW_YORK, now=NOW, today=TODAY)
    with reading(engine) as session:
        spend = session.scalars(select(SpendDay).where(SpendDay.account_id == "A1")).all()
        budgets = session.scalars(select(Budget).where(Budget.account_id == "A1")).all()
        assert len(session.scalars(select(Client)).all()) == 2
        assert session.get_one(Client, "C2").status is ClientStatus.CHURNED
    by_day = {s.day: (s.spend, s.leads) for s in spend}
    assert by_day == {
        date(2026, 3, 1): (Decimal("42.00"), None),
        date(2026, 3, 2): (Decimal("0.00"), None),
    }
    assert sorted(b.amount for b in budgets) == [Decimal("3300.00"), Decimal("6200.00")]


def test_a_later_import_of_one_account_day_replaces_it(engine: Engine) -> None:
    run(engine, {"clients.csv": CLIENTS, "ad_accounts.csv": ACCOUNTS})
    run(engine, {"spend.csv": SPEND_HEAD + "A1,2026-03-05,10.00,1\n"})
    run(engine, {"spend.csv": SPEND_HEAD + "A1,2026-03-05,0,0\n"})
    with reading(engine) as session:
        rows = session.scalars(select(SpendDay)).all()
    assert [(r.day, r.spend, r.leads) for r in rows] == [(date(2026, 3, 5), Decimal("0.00"), 0)]


def test_import_dir_lists_files_it_ignores(engine: Engine, tmp_path: Path) -> None:
    data = write_dir(tmp_path / "data", {"clients.csv": CLIENTS, "notes.csv": "a,b\n"})
    (data / "README.txt").write_text("not csv")
    report = import_dir(engine, data, NEW_YORK, now=NOW, today=TODAY)
    assert report.rows == {"clients.csv": 2}
    assert report.ignored == ["notes.csv"]
    assert {a.account_id for a in _all(engine, AdAccount)} == set()


def test_a_wrongly_cased_import_file_is_named_not_imported(engine: Engine, tmp_path: Path) -> None:
    """A spreadsheet saved as Clients.csv is not clients.csv: it is named, and why."""
    data = write_dir(tmp_path / "data", {"Clients.csv": CLIENTS, "SPEND.CSV": SPEND_HEAD})
    with pytest.raises(ImportFailed) as failure:
        import_dir(engine, data, NEW_YORK, now=NOW, today=TODAY)
    assert failure.value.ignored == ["Clients.csv", "SPEND.CSV"]
    assert [ignored_note(name) for name in failure.value.ignored] == [
        "ignored Clients.csv: not an import file; their names are lower case (clients.csv)",
        "ignored SPEND.CSV: not an import file; their names are lower case (spend.csv)",
    ]
    beside = write_dir(tmp_path / "beside", {"clients.csv": CLIENTS, "Budgets.csv": "x\n"})
    report = import_dir(engine, beside, NEW_YORK, now=NOW, today=TODAY)
    assert (report.rows, report.ignored) == ({"clients.csv": 2}, ["Budgets.csv"])


def test_files_ignored_beside_a_failing_import_are_named_too(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    files = {"clients.csv": CLIENTS + "C3,Cedar,dormant\n", "notes.csv": "a\n"}
    with pytest.raises(ImportFailed) as failure:
        import_dir(sqlite_engine, write_dir(tmp_path / "d", files), NEW_YORK, now=NOW, today=TODAY)
    assert failure.value.ignored == ["notes.csv"]
    assert ignored_note("notes.csv") == "ignored notes.csv: not an import file"


def _all(engine: Engine, model: type) -> list[Any]:
    with reading(engine) as session:
        return list(session.scalars(select(model)))


def test_import_dir_without_import_files_is_a_problem(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImportFailed) as failure:
        import_dir(sqlite_engine, empty, NEW_YORK, now=NOW, today=TODAY)
    [problem] = failure.value.problems
    assert str(problem).startswith(f"{empty}:0: directory: no import files (expected any of ")
    with pytest.raises(ImportFailed) as failure:
        import_dir(sqlite_engine, tmp_path / "missing", NEW_YORK, now=NOW, today=TODAY)
    assert [str(p) for p in failure.value.problems] == [
        f"{tmp_path / 'missing'}:0: directory: not a directory"
    ]


def test_import_dir_is_one_transaction(engine: Engine, tmp_path: Path) -> None:
    files = _changed_files_with_a_bad_last_row()
    data = write_dir(tmp_path / "data", files)
    before = dump(engine)
    with pytest.raises(ImportFailed):
        import_dir(engine, data, NEW_YORK, now=NOW, today=TODAY)
    assert dump(engine) == before


# --- today, the caller's -------------------------------------------------------------------------


def test_only_spend_must_not_be_dated_after_today(sqlite_engine: Engine) -> None:
    """Budgets, due dates and exclusions look ahead; spend is known only for days begun."""
    files = dict(VALID)
    files["budgets.csv"] = "account_id,month,amount\nA1,2026-04,100\n"
    files["exclusions.csv"] = "account_id,reason,starts,ends\nA2,holiday,2026-12-24,2027-01-02\n"
    files["projects.csv"] = (
        "project_id,client_id,name,due_date,status,source\nP1,C1,X,2027-01-01,open,a\n"
    )
    files["spend.csv"] = SPEND_HEAD + "A1,2026-03-16,1.00,\n"  # today: its partial figure
    assert run(sqlite_engine, files)["spend.csv"] == 1


def test_today_is_the_callers_not_the_clock(sqlite_engine: Engine) -> None:
    """The demo imports as of its own day; a real import as of the agency's real today."""
    spend = SPEND_HEAD + "A1,2026-03-20,1.00,\n"
    files = encode({"clients.csv": CLIENTS, "ad_accounts.csv": ACCOUNTS, "spend.csv": spend})
    with transaction(sqlite_engine) as session, pytest.raises(ImportFailed):
        import_files(session, files, NEW_YORK, now=NOW, today=TODAY)
    with transaction(sqlite_engine) as session:
        counts = import_files(session, files, NEW_YORK, now=NOW, today=date(2026, 3, 20))
    assert counts["spend.csv"] == 1


def test_a_row_rule_is_reported_beside_a_bad_value_of_the_same_row(sqlite_engine: Engine) -> None:
    """Every problem of a row at once, in column order, as the model would report them."""
    budgets = "account_id,month,amount,effective_from\nA1,2026-03,-1,2026-04-01\n"
    assert problems(
        sqlite_engine, {"clients.csv": CLIENTS, "ad_accounts.csv": ACCOUNTS, "budgets.csv": budgets}
    ) == [
        "budgets.csv:2: amount: -1 is negative",
        "budgets.csv:2: effective_from: 2026-04-01 is not in month 2026-03",
    ]


# --- writing in bulk -----------------------------------------------------------------------------


def new_rows(engine: Engine) -> list[tuple[str, str | None, int]]:
    with reading(engine) as session:
        return sorted((r.file, r.source, r.new_rows) for r in session.scalars(select(ImportRecord)))


def test_bulk_writes_count_new_rows_per_source_across_chunks(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows go to the database in chunks (COPY on PostgreSQL): what is new is counted per
    source all the same, and an identical re-import writes and records nothing."""
    monkeypatch.setattr(bulk_write, "CHUNK", 2)
    run(engine, {"clients.csv": CLIENTS, "ad_accounts.csv": ACCOUNTS})
    days = [f"2026-03-0{n}" for n in range(1, 8)]
    spend = SPEND_HEAD + "".join(f"A1,{d},{n}.25,{n}\nA2,{d},0,\n" for n, d in enumerate(days))
    steps: list[tuple[str, int, int]] = []
    with transaction(engine) as session:
        counts = import_files(
            session,
            encode({"spend.csv": spend}),
            NEW_YORK,
            now=NOW,
            today=TODAY,
            progress=lambda step, done, total: steps.append((step, done, total)),
        )
    assert counts == {"spend.csv": 14}
    assert len(_all(engine, SpendDay)) == 14
    first = [r for r in new_rows(engine) if r[0] == "spend.csv"]
    assert first == [("spend.csv", "google_ads", 7), ("spend.csv", "meta_ads", 7)]
    writing = [done for step, done, total in steps if step == "writing spend.csv"]
    assert writing == sorted(writing) and writing[0] == 0 and writing[-1] == 14
    assert len(writing) > 3  # told chunk by chunk
    assert {total for step, _, total in steps if step == "writing spend.csv"} == {14}
    assert steps[0] == ("checking spend.csv", 0, 0)  # before the rows are counted

    before = dump(engine)
    run(engine, {"spend.csv": spend})
    assert dump(engine) == before  # nothing new recorded either

    recorded = new_rows(engine)
    run(engine, {"spend.csv": spend.replace("A2,2026-03-04,0,", "A2,2026-03-04,9.99,")})
    with reading(engine) as session:
        assert session.get_one(SpendDay, ("A2", date(2026, 3, 4))).spend == Decimal("9.99")
    added = Counter(new_rows(engine)) - Counter(recorded)
    assert added == Counter([("spend.csv", "meta_ads", 1)])
