"""Tried as an attacker and as a bad day would: the web process's limits, bad input that
must never be a 500 or a traceback, seeding races, modals that cannot open, outages that
must not flood the log."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from switchboard.bot.interactions import InteractionRunner, QueuePolicy
from switchboard.bot.runtime import seed
from switchboard.bot.server import wsgi_app
from switchboard.handlers.refs import AlertRef
from switchboard.handlers.registry import WORK
from switchboard.store import interactions
from switchboard.store.agent_state import AgentState
from switchboard.store.engine import reading
from switchboard.store.manifest import AgencyManifest, ManifestError, load_manifest
from switchboard.store.ownership import DomainOwner
from tests.conftest import EXAMPLE_MANIFEST, FakeClock, poll_until
from tests.live_slack import SECRET, Live
from tests.slack_requests import Reply, signed_post

# -- the web process's limits (issue 9, item 7) -------------------------------------------------


def raw_post(live: Live, body: bytes, headers: dict[str, str] | None = None) -> Reply:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{live.url}/slack/events",
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode(errors="replace"))


def test_idle_connections_do_not_stop_the_server(live: Live) -> None:
    """Waitress's default 100 connections, held idle, used to stop it answering anyone."""
    idle = [
        socket.create_connection(("127.0.0.1", int(live.url.rsplit(":", 1)[1]))) for _ in range(150)
    ]
    try:
        reply = live.ops("help", "U0AM")
        assert reply.status == 200
        assert "/ops alerts" in reply.body
    finally:
        for connection in idle:
            connection.close()


def test_a_body_over_the_limit_is_refused_without_being_read(live: Live) -> None:
    import urllib.error

    body = b"payload=" + b"x" * (2 * 1024 * 1024)
    try:
        status = signed_post(f"{live.url}/slack/events", body.decode(), SECRET).status
    except (urllib.error.URLError, ConnectionError):
        status = 0  # refused mid-upload: the server closed the connection unread
    assert status in (0, 401, 413)
    assert live.ops("help", "U0AM").status == 200  # and it goes on serving


def test_a_rejected_body_is_never_logged(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "SECRET-TOKEN-xoxb-should-not-appear\nFORGED LOG LINE"
    body = urllib.parse.urlencode({"payload": json.dumps({"token": marker})})

    forged = signed_post(f"{live.url}/slack/events", body, "not-the-secret")

    assert forged.status == 401
    assert marker not in caplog.text
    assert "FORGED LOG LINE" not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        b"payload=[]",
        b"\xff\xfe\x00not utf-8",
        b"payload=" + urllib.parse.quote("[" * 50_000).encode(),
        b"",
    ],
    ids=["payload list", "not utf-8", "50000-deep json", "empty"],
)
def test_unsigned_malformed_bodies_get_401_and_change_nothing(live: Live, body: bytes) -> None:
    before = live.snapshot()
    assert raw_post(live, body).status == 401
    assert live.snapshot() == before


@pytest.mark.parametrize("stamp", ["not-a-number", "1e9", "-1", "17000000.5", ""])
def test_a_malformed_timestamp_header_is_401_not_500(live: Live, stamp: str) -> None:
    reply = raw_post(
        live, b"payload=%7B%7D", {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=1"}
    )
    assert reply.status == 401


@pytest.mark.parametrize(
    "body",
    [
        b"payload=[]",
        b"\xff\xfe\x00not utf-8",
        b"payload=" + urllib.parse.quote("[" * 50_000).encode(),
    ],
    ids=["payload list", "not utf-8", "50000-deep json"],
)
def test_signed_malformed_bodies_get_a_4xx_never_500(live: Live, body: bytes) -> None:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    signature = "v0=" + digest.hexdigest()  # signed over the bytes, as Slack would
    reply = raw_post(
        live, body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    )
    assert 400 <= reply.status < 500


def test_the_wsgi_layer_refuses_before_parsing(
    engine: Engine, clock: FakeClock, manifest: AgencyManifest
) -> None:
    """No app behind it at all (Socket Mode): /healthz answers, /slack/events is not served."""
    application = wsgi_app(None, engine, clock=clock, signing_secret=None)

    def get(path: str, method: str = "GET") -> str:
        status: list[str] = []
        environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "wsgi.input": io.BytesIO()}
        b"".join(application(environ, lambda s, _h: status.append(s)))
        return status[0]

    assert get("/healthz").startswith("503")  # no worker has beaten in this test
    assert get("/slack/events", "POST").startswith("404")


# -- bad input in commands (item 8) -------------------------------------------------------------


@pytest.mark.parametrize("text", ["audit ²", "audit ٣", "audit 0x10", "audit -1"])
def test_non_ascii_or_odd_digits_get_the_usage_message(live: Live, text: str) -> None:
    body = live.ops(text, "U0AM").json()
    assert "N must be a number from 1 to 50" in json.dumps(body)


def test_a_huge_argument_is_not_echoed_back_whole(live: Live) -> None:
    reply = live.ops("frobnicate " + "x" * 100_000, "U0AM")
    assert reply.status == 200
    assert len(reply.body) < 5_000
    assert "is not an /ops command" in reply.body


# -- bad manifests (item 8) ---------------------------------------------------------------------


def write_manifest(tmp_path: Path, change: Callable[[str], str]) -> Path:
    path = tmp_path / "agency.yaml"
    path.write_text(change(EXAMPLE_MANIFEST.read_text()))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    return error.value.problems


def test_an_impossible_date_names_its_key_not_a_traceback(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path, lambda t: t.replace("shadow_since: 2026-03-02", "shadow_since: 2026-02-30")
    )
    [problem] = problems(path)
    assert problem.startswith("agents.deadlines.shadow_since: ")
    assert "day" in problem


def test_a_key_given_twice_is_refused_naming_the_line(tmp_path: Path) -> None:
    """A second `people:` would silently replace the first, admins and all."""
    path = write_manifest(
        tmp_path, lambda t: t + "people:\n  - {slack_id: U0EVIL, name: Eve, roles: [admin]}\n"
    )
    [problem] = problems(path)
    assert problem.startswith("line ")
    assert "key 'people' appears twice (first at line" in problem


def test_an_unquoted_time_is_read_as_the_time_it_looks_like(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path, lambda t: t.replace('{start: "09:00", end: "17:00"', "{start: 09:00, end: 17:00")
    )
    hours = load_manifest(path).business_hours
    assert (hours.start.hour, hours.end.hour) == (9, 17)


def test_a_time_with_an_offset_is_refused(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, lambda t: t.replace('end: "17:00"', 'end: "17:00+02:00"'))
    [problem] = problems(path)
    assert problem.startswith("business_hours.end: ")


# -- smaller things (item 9) --------------------------------------------------------------------


def test_seeding_a_fresh_store_from_several_processes_at_once_never_fails(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def seed_at_once() -> None:
        start.wait()
        try:
            seed(engine, manifest, now=clock())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=seed_at_once) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    with reading(engine) as session:
        assert len(session.scalars(select(DomainOwner)).all()) == len(manifest.domains)
        assert len(session.scalars(select(AgentState)).all()) == len(manifest.agents)


def test_a_reassign_button_whose_modal_cannot_open_tells_the_person(live: Live) -> None:
    live.fake.fail_next("views.open", error="expired_trigger_id")

    live.click("alert.reassign", AlertRef(alert_id=live.alert_id).encode(), "U0AM")

    [reply] = live.responses()
    assert reply.params["text"] == (
        "Sorry, the form could not be opened (expired_trigger_id). Please click the button again."
    )


def test_a_database_outage_is_one_log_line_then_one_when_it_ends(
    engine: Engine,
    manifest: AgencyManifest,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures = {"left": 200}
    real_claim = interactions.claim_next

    def store_down(session: Any, **kwargs: Any) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real_claim(session, **kwargs)

    monkeypatch.setattr(interactions, "claim_next", store_down)
    runner = InteractionRunner(
        queue=engine,
        store=engine,
        manifest=manifest,
        work=WORK,
        clock=clock,
        policy=QueuePolicy(idle=0.0005),
    )
    stop, wake = threading.Event(), threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop, wake))
    thread.start()
    try:
        poll_until(lambda: failures["left"] == 0, what="200 failed looks at the queue")
        poll_until(lambda: "works again (failing since" in caplog.text, what="the recovery line")
    finally:
        stop.set()
        wake.set()
        thread.join(10)

    lines = [r.getMessage() for r in caplog.records if r.name == "switchboard.bot.outage"]
    assert len(lines) == 2, lines
    assert "is failing (OperationalError" in lines[0]
    assert "works again (failing since" in lines[1]


def test_an_alert_belongs_to_the_domain_its_agent_owns_whatever_its_name(
    engine: Engine, manifest: AgencyManifest, clock: FakeClock
) -> None:
    """No domain name is written in code: rename the pacing domain and authority follows."""
    from datetime import date

    from switchboard.bot.agent_runs import run_pacing
    from switchboard.handlers.alerts import AckAlert, acknowledge
    from switchboard.handlers.commands import Origin
    from switchboard.handlers.work import WorkContext
    from switchboard.store.alerts import Alert
    from switchboard.store.engine import transaction
    from switchboard.store.manifest import Domain
    from tests.agency_builder import AgencyBuilder

    domains = dict(manifest.domains)
    domains["paid_media"] = domains.pop("ad_performance").model_copy(update={"owner": "U0LEAD"})
    domains["client_comms"] = Domain(agent="drafting", owner="U0AM", sources=["inbox"])
    renamed = manifest.model_copy(update={"domains": domains})
    seed(engine, renamed, now=clock())
    builder = AgencyBuilder().client("C1").account("A1", "C1").budget("A1", "2026-03", "3100")
    builder.spend_each_day("A1", date(2026, 3, 1), date(2026, 3, 15), "150.00")
    builder.load(engine)
    [change] = run_pacing(engine, renamed, as_of=date(2026, 3, 16), now=clock()).changes

    def ack(user: str) -> str:
        with transaction(engine) as session:
            command = AckAlert(origin=Origin(user=user, asked_at=clock()), alert_id=change.alert_id)
            [reply] = acknowledge(WorkContext(session, renamed, clock()), command)
        return reply.message.text

    with reading(engine) as session:
        alert = session.get_one(Alert, change.alert_id)
        assert (alert.domain, alert.assignee) == ("paid_media", "U0LEAD")
    assert ack("U0AM").startswith("Only the domain owner")  # owns client_comms, not this
    assert ack("U0LEAD") == f"You acknowledged alert #{change.alert_id}."
