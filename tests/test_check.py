"""`switchboard check` and `/ops check`: the coordination score of an agency manifest.

Each gap code is found on a manifest built from the example with one change, and only there;
the example scores 100. `check` is lenient where the strict manifest refuses a gap, and
exits 2 only for what maps to no code.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from hypothesis import given, settings
from typer.testing import CliRunner, Result

from switchboard.agents.coordination import WEIGHTS, Coordination, check, coordination, score
from switchboard.agents.manifest_gaps import Gap, GapCode
from switchboard.bot.cli import app
from switchboard.handlers.registry import OPS
from switchboard.handlers.views.check import coordination_report
from switchboard.store.manifest import ManifestError, parse_manifest, read_manifest_yaml
from tests.conftest import EXAMPLE_MANIFEST, REPO
from tests.live_slack import Live

# clean_environment (autouse): no variable from the developer's shell, a directory of our own.
from tests.test_cli import clean_environment  # noqa: F401
from tests.test_escaping import hostile, live_entities
from tests.test_views import all_texts, assert_within_limits, more_count

BASE: dict[str, Any] = read_manifest_yaml(EXAMPLE_MANIFEST)
NOW = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)  # 09:00 in New York

Change = Callable[[dict[str, Any]], object]


def changed(change: Change) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def found(change: Change, now: datetime = NOW) -> list[tuple[str, str]]:
    return [(gap.code.value, gap.path) for gap in coordination(changed(change), now=now).gaps]


def new_domain(**fields: Any) -> Change:
    return lambda m: m["domains"].update(billing={"owner": "U0AM", "sources": ["xero"], **fields})


def without_approvers(m: dict[str, Any]) -> None:
    for person in m["people"]:
        person["roles"] = [role for role in person["roles"] if role != "approver"]


@dataclass(frozen=True)
class Case:
    name: str
    change: Change
    gaps: list[tuple[str, str]]  # (code, path): exactly what the change brings


CASES = [
    Case(
        "owner not among people",
        lambda m: m["domains"]["ad_performance"].update(owner="U0GHOST"),
        [("domain_no_owner", "domains.ad_performance.owner")],
    ),
    Case(
        "no owner",
        lambda m: m["domains"]["ad_performance"].pop("owner"),
        [("domain_no_owner", "domains.ad_performance.owner")],
    ),
    Case(
        "two owners",
        lambda m: m["domains"]["ad_performance"].update(owner=["U0AM", "U0LEAD"]),
        [("domain_no_owner", "domains.ad_performance.owner")],
    ),
    Case(
        "agent not in agents",
        new_domain(agent="prospecting"),
        [("domain_no_agent", "domains.billing.agent")],
    ),
    Case("no agent", new_domain(), [("domain_no_agent", "domains.billing.agent")]),
    Case(
        "two agents",
        lambda m: m["domains"]["ad_performance"].update(agent=["pacing", "deadlines"]),
        # deadlines now owns project_status only; pacing owns nothing by its own name
        [
            ("domain_no_agent", "domains.ad_performance.agent"),
            ("agent_owns_nothing", "agents.pacing"),
        ],
    ),
    Case(
        "one agent, two domains", new_domain(agent="pacing"), [("agent_owns_two", "agents.pacing")]
    ),
    Case(
        "an agent owning nothing",
        lambda m: m["agents"].update(prospecting={"escalation": "spend"}),
        [("agent_owns_nothing", "agents.prospecting")],
    ),
    Case(
        "one cross-check",
        lambda m: m["agents"]["pacing"].update(cross_checks=["client_status", "client_status"]),
        [("single_source_alerting", "agents.pacing.cross_checks")],
    ),
    Case(
        "no cross-checks",
        lambda m: m["agents"]["pacing"].pop("cross_checks"),
        [("single_source_alerting", "agents.pacing.cross_checks")],
    ),
    Case(
        "a policy of one level",
        lambda m: m["escalation_policies"]["delivery"].pop(),
        [("policy_single_level", "escalation_policies.delivery")],
    ),
    Case(
        "a policy reaching no person",
        lambda m: m["escalation_policies"].update(
            spend=[{"notify": "channel:alerts"}, {"notify": "channel:alerts", "after": "2h"}]
        ),
        [("policy_no_human", "escalation_policies.spend")],
    ),
    Case(
        "an escalation naming no policy",
        lambda m: m["agents"]["deadlines"].update(escalation="nope"),
        [("policy_missing", "agents.deadlines.escalation")],
    ),
    Case(
        "no escalation",
        lambda m: m["agents"]["deadlines"].pop("escalation"),
        [("policy_missing", "agents.deadlines.escalation")],
    ),
    Case(
        "supervised after 13 days in shadow",
        lambda m: m["agents"]["deadlines"].update(autonomy="supervised", shadow_since="2026-03-03"),
        [("unpromoted_agent", "agents.deadlines.autonomy")],
    ),
    Case(
        "autonomous with no shadow_since",
        lambda m: m["agents"]["pacing"].update(autonomy="autonomous", shadow_since=None),
        [("unpromoted_agent", "agents.pacing.autonomy")],
    ),
    Case(
        "drafting autonomous",
        lambda m: m["agents"]["drafting"].update(autonomy="autonomous"),
        [("email_unapproved", "agents.drafting.autonomy")],
    ),
    Case("no approver", without_approvers, [("email_unapproved", "people")]),
    Case(
        "a money key",
        lambda m: m["pacing"].update(over_usd=500),
        [("money_threshold", "pacing.over_usd")],
    ),
    Case(
        "a spend key",
        lambda m: m["pacing"].update(max_spend=1000),
        [("money_threshold", "pacing.max_spend")],
    ),
    Case(
        "a currency sign",
        lambda m: m["pacing"].update(over_pct="$500"),
        [("money_threshold", "pacing.over_pct")],
    ),
    Case(
        "a lead not among people",
        lambda m: m["people"][2].update(lead="U0GHOST"),
        [("lead_missing", "people.2.lead")],
    ),
    Case(
        "an owner without the lead their policy notifies",
        lambda m: m["people"][1].pop("lead"),  # Leo owns project_status: delivery tells the lead
        [("lead_missing", "people.1.lead")],
    ),
]


def test_every_code_has_a_case() -> None:
    assert {code for case in CASES for code, _ in case.gaps} == {c.value for c in GapCode}


def test_the_example_manifest_scores_100() -> None:
    assert coordination(BASE, now=NOW) == Coordination(score=100, gaps=[])
    assert check(BASE, source="example", now=NOW).score == 100


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_gap_is_found_where_it_is_and_nothing_else(case: Case) -> None:
    assert found(case.change) == case.gaps


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_gap_costs_its_weight_and_has_a_message_and_a_fix(case: Case) -> None:
    result = coordination(changed(case.change), now=NOW)
    assert result.score == 100 - sum(WEIGHTS[GapCode(code)] for code, _ in case.gaps)
    for gap in result.gaps:
        assert gap.message and gap.fix
        assert "\n" not in gap.message + gap.fix


@pytest.mark.parametrize(
    ("name", "change"),
    [
        (
            "two cross-checks are enough",
            lambda m: m["agents"]["pacing"].update(cross_checks=["a", "b"]),
        ),
        (
            "exactly shadow.min_days in shadow",
            lambda m: m["agents"]["deadlines"].update(autonomy="supervised"),  # since 03-02
        ),
        ("a paused agent is not acting", lambda m: m["agents"]["pacing"].update(autonomy="paused")),
        ("drafting supervised", lambda m: m["agents"]["drafting"].update(autonomy="supervised")),
        (
            "a person's Slack id reaches a person",
            lambda m: m["escalation_policies"].update(
                spend=[{"notify": "channel:alerts"}, {"notify": "U0ADMIN", "after": "1h"}]
            ),
        ),
        ("a percentage key", lambda m: m["pacing"].update(over_pct=45)),
        (
            "no approver needed without a drafting agent",
            lambda m: (
                without_approvers(m),
                m["agents"].pop("drafting"),
                m["domains"].pop("client_comms"),
            ),
        ),
        (
            "an owner without a lead whose policy has no lead level",
            lambda m: (
                m["people"][1].pop("lead"),
                m["escalation_policies"]["delivery"].__setitem__(
                    1, {"notify": "U0ADMIN", "via": "dm", "after": "4h"}
                ),
            ),
        ),
    ],
)
def test_what_is_not_a_gap(name: str, change: Change) -> None:
    assert found(change) == []


def test_shadow_days_count_in_the_agency_time_zone() -> None:
    promote = lambda m: m["agents"]["deadlines"].update(autonomy="supervised")  # noqa: E731
    # 2026-03-16 00:30 UTC is still the 15th in New York: 13 days since 2026-03-02.
    late_evening = datetime(2026, 3, 16, 0, 30, tzinfo=UTC)
    assert found(promote, now=late_evening) == [("unpromoted_agent", "agents.deadlines.autonomy")]
    assert found(promote, now=datetime(2026, 3, 16, 4, 30, tzinfo=UTC)) == []


def test_shadow_min_days_comes_from_the_manifest() -> None:
    def promote(m: dict[str, Any]) -> None:
        m["agents"]["deadlines"]["autonomy"] = "supervised"
        m["shadow"]["min_days"] = 15

    [gap] = coordination(changed(promote), now=NOW).gaps
    assert gap.message == (
        "agent deadlines is supervised after 14 days in shadow (since 2026-03-02); "
        "shadow.min_days is 15"
    )
    assert "until 2026-03-17" in gap.fix


def test_gaps_add_up_and_the_score_stops_at_0() -> None:
    gaps = [Gap(code=code, path=f"x.{code}", message="m", fix="f") for code in GapCode]
    assert score(gaps[:2]) == 100 - WEIGHTS[gaps[0].code] - WEIGHTS[gaps[1].code]
    assert score(gaps) == 0
    assert sum(WEIGHTS.values()) > 100


def test_two_domains_without_an_owner_are_two_gaps() -> None:
    def orphan(m: dict[str, Any]) -> None:
        for name in ("ad_performance", "client_comms"):
            m["domains"][name]["owner"] = "U0GONE"

    result = coordination(changed(orphan), now=NOW)
    assert [gap.path for gap in result.gaps] == [
        "domains.ad_performance.owner",
        "domains.client_comms.owner",
    ]
    assert result.score == 100 - 2 * WEIGHTS[GapCode.DOMAIN_NO_OWNER]


def test_the_most_harmful_gaps_weigh_most() -> None:
    heaviest = sorted(WEIGHTS, key=WEIGHTS.__getitem__, reverse=True)[:2]
    assert heaviest == [GapCode.EMAIL_UNAPPROVED, GapCode.POLICY_NO_HUMAN]
    assert set(WEIGHTS) == set(GapCode)


# -- lenient where the strict manifest refuses ----------------------------------------------

REFUSED = {
    "owner not among people": "domains.ad_performance.owner: U0GHOST is not a listed person",
    "drafting autonomous": "agents.drafting.autonomy: the drafting agent can never be "
    "autonomous (client email always needs a human's approval)",
    "a money key": "pacing.over_usd: a threshold in money; pacing thresholds are percentages "
    "of plan (over_pct, under_pct), never money",
    "a spend key": "pacing.max_spend: a threshold in money; pacing thresholds are percentages "
    "of plan (over_pct, under_pct), never money",
    "a currency sign": "pacing.over_pct: '$500' is an amount of money; pacing thresholds are "
    "percentages of plan (over_pct, under_pct), never money",
    "an escalation naming no policy": "agents.deadlines.escalation: no escalation policy "
    "named 'nope'",
    "two owners": "domains.ad_performance.owner: Input should be a valid string",
}


@pytest.mark.parametrize("name", REFUSED)
def test_check_reports_a_gap_the_strict_manifest_refuses_in_one_line(name: str) -> None:
    [case] = [case for case in CASES if case.name == name]
    data = changed(case.change)
    with pytest.raises(ManifestError) as refused:
        parse_manifest(data, "agency.yaml")
    assert refused.value.problems == [REFUSED[name]]
    result = check(data, source="agency.yaml", now=NOW)
    assert [(gap.code.value, gap.path) for gap in result.gaps] == case.gaps


def test_several_refused_gaps_at_once_are_all_gaps() -> None:
    cases = [case for case in CASES if case.name in REFUSED]

    def everything(m: dict[str, Any]) -> None:
        for case in cases:
            case.change(m)

    result = check(changed(everything), source="agency.yaml", now=NOW)
    expected = {gap for case in cases for gap in case.gaps}
    assert {(gap.code.value, gap.path) for gap in result.gaps} == expected


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        (lambda m: m.update(colour="blue"), ["colour: unknown key"]),
        (lambda m: m["pacing"].update(spend_pct=30), ["pacing.spend_pct: unknown key"]),
        (
            lambda m: m["agents"]["pacing"].update(shadow_since="2026-02-30"),
            [
                "agents.pacing.shadow_since: Input should be a valid date or datetime, day value "
                "is outside expected range"
            ],
        ),
        (
            lambda m: m["agents"].update(pacing="supervised"),  # not a mapping: no gap stands in
            ["agents.pacing: Input should be a valid dictionary or instance of AgentSpec"],
        ),
        (
            lambda m: m.update(people={"U0ADMIN": "Maya"}),
            ["people: Input should be a valid list"],
        ),
    ],
)
def test_a_problem_no_code_covers_is_a_manifest_error(change: Change, problems: list[str]) -> None:
    with pytest.raises(ManifestError) as failure:
        check(changed(change), source="agency.yaml", now=NOW)
    assert failure.value.source == "agency.yaml"
    assert failure.value.problems == problems


def test_a_gap_does_not_hide_a_problem_behind_it() -> None:
    """pydantic's refusal of the money key would stop the cross-reference checks; the
    notify naming no channel is found all the same."""

    def both(m: dict[str, Any]) -> None:
        m["pacing"]["over_usd"] = 500
        m["escalation_policies"]["spend"][2]["notify"] = "channel:nowhere"

    with pytest.raises(ManifestError) as failure:
        check(changed(both), source="agency.yaml", now=NOW)
    assert failure.value.problems == [
        "escalation_policies.spend.2.notify: 'channel:nowhere' names no channel in channels"
    ]


@pytest.mark.parametrize("data", [[1, 2], "text", None, 7])
def test_a_document_that_is_not_a_mapping_is_one_problem(data: Any) -> None:
    with pytest.raises(ManifestError) as failure:
        check(data, source="agency.yaml", now=NOW)
    assert failure.value.problems == ["(top level): must be a mapping of keys to values"]


# -- the command line -----------------------------------------------------------------------


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    with time_machine.travel(NOW, tick=False):
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def written(path: Path, change: Change | None = None) -> Path:
    data = changed(change) if change else copy.deepcopy(BASE)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_cli_exits_0_on_the_example_manifest() -> None:
    result = invoke("check", str(EXAMPLE_MANIFEST))
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"{EXAMPLE_MANIFEST}: coordination score 100/100, no gaps\n"


def test_cli_finds_the_configured_manifest(tmp_path: Path) -> None:
    gap = written(tmp_path / "gap.yaml", lambda m: m["pacing"].update(over_usd=500))
    by_flag = invoke("--manifest", str(gap), "check")
    by_variable = invoke("check", env={"SWITCHBOARD_MANIFEST": str(gap)})
    by_default = invoke("check")  # the bundled example, from anywhere
    assert (by_flag.exit_code, by_variable.exit_code, by_default.exit_code) == (1, 1, 0)
    assert by_flag.stdout == by_variable.stdout
    assert by_flag.stdout.startswith(f"{gap}: coordination score 80/100, 1 gap\n")


def test_cli_lists_each_gap_with_its_path_message_and_fix_and_exits_1(tmp_path: Path) -> None:
    def two(m: dict[str, Any]) -> None:
        m["pacing"]["over_usd"] = 500
        m["people"][1].pop("lead")

    path = written(tmp_path / "agency.yaml", two)
    result = invoke("check", str(path))
    assert (result.exit_code, result.stderr) == (1, "")
    gaps = coordination(changed(two), now=NOW).gaps
    expected = [f"{path}: coordination score 70/100, 2 gaps"]
    for gap in gaps:
        expected += [f"{gap.code}  {gap.path}", f"  {gap.message}", f"  fix: {gap.fix}"]
    assert result.stdout.splitlines() == expected


def test_cli_json_is_the_score_and_the_gaps(tmp_path: Path) -> None:
    path = written(
        tmp_path / "agency.yaml", lambda m: m["agents"]["drafting"].update(autonomy="autonomous")
    )
    result = invoke("check", str(path), "--json")
    assert result.exit_code == 1
    printed = json.loads(result.stdout)
    assert list(printed) == ["score", "gaps"]
    assert printed["score"] == 60
    [gap] = printed["gaps"]
    assert list(gap) == ["code", "path", "message", "fix"]
    assert (gap["code"], gap["path"]) == ("email_unapproved", "agents.drafting.autonomy")
    clean = invoke("check", str(EXAMPLE_MANIFEST), "--json")
    assert (clean.exit_code, json.loads(clean.stdout)) == (0, {"score": 100, "gaps": []})


def test_cli_shows_manifest_text_literally(tmp_path: Path) -> None:
    owner = "[bold red]U0X[/bold red]\x1b[2J"
    path = written(
        tmp_path / "agency.yaml", lambda m: m["domains"]["ad_performance"].update(owner=owner)
    )
    result = invoke("check", str(path))
    assert result.exit_code == 1
    assert "owner [bold red]U0X[/bold red]\\x1b[2J is not among people" in result.stdout
    assert "\x1b" not in result.stdout


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("agency: [unclosed\n", "line 2: not valid YAML"),
        ("- just\n- a list\n", "(top level): must be a mapping of keys to values"),
        (None, "file not found"),
    ],
)
def test_cli_exits_2_for_a_manifest_it_cannot_read(
    tmp_path: Path, text: str | None, problem: str
) -> None:
    path = tmp_path / "agency.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    for args in (("check", str(path)), ("check", str(path), "--json")):
        result = invoke(*args)
        assert (result.exit_code, result.stdout) == (2, "")
        [line] = result.stderr.splitlines()
        assert line.startswith(f"{path}: {problem}")


def test_cli_exits_2_with_one_line_per_problem_no_code_covers(tmp_path: Path) -> None:
    def mixed(m: dict[str, Any]) -> None:
        m["pacing"]["over_usd"] = 500  # a gap: not told as a problem
        m["colour"] = "blue"
        m["escalation_policies"]["spend"][2]["via"] = "dm"

    path = written(tmp_path / "agency.yaml", mixed)
    result = invoke("check", str(path))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [f"{path}: colour: unknown key"]
    del_colour = written(tmp_path / "second.yaml", lambda m: (mixed(m), m.pop("colour")))
    again = invoke("check", str(del_colour))
    assert again.stderr.splitlines() == [
        f"{del_colour}: escalation_policies.spend.2.via: a channel level posts in the channel; "
        "`via: dm` is for a person"
    ]


def test_other_commands_still_refuse_a_manifest_check_scores(tmp_path: Path) -> None:
    path = written(tmp_path / "agency.yaml", lambda m: m["pacing"].update(max_spend=1000))
    assert invoke("check", str(path)).exit_code == 1
    result = invoke("--manifest", str(path), "pacing")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}: pacing.max_spend: a threshold in money; pacing thresholds are percentages of "
        "plan (over_pct, under_pct), never money"
    ]


def test_the_manifest_init_writes_scores_100(tmp_path: Path) -> None:
    assert invoke("init", "agency").exit_code == 0
    result = invoke("check", "agency/agency.yaml")
    assert (result.exit_code, result.stdout) == (
        0,
        "agency/agency.yaml: coordination score 100/100, no gaps\n",
    )


# -- the README -----------------------------------------------------------------------------


def test_the_readme_gives_every_code_with_its_weight() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Coordination check\n")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| .+ \| (\d+) \|$", section, flags=re.MULTILINE)
    assert rows == [(code.value, str(WEIGHTS[code])) for code in GapCode]


# -- /ops check -----------------------------------------------------------------------------


def gaps_of(count: int, text: str = "x") -> Coordination:
    gaps = [
        Gap(code=GapCode.DOMAIN_NO_OWNER, path=f"domains.{text}{i}.owner", message=text, fix=text)
        for i in range(count)
    ]
    return Coordination(score=score(gaps), gaps=gaps)


def test_the_view_shows_the_score_and_each_gap_with_its_fix() -> None:
    result = coordination(changed(lambda m: m["pacing"].update(over_usd=500)), now=NOW)
    message = coordination_report(result)
    blocks = assert_within_limits(message)
    assert message.text == "Coordination score 80/100, 1 gap"
    texts = all_texts(blocks)
    [gap] = result.gaps
    for part in ("money_threshold", "`pacing.over_usd`", gap.message, f"_Fix:_ {gap.fix}"):
        assert part in texts
    clean = coordination_report(coordination(BASE, now=NOW))
    assert clean.text == "Coordination score 100/100, no gaps"
    assert len(assert_within_limits(clean)) == 1


@pytest.mark.parametrize("count", [40, 200])
def test_the_view_stays_within_slacks_limits(count: int) -> None:
    blocks = assert_within_limits(coordination_report(gaps_of(count, "d" * 300)))
    shown = len(blocks) - 2  # the score, then "…and N more"
    assert more_count(blocks) == count - shown


@settings(max_examples=50, deadline=None)
@given(text=hostile)
def test_the_view_escapes_what_the_manifest_says(text: str) -> None:
    payload = coordination_report(gaps_of(2, text)).payload()
    assert live_entities(payload) == set()


def test_ops_check_is_in_the_ops_table_and_its_help() -> None:
    row = next(row for row in OPS if row.name == "check")
    assert row.usage == "check"


def test_ops_check_end_to_end(live: Live) -> None:
    assert live.ops("check", "U0AM").status == 200
    [call] = live.responses()
    assert call.params["response_type"] == "ephemeral"
    assert call.params["text"] == "Coordination score 100/100, no gaps"

    live.clock.current = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)  # 5 days after shadow began
    assert live.ops("check", "U0NOBODY").status == 200  # read-only: anyone may look
    [_, call] = live.responses(2)
    assert call.params["text"] == "Coordination score 60/100, 2 gaps"
    texts = all_texts(call.params["blocks"])
    assert "`agents.pacing.autonomy`" in texts and "`agents.drafting.autonomy`" in texts


def test_ops_help_lists_check(live: Live) -> None:
    body = live.ops("help", "U0AM").json()
    assert "`/ops check`: the manifest's coordination score" in json.dumps(body)
