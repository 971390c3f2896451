"""What the Slack stand-in holds: messages, ephemeral messages, open modals, files, and the
short-lived handles Slack gives an app (trigger ids, response URLs).

One lock guards it all, and every change moves `version` on and wakes whoever waits for one
(the page's long poll, a test waiting for a call). Triggers and response URLs expire in
real time, as Slack's do; message timestamps come from the stand-in's clock.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TRIGGER_LIFETIME = 3.0  # seconds: Slack's trigger_id is good for 3 s, once
RESPONDER_LIFETIME = 30 * 60.0  # seconds: a response_url lives 30 minutes...
RESPONDER_USES = 5  # ...for at most five answers
MAX_VIEW_STACK = 3  # views.push beyond three modals is refused
_BASE_TS_MICROS = 1_700_000_000 * 1_000_000  # counted timestamps when there is no clock


@dataclass
class Trigger:
    user: str | None
    issued: float  # time.monotonic()
    used: bool = False


@dataclass(frozen=True)
class Responder:
    """Where a response_url's answers go: the person who acted, the conversation, and the
    message acted in (a channel message's ts, or an ephemeral message's id), if any."""

    user: str
    channel: str
    message_ts: str | None = None
    ephemeral_id: str | None = None
    thread_ts: str | None = None


@dataclass
class StoredFile:
    id: str
    name: str
    title: str
    mimetype: str
    length: int
    data: bytes | None = None  # None until its bytes are posted to the upload URL

    def shown(self, base_url: str) -> dict[str, Any]:
        """The file object of Slack's answers and message payloads."""
        url = f"{base_url}/files/{self.id}/{self.name}"
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary",
            "size": len(self.data) if self.data is not None else self.length,
            "url_private": url,
            "permalink": url,
        }


class SlackStore:
    """Everything the stand-in keeps; every method takes the lock."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()  # re-entrant: a post takes a ts and stores under one hold
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.clock = clock
        self.monotonic = time.monotonic  # what triggers and response URLs expire by
        self.messages: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}  # id -> {id, hash, user, view, errors}
        self.stacks: dict[str | None, list[str]] = {}  # person -> open modal ids, root first
        self.triggers: dict[str, Trigger] = {}
        self.responders: dict[str, Responder] = {}
        self.responder_uses: dict[str, int] = {}
        self.responder_issued: dict[str, float] = {}
        self.files: dict[str, StoredFile] = {}
        self.uploads: dict[str, bytes] = {}  # raw bytes posted to any upload URL, by file id
        self._ids = itertools.count(1)
        self._last_micros = 0

    def touch(self) -> None:
        """Something changed: wake every waiter."""
        with self.lock:
            self.version += 1
            self.changed.notify_all()

    def wait_for_change(self, after: int, timeout: float) -> int:
        """Block until `version` passes `after` (or `timeout` seconds); the version then."""
        with self.changed:
            self.changed.wait_for(lambda: self.version > after, timeout)
            return self.version

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    def next_ts(self) -> str:
        """A message timestamp: the clock's time in epoch seconds, strictly increasing (a
        counter from a fixed base when the stand-in has no clock)."""
        with self.lock:
            if self.clock is None:
                micros = _BASE_TS_MICROS + self.next_id() * 100
            else:
                now = int(self.clock().timestamp() * 1_000_000)
                micros = max(now, self._last_micros + 1)
            self._last_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- messages --------------------------------------------------------------------------

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self.lock:
            return next(
                (m for m in self.messages if m["channel"] == channel and m["ts"] == ts), None
            )

    def ephemeral(self, ephemeral_id: str) -> dict[str, Any] | None:
        with self.lock:
            return next((e for e in self.ephemerals if e["id"] == ephemeral_id), None)

    def add_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[Any] | None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            ephemeral = {
                "id": f"E{self.next_id():08d}",
                "channel": channel,
                "user": user,
                "ts": self.next_ts(),
                "text": text,
                "blocks": blocks,
                "thread_ts": thread_ts,
            }
            self.ephemerals.append(ephemeral)
            return ephemeral

    def delete(self, *, channel: str, ts: str | None, ephemeral_id: str | None) -> bool:
        with self.lock:
            if ephemeral_id is not None:
                before = len(self.ephemerals)
                self.ephemerals = [e for e in self.ephemerals if e["id"] != ephemeral_id]
                return len(self.ephemerals) < before
            found = self.message(channel, ts or "")
            if found is not None:
                self.messages.remove(found)
            return found is not None

    # -- triggers and response URLs ----------------------------------------------------------

    def issue_trigger(self, user: str | None) -> str:
        """A trigger id for a click or command by `user`, good for one modal within 3 s."""
        with self.lock:
            trigger = f"{self.next_id()}.{int(time.time())}.{secrets.token_hex(8)}"
            self.triggers[trigger] = Trigger(user, self.monotonic())
            return trigger

    def use_trigger(self, trigger_id: str, *, strict: bool) -> tuple[str | None, str | None]:
        """(the person it was issued for, None) or (None, Slack's error for it).

        A trigger the stand-in never issued is refused only when `strict` (a test may make
        up its own)."""
        with self.lock:
            trigger = self.triggers.get(trigger_id)
            if trigger is None:
                return None, "invalid_trigger_id" if strict else None
            if trigger.used:
                return None, "trigger_exchanged"
            if self.monotonic() - trigger.issued > TRIGGER_LIFETIME:
                return None, "expired_trigger_id"
            trigger.used = True
            return trigger.user, None

    def add_responder(self, responder: Responder) -> str:
        """A new response_url name for answers about `responder`'s request."""
        with self.lock:
            name = f"{self.next_id()}-{secrets.token_hex(8)}"
            self.responders[name] = responder
            self.responder_issued[name] = self.monotonic()
            return name

    def use_responder(self, name: str) -> tuple[Responder | None, str | None]:
        """(where the answer goes, None), (None, None) for a name the stand-in did not hand
        out (answered and recorded only), or (None, why Slack refuses it)."""
        with self.lock:
            responder = self.responders.get(name)
            if responder is None:
                return None, None
            if self.monotonic() - self.responder_issued[name] > RESPONDER_LIFETIME:
                return None, "expired_url"
            uses = self.responder_uses.get(name, 0)
            if uses >= RESPONDER_USES:
                return None, "used_url"
            self.responder_uses[name] = uses + 1
            return responder, None

    # -- modals ----------------------------------------------------------------------------

    def open_view(self, user: str | None, view: dict[str, Any], *, push: bool) -> dict[str, Any]:
        """Open `view` for `user`: a new stack (views.open) or on top of theirs (views.push)."""
        with self.lock:
            stack = self.stacks.setdefault(user, []) if push else []
            opened = {
                "id": f"V{self.next_id():08d}",
                "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                "user": user,
                "view": view,
                "errors": {},
                "root_view_id": stack[0] if stack else None,
                "previous_view_id": stack[-1] if stack else None,
            }
            self.views[opened["id"]] = opened
            if not push:
                self._close_stack(user)
                self.stacks[user] = stack
            stack.append(opened["id"])
            return opened

    def replace_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            current = self.views[view_id]
            current.update(view=view, errors={}, hash=f"{int(time.time())}.{secrets.token_hex(4)}")
            return current

    def close_view(self, view_id: str, *, all_of_stack: bool = False) -> None:
        """Close a modal (and those pushed above it), or its whole stack."""
        with self.lock:
            opened = self.views.get(view_id)
            if opened is None:
                return
            stack = self.stacks.get(opened["user"], [])
            if all_of_stack or view_id not in stack:
                self._close_stack(opened["user"])
                return
            for closed in stack[stack.index(view_id) :]:
                self.views.pop(closed, None)
            del stack[stack.index(view_id) :]

    def _close_stack(self, user: str | None) -> None:
        for view_id in self.stacks.pop(user, []):
            self.views.pop(view_id, None)

    def stack_of(self, user: str) -> list[dict[str, Any]]:
        with self.lock:
            return [self.views[v] for v in self.stacks.get(user, []) if v in self.views]
