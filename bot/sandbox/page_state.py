"""What the page shows one person: the conversations with their messages and threads, their
own ephemeral messages, their open modals, the clock, and the mail the bot has sent.

Ephemeral messages and modals are chosen here, on the server, so that what one person was
told privately never reaches the page of someone acting as another.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from switchboard.bot.sandbox.slack_store import SlackStore
from switchboard.bot.sandbox.workspace import Workspace, dm_channel

MAIL_SHOWN = 50  # the newest sent mails listed


@dataclass(frozen=True)
class Scene:
    """What every person's page shares: the workspace, its agency time and the mail folder."""

    store: SlackStore
    workspace: Workspace
    tz: ZoneInfo
    mail_dir: Path


def _shown_message(message: dict[str, Any], *, ephemeral: bool = False) -> dict[str, Any]:
    shown = {
        "ts": message["ts"],
        "text": message.get("text") or "",
        "blocks": message.get("blocks") or [],
        "files": [{**f, "url": f"/files/{f['id']}/{f['name']}"} for f in message.get("files", [])],
        "ephemeral": ephemeral,
        "user": None if ephemeral else message.get("user"),  # a person's message, or the bot's
    }
    if ephemeral:
        shown["id"] = message["id"]
    return shown


def _conversation(
    scene: Scene, channel: str, name: str, kind: str, user: str, owner: str | None = None
) -> dict[str, Any]:
    """A conversation's top-level messages (each with its thread) and `user`'s ephemerals."""
    store = scene.store
    top: list[dict[str, Any]] = []
    threads: dict[str, list[dict[str, Any]]] = {}
    for message in store.messages:
        if message["channel"] != channel:
            continue
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            threads.setdefault(message["thread_ts"], []).append(_shown_message(message))
        else:
            top.append(_shown_message(message))
    for ephemeral in store.ephemerals:
        if ephemeral["channel"] == channel and ephemeral["user"] == user:
            shown = _shown_message(ephemeral, ephemeral=True)
            if ephemeral.get("thread_ts"):
                threads.setdefault(ephemeral["thread_ts"], []).append(shown)
            else:
                top.append(shown)
    for message in top:
        message["replies"] = sorted(threads.get(message["ts"], []), key=lambda m: float(m["ts"]))
    top.sort(key=lambda m: float(m["ts"]))
    conversation = {"id": channel, "name": name, "kind": kind, "messages": top}
    if owner is not None:
        conversation["user"] = owner
    return conversation


def sent_mail(mail_dir: Path) -> list[dict[str, str]]:
    """The .eml files the file backend wrote, newest first, as headers and plain text."""
    if not mail_dir.is_dir():
        return []
    files = sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    mails = []
    for path in files[:MAIL_SHOWN]:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""  # type: ignore[attr-defined]
        mails.append(
            {
                "file": path.name,
                **{h.lower(): str(parsed[h] or "") for h in ("From", "To", "Subject", "Date")},
                "message_id": str(parsed["Message-ID"] or ""),
                "body": body,
            }
        )
    return mails


def page_state(scene: Scene, user: str, now: datetime, offset_seconds: float) -> dict[str, Any]:
    """Everything the page shows `user`, as JSON-ready data, at the store's current version."""
    store, workspace = scene.store, scene.workspace
    with store.lock:
        version = store.version
        conversations = [
            _conversation(scene, channel, name, "channel", user)
            for channel, name in workspace.channels.items()
        ]
        conversations += [
            _conversation(scene, dm_channel(m.id), m.name, "dm", user, owner=m.id)
            for m in workspace.members.values()
        ]
        modals = [
            {"id": v["id"], "view": v["view"], "errors": v["errors"]} for v in store.stack_of(user)
        ]
    return {
        "version": version,
        "agency": workspace.team,
        "tz": str(scene.tz),
        "clock": {"now": now.astimezone(scene.tz).isoformat(), "offset": offset_seconds},
        "me": user,
        "people": [
            {"id": m.id, "name": m.name, "roles": list(m.roles), "in_manifest": m.in_manifest}
            for m in workspace.members.values()
        ],
        "shortcuts": [{"callback_id": s.callback_id, "name": s.name} for s in workspace.shortcuts],
        "conversations": conversations,
        "modals": modals,
        "mail": sent_mail(scene.mail_dir),
    }
