"""The agency manifest (DESIGN section 4): every problem names its key path, all at once."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.store.agent_state import Autonomy
from switchboard.store.manifest import (
    AgencyManifest,
    ManifestError,
    Role,
    load_manifest,
    parse_duration,
    parse_manifest,
)
from tests.conftest import EXAMPLE_MANIFEST

BASE: dict[str, Any] = yaml.safe_load(EXAMPLE_MANIFEST.read_text())


def problems_after(change: Callable[[dict[str, Any]], object]) -> list[str]:
    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(ManifestError) as failure:
        parse_manifest(data, "agency.yaml")
    assert str(failure.value) == "agency.yaml: " + "; ".join(failure.value.problems)
    return failure.value.problems


def test_the_example_manifest_loads(manifest: AgencyManifest) -> None:
    assert manifest.agency == "Northwind Growth"
    assert manifest.timezone == "America/New_York"
    assert str(manifest.tz) == "America/New_York"
    assert manifest.channels.alerts == "C0ALERTS"
    assert [p.slack_id for p in manifest.people] == ["U0ADMIN", "U0LEAD", "U0AM"]
    assert manifest.with_role(Role.APPROVER) == {"U0ADMIN", "U0LEAD"}
    assert manifest.lead_of("U0AM") == "U0LEAD"
    assert manifest.lead_of("U0NOBODY") is None
    assert {name: d.owner for name, d in manifest.domains.items()} == {
        "ad_performance": "U0AM",
        "project_status": "U0LEAD",
        "client_comms": "U0AM",
    }
    assert manifest.agents["drafting"].autonomy is Autonomy.SUPERVISED
    assert manifest.agents["deadlines"].shadow_since == date(2026, 3, 2)
    assert [level.after for level in manifest.escalation_policies["spend"]] == [
        "0m",
        "2h",
        "next_business_day",
    ]
    assert manifest.pacing.over_pct == Decimal(30)
    assert manifest.business_hours.start == time(9, 0)
    assert manifest.approvals.expire_after == "24h"


def test_load_manifest_takes_a_string_path_too() -> None:
    assert load_manifest(str(EXAMPLE_MANIFEST)).agency == "Northwind Growth"


def test_optional_sections_have_the_documented_defaults() -> None:
    data = copy.deepcopy(BASE)
    for key in ("pacing", "briefing", "business_hours", "approvals", "shadow"):
        del data[key]
    manifest = parse_manifest(data)
    assert (manifest.pacing.over_pct, manifest.pacing.under_pct) == (30, 30)
    assert (manifest.pacing.min_days, manifest.pacing.early_alert_pct) == (3, 200)
    assert manifest.briefing.cron == "30 8 * * mon-fri"
    assert manifest.approvals.expire_after == "24h"
    assert manifest.shadow.min_days == 14


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda m: m["agents"]["drafting"].update(autonomy="yolo"),
            "agents.drafting.autonomy: must be one of 'shadow', 'supervised', 'autonomous' or"
            " 'paused' (got 'yolo')",
            id="bad enum",
        ),
        pytest.param(
            lambda m: m["people"][0].update(roles=["admin", "boss"]),
            "people.0.roles.1: must be one of 'admin', 'approver' or 'lead' (got 'boss')",
            id="bad role",
        ),
        pytest.param(
            lambda m: m.update(colour="blue"),
            "colour: unknown key",
            id="unknown top-level key",
        ),
        pytest.param(
            lambda m: m["agents"]["pacing"].update(autonmy="shadow"),
            "agents.pacing.autonmy: unknown key",
            id="unknown nested key",
        ),
        pytest.param(
            lambda m: m.pop("channels"),
            "channels: required key is missing",
            id="missing key",
        ),
        pytest.param(
            lambda m: m["channels"].pop("shadow"),
            "channels.shadow: required key is missing",
            id="missing nested key",
        ),
        pytest.param(
            lambda m: m["domains"]["ad_performance"].update(owner="U0NOBODY"),
            "domains.ad_performance.owner: U0NOBODY is not a listed person",
            id="domain owner not a listed person",
        ),
        pytest.param(
            lambda m: m["domains"]["client_comms"].update(agent="mailer"),
            "domains.client_comms.agent: mailer is not a listed agent",
            id="domain agent not a listed agent",
        ),
        pytest.param(
            lambda m: m["agents"]["pacing"].update(escalation="urgent"),
            "agents.pacing.escalation: no escalation policy named 'urgent'",
            id="unknown escalation policy",
        ),
        pytest.param(
            lambda m: m["people"][2].update(lead="U0GHOST"),
            "people.2.lead: U0GHOST is not a listed person",
            id="lead does not exist",
        ),
        pytest.param(
            lambda m: m["people"][1].update(lead="U0LEAD"),
            "people.1.lead: a person cannot be their own lead",
            id="own lead",
        ),
        pytest.param(
            lambda m: m["people"].append({"slack_id": "U0AM", "name": "Ana again"}),
            "people.3.slack_id: U0AM is listed twice",
            id="person listed twice",
        ),
        pytest.param(
            lambda m: m.update(timezone="Mars/Olympus_Mons"),
            "timezone: 'Mars/Olympus_Mons' is not an IANA time zone such as America/New_York",
            id="bad timezone",
        ),
        pytest.param(
            lambda m: m.update(timezone="America"),  # tzdata's directory, not a zone
            "timezone: 'America' is not an IANA time zone such as America/New_York",
            id="timezone directory",
        ),
        pytest.param(
            lambda m: m.update(timezone="../etc/passwd"),
            "timezone: '../etc/passwd' is not an IANA time zone such as America/New_York",
            id="timezone path",
        ),
        pytest.param(
            lambda m: m["briefing"].update(cron="61 8 * * mon-fri"),
            "briefing.cron: '61 8 * * mon-fri' is not a cron expression: Error validating"
            " expression '61': the last value (61) is higher than the maximum value (59)",
            id="bad cron value",
        ),
        pytest.param(
            lambda m: m["agents"]["pacing"].update(schedule="every hour"),
            "agents.pacing.schedule: 'every hour' is not a cron expression: Wrong number of"
            " fields; got 2, expected 5",
            id="bad cron shape",
        ),
        pytest.param(
            lambda m: m["approvals"].update(expire_after="a day"),
            "approvals.expire_after: 'a day' is not a duration like 30m, 2h or 1d",
            id="bad duration",
        ),
        pytest.param(
            lambda m: m["escalation_policies"]["spend"][1].update(after="2 hours"),
            "escalation_policies.spend.1.after: '2 hours' is not a duration like 30m, 2h or 1d",
            id="bad escalation delay",
        ),
        pytest.param(
            lambda m: m["approvals"].update(expire_after="99999999999d"),
            "approvals.expire_after: '99999999999d' is too long a duration",
            id="duration too long",
        ),
        pytest.param(
            lambda m: m["escalation_policies"]["client"][1].update(
                notify="channel:random", via=None
            ),
            "escalation_policies.client.1.notify: 'channel:random' names no channel in channels",
            id="unknown channel",
        ),
        pytest.param(
            lambda m: m["escalation_policies"]["client"][0].update(notify="boss"),
            "escalation_policies.client.0.notify: 'boss' must be owner, lead, channel:NAME or a"
            " listed person",
            id="unknown notify target",
        ),
        pytest.param(
            lambda m: m["agents"]["drafting"].update(autonomy="autonomous"),
            "agents.drafting.autonomy: the drafting agent can never be autonomous (client email"
            " always needs a human's approval)",
            id="drafting autonomous",
        ),
        pytest.param(
            lambda m: m["business_hours"].update(start="18:00"),
            "business_hours.end: must be after business_hours.start",
            id="business hours backwards",
        ),
        pytest.param(
            lambda m: m["channels"].update(alerts="#alerts"),
            "channels.alerts: '#alerts' is not a Slack channel id (like C0123ABCD)",
            id="channel name instead of id",
        ),
    ],
)
def test_each_problem_names_its_key_path(
    change: Callable[[dict[str, Any]], object], expected: str
) -> None:
    assert problems_after(change) == [expected]


def test_all_shape_problems_are_reported_together() -> None:
    def break_three(m: dict[str, Any]) -> None:
        m["timezone"] = "Nowhere/Land"
        m["agents"]["drafting"]["autonomy"] = "yolo"
        m["colour"] = "blue"
        m["briefing"]["cron"] = "* * *"

    found = problems_after(break_three)
    assert sorted(p.split(":")[0] for p in found) == [
        "agents.drafting.autonomy",
        "briefing.cron",
        "colour",
        "timezone",
    ]


def test_all_reference_problems_are_reported_together() -> None:
    def break_references(m: dict[str, Any]) -> None:
        m["domains"]["ad_performance"]["owner"] = "U0NOBODY"
        m["agents"]["pacing"]["escalation"] = "urgent"
        m["agents"]["drafting"]["autonomy"] = "autonomous"
        m["people"][2]["lead"] = "U0GHOST"

    assert problems_after(break_references) == [
        "people.2.lead: U0GHOST is not a listed person",
        "domains.ad_performance.owner: U0NOBODY is not a listed person",
        "agents.pacing.escalation: no escalation policy named 'urgent'",
        "agents.drafting.autonomy: the drafting agent can never be autonomous (client email"
        " always needs a human's approval)",
    ]


@pytest.mark.parametrize("data", [None, [], "agency: x", 42])
def test_a_manifest_that_is_not_a_mapping(data: object) -> None:
    with pytest.raises(ManifestError) as failure:
        parse_manifest(data, "m.yaml")
    assert failure.value.problems == ["(top level): must be a mapping of keys to values"]


def test_load_manifest_from_a_file(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["agency"] = "Southwind"
    path = tmp_path / "agency.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_manifest(path).agency == "Southwind"


def test_a_file_problem_is_reported_with_the_file(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["agents"]["drafting"]["autonomy"] = "yolo"
    path = tmp_path / "agency.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError) as failure:
        load_manifest(path)
    assert failure.value.source == str(path)
    assert failure.value.problems == [
        "agents.drafting.autonomy: must be one of 'shadow', 'supervised', 'autonomous' or"
        " 'paused' (got 'yolo')"
    ]


def test_invalid_yaml_names_the_line_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "agency.yaml"
    path.write_text("agency: Northwind\ntimezone: UTC\npeople: [\n  {slack_id: U1\n")
    with pytest.raises(ManifestError) as failure:
        load_manifest(path)
    [problem] = failure.value.problems
    assert problem.startswith("line 5: not valid YAML (")
    assert "\n" not in problem


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ManifestError) as failure:
        load_manifest(path)
    assert (failure.value.source, failure.value.problems) == (str(path), ["file not found"])
    assert str(failure.value) == f"{path}: file not found"


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "agency.yaml"
    path.write_bytes(b"agency: Caf\xe9\n")
    with pytest.raises(ManifestError) as failure:
        load_manifest(path)
    [problem] = failure.value.problems
    assert problem.startswith("cannot read: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        (" 1d ", timedelta(days=1)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "m", "1.5h", "-1h", "2 h", "1w", "99999999999d"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in the example manifest, to leaves and to inner nodes."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


PATHS = _paths(BASE)
YAML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.sampled_from("\n\r :-#'\"") | st.characters(), max_size=12)
    | st.dates()
    | st.sampled_from(["99999999999d", "0m", "mon", "U0AM", "channel:x", "* * * * *", "25:00"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(PATHS), YAML_VALUES), min_size=1, max_size=3))
def test_any_value_anywhere_gives_a_manifest_error_or_a_manifest(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    data = copy.deepcopy(BASE)
    for path, value in changes:
        node = data
        for key in path[:-1]:
            if not isinstance(node, dict | list):
                break
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(node, dict) or (
                isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node)
            ):
                node[path[-1]] = value
    try:
        parse_manifest(data, "fuzz.yaml")
    except ManifestError as error:
        assert error.problems
        for problem in error.problems:
            assert ": " in problem
            assert "\n" not in problem


def test_a_value_with_a_line_break_is_shown_on_one_line() -> None:
    def multi_line(m: dict[str, Any]) -> None:
        m["domains"]["ad_performance"]["owner"] = "U0AM\nU0LEAD"

    assert problems_after(multi_line) == [
        "domains.ad_performance.owner: U0AM\\nU0LEAD is not a listed person"
    ]
