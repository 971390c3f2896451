"""Slack's rules for the parts of an app manifest Switchboard uses, as pydantic models.

The repository does not ship Slack's published JSON Schema for app manifests, so the rules our
manifests must follow live here: the schema's limits for every key we use (lengths, list
sizes, required keys), plus what Slack documents and the schema cannot say. Request URLs are
HTTPS; a command is lowercase with no spaces; scopes are real scope names; a Socket Mode app
has no request URLs, and an HTTP app has one wherever Slack sends it a request.

A key these models do not know is an error: before a manifest uses a new key, add it here
with Slack's limits (tests/test_slack_manifest.py checks the limits against Slack's schema
wherever that schema is available).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

# Granular bot token scopes, from Slack's list at https://api.slack.com/scopes. A scope
# missing here fails the manifest check: add it once that page confirms the name.
KNOWN_BOT_SCOPES = frozenset(
    {
        "app_mentions:read",
        "assistant:write",
        "bookmarks:read",
        "bookmarks:write",
        "calls:read",
        "calls:write",
        "canvases:read",
        "canvases:write",
        "channels:history",
        "channels:join",
        "channels:manage",
        "channels:read",
        "channels:write.invites",
        "channels:write.topic",
        "chat:write",
        "chat:write.customize",
        "chat:write.public",
        "commands",
        "conversations.connect:manage",
        "conversations.connect:read",
        "conversations.connect:write",
        "datastore:read",
        "datastore:write",
        "dnd:read",
        "emoji:read",
        "files:read",
        "files:write",
        "groups:history",
        "groups:read",
        "groups:write",
        "groups:write.invites",
        "groups:write.topic",
        "im:history",
        "im:read",
        "im:write",
        "incoming-webhook",
        "links.embed:write",
        "links:read",
        "links:write",
        "metadata.message:read",
        "mpim:history",
        "mpim:read",
        "mpim:write",
        "pins:read",
        "pins:write",
        "reactions:read",
        "reactions:write",
        "reminders:read",
        "reminders:write",
        "remote_files:read",
        "remote_files:share",
        "remote_files:write",
        "team.billing:read",
        "team.preferences:read",
        "team:read",
        "triggers:read",
        "triggers:write",
        "usergroups:read",
        "usergroups:write",
        "users.profile:read",
        "users:read",
        "users:read.email",
        "users:write",
        "workflow.steps:execute",
    }
)


def _known_scope(name: str) -> str:
    if name not in KNOWN_BOT_SCOPES:
        raise ValueError(f"'{name}' is not a Slack bot scope (https://api.slack.com/scopes)")
    return name


def _unique(values: list[Any]) -> list[Any]:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"listed more than once: {', '.join(repeated)}")
    return values


def _https(url: str) -> str:
    # Slack calls request URLs over HTTPS only; the schema's own pattern also allows http.
    if not re.match(r"^https://[^\s/?#]+(/\S*)?$", url):
        raise ValueError(f"'{url}' is not an https:// URL")
    return url


def _command(name: str) -> str:
    # Slack keeps commands lowercase, without spaces: `/ops`, never `/Ops` or `/ops help`.
    if not re.match(r"^/[^\sA-Z]+$", name):
        raise ValueError(f"'{name}' must start with / and be lowercase without spaces")
    return name


SlashCommandUrl = Annotated[str, Field(max_length=3000), AfterValidator(_https)]
RequestUrl = Annotated[str, Field(max_length=3500), AfterValidator(_https)]
BotScope = Annotated[str, Field(max_length=50), AfterValidator(_known_scope)]


class _Slack(BaseModel):
    # strict: YAML's `yes` or "true" is not a boolean to Slack, nor 5 a string.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DisplayInformation(_Slack):
    name: str = Field(min_length=1, max_length=35)
    description: str | None = Field(default=None, min_length=1, max_length=140)
    background_color: str | None = Field(
        default=None, min_length=4, max_length=7, pattern=r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"
    )
    long_description: str | None = Field(default=None, min_length=175, max_length=4000)


class BotUser(_Slack):
    display_name: str = Field(min_length=1, max_length=80)
    always_online: bool = False


class SlashCommand(_Slack):
    command: Annotated[str, Field(min_length=2, max_length=32), AfterValidator(_command)]
    url: SlashCommandUrl | None = None
    description: str = Field(min_length=1, max_length=2000)
    usage_hint: str | None = Field(default=None, min_length=1, max_length=1000)
    should_escape: bool = False


class Shortcut(_Slack):
    name: str = Field(min_length=1, max_length=24)
    type: str = Field(pattern=r"^(message|global)$")
    callback_id: str = Field(min_length=1, max_length=255)
    description: str = Field(min_length=1, max_length=150)


class Features(_Slack):
    bot_user: BotUser | None = None
    slash_commands: list[SlashCommand] | None = Field(default=None, min_length=1, max_length=50)
    shortcuts: list[Shortcut] | None = Field(default=None, min_length=1, max_length=10)

    @field_validator("slash_commands")
    @classmethod
    def _one_of_each(cls, commands: list[SlashCommand] | None) -> list[SlashCommand] | None:
        _unique([c.command for c in commands or []])
        return commands


class Scopes(_Slack):
    bot: Annotated[list[BotScope], Field(max_length=255), AfterValidator(_unique)] = []


class OAuthConfig(_Slack):
    scopes: Scopes | None = None


class Interactivity(_Slack):
    is_enabled: bool
    request_url: RequestUrl | None = None


class Settings(_Slack):
    interactivity: Interactivity | None = None
    org_deploy_enabled: bool = False
    socket_mode_enabled: bool = False
    token_rotation_enabled: bool = False


class SlackAppManifest(_Slack):
    display_information: DisplayInformation
    features: Features | None = None
    oauth_config: OAuthConfig | None = None
    settings: Settings | None = None


def _request_urls(manifest: SlackAppManifest) -> list[tuple[str, str | None]]:
    """(key path, URL or None) for every place Slack would send requests to over HTTP."""
    places: list[tuple[str, str | None]] = []
    if manifest.features and manifest.features.slash_commands:
        for i, command in enumerate(manifest.features.slash_commands):
            places.append((f"features.slash_commands.{i}.url", command.url))
    interactivity = manifest.settings.interactivity if manifest.settings else None
    if interactivity is not None and (interactivity.is_enabled or interactivity.request_url):
        places.append(("settings.interactivity.request_url", interactivity.request_url))
    return places


def mode_problems(manifest: SlackAppManifest) -> list[str]:
    """Socket Mode and request URLs must agree: Slack uses one or the other."""
    socket = manifest.settings is not None and manifest.settings.socket_mode_enabled
    problems = []
    for path, url in _request_urls(manifest):
        if socket and url is not None:
            problems.append(
                f"{path}: Socket Mode apps get no requests at a URL "
                "(settings.socket_mode_enabled is true); remove it"
            )
        elif not socket and url is None:
            problems.append(
                f"{path}: required over HTTP (settings.socket_mode_enabled is false): "
                "Slack sends the request there"
            )
    return problems


def manifest_problems(data: Any) -> list[str]:
    """Every problem with a parsed Slack app manifest, one `key.path: problem` line each."""
    try:
        manifest = SlackAppManifest.model_validate(data)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            path = ".".join(str(part) for part in detail["loc"]) or "(top level)"
            message = detail["msg"].removeprefix("Value error, ")
            if detail["type"] == "extra_forbidden":
                message = "unknown key: add it to tests/slack_app_manifest.py with Slack's limits"
            problems.append(f"{path}: {message}")
        return problems
    return mode_problems(manifest)
