"""The pretend Slack workspace: which channels and people exist, for the stand-in and the page.

Built from the agency manifest: its channels (named by their manifest key) and its people,
plus a person who is in the workspace but not in the manifest (to show what Switchboard
refuses to a stranger).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from switchboard.store.manifest import AgencyManifest

STRANGER = "U0NOBODY"
STRANGER_NAME = "Sam"
BOT_USER = "U0BOT"


def dm_channel(user: str) -> str:
    """The id of the bot's direct message with `user` (as conversations.open answers it)."""
    return f"D{user}"


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    roles: tuple[str, ...] = ()
    in_manifest: bool = True


@dataclass(frozen=True)
class Shortcut:
    """A message shortcut the Slack app declares (its manifest's `features.shortcuts`)."""

    callback_id: str
    name: str


@dataclass(frozen=True)
class Workspace:
    """Channels by id (their names), and the people; `token` is the only bot token accepted;
    `shortcuts` are the app's message shortcuts, offered on every message."""

    channels: dict[str, str]
    members: dict[str, Member]
    token: str | None = None
    team: str = "Sandbox"
    shortcuts: tuple[Shortcut, ...] = ()

    @classmethod
    def of(
        cls,
        manifest: AgencyManifest,
        *,
        token: str | None = None,
        shortcuts: tuple[Shortcut, ...] = (),
    ) -> Workspace:
        channels: dict[str, str] = {}
        for key in type(manifest.channels).model_fields:
            channel = getattr(manifest.channels, key)
            # One channel may serve two purposes (alerts and briefing, say): both names show.
            channels[channel] = f"{channels[channel]}-{key}" if channel in channels else key
        members = {
            p.slack_id: Member(p.slack_id, p.name, tuple(r.value for r in p.roles))
            for p in manifest.people
        }
        if STRANGER not in members:
            members[STRANGER] = Member(STRANGER, STRANGER_NAME, in_manifest=False)
        return cls(
            channels=channels,
            members=members,
            token=token,
            team=manifest.agency,
            shortcuts=shortcuts,
        )

    def has_user(self, user: str) -> bool:
        return user in self.members or user == BOT_USER

    def has_conversation(self, channel: str) -> bool:
        """A channel of the manifest, or the bot's DM with someone in the workspace."""
        if channel in self.channels:
            return True
        return channel.startswith("D") and channel[1:] in self.members

    def dm_user(self, channel: str) -> str | None:
        """Whose DM with the bot `channel` is, if it is one."""
        user = channel[1:] if channel.startswith("D") else None
        return user if user in self.members else None


def message_shortcuts(slack_app_manifest: Path) -> tuple[Shortcut, ...]:
    """The message shortcuts a Slack app manifest declares."""
    features = yaml.safe_load(slack_app_manifest.read_text(encoding="utf-8")).get("features", {})
    return tuple(
        Shortcut(item["callback_id"], item["name"])
        for item in features.get("shortcuts", [])
        if item.get("type") == "message"
    )
