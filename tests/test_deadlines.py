"""The deadlines agent: due this week, overdue, conflicts between sources, escalations of
overdue projects under the autonomy gate; and the import records behind stale sources.

The example manifest: `project_status` is owned by the deadlines agent and Leo (U0LEAD), its
sources are [accelo, asana] (accelo is the truth), and the agent starts in shadow with the
`delivery` policy. 18 March 2026 is a Wednesday; its week ends on Sunday the 22nd.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select

from switchboard.agents import deadlines
from switchboard.agents.deadlines import DeadlinesReport
from switchboard.agents.handoff import handoff
from switchboard.bot.agent_runs import AgentRun, run_deadlines
from switchboard.bot.runtime import seed
from switchboard.bot.sample_agency import write_sample
from switchboard.bot.tick import TickReport
from switchboard.store import escalations, ownership
from switchboard.store.agent_state import Autonomy
from switchboard.store.csv_import import import_dir, import_files
from switchboard.store.engine import alembic_config, reading, transaction
from switchboard.store.escalations import EscalationStatus
from switchboard.store.import_records import ImportRecord, StaleSource, stale_sources
from switchboard.store.manifest import AgencyManifest
from switchboard.store.shadow import ShadowOutput
from switchboard.store.source_data import Client, ClientStatus, InboundEmail
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.test_escalations import Agency

NY = ZoneInfo("America/New_York")
WEDNESDAY = date(2026, 3, 18)
SUNDAY = date(2026, 3, 22)
OWNER, ADMIN = "U0LEAD", "U0ADMIN"
CLIENTS = "client_id,name,status\nC1,Acme Dental,active\n"
PROJECTS_HEAD = "project_id,client_id,name,due_date,status,source\n"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, New York time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY)


def projects(*rows: tuple[str, str, str, str]) -> str:
    """projects.csv for client C1 from (project_id, due_date, status, source)."""
    return PROJECTS_HEAD + "".join(
        f"{pid},C1,Project {pid},{due},{status},{source}\n" for pid, due, status, source in rows
    )


def load(engine: Engine, files: dict[str, str], *, now: datetime = at(16, 9)) -> None:
    with transaction(engine) as session:
        import_files(
            session,
            {n: t.encode() for n, t in files.items()},
            NY,
            now=now,
            today=now.astimezone(NY).date(),
        )


def load_projects(engine: Engine, *rows: tuple[str, str, str, str]) -> None:
    load(engine, {"clients.csv": CLIENTS, "projects.csv": projects(*rows)})


def report(engine: Engine, manifest: AgencyManifest, today: date = WEDNESDAY) -> DeadlinesReport:
    with reading(engine) as session:
        return deadlines.evaluate(session, manifest=manifest, today=today)


def ids(items: list[Any]) -> list[str]:
    return [item.project_id for item in items]


def at_level(manifest: AgencyManifest, level: Autonomy) -> AgencyManifest:
    agents = dict(manifest.agents)
    agents["deadlines"] = agents["deadlines"].model_copy(update={"autonomy": level})
    return manifest.model_copy(update={"agents": agents})


def with_sources(manifest: AgencyManifest, *sources: str) -> AgencyManifest:
    domains = dict(manifest.domains)
    domains["project_status"] = domains["project_status"].model_copy(
        update={"sources": list(sources)}
    )
    return manifest.model_copy(update={"domains": domains})


@pytest.fixture
def seeded(engine: Engine, manifest: AgencyManifest) -> Engine:
    seed(engine, manifest, now=at(16, 9))
    return engine


# -- due this week and overdue --------------------------------------------------------------------

WEEK = (
    ("P-YESTERDAY", "2026-03-17", "open", "accelo"),
    ("P-TODAY", "2026-03-18", "open", "accelo"),
    ("P-HOLD", "2026-03-20", "on_hold", "accelo"),
    ("P-DONE", "2026-03-21", "done", "accelo"),
    ("P-SUNDAY", "2026-03-22", "open", "accelo"),
    ("P-MONDAY", "2026-03-23", "open", "accelo"),
)


@pytest.mark.parametrize(
    ("today", "week_ends", "due", "overdue"),
    [
        (WEDNESDAY, SUNDAY, ["P-TODAY", "P-HOLD", "P-SUNDAY"], ["P-YESTERDAY"]),
        (date(2026, 3, 16), SUNDAY, ["P-YESTERDAY", "P-TODAY", "P-HOLD", "P-SUNDAY"], []),
        # On a Sunday the week is that one day; Monday's project is next week's.
        (SUNDAY, SUNDAY, ["P-SUNDAY"], ["P-YESTERDAY", "P-TODAY", "P-HOLD"]),
        (
            date(2026, 3, 23),
            date(2026, 3, 29),
            ["P-MONDAY"],
            ["P-YESTERDAY", "P-TODAY", "P-HOLD", "P-SUNDAY"],
        ),
    ],
)
def test_due_this_week_runs_from_today_through_sunday_and_done_is_never_due(
    seeded: Engine,
    manifest: AgencyManifest,
    today: date,
    week_ends: date,
    due: list[str],
    overdue: list[str],
) -> None:
    load_projects(seeded, *WEEK)
    found = report(seeded, manifest, today)
    assert (found.today, found.week_ends) == (today, week_ends)
    assert ids(found.due_this_week) == due
    assert ids(found.overdue) == overdue


def test_overdue_is_due_before_today_and_not_done_oldest_first(
    seeded: Engine, manifest: AgencyManifest
) -> None:
    load_projects(
        seeded,
        ("P-1", "2026-03-17", "open", "accelo"),
        ("P-2", "2026-03-10", "on_hold", "accelo"),  # on hold is not done: still overdue
        ("P-3", "2026-03-02", "done", "accelo"),
    )
    found = report(seeded, manifest)
    assert [(p.project_id, p.days_late, p.status.value) for p in found.overdue] == [
        ("P-2", 8, "on_hold"),
        ("P-1", 1, "open"),
    ]
    assert found.due_this_week == []


# -- conflicts ------------------------------------------------------------------------------------


def test_a_due_date_conflict_is_one_item_with_both_values_the_truth_and_the_owner(
    seeded: Engine, manifest: AgencyManifest
) -> None:
    load_projects(
        seeded,
        ("P-1", "2026-03-25", "open", "asana"),
        ("P-1", "2026-03-20", "open", "accelo"),
    )
    found = report(seeded, manifest)
    [conflict] = found.conflicts
    assert conflict.model_dump(mode="json") == {
        "project_id": "P-1",
        "client_id": "C1",
        "client_name": "Acme Dental",
        "name": "Project P-1",
        "fields": ["due_date"],
        "values": [
            {"source": "accelo", "due_date": "2026-03-20", "status": "open"},
            {"source": "asana", "due_date": "2026-03-25", "status": "open"},
        ],
        "truth": "accelo",
        "owner": OWNER,
    }
    # Never two truths: the list shows the project once, with the owning source's date.
    assert [(p.project_id, p.due_date, p.source) for p in found.due_this_week] == [
        ("P-1", date(2026, 3, 20), "accelo")
    ]


def test_a_status_conflict_lists_the_project_by_the_truths_status(
    seeded: Engine, manifest: AgencyManifest
) -> None:
    load_projects(
        seeded,
        ("P-1", "2026-03-10", "done", "accelo"),
        ("P-1", "2026-03-10", "open", "asana"),  # asana was not told it is done
        ("P-2", "2026-03-11", "open", "accelo"),
        ("P-2", "2026-03-11", "done", "asana"),
    )
    found = report(seeded, manifest)
    assert [(c.project_id, c.fields, c.truth) for c in found.conflicts] == [
        ("P-1", ["status"], "accelo"),
        ("P-2", ["status"], "accelo"),
    ]
    assert ids(found.overdue) == ["P-2"]


def test_the_truth_is_the_first_source_the_manifest_lists_not_the_first_by_name(
    seeded: Engine, manifest: AgencyManifest
) -> None:
    load_projects(
        seeded,
        ("P-1", "2026-03-20", "open", "accelo"),
        ("P-1", "2026-03-25", "on_hold", "asana"),
    )
    asana_first = with_sources(manifest, "asana", "accelo")
    found = report(seeded, asana_first)
    [conflict] = found.conflicts
    assert conflict.truth == "asana"
    assert conflict.fields == ["due_date", "status"]
    assert [v.source for v in conflict.values] == ["asana", "accelo"]
    assert found.due_this_week == []  # asana's 25th is next week


def test_the_owner_is_whoever_owns_the_domain_now(seeded: Engine, manifest: AgencyManifest) -> None:
    load_projects(
        seeded, ("P-1", "2026-03-20", "open", "accelo"), ("P-1", "2026-03-21", "open", "asana")
    )
    with transaction(seeded) as session:
        assert ownership.reassign(
            session, "project_status", expected_owner=OWNER, to="U0AM", by=ADMIN, now=at(17, 9)
        )
    [conflict] = report(seeded, manifest).conflicts
    assert conflict.owner == "U0AM"


def test_sources_that_agree_are_no_conflict_and_the_project_shows_once(
    seeded: Engine, manifest: AgencyManifest
) -> None:
    load_projects(
        seeded,
        ("P-1", "2026-03-20", "open", "asana"),
        ("P-1", "2026-03-20", "open", "accelo"),
        ("P-2", "2026-03-01", "done", "accelo"),  # every source calls it done: nothing to do
        ("P-2", "2026-03-03", "done", "asana"),
        ("P-3", "2026-03-19", "open", "asana"),  # only a second source has it: still shown
    )
    found = report(seeded, manifest)
    assert found.conflicts == []
    assert [(p.project_id, p.source) for p in found.due_this_week] == [
        ("P-3", "asana"),
        ("P-1", "accelo"),
    ]


# -- escalations of overdue projects --------------------------------------------------------------


def subjects(engine: Engine) -> list[tuple[str, EscalationStatus]]:
    with reading(engine) as session:
        return [(e.subject, e.status) for e in escalations.listing(session, include_closed=True)]


def run(engine: Engine, manifest: AgencyManifest, when: datetime) -> AgentRun:
    return run_deadlines(engine, manifest, as_of=when.astimezone(NY).date(), now=when)


def test_an_overdue_project_escalates_once_per_due_date(
    engine: Engine, manifest: AgencyManifest
) -> None:
    supervised = at_level(manifest, Autonomy.SUPERVISED)
    seed(engine, supervised, now=at(16, 9))
    load_projects(engine, ("P-1", "2026-03-13", "open", "accelo"))
    first = run(engine, supervised, at(18, 10))
    assert first.summary() == (
        "deadlines 2026-03-18: 0 due this week, 1 overdue, 0 conflict(s), 1 escalation(s) opened"
    )
    opened = [("project:P-1:2026-03-13", EscalationStatus.OPEN)]
    assert subjects(engine) == opened
    with reading(engine) as session:
        [escalation] = escalations.listing(session)
        assert escalation.domain == "project_status"
        assert escalation.policy_name == "delivery"
        assert escalation.context["headline"] == "Overdue: Project P-1 for Acme Dental, 5 days late"
    assert run(engine, supervised, at(18, 11)).notes[-1] == "0 escalation(s) opened"
    assert subjects(engine) == opened
    # Acknowledged, it stays done: the same project and due date never escalates again.
    with transaction(engine) as session:
        assert escalations.acknowledge(session, escalation.id, by=OWNER, now=at(18, 12))  # type: ignore[arg-type]
    run(engine, supervised, at(19, 10))
    assert subjects(engine) == [("project:P-1:2026-03-13", EscalationStatus.ACKNOWLEDGED)]
    # A new due date that passes too is a new escalation.
    load_projects(engine, ("P-1", "2026-03-18", "open", "accelo"))
    run(engine, supervised, at(19, 11))
    assert subjects(engine) == [
        ("project:P-1:2026-03-13", EscalationStatus.ACKNOWLEDGED),
        ("project:P-1:2026-03-18", EscalationStatus.OPEN),
    ]


def test_an_escalation_resolves_when_its_project_is_done(
    engine: Engine, manifest: AgencyManifest
) -> None:
    supervised = at_level(manifest, Autonomy.SUPERVISED)
    seed(engine, supervised, now=at(16, 9))
    load_projects(engine, ("P-1", "2026-03-13", "open", "accelo"))
    run(engine, supervised, at(18, 10))
    load_projects(engine, ("P-1", "2026-03-13", "done", "accelo"))
    run(engine, supervised, at(18, 11))
    assert subjects(engine) == [("project:P-1:2026-03-13", EscalationStatus.RESOLVED)]


def test_a_paused_agent_does_not_run(engine: Engine, manifest: AgencyManifest) -> None:
    seed(engine, at_level(manifest, Autonomy.PAUSED), now=at(16, 9))
    load_projects(engine, ("P-1", "2026-03-13", "open", "accelo"))
    assert run(engine, manifest, at(18, 10)).summary() == "deadlines: skipped (paused)"
    assert subjects(engine) == []
    with reading(engine) as session:
        assert session.scalars(select(ShadowOutput)).all() == []


def deadlines_run(report: TickReport) -> str:
    [found] = [run.summary() for run in report.agent_runs if run.agent == "deadlines"]
    return found


def dms(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.messages() if m["channel"].startswith("D")]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as stand_in:
        yield stand_in


def test_in_shadow_an_overdue_project_is_a_would_have_post_and_nobody_is_messaged(
    engine: Engine, manifest: AgencyManifest, fake: FakeSlack
) -> None:
    assert manifest.agents["deadlines"].autonomy is Autonomy.SHADOW  # the example, as shipped
    seed(engine, manifest, now=at(16, 9))
    load_projects(engine, ("P-1", "2026-03-13", "open", "accelo"))
    agency = Agency(engine, manifest, fake, FakeClock())
    first = agency.tick(at(18, 10))
    assert deadlines_run(first).endswith("escalations to the shadow channel")
    again = agency.tick(at(18, 11, 30))
    assert deadlines_run(again).startswith("deadlines 2026-03-18: 0 due this week, 1 overdue")
    shadow = fake.messages(manifest.channels.shadow)
    assert [m["text"] for m in shadow] == [
        "deadlines (shadow) would have escalated: Overdue: Project P-1 for Acme Dental, 5 days late"
    ]
    assert dms(fake) == []
    assert subjects(engine) == []


def test_supervised_the_owner_gets_the_escalation_by_dm(
    engine: Engine, manifest: AgencyManifest, fake: FakeSlack
) -> None:
    supervised = at_level(manifest, Autonomy.SUPERVISED)
    seed(engine, supervised, now=at(16, 9))
    load_projects(engine, ("P-1", "2026-03-13", "open", "accelo"))
    agency = Agency(engine, supervised, fake, FakeClock())
    agency.tick(at(18, 10))
    [dm] = dms(fake)
    assert dm["channel"] == f"D{OWNER}"
    assert dm["text"] == (
        "Escalation (level 1 of 2): Overdue: Project P-1 for Acme Dental, 5 days late"
    )
    assert fake.messages(manifest.channels.shadow) == []


def test_the_agency_timezone_decides_today(
    engine: Engine, manifest: AgencyManifest, fake: FakeSlack
) -> None:
    """At 23:00 on Sunday in New York it is already Monday in UTC: not overdue yet."""
    seed(engine, manifest, now=at(15, 9))
    load_projects(engine, ("P-1", "2026-03-15", "open", "accelo"))
    agency = Agency(engine, manifest, fake, FakeClock())
    sunday_night = agency.tick(datetime(2026, 3, 16, 3, 0, tzinfo=UTC))
    assert deadlines_run(sunday_night).startswith(
        "deadlines 2026-03-15: 1 due this week, 0 overdue"
    )
    monday = agency.tick(datetime(2026, 3, 16, 5, 0, tzinfo=UTC))  # 01:00 in New York
    assert deadlines_run(monday).startswith("deadlines 2026-03-16: 0 due this week, 1 overdue")
    with reading(engine) as session:
        [output] = session.scalars(select(ShadowOutput)).all()
    assert output.key == "deadlines:escalation:project:P-1:2026-03-15"


def test_the_handoff_of_client_mail_shows_each_project_once_by_its_truth(
    engine: Engine, manifest: AgencyManifest
) -> None:
    load(
        engine,
        {
            "clients.csv": CLIENTS,
            "projects.csv": projects(
                ("P-1", "2026-03-20", "open", "accelo"), ("P-1", "2026-03-25", "open", "asana")
            ),
            "inbox.csv": "message_id,client_id,from_email,subject,body,received_at\n"
            "<m1@x>,C1,ops@acme.example,Cancel,We cancel.,2026-03-17T09:00:00\n",
        },
    )
    with reading(engine) as session:
        mail = session.get_one(InboundEmail, "<m1@x>")
        details = handoff(session, mail, ["cancellation"], manifest)["details"]
    assert "Projects: Project P-1 due 2026-03-20 (open)" in details


# -- the sample agency ----------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [date(2026, 3, 16), date(2026, 3, 20), SUNDAY])
def test_the_sample_agency_has_a_conflict_a_project_due_this_week_and_one_overdue(
    seeded: Engine, manifest: AgencyManifest, tmp_path: Path, as_of: date
) -> None:
    write_sample(tmp_path / "data", as_of)
    import_dir(seeded, tmp_path / "data", NY, now=datetime.combine(as_of, time(9), NY), today=as_of)
    found = report(seeded, manifest, as_of)
    assert [(c.project_id, c.fields) for c in found.conflicts] == [
        ("P-102", ["due_date"]),
        ("P-105", ["status"]),
    ]
    assert "P-102" in ids(found.due_this_week)
    assert ids(found.overdue) == ["P-103"]


# -- import records and stale sources -------------------------------------------------------------

ACCOUNTS = (
    "account_id,client_id,platform,name,currency,timezone\n"
    "A1,C1,google_ads,Acme Google,USD,UTC\n"
    "A2,C1,meta_ads,Acme Meta,USD,UTC\n"
)
SPEND = "account_id,date,spend,leads\nA1,2026-03-15,10.00,1\nA2,2026-03-15,5.00,\n"
FEEDS = {
    "clients.csv": CLIENTS,
    "ad_accounts.csv": ACCOUNTS,
    "spend.csv": SPEND,
    "projects.csv": projects(
        ("P-1", "2026-03-20", "open", "accelo"), ("P-1", "2026-03-20", "open", "asana")
    ),
}


def stale(engine: Engine, today: date, **options: Any) -> list[StaleSource]:
    with reading(engine) as session:
        return stale_sources(session, today, **options)


def records(engine: Engine) -> list[tuple[date, str, str | None, int]]:
    with reading(engine) as session:
        rows = session.scalars(select(ImportRecord).order_by(ImportRecord.id)).all()
        return [(r.imported_on, r.file, r.source, r.new_rows) for r in rows]


def test_each_import_records_new_rows_per_file_and_source(engine: Engine) -> None:
    load(engine, FEEDS, now=at(16, 9))
    day = date(2026, 3, 16)
    assert records(engine) == [
        (day, "clients.csv", None, 1),
        (day, "ad_accounts.csv", None, 2),
        (day, "spend.csv", "google_ads", 1),  # a spend row's source is its account's platform
        (day, "spend.csv", "meta_ads", 1),
        (day, "projects.csv", "accelo", 1),
        (day, "projects.csv", "asana", 1),
    ]


def test_a_source_with_no_new_rows_for_two_days_is_stale(engine: Engine) -> None:
    load(engine, FEEDS, now=at(16, 9))
    assert stale(engine, date(2026, 3, 17)) == []
    found = stale(engine, date(2026, 3, 18))
    assert [(s.source, s.last_new_on, s.days, s.files) for s in found] == [
        ("accelo", date(2026, 3, 16), 2, ["projects.csv"]),
        ("asana", date(2026, 3, 16), 2, ["projects.csv"]),
        ("google_ads", date(2026, 3, 16), 2, ["spend.csv"]),
        ("meta_ads", date(2026, 3, 16), 2, ["spend.csv"]),
    ]
    assert found[0].last_new_at == at(16, 9)


def test_a_re_import_that_brings_nothing_new_does_not_refresh(engine: Engine) -> None:
    load(engine, FEEDS, now=at(16, 9))
    before = records(engine)
    load(engine, FEEDS, now=at(17, 9))  # the same files again
    assert records(engine) == before
    # The next day asana changes a due date and Google sends a new day; the rest is as it was.
    changed = {
        "spend.csv": SPEND + "A1,2026-03-16,12.00,1\n",
        "projects.csv": projects(
            ("P-1", "2026-03-20", "open", "accelo"), ("P-1", "2026-03-27", "open", "asana")
        ),
    }
    load(engine, changed, now=at(17, 9))
    assert records(engine)[len(before) :] == [
        (date(2026, 3, 17), "spend.csv", "google_ads", 1),
        (date(2026, 3, 17), "projects.csv", "asana", 1),
    ]
    assert [(s.source, s.days) for s in stale(engine, date(2026, 3, 18))] == [
        ("accelo", 2),
        ("meta_ads", 2),
    ]


def test_the_agency_day_of_an_import_counts_and_expected_sources_never_seen_are_stale(
    engine: Engine,
) -> None:
    # 22:00 on the 16th in New York is the 17th in UTC: the import counts for the 16th.
    load(engine, FEEDS, now=datetime(2026, 3, 17, 2, 0, tzinfo=UTC))
    found = stale(engine, date(2026, 3, 18), expected=["accelo", "inbox"])
    assert [(s.source, s.last_new_on) for s in found][:2] == [
        ("inbox", None),
        ("accelo", date(2026, 3, 16)),
    ]
    assert stale(engine, date(2026, 3, 18), days=3) == []
    with pytest.raises(ValueError, match="at least 1"):
        stale(engine, date(2026, 3, 18), days=0)


# -- the migration --------------------------------------------------------------------------------


def test_the_import_records_migration_upgrades_and_downgrades(empty_database: Engine) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0005")
    with transaction(empty_database) as session:  # data from before the migration stays
        session.add(Client(client_id="C1", name="Acme Dental", status=ClientStatus.ACTIVE))
    assert "import_record" not in inspect(empty_database).get_table_names()
    command.upgrade(config, "0006")
    table = inspect(empty_database)
    assert "import_record" in table.get_table_names()
    assert [i["name"] for i in table.get_indexes("import_record")] == [
        "ix_import_record_source_imported_on"
    ]
    command.downgrade(config, "0005")
    assert "import_record" not in inspect(empty_database).get_table_names()
    command.upgrade(config, "heads")
    load(empty_database, FEEDS, now=at(16, 9))
    assert records(empty_database)[0] == (date(2026, 3, 16), "ad_accounts.csv", None, 2)
    assert [s.source for s in stale(empty_database, date(2026, 3, 18))] == [
        "accelo",
        "asana",
        "google_ads",
        "meta_ads",
    ]
