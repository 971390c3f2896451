"""The Web API methods the stand-in answers, with Slack's response shapes and errors.

Every method the bot calls is here: auth.test, chat.postMessage, chat.update,
chat.postEphemeral, conversations.open, conversations.history and .replies, views.open,
views.update, views.push, users.info, and the three-step upload (files.getUploadURLExternal,
the upload itself, files.completeUploadExternal). Text and blocks are checked as Slack checks
them (bot/sandbox/slack_checks.py).

With a `Workspace` the stand-in is a workspace: a channel or person it does not know is
`channel_not_found` or `user_not_found`, a trigger id it did not issue is refused, and only
its bot token is accepted. Without one (most tests) any channel and trigger is accepted.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from switchboard.bot.sandbox.slack_checks import (
    Params,
    error,
    message_problem,
    parse_json,
    view_problem,
)
from switchboard.bot.sandbox.slack_store import MAX_VIEW_STACK, SlackStore, StoredFile
from switchboard.bot.sandbox.workspace import BOT_USER, Workspace, dm_channel

AUTH_TEST = {
    "ok": True,
    "url": "https://fake.slack.com/",
    "team": "Fake",
    "user": "switchboard",
    "team_id": "T0FAKE",
    "user_id": BOT_USER,
    "bot_id": "B0BOT",
}


class WebApi:
    """Answers one Web API call from the store; `base_url` is where files are served."""

    def __init__(
        self, store: SlackStore, workspace: Workspace | None, base_url: Callable[[], str]
    ) -> None:
        self.store = store
        self.workspace = workspace
        self.base_url = base_url
        self.methods: dict[str, Callable[[Params], dict[str, Any]]] = {
            "auth.test": lambda _params: dict(AUTH_TEST),
            "chat.postMessage": self.post_message,
            "chat.update": self.update_message,
            "chat.postEphemeral": self.post_ephemeral,
            "conversations.open": self.open_conversation,
            "conversations.history": self.history,
            "conversations.replies": self.replies,
            "views.open": lambda params: self.open_view(params, push=False),
            "views.push": lambda params: self.open_view(params, push=True),
            "views.update": self.update_view,
            "users.info": self.user_info,
            "files.getUploadURLExternal": self.upload_url,
            "files.completeUploadExternal": self.complete_upload,
        }

    @property
    def strict(self) -> bool:
        return self.workspace is not None

    def answer(self, method: str, params: Params, headers: dict[str, str]) -> dict[str, Any]:
        refused = self._token_problem(params, headers)
        if refused is not None:
            return refused
        run = self.methods.get(method)
        if run is None:
            return error("unknown_method") if self.strict else {"ok": True}
        return run(params)

    def _token_problem(self, params: Params, headers: dict[str, str]) -> dict[str, Any] | None:
        if self.workspace is None or self.workspace.token is None:
            return None
        given = headers.get("authorization", "").removeprefix("Bearer ") or params.get("token")
        if not given:
            return error("not_authed")
        return None if given == self.workspace.token else error("invalid_auth")

    def _channel(self, params: Params, key: str = "channel") -> str | dict[str, Any]:
        """The conversation a call names (a person's id means their DM), or its error."""
        channel = str(params.get(key) or "")
        if self.workspace is None:
            return channel
        if self.workspace.has_user(channel) and channel != BOT_USER:
            return dm_channel(channel)
        return channel if self.workspace.has_conversation(channel) else error("channel_not_found")

    # -- chat --------------------------------------------------------------------------------

    def post_message(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        if isinstance(channel, dict):
            return channel
        problem = message_problem(params)
        if problem is not None:
            return problem
        with self.store.lock:
            ts = self.store.next_ts()
            message = {
                "channel": channel,
                "ts": ts,
                "text": params.get("text"),
                "blocks": parse_json(params.get("blocks")),
                "thread_ts": params.get("thread_ts") or None,
                "metadata": parse_json(params.get("metadata")),
            }
            self.store.messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": {"text": message["text"], "ts": ts, "user": BOT_USER, "bot_id": "B0BOT"},
        }

    def update_message(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        if isinstance(channel, dict):
            return channel
        problem = message_problem(params, update=True)
        if problem is not None:
            return problem
        with self.store.lock:
            message = self.store.message(channel, str(params.get("ts")))
            if message is None:
                return error("message_not_found")
            if "text" in params:
                message["text"] = params["text"]
            if "blocks" in params:
                message["blocks"] = parse_json(params["blocks"])
            return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"]}

    def post_ephemeral(self, params: Params) -> dict[str, Any]:
        channel = self._channel(params)
        if isinstance(channel, dict):
            return channel
        user = str(params.get("user") or "")
        if self.workspace is not None and not self.workspace.has_user(user):
            return error("user_not_found")
        problem = message_problem(params)
        if problem is not None:
            return problem
        ephemeral = self.store.add_ephemeral(
            channel,
            user,
            str(params.get("text") or ""),
            parse_json(params.get("blocks")),
            params.get("thread_ts") or None,
        )
        return {"ok": True, "message_ts": ephemeral["ts"]}

    # -- conversations -------------------------------------------------------------------------

    def open_conversation(self, params: Params) -> dict[str, Any]:
        if params.get("channel"):
            return {"ok": True, "channel": {"id": params["channel"]}}
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if self.workspace is None:
            return {"ok": True, "channel": {"id": f"D{''.join(users)}"}}
        if len(users) != 1:
            return error("not_implemented" if users else "users_list_not_supplied")
        if not self.workspace.has_user(users[0]) or users[0] == BOT_USER:
            return error("user_not_found")
        return {"ok": True, "channel": {"id": dm_channel(users[0])}}

    @staticmethod
    def _shown(message: dict[str, Any], params: Params) -> dict[str, Any]:
        """A stored message as Slack returns it: metadata only when asked for."""
        shown = {k: v for k, v in message.items() if k not in ("channel", "metadata") and v}
        wants_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        if wants_metadata and message.get("metadata"):
            shown["metadata"] = message["metadata"]
        return shown

    def history(self, params: Params) -> dict[str, Any]:
        """Top-level messages of a channel, newest first, after `oldest`."""
        channel, oldest = params.get("channel"), float(params.get("oldest") or 0)
        with self.store.lock:
            found = [
                self._shown(m, params)
                for m in reversed(self.store.messages)
                if m["channel"] == channel and not m.get("thread_ts") and float(m["ts"]) > oldest
            ]
        return {"ok": True, "messages": found[: int(params.get("limit") or 100)]}

    def replies(self, params: Params) -> dict[str, Any]:
        """A thread: its parent, then its replies, oldest first."""
        channel, ts = params.get("channel"), params.get("ts")
        with self.store.lock:
            found = [
                self._shown(m, params)
                for m in self.store.messages
                if m["channel"] == channel and ts in (m["ts"], m.get("thread_ts"))
            ]
        if not found:
            return error("thread_not_found")
        return {"ok": True, "messages": found}

    # -- modals ----------------------------------------------------------------------------

    def _view_answer(self, opened: dict[str, Any]) -> dict[str, Any]:
        view = opened["view"]
        return {
            "ok": True,
            "view": {
                **view,
                "id": opened["id"],
                "team_id": AUTH_TEST["team_id"],
                "state": {"values": {}},
                "hash": opened["hash"],
                "private_metadata": view.get("private_metadata", ""),
                "callback_id": view.get("callback_id", ""),
                "root_view_id": opened["root_view_id"] or opened["id"],
                "previous_view_id": opened["previous_view_id"],
                "app_id": "A0SWITCH",
                "bot_id": AUTH_TEST["bot_id"],
            },
        }

    def open_view(self, params: Params, *, push: bool) -> dict[str, Any]:
        view = parse_json(params.get("view"))
        problem = view_problem(view)
        if problem is not None:
            return error("invalid_arguments", f"[ERROR] {problem}")
        user, refused = self.store.use_trigger(str(params.get("trigger_id")), strict=self.strict)
        if refused is not None:
            return error(refused)
        if push and len(self.store.stack_of(user or "")) >= MAX_VIEW_STACK:
            return error("push_limit_reached")
        return self._view_answer(self.store.open_view(user, view, push=push))

    def update_view(self, params: Params) -> dict[str, Any]:
        view = parse_json(params.get("view"))
        problem = view_problem(view)
        if problem is not None:
            return error("invalid_arguments", f"[ERROR] {problem}")
        view_id = str(params.get("view_id") or "")
        with self.store.lock:
            opened = self.store.views.get(view_id)
            if opened is None:
                if self.strict:
                    return error("not_found")
                # A test's made-up view: answered as Slack answers a known one.
                return {"ok": True, "view": {**view, "id": view_id}}
            if params.get("hash") and params["hash"] != opened["hash"]:
                return error("hash_conflict")
            return self._view_answer(self.store.replace_view(view_id, view))

    # -- people ----------------------------------------------------------------------------

    def user_info(self, params: Params) -> dict[str, Any]:
        user = str(params.get("user") or "")
        if self.workspace is None:
            return {"ok": True, "user": {"id": user, "name": user.lower(), "is_bot": False}}
        member = self.workspace.members.get(user)
        if member is None:
            return error("user_not_found")
        return {
            "ok": True,
            "user": {
                "id": member.id,
                "team_id": AUTH_TEST["team_id"],
                "name": member.name.lower(),
                "real_name": member.name,
                "is_bot": False,
                "deleted": False,
                "profile": {"real_name": member.name, "display_name": member.name},
            },
        }

    # -- files -----------------------------------------------------------------------------

    def upload_url(self, params: Params) -> dict[str, Any]:
        name, length = params.get("filename"), str(params.get("length") or "")
        if not name or not length.isdigit():
            return error("invalid_arguments", "[ERROR] filename and length are required")
        file_id = f"F{self.store.next_id():08d}"
        mimetype = mimetypes.guess_type(str(name))[0] or "application/octet-stream"
        with self.store.lock:
            self.store.files[file_id] = StoredFile(file_id, str(name), "", mimetype, int(length))
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url()}/upload/{file_id}"}

    def receive_upload(self, file_id: str, body: bytes) -> None:
        """The bytes posted to an upload URL."""
        with self.store.lock:
            self.store.uploads[file_id] = body
            stored = self.store.files.get(file_id)
            if stored is not None:
                stored.data = body

    def complete_upload(self, params: Params) -> dict[str, Any]:
        listed = parse_json(params.get("files")) or []
        if not isinstance(listed, list) or not listed:
            return error("invalid_arguments", "[ERROR] files is required")
        channel: str | dict[str, Any] | None = None
        if params.get("channel_id"):
            channel = self._channel(params, "channel_id")
            if isinstance(channel, dict):
                return channel
        with self.store.lock:
            done = []
            for item in listed:
                stored = self.store.files.get(str(item.get("id")))
                if stored is None or stored.data is None:
                    return error("file_not_found")
                stored.title = str(item.get("title") or stored.name)
                done.append(stored.shown(self.base_url()))
            if channel is not None:
                self.store.messages.append(
                    {
                        "channel": channel,
                        "ts": self.store.next_ts(),
                        "text": str(params.get("initial_comment") or ""),
                        "blocks": None,
                        "thread_ts": params.get("thread_ts") or None,
                        "metadata": None,
                        "files": done,
                    }
                )
        return {"ok": True, "files": done}
