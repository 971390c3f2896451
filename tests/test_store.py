"""Store round trips on every backend, and compare-and-set under concurrent writers."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, Table, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from switchboard.store.alerts import Alert, AlertDirection, AlertState
from switchboard.store.engine import (
    alembic_config,
    one_writer_at_a_time,
    open_store,
    reading,
    transaction,
)
from switchboard.store.ownership import DomainOwner
from switchboard.store.source_data import (
    AdAccount,
    Budget,
    Client,
    ClientStatus,
    InboundEmail,
    Platform,
    SpendDay,
)
from switchboard.store.transitions import compare_and_set
from switchboard.store.types import ExactDecimal
from tests.conftest import POSTGRES_URL, joined, poll_until

NOW = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
THREADS = 10


def add_accounts(engine: Engine, *account_ids: str) -> None:
    with transaction(engine) as session:
        session.add(Client(client_id="C1", name="Acme", status=ClientStatus.ACTIVE))
        session.flush()  # no ORM relationship orders the inserts: the client goes first
        for account_id in account_ids:
            session.add(
                AdAccount(
                    account_id=account_id,
                    client_id="C1",
                    platform=Platform.GOOGLE_ADS,
                    name=account_id,
                    currency="USD",
                    timezone="UTC",
                )
            )


def new_alert(engine: Engine, *, state: AlertState = AlertState.OPEN, account: str = "A1") -> int:
    with transaction(engine) as session:
        alert = Alert(
            domain="ad_performance",
            account_id=account,
            client_id="C1",
            month="2026-03",
            direction=AlertDirection.OVER,
            state=state,
            deviation_pct=Decimal("45.5"),
            first_seen_on=date(2026, 3, 10),
            last_seen_on=date(2026, 3, 15),
            opened_at=NOW,
            updated_at=NOW,
        )
        session.add(alert)
        session.flush()
        assert alert.id is not None
        return alert.id


# --- money ---------------------------------------------------------------------------------------

AMOUNTS = [
    Decimal("0.00"),
    Decimal("0.01"),
    Decimal("0.10"),
    Decimal("0.20"),
    Decimal("1234.56"),
    Decimal("123456789012.34"),
    Decimal("999999999999.99"),  # the largest Money value: 14 digits, beyond a float's 15-16
]


def test_money_comes_back_as_the_exact_decimal(engine: Engine) -> None:
    add_accounts(engine, "A1")
    with transaction(engine) as session:
        for day, amount in enumerate(AMOUNTS, start=1):
            session.add(SpendDay(account_id="A1", day=date(2026, 3, day), spend=amount))
    with reading(engine) as session:
        stored = {row.day.day: row.spend for row in session.scalars(select(SpendDay))}
    assert stored == dict(enumerate(AMOUNTS, start=1))
    for amount in stored.values():
        assert type(amount) is Decimal
        assert amount.as_tuple().exponent == -2  # two places, always: "0.10", not "0.1"
    assert str(stored[3]) == "0.10"
    assert str(stored[7]) == "999999999999.99"


def test_sql_sum_of_money_is_exact(engine: Engine) -> None:
    """A thousand cents, and two of the largest amounts: floats would lose the cents."""
    add_accounts(engine, "A1", "A2", "A3")
    start = date(2000, 1, 1)
    with transaction(engine) as session:
        session.add_all(
            SpendDay(account_id="A1", day=start + timedelta(days=n), spend=Decimal("0.01"))
            for n in range(1000)
        )
        for account in ("A2", "A3"):
            session.add(SpendDay(account_id=account, day=start, spend=Decimal("999999999999.99")))
            session.add(
                Budget(
                    account_id=account,
                    month="2026-03",
                    effective_from=date(2026, 3, 1),
                    amount=Decimal("0.10"),
                )
            )
    with reading(engine) as session:
        cents = session.scalar(select(func.sum(SpendDay.spend)).where(SpendDay.account_id == "A1"))
        large = session.scalar(select(func.sum(SpendDay.spend)).where(SpendDay.account_id != "A1"))
        everything = session.scalar(select(func.sum(SpendDay.spend)))
        tenths = session.scalar(select(func.sum(Budget.amount)))
    assert (cents, large, everything, tenths) == (
        Decimal("10.00"),
        Decimal("1999999999999.98"),
        Decimal("2000000000009.98"),
        Decimal("0.20"),
    )
    assert all(type(v) is Decimal for v in (cents, large, everything, tenths))
    assert float(large) != large  # the exact value is not representable as a float


def test_exact_decimal_keeps_its_scale_for_other_precisions(engine: Engine) -> None:
    add_accounts(engine, "A1")
    alert_id = new_alert(engine)
    with reading(engine) as session:
        assert session.get_one(Alert, alert_id).deviation_pct == Decimal("45.5")
    assert repr(ExactDecimal(9, 1)) == "ExactDecimal(9, 1)"


# --- datetimes -----------------------------------------------------------------------------------


MOMENTS = {
    "m-new-york-microseconds": datetime(
        2026, 3, 15, 16, 5, 7, 123456, tzinfo=ZoneInfo("America/New_York")
    ),
    "m-dst-first": datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
    "m-dst-second": datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
    "m-nepal-offset": datetime(2026, 3, 16, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    "m-utc": datetime(2026, 3, 16, 13, 0, tzinfo=UTC),
    "m-far-future": datetime(9999, 12, 31, 18, 59, 59, 999999, tzinfo=ZoneInfo("America/New_York")),
}


def test_datetimes_come_back_timezone_aware_utc(engine: Engine) -> None:
    add_accounts(engine)
    with transaction(engine) as session:
        for message_id, moment in MOMENTS.items():
            session.add(
                InboundEmail(
                    message_id=message_id,
                    client_id="C1",
                    from_email="a@b.example",
                    subject="s",
                    body="b",
                    received_at=moment,
                )
            )
    with reading(engine) as session:
        loaded = {m.message_id: m.received_at for m in session.scalars(select(InboundEmail))}
        raw = dict(session.execute(select(InboundEmail.message_id, InboundEmail.received_at)).all())
    assert set(loaded) == set(raw) == set(MOMENTS)
    for message_id, moment in MOMENTS.items():
        for value in (loaded[message_id], raw[message_id]):
            assert value.tzinfo is not None, message_id
            assert value.utcoffset() == timedelta(0), message_id
            # The same instant (compared in UTC: Python never equates an ambiguous local time).
            assert value == moment.astimezone(UTC), message_id
            assert value.timestamp() == moment.timestamp(), message_id
    assert loaded["m-dst-second"] - loaded["m-dst-first"] == timedelta(hours=1)


def test_naive_datetimes_are_refused_and_nothing_is_written(engine: Engine) -> None:
    add_accounts(engine, "A1")
    with (
        pytest.raises(StatementError, match="naive datetime") as failure,
        transaction(engine) as session,
    ):
        session.add(
            Alert(
                domain="ad_performance",
                account_id="A1",
                client_id="C1",
                month="2026-03",
                direction=AlertDirection.UNDER,
                state=AlertState.OPEN,
                first_seen_on=date(2026, 3, 10),
                last_seen_on=date(2026, 3, 15),
                opened_at=datetime(2026, 3, 16, 13, 0),  # naive
                updated_at=NOW,
            )
        )
    assert isinstance(failure.value.orig, ValueError)
    with reading(engine) as session:
        assert session.scalars(select(Alert)).all() == []


def test_naive_datetimes_are_refused_in_where_clauses_too(engine: Engine) -> None:
    with reading(engine) as session, pytest.raises(StatementError, match="naive datetime"):
        session.scalars(select(Alert).where(Alert.opened_at < datetime(2026, 3, 16))).all()


# --- enums ---------------------------------------------------------------------------------------


def test_enums_come_back_as_members_and_are_stored_as_their_values(engine: Engine) -> None:
    add_accounts(engine, "A1")
    with transaction(engine) as session:
        session.get_one(Client, "C1").status = ClientStatus.OFFBOARDING
    alert_id = new_alert(engine, state=AlertState.SUPPRESSED)
    with reading(engine) as session:
        client = session.get_one(Client, "C1")
        account = session.get_one(AdAccount, "A1")
        alert = session.get_one(Alert, alert_id)
        raw = session.execute(text("SELECT status FROM client")).scalar_one()
        raw_state = session.execute(text("SELECT state, direction FROM alert")).one()
    assert client.status is ClientStatus.OFFBOARDING
    assert account.platform is Platform.GOOGLE_ADS
    assert alert.state is AlertState.SUPPRESSED
    assert alert.direction is AlertDirection.OVER
    assert raw == "offboarding"
    assert tuple(raw_state) == ("suppressed", "over")


def test_an_enum_value_from_a_string_is_stored_as_the_member(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(Client(client_id="C2", name="Birch", status=ClientStatus("churned")))
    with reading(engine) as session:
        assert session.scalar(select(Client.status)) is ClientStatus.CHURNED


# --- compare-and-set -----------------------------------------------------------------------------


def race(engine: Engine, attempt: object) -> list[bool]:
    """Run `attempt(session, i)` in THREADS threads, each in its own transaction, all at once."""
    barrier = threading.Barrier(THREADS, timeout=30)

    def contender(i: int) -> bool:
        with transaction(engine) as session:
            barrier.wait()  # every thread has its session open before anyone writes
            return attempt(session, i)  # type: ignore[operator]

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(contender, range(THREADS)))


def test_ten_threads_acknowledging_one_alert_have_exactly_one_winner(engine: Engine) -> None:
    add_accounts(engine, "A1")
    alert_id = new_alert(engine)

    def acknowledge(session, i: int) -> bool:  # type: ignore[no-untyped-def]
        return compare_and_set(
            session,
            Alert,
            alert_id,
            expected=AlertState.OPEN,
            to=AlertState.ACKNOWLEDGED,
            acknowledged_by=f"U{i}",
            acknowledged_at=NOW + timedelta(seconds=i),
        )

    results = race(engine, acknowledge)
    assert results.count(True) == 1
    winner = results.index(True)
    with reading(engine) as session:
        alert = session.get_one(Alert, alert_id)
    assert alert.state is AlertState.ACKNOWLEDGED
    # The losers changed nothing: the extra values are the winner's.
    assert alert.acknowledged_by == f"U{winner}"
    assert alert.acknowledged_at == NOW + timedelta(seconds=winner)


def test_ten_threads_reassigning_one_domain_have_exactly_one_winner(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(
            DomainOwner(
                id="ad_performance", agent="pacing", owner="U0AM", updated_at=NOW, updated_by="m"
            )
        )

    def reassign(session, i: int) -> bool:  # type: ignore[no-untyped-def]
        return compare_and_set(
            session,
            DomainOwner,
            "ad_performance",
            field="owner",
            expected="U0AM",
            to=f"U{i}",
            updated_by=f"U{i}",
        )

    results = race(engine, reassign)
    assert results.count(True) == 1
    with reading(engine) as session:
        row = session.get_one(DomainOwner, "ad_performance")
    assert row.owner == row.updated_by == f"U{results.index(True)}"


def test_expected_none_matches_a_null_column(engine: Engine) -> None:
    add_accounts(engine, "A1")
    alert_id = new_alert(engine)
    with transaction(engine) as session:
        won = compare_and_set(session, Alert, alert_id, field="assignee", expected=None, to="U1")
        assert won
        again = compare_and_set(session, Alert, alert_id, field="assignee", expected=None, to="U2")
        assert not again
    with reading(engine) as session:
        assert session.get_one(Alert, alert_id).assignee == "U1"


def test_a_collection_of_expected_states(engine: Engine) -> None:
    add_accounts(engine, "A1", "A2", "A3")
    open_id = new_alert(engine, state=AlertState.OPEN, account="A1")
    suppressed_id = new_alert(engine, state=AlertState.SUPPRESSED, account="A2")
    resolved_id = new_alert(engine, state=AlertState.RESOLVED, account="A3")
    unresolved = (AlertState.SUPPRESSED, AlertState.OPEN, AlertState.ACKNOWLEDGED)
    with transaction(engine) as session:
        for alert_id, expected in (
            (open_id, unresolved),
            (suppressed_id, {AlertState.SUPPRESSED, AlertState.OPEN}),
        ):
            assert compare_and_set(
                session, Alert, alert_id, expected=expected, to=AlertState.RESOLVED
            )
        assert not compare_and_set(
            session, Alert, resolved_id, expected=list(unresolved), to=AlertState.OPEN
        )
        assert not compare_and_set(session, Alert, 999_999, expected=unresolved, to="resolved")
    with reading(engine) as session:
        states = {a.id: a.state for a in session.scalars(select(Alert))}
    assert states == {
        open_id: AlertState.RESOLVED,
        suppressed_id: AlertState.RESOLVED,
        resolved_id: AlertState.RESOLVED,
    }


def test_a_collection_may_include_none(engine: Engine) -> None:
    add_accounts(engine, "A1", "A2", "A3")
    ids = [new_alert(engine, account=a) for a in ("A1", "A2", "A3")]
    with transaction(engine) as session:
        compare_and_set(session, Alert, ids[1], field="assignee", expected=None, to="U1")
        compare_and_set(session, Alert, ids[2], field="assignee", expected=None, to="U9")
    with transaction(engine) as session:
        results = [
            compare_and_set(session, Alert, i, field="assignee", expected=[None, "U1"], to="U2")
            for i in ids
        ]
    assert results == [True, True, False]
    with reading(engine) as session:
        assert [session.get_one(Alert, i).assignee for i in ids] == ["U2", "U2", "U9"]


def test_a_loaded_row_shows_the_new_state_after_compare_and_set(engine: Engine) -> None:
    add_accounts(engine, "A1")
    alert_id = new_alert(engine)
    with transaction(engine) as session:
        alert = session.get_one(Alert, alert_id)
        assert alert.state is AlertState.OPEN
        assert compare_and_set(
            session, Alert, alert_id, expected=AlertState.OPEN, to=AlertState.ACKNOWLEDGED
        )
        assert alert.state is AlertState.ACKNOWLEDGED


def test_a_rolled_back_win_changes_nothing(engine: Engine) -> None:
    add_accounts(engine, "A1")
    alert_id = new_alert(engine)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        assert compare_and_set(
            session, Alert, alert_id, expected=AlertState.OPEN, to=AlertState.ACKNOWLEDGED
        )
        raise RuntimeError("the caller fails after winning")
    with reading(engine) as session:
        assert session.get_one(Alert, alert_id).state is AlertState.OPEN


def test_the_schema_heads_read_without_alembic_are_alembics() -> None:
    """`switchboard alerts` checks the store's schema without importing Alembic."""
    from alembic.script import ScriptDirectory

    from switchboard.store.engine import _migration_graph, alembic_config, create, schema_heads

    engine = create("sqlite://")
    script = ScriptDirectory.from_config(alembic_config(engine))
    engine.dispose()
    assert schema_heads() == set(script.get_heads())
    assert _migration_graph()[0] == {r.revision for r in script.walk_revisions()}


# --- migrations ----------------------------------------------------------------------------------

FIGURES = ("spend_to_date", "plan_to_date", "budget", "projected_month_end", "threshold_pct")


def alert_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("alert")}


def test_the_alert_figures_migration_upgrades_and_downgrades(empty_database: Engine) -> None:
    """0007 adds the figures an alert's message shows, nullable; alerts already stored keep
    everything and get none; the downgrade drops exactly them and keeps the one-unresolved-
    alert rule (SQLite rebuilds the table to drop a column)."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0006")
    table = Table("alert", MetaData(), autoload_with=empty_database)
    row = {
        "domain": "ad_performance",
        "account_id": "A1",
        "client_id": "C1",
        "month": "2026-03",
        "direction": "over",
        "state": "open",
        "notifications": 1,
        "first_seen_on": date(2026, 3, 10),
        "last_seen_on": date(2026, 3, 15),
        "opened_at": NOW,
        "updated_at": NOW,
    }
    with empty_database.begin() as connection:
        connection.execute(table.insert().values(**row))
    assert not alert_columns(empty_database) & set(FIGURES)

    command.upgrade(config, "0007")
    assert {
        c["name"]: c["nullable"] for c in inspect(empty_database).get_columns("alert")
    }.items() >= {name: True for name in FIGURES}.items()
    with transaction(empty_database) as session:
        [alert] = session.scalars(select(Alert)).all()
        assert (alert.account_id, alert.state, alert.spend_to_date, alert.threshold_pct) == (
            "A1",
            AlertState.OPEN,
            None,
            None,
        )
        alert.spend_to_date = Decimal("999999999999.99")  # the largest Money value, exact
        alert.plan_to_date = Decimal("0.01")
        alert.threshold_pct = Decimal("12.5")
    with reading(empty_database) as session:
        [alert] = session.scalars(select(Alert)).all()
        assert (alert.spend_to_date, alert.plan_to_date, alert.budget, alert.threshold_pct) == (
            Decimal("999999999999.99"),
            Decimal("0.01"),
            None,
            Decimal("12.50"),
        )

    command.downgrade(config, "0006")
    assert not alert_columns(empty_database) & set(FIGURES)
    indexes = {i["name"] for i in inspect(empty_database).get_indexes("alert")}
    assert "uq_alert_unresolved" in indexes
    with empty_database.begin() as connection:
        assert connection.execute(select(table.c.account_id, table.c.state)).all() == [
            ("A1", "open")
        ]
    with pytest.raises(IntegrityError), empty_database.begin() as connection:
        connection.execute(table.insert().values(**row))  # a second unresolved alert: refused
    with empty_database.begin() as connection:
        connection.execute(table.insert().values(**{**row, "state": "resolved"}))

    command.upgrade(config, "heads")
    assert alert_columns(empty_database) >= set(FIGURES)


@pytest.mark.skipif(not POSTGRES_URL, reason="SWITCHBOARD_TEST_POSTGRES_URL is not set")
def test_one_writer_at_a_time_holds_the_next_until_the_first_transaction_ends(
    request: pytest.FixtureRequest,
) -> None:
    """On PostgreSQL, where writers do not queue by themselves (SQLite: BEGIN IMMEDIATE)."""
    url, options = request.getfixturevalue("postgres_schema")
    engine = open_store(url, **options)
    lock = random.getrandbits(62)  # not one that another run on this server holds
    first_has_it, first_may_end = threading.Event(), threading.Event()
    events: list[str] = []
    second_pid: list[int] = []

    def first() -> None:
        with transaction(engine) as session:
            one_writer_at_a_time(session, lock)
            first_has_it.set()
            first_may_end.wait(10)
            events.append("first ends")

    def second() -> None:
        first_has_it.wait(10)
        with transaction(engine) as session:
            second_pid.append(session.scalar(text("SELECT pg_backend_pid()")))
            one_writer_at_a_time(session, lock)
            events.append("second has it")

    def second_is_waiting() -> bool:
        if not second_pid:
            return False
        with engine.connect() as connection:
            blockers = text("SELECT cardinality(pg_blocking_pids(:pid))")
            return bool(connection.scalar(blockers, {"pid": second_pid[0]}))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for thread in threads:
            thread.start()
        poll_until(second_is_waiting, what="the second transaction waiting for the lock")
        assert events == []
    finally:
        first_may_end.set()
        joined(threads, 10)
        engine.dispose()
    assert events == ["first ends", "second has it"]
