"""The Slack app manifests: valid by Slack's rules, wired for each mode, least scopes.

Slack's rules for the keys our manifests use are pydantic models in
tests/slack_app_manifest.py, so these tests need nothing outside the repository. Slack's
published JSON Schema (slackapi/manifest-schema) is checked too wherever it is available:
beside the repository in ../shared/reference/, or at the path in
SWITCHBOARD_SLACK_MANIFEST_SCHEMA. Without it those tests skip, saying where they looked,
unless SWITCHBOARD_REQUIRE_SLACK_SCHEMA is set (CI sets it): then they fail.

The schema accepts any scope name, so the scopes are checked here against what the code
calls: the bot's .py files are scanned for Web API method calls, each mapped to the bot
scopes it needs, and the manifest must ask for exactly those (plus `commands` for `/ops`).
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from pydantic import BaseModel

from tests.model_fields import constraint, field_type, unwrap
from tests.slack_app_manifest import (
    KNOWN_BOT_SCOPES,
    BotUser,
    DisplayInformation,
    Features,
    Interactivity,
    OAuthConfig,
    Scopes,
    Settings,
    Shortcut,
    SlackAppManifest,
    SlashCommand,
    manifest_problems,
)

REPO = Path(__file__).resolve().parents[1]
SCHEMA_VARIABLE = "SWITCHBOARD_SLACK_MANIFEST_SCHEMA"
REQUIRE_VARIABLE = "SWITCHBOARD_REQUIRE_SLACK_SCHEMA"
BESIDE_REPO = REPO.parent / "shared" / "reference" / "slack-manifest.schema.1.0.0.json"
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
    # Where a crash may have left a post: public and private channels, and DMs.
    "conversations_history": frozenset({"channels:history", "groups:history", "im:history"}),
    "conversations_replies": frozenset({"channels:history", "groups:history", "im:history"}),
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


def test_both_manifests_exist() -> None:
    assert HTTP_MANIFEST in MANIFESTS
    assert SOCKET_MANIFEST in MANIFESTS


# -- Slack's rules, from the repository alone ----------------------------------------------


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_follows_slacks_rules(path: Path) -> None:
    problems = manifest_problems(load(path))
    assert not problems, "\n".join(problems)


_DELETE = object()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to a manifest: set the value at a dotted key path (list positions as numbers)."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if isinstance(node, list) else last] = value

    return change


# (what breaks, the change to the HTTP manifest, the problem's key path, whether Slack's
# schema says so too; the others are rules Slack documents that its schema cannot express)
BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, bool]] = [
    ("no app name", _set("display_information.name", _DELETE), "display_information.name", True),
    (
        "app name too long",
        _set("display_information.name", "S" * 36),
        "display_information.name",
        True,
    ),
    (
        "description too long",
        _set("display_information.description", "d" * 141),
        "display_information.description",
        True,
    ),
    (  # the schema spells this pattern `regex`, which JSON Schema ignores
        "bad colour",
        _set("display_information.background_color", "blue"),
        "display_information.background_color",
        False,
    ),
    (
        "empty bot name",
        _set("features.bot_user.display_name", ""),
        "features.bot_user.display_name",
        True,
    ),
    (
        "command without /",
        _set("features.slash_commands.0.command", "ops"),
        "features.slash_commands.0.command",
        True,
    ),
    (
        "command too long",
        _set("features.slash_commands.0.command", "/" + "o" * 32),
        "features.slash_commands.0.command",
        True,
    ),
    (
        "command description too long",
        _set("features.slash_commands.0.description", "d" * 2001),
        "features.slash_commands.0.description",
        True,
    ),
    (
        "usage hint too long",
        _set("features.slash_commands.0.usage_hint", "h" * 1001),
        "features.slash_commands.0.usage_hint",
        True,
    ),
    (
        "usage hint empty",
        _set("features.slash_commands.0.usage_hint", ""),
        "features.slash_commands.0.usage_hint",
        True,
    ),
    (
        "a string is not a boolean",
        _set("settings.socket_mode_enabled", "yes"),
        "settings.socket_mode_enabled",
        True,
    ),
    ("unknown key", _set("settings.frobnicate", True), "settings.frobnicate", True),
    (
        "uppercase command",
        _set("features.slash_commands.0.command", "/Ops"),
        "features.slash_commands.0.command",
        False,
    ),
    (
        "command with a space",
        _set("features.slash_commands.0.command", "/ops help"),
        "features.slash_commands.0.command",
        False,
    ),
    (
        "plain http",
        _set("settings.interactivity.request_url", "http://switchboard.example.com/slack/events"),
        "settings.interactivity.request_url",
        False,
    ),
    (
        "misspelt scope",
        _set("oauth_config.scopes.bot.0", "chat:wirte"),
        "oauth_config.scopes.bot.0",
        False,
    ),
    (
        "scope twice",
        _set("oauth_config.scopes.bot.1", "chat:write"),
        "oauth_config.scopes.bot",
        False,
    ),
    (
        "HTTP app without a command URL",
        _set("features.slash_commands.0.url", _DELETE),
        "features.slash_commands.0.url",
        False,
    ),
    (
        "HTTP app without an interactivity URL",
        _set("settings.interactivity.request_url", _DELETE),
        "settings.interactivity.request_url",
        False,
    ),
    (
        "Socket Mode app with request URLs",
        _set("settings.socket_mode_enabled", True),
        "features.slash_commands.0.url",
        False,
    ),
]


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(load(HTTP_MANIFEST))
    change(data)
    return data


@pytest.mark.parametrize(("change", "path"), [b[1:3] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_the_rules_reject_a_broken_manifest_naming_the_key(
    change: Callable[[dict[str, Any]], None], path: str
) -> None:
    problems = manifest_problems(broken(change))
    assert problems, "accepted"
    assert problems[0].split(": ")[0] == path, problems


def test_a_socket_mode_app_with_urls_is_told_each_url() -> None:
    problems = manifest_problems(broken(_set("settings.socket_mode_enabled", True)))
    assert [p.split(": ")[0] for p in problems] == [
        "features.slash_commands.0.url",
        "settings.interactivity.request_url",
    ]


def test_the_known_scopes_include_every_scope_the_code_may_need() -> None:
    needed = set(ALWAYS).union(*REQUIRED_SCOPES.values())
    assert needed <= KNOWN_BOT_SCOPES, sorted(needed - KNOWN_BOT_SCOPES)


# -- Slack's published schema, where it is available ---------------------------------------


def schema_location(environ: Mapping[str, str]) -> tuple[Path, str | None]:
    """Where Slack's schema should be, and why its absence is a failure (None: a skip)."""
    given = environ.get(SCHEMA_VARIABLE)
    if given:
        return Path(given), f"{SCHEMA_VARIABLE} names it"
    if environ.get(REQUIRE_VARIABLE, "") not in ("", "0"):
        return BESIDE_REPO, f"{REQUIRE_VARIABLE} is set"
    return BESIDE_REPO, None


def test_the_schema_is_looked_for_beside_the_repo_or_where_the_variable_says() -> None:
    assert schema_location({}) == (BESIDE_REPO, None)
    assert schema_location({REQUIRE_VARIABLE: "0"}) == (BESIDE_REPO, None)
    assert schema_location({REQUIRE_VARIABLE: "1"}) == (BESIDE_REPO, f"{REQUIRE_VARIABLE} is set")
    assert schema_location({SCHEMA_VARIABLE: "/x/s.json"}) == (
        Path("/x/s.json"),
        f"{SCHEMA_VARIABLE} names it",
    )


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    path, required_because = schema_location(os.environ)
    if not path.is_file():
        where = (
            f"Slack's manifest schema is not at {path} (slackapi/manifest-schema, "
            f"schemas/manifest.schema.1.0.0.json; set {SCHEMA_VARIABLE} to its path)"
        )
        if required_because:
            pytest.fail(f"{where}, and it is required: {required_because}")
        pytest.skip(f"{where}; Slack's rules were checked from tests/slack_app_manifest.py")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(data)
    return data


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft7Validator:
    return Draft7Validator(schema)


def schema_paths(validator: Draft7Validator, data: dict[str, Any]) -> set[str]:
    return {".".join(map(str, e.absolute_path)) for e in validator.iter_errors(data)}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_matches_slack_schema(path: Path, validator: Draft7Validator) -> None:
    errors = sorted(validator.iter_errors(load(path)), key=lambda e: list(e.absolute_path))
    problems = [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]
    assert not problems, "\n".join(problems)


def test_the_validator_rejects_a_broken_manifest(validator: Draft7Validator) -> None:
    data = load(HTTP_MANIFEST)
    data["features"]["slash_commands"][0]["command"] = "ops"  # must start with "/"
    data["settings"]["socket_mode_enabled"] = "yes"
    del data["display_information"]["name"]
    assert schema_paths(validator, data) == {
        "display_information",
        "features.slash_commands.0.command",
        "settings.socket_mode_enabled",
    }


@pytest.mark.parametrize(
    ("change", "path"),
    [b[1:3] for b in BROKEN if b[3]],
    ids=[b[0] for b in BROKEN if b[3]],
)
def test_slacks_schema_agrees_with_the_rules_it_can_express(
    change: Callable[[dict[str, Any]], None], path: str, validator: Draft7Validator
) -> None:
    found = schema_paths(validator, broken(change))
    # A missing key is reported on its parent, an unknown one on the object holding it.
    assert found & {path, path.rsplit(".", 1)[0]}, found


# Each model and the schema definition it stands for (a list's `items` for its entries).
DEFINITIONS: dict[type[BaseModel], tuple[str, ...]] = {
    SlackAppManifest: (),
    DisplayInformation: ("definitions", "app-manifests.v1.display_information.schema"),
    Features: ("definitions", "app-manifests.v1.features.schema"),
    BotUser: ("definitions", "app-manifests.v1.features.bot_user"),
    SlashCommand: ("definitions", "app-manifests.v1.features.slash_commands", "items"),
    Shortcut: ("definitions", "app-manifests.v1.features.shortcuts", "items"),
    OAuthConfig: ("definitions", "app-manifests.v1.oauth_config.schema"),
    Scopes: ("definitions", "app-manifests.v1.oauth_config.scopes"),
    Settings: ("definitions", "app-manifests.v1.settings.schema"),
    Interactivity: ("definitions", "app-manifests.v1.settings.interactivity"),
}
JSON_TYPES = {str: "string", bool: "boolean", list: "array"}


def limits(schema_node: dict[str, Any], kind: str) -> tuple[Any, Any]:
    if kind == "array":
        return schema_node.get("minItems"), schema_node.get("maxItems")
    return schema_node.get("minLength"), schema_node.get("maxLength")


def test_every_model_is_compared_with_the_schema() -> None:
    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [SlackAppManifest]
    while pending:
        model = pending.pop()
        seen.add(model)
        for field in model.model_fields.values():
            kind, _, _ = field_type(field)
            inner = kind.__args__[0] if getattr(kind, "__origin__", None) is list else kind
            if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                pending.append(inner)
    assert seen == set(DEFINITIONS)


@pytest.mark.parametrize("model", DEFINITIONS, ids=lambda m: m.__name__)
def test_the_rules_use_slacks_keys_types_and_lengths(
    model: type[BaseModel], schema: dict[str, Any]
) -> None:
    definition = schema
    for part in DEFINITIONS[model]:
        definition = definition[part]
    problems = []
    required = {name for name, f in model.model_fields.items() if f.is_required()}
    if required != set(definition.get("required", [])):
        problems.append(f"required keys {sorted(required)}, Slack: {definition.get('required')}")
    for name, field in model.model_fields.items():
        if name not in definition["properties"]:
            problems.append(f"{name}: Slack's schema has no such key")
            continue
        node = definition["properties"][name]
        if "$ref" in node:
            node = schema["definitions"][node["$ref"].removeprefix("#/definitions/")]
        kind, metadata, _ = field_type(field)
        origin = getattr(kind, "__origin__", kind)
        expected = "object" if isinstance(origin, type) and issubclass(origin, BaseModel) else None
        expected = expected or JSON_TYPES[origin]
        if node.get("type") != expected:
            problems.append(f"{name}: {expected}, Slack: {node.get('type')}")
        ours = (constraint(metadata, "min_length"), constraint(metadata, "max_length"))
        if expected in ("string", "array") and ours != limits(node, expected):
            problems.append(f"{name}: lengths {ours}, Slack: {limits(node, expected)}")
        if expected == "array" and node["items"].get("type") == "string":
            _, item_metadata, _ = unwrap(kind.__args__[0])
            theirs = limits(node["items"], "string")
            mine = (
                constraint(item_metadata, "min_length"),
                constraint(item_metadata, "max_length"),
            )
            if mine != theirs:
                problems.append(f"{name} entries: lengths {mine}, Slack: {theirs}")
    assert not problems, (
        f"{model.__name__} ({'.'.join(DEFINITIONS[model][1:]) or 'root'}): {problems}"
    )


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
    assert "bot/slack_transport.py" in calls.get("chat_postMessage", set())
    assert "bot/slack_transport.py" in calls.get("chat_update", set())
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
    declared = bot_scopes(load(HTTP_MANIFEST)) | {"reactions:write"}
    assert scope_problems(set(code_calls()), declared) == ["unused scope reactions:write"]


def test_a_method_missing_from_the_table_fails_the_scope_check() -> None:
    called = slack_methods_called("client.pins_add(channel='C1', timestamp='1.2')\n")
    assert scope_problems(called, {"commands"}) == [
        "no scope entry for pins_add: add it to REQUIRED_SCOPES"
    ]
    dynamic = slack_methods_called("client.api_call(name)\n")
    assert scope_problems(dynamic, {"commands"}) != []
