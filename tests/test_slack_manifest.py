"""The Slack app manifests: valid against Slack's schema, wired for each mode, least scopes.

The schema comes from slackapi/manifest-schema (kept in shared/reference beside the repo).
It accepts any scope name, so the scopes are checked here against what the code calls: the
bot's .py files are scanned for Web API method calls, each mapped to the bot scopes it
needs, and the manifest must ask for exactly those (plus `commands` for `/ops`).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

REPO = Path(__file__).resolve().parents[1]
SCHEMA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "reference"
    / "slack-manifest.schema.1.0.0.json"
)
MANIFESTS = sorted((REPO / "manifests").glob("slack_app*.yaml"))
HTTP_MANIFEST = REPO / "manifests" / "slack_app.yaml"
SOCKET_MANIFEST = REPO / "manifests" / "slack_app.socket.yaml"
SCANNED = ("bot", "handlers")

# Web API methods in slack_sdk's snake_case form, e.g. `chat_postMessage`.
SLACK_FAMILIES = (
    "chat",
    "views",
    "conversations",
    "users",
    "files",
    "reactions",
    "pins",
    "auth",
    "im",
    "team",
    "apps",
)
METHOD_NAME = re.compile(rf"^(?:{'|'.join(SLACK_FAMILIES)})_[A-Za-z0-9_]+$")

# The bot token scopes each method needs (https://api.slack.com/methods). A method the
# code calls that is missing here fails the test: add it with its scopes, and the manifest.
REQUIRED_SCOPES: dict[str, frozenset[str]] = {
    "chat_postMessage": frozenset({"chat:write"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "chat_delete": frozenset({"chat:write"}),
    "views_open": frozenset(),
    "views_update": frozenset(),
    "views_push": frozenset(),
    "auth_test": frozenset(),
    "conversations_open": frozenset({"im:write"}),
    "users_info": frozenset({"users:read"}),
    "files_upload_v2": frozenset({"files:write"}),
    "reactions_add": frozenset({"reactions:write"}),
}
# `/ops` is a slash command, which needs the `commands` scope whatever the code calls.
ALWAYS = frozenset({"commands"})


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


# -- schema ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SCHEMA.is_file():
        pytest.fail(f"Slack manifest schema not found at {SCHEMA} (shared/ beside the repo)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def test_both_manifests_exist() -> None:
    assert HTTP_MANIFEST in MANIFESTS
    assert SOCKET_MANIFEST in MANIFESTS


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_matches_slack_schema(path: Path, validator: Draft7Validator) -> None:
    errors = sorted(validator.iter_errors(load(path)), key=lambda e: list(e.absolute_path))
    problems = [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
    assert not problems, "\n".join(problems)


def test_the_validator_rejects_a_broken_manifest(validator: Draft7Validator) -> None:
    broken = load(HTTP_MANIFEST)
    broken["features"]["slash_commands"][0]["command"] = "ops"  # must start with "/"
    broken["settings"]["socket_mode_enabled"] = "yes"
    del broken["display_information"]["name"]
    paths = {".".join(map(str, e.absolute_path)) for e in validator.iter_errors(broken)}
    assert paths == {
        "display_information",
        "features.slash_commands.0.command",
        "settings.socket_mode_enabled",
    }


# -- modes -------------------------------------------------------------------------------


def urls(node: Any) -> list[str]:
    """Every request URL anywhere in the manifest."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("url") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(urls(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(urls(value))
    return found


def ops_command(data: dict[str, Any]) -> dict[str, Any]:
    commands = data["features"]["slash_commands"]
    (ops,) = [c for c in commands if c["command"] == "/ops"]
    return ops


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_ops_command_and_interactivity(path: Path) -> None:
    data = load(path)
    ops = ops_command(data)
    assert ops["should_escape"] is True  # user and channel mentions arrive as ids
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["features"]["bot_user"]["display_name"]


def test_http_manifest_sends_everything_to_slack_events() -> None:
    data = load(HTTP_MANIFEST)
    assert data["settings"]["socket_mode_enabled"] is False
    assert ops_command(data)["url"].endswith("/slack/events")
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    found = urls(data)
    assert len(found) >= 2
    for url in found:
        assert url.startswith("https://"), url
        assert url.endswith("/slack/events"), url


def test_socket_manifest_has_no_request_urls() -> None:
    data = load(SOCKET_MANIFEST)
    assert data["settings"]["socket_mode_enabled"] is True
    assert urls(data) == []


def test_both_modes_ask_for_the_same_scopes() -> None:
    assert bot_scopes(load(HTTP_MANIFEST)) == bot_scopes(load(SOCKET_MANIFEST))


# -- scopes ------------------------------------------------------------------------------


def slack_methods_called(source: str, filename: str = "<string>") -> set[str]:
    """Web API methods a module calls: `client.chat_postMessage(...)`, `api_call("x.y")`."""
    called: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        if METHOD_NAME.match(name):
            called.add(name)
        elif name == "api_call":
            method = node.args[0] if node.args else None
            for keyword in node.keywords:
                if keyword.arg == "api_method":
                    method = keyword.value
            if isinstance(method, ast.Constant) and isinstance(method.value, str):
                called.add(method.value.replace(".", "_"))
            else:
                called.add("api_call(<not a literal>)")  # unknown: fails the table lookup
    return called


def code_calls() -> dict[str, set[str]]:
    """{method: files calling it} over every .py file of the Slack-facing packages."""
    calls: dict[str, set[str]] = {}
    for package in SCANNED:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = str(path.relative_to(REPO))
            for method in slack_methods_called(path.read_text(encoding="utf-8"), relative):
                calls.setdefault(method, set()).add(relative)
    return calls


def bot_scopes(data: dict[str, Any]) -> set[str]:
    return set(data["oauth_config"]["scopes"]["bot"])


def scope_problems(called: set[str], declared: set[str]) -> list[str]:
    """What is wrong with `declared` bot scopes for code calling `called` methods."""
    unknown = sorted(called - REQUIRED_SCOPES.keys())
    if unknown:
        return [f"no scope entry for {m}: add it to REQUIRED_SCOPES" for m in unknown]
    needed = set(ALWAYS).union(*(REQUIRED_SCOPES[m] for m in called))
    problems = [f"missing scope {s}" for s in sorted(needed - declared)]
    problems += [f"unused scope {s}" for s in sorted(declared - needed)]
    return problems


def test_the_scan_finds_the_calls_the_bot_is_known_to_make() -> None:
    calls = code_calls()
    # The outbox is how every message leaves; the reassign buttons open modals.
    assert "bot/outbox.py" in calls.get("chat_postMessage", set())
    assert "bot/outbox.py" in calls.get("chat_update", set())
    assert "views_open" in calls


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_asks_for_exactly_the_scopes_the_code_needs(path: Path) -> None:
    calls = code_calls()
    problems = scope_problems(set(calls), bot_scopes(load(path)))
    where = {m: sorted(files) for m, files in calls.items()}
    assert not problems, f"{problems}; calls found: {where}"


# -- the scanner itself ------------------------------------------------------------------

SAMPLE = """
from slack_sdk import WebClient

def handler(client: WebClient, body):
    client.users_info(user=body["user"]["id"])
    self.client.chat_postMessage(channel="C1", text="hi")
    app.client.views_open(trigger_id="t", view={})
    client.api_call("reactions.add", params={})
    client.api_call(api_method="pins.add")
    views.alert_message(alert, label, tz)  # a view function, not a Web API call
    chat_postMessage(channel="C1")  # a bare name, not a client method
    text.split("_")
"""


def test_scanner_finds_attribute_calls_and_api_call_strings() -> None:
    assert slack_methods_called(SAMPLE) == {
        "users_info",
        "chat_postMessage",
        "views_open",
        "reactions_add",
        "pins_add",
    }


def test_adding_a_users_info_call_would_fail_the_scope_check() -> None:
    declared = bot_scopes(load(HTTP_MANIFEST))
    called = set(code_calls())
    assert scope_problems(called, declared) == []
    added = called | slack_methods_called("client.users_info(user='U1')\n")
    assert scope_problems(added, declared) == ["missing scope users:read"]


def test_an_unused_scope_fails_the_scope_check() -> None:
    declared = bot_scopes(load(HTTP_MANIFEST)) | {"channels:history"}
    assert scope_problems(set(code_calls()), declared) == ["unused scope channels:history"]


def test_a_method_missing_from_the_table_fails_the_scope_check() -> None:
    called = slack_methods_called("client.pins_add(channel='C1', timestamp='1.2')\n")
    assert scope_problems(called, {"commands"}) == [
        "no scope entry for pins_add: add it to REQUIRED_SCOPES"
    ]
    dynamic = slack_methods_called("client.api_call(name)\n")
    assert scope_problems(dynamic, {"commands"}) != []
