"""A person using the pretend Slack: their commands, clicks and modal submissions, sent to the
app as Slack sends them, and the app's answers applied as Slack applies them.

Each request is signed with the session's secret and posted to the app's /slack/events; it
carries a fresh trigger id (one modal, within 3 seconds) and, where Slack gives one, a
response URL into the stand-in that knows who acted and where. What the app answers in the
acknowledgement itself is applied here: a command's ephemeral or in-channel reply, a modal
submission's errors, update, push or close.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from switchboard.bot.sandbox import payloads
from switchboard.bot.sandbox.responses import respond
from switchboard.bot.sandbox.slack_checks import view_problem
from switchboard.bot.sandbox.slack_store import Responder
from switchboard.bot.sandbox.workspace import Member, Workspace
from switchboard.bot.slack_standin import SlackStandIn

TIMEOUT = 10.0  # seconds: Slack itself gives up on an app after 3
NO_ANSWER = "We had some trouble connecting to Switchboard. Try again?"


class ActingError(ValueError):
    """The page asked for something that is not there (a message, a button, a modal)."""


@dataclass(frozen=True)
class Sent:
    """What the app answered: its HTTP status and body (status 0: it could not be reached)."""

    status: int
    body: str

    @property
    def ok(self) -> bool:
        return self.status == 200

    def json(self) -> dict[str, Any]:
        try:
            answer = json.loads(self.body) if self.body.strip() else {}
        except json.JSONDecodeError:
            return {}
        return answer if isinstance(answer, dict) else {}


@dataclass(frozen=True)
class Clicked:
    """Where a button or menu is: a channel message, an ephemeral message, or a modal, and
    the element's place in its blocks."""

    block: int
    element: int | None  # None: the section's accessory
    channel: str | None = None
    ts: str | None = None
    ephemeral: str | None = None
    view: str | None = None
    selected: str | None = None  # a menu's chosen option value


class Acting:
    """Sends what a person does to the app (`events_url` is known once the app listens)."""

    def __init__(
        self,
        standin: SlackStandIn,
        workspace: Workspace,
        secret: str,
        events_url: Callable[[], str],
    ) -> None:
        self.standin, self.workspace = standin, workspace
        self.secret, self.events_url = secret, events_url
        self.store = standin.store

    def member(self, user: str) -> Member:
        member = self.workspace.members.get(user)
        if member is None:
            raise ActingError(f"{user} is not in this workspace")
        return member

    def _post(self, body: str) -> Sent:
        request = urllib.request.Request(
            self.events_url(),
            data=body.encode(),
            method="POST",
            headers=payloads.signed_headers(body, self.secret),
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return Sent(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Sent(error.code, error.read().decode(errors="replace"))
        except OSError as error:
            return Sent(0, str(error))

    def _channel_name(self, channel: str) -> str:
        return self.workspace.channels.get(channel, "directmessage")

    # -- slash commands --------------------------------------------------------------------

    def command(self, user: str, channel: str, line: str) -> Sent:
        """`/ops alerts` typed by `user` in `channel`."""
        member = self.member(user)
        self._conversation_of(user, channel)
        command, _, text = line.strip().partition(" ")
        here = Responder(user=user, channel=channel)
        body = payloads.slash_command(
            member=member,
            command=command,
            text=text.strip(),
            channel=channel,
            channel_name=self._channel_name(channel),
            response_url=self.standin.responder_url(here),
            trigger_id=self.standin.issue_trigger(user),
        )
        sent = self._post(body)
        if not sent.ok:
            # What Slack tells the person when the app fails a command.
            code = "dispatch_failed" if sent.status == 0 else f"http_status_{sent.status}"
            failed = f'{command} failed with the error "{code}"'
            self.store.add_ephemeral(channel, user, failed, None)
        elif sent.json():
            respond(self.store, here, sent.json())
        self.store.touch()
        return sent

    # -- messages and message shortcuts -------------------------------------------------------

    def say(self, user: str, channel: str, text: str) -> None:
        """A message a person posts (a client's mail pasted in, say): the bot does not listen
        to messages, but its message shortcuts work on them."""
        self.member(user)
        self._conversation_of(user, channel)
        with self.store.lock:
            self.store.messages.append(
                {
                    "channel": channel,
                    "ts": self.store.next_ts(),
                    "text": text,
                    "blocks": None,
                    "thread_ts": None,
                    "metadata": None,
                    "user": user,
                }
            )
            self.store.touch()

    def shortcut(self, user: str, channel: str, ts: str, callback_id: str) -> Sent:
        """A message shortcut (More actions on a message) used by `user`."""
        member = self.member(user)
        self._conversation_of(user, channel)
        if callback_id not in {s.callback_id for s in self.workspace.shortcuts}:
            raise ActingError("the app has no such shortcut")
        message = self.store.message(channel, ts)
        if message is None:
            raise ActingError("that message is gone")
        responder = Responder(user=user, channel=channel, thread_ts=message["thread_ts"])
        payload = payloads.message_action(
            member=member,
            callback_id=callback_id,
            channel={"id": channel, "name": self._channel_name(channel)},
            message=payloads.message_shown(message),
            response_url=self.standin.responder_url(responder),
            trigger_id=self.standin.issue_trigger(user),
        )
        return self._post(payloads.interaction_body(payload))

    def _conversation_of(self, user: str, channel: str) -> None:
        """Refuse a conversation that does not exist, or another person's DM."""
        if not self.workspace.has_conversation(channel):
            raise ActingError(f"there is no conversation {channel}")
        dm_of = self.workspace.dm_user(channel)
        if dm_of is not None and dm_of != user:
            raise ActingError("only the person whose direct message this is can use it")

    # -- clicks ----------------------------------------------------------------------------

    def click(self, user: str, clicked: Clicked) -> Sent:
        member = self.member(user)
        blocks, where = self._clicked_in(user, clicked)
        try:
            block = blocks[clicked.block]
            element = (
                block["accessory"]
                if clicked.element is None
                else block["elements"][clicked.element]
            )
        except (IndexError, KeyError, TypeError):
            raise ActingError("there is no such button") from None
        action = {
            "type": element.get("type"),
            "action_id": element.get("action_id", ""),
            "block_id": block.get("block_id") or f"b{clicked.block}",
            "action_ts": f"{time.time():.6f}",
        }
        if element.get("value") is not None:
            action["value"] = element["value"]
        if element.get("text"):
            action["text"] = element["text"]
        if clicked.selected is not None:
            options = element.get("options") or []
            chosen = next((o for o in options if o.get("value") == clicked.selected), None)
            if chosen is None:
                raise ActingError("that option is not on the menu")
            action["selected_option"] = chosen
        payload = payloads.block_actions(
            member=member,
            action=action,
            trigger_id=self.standin.issue_trigger(user),
            **where,
        )
        return self._post(payloads.interaction_body(payload))

    def _clicked_in(self, user: str, clicked: Clicked) -> tuple[list[Any], dict[str, Any]]:
        """The blocks clicked in, and the payload fields that say where they are."""
        if clicked.view is not None:
            opened = self.store.views.get(clicked.view)
            if opened is None or opened["user"] != user:
                raise ActingError("that modal is not open")
            view = payloads.view_shown(opened, {})
            return opened["view"].get("blocks") or [], {
                "container": {"type": "view", "view_id": opened["id"]},
                "view": view,
            }
        channel = clicked.channel or ""
        channel_field = {"id": channel, "name": self._channel_name(channel)}
        if clicked.ephemeral is not None:
            ephemeral = self.store.ephemeral(clicked.ephemeral)
            if ephemeral is None or ephemeral["user"] != user:
                raise ActingError("that message is gone")
            responder = Responder(
                user=user,
                channel=ephemeral["channel"],
                ephemeral_id=ephemeral["id"],
                thread_ts=ephemeral["thread_ts"],
            )
            return ephemeral.get("blocks") or [], {
                "container": {
                    "type": "message",
                    "message_ts": ephemeral["ts"],
                    "channel_id": ephemeral["channel"],
                    "is_ephemeral": True,
                },
                "channel": channel_field,
                "response_url": self.standin.responder_url(responder),
            }
        self._conversation_of(user, channel)
        message = self.store.message(channel, clicked.ts or "")
        if message is None:
            raise ActingError("that message is gone")
        container = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        }
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        responder = Responder(
            user=user, channel=channel, message_ts=message["ts"], thread_ts=message["thread_ts"]
        )
        return message.get("blocks") or [], {
            "container": container,
            "channel": channel_field,
            "message": payloads.message_shown(message),
            "response_url": self.standin.responder_url(responder),
        }

    # -- modals ----------------------------------------------------------------------------

    def _open_view(self, user: str, view_id: str) -> dict[str, Any]:
        opened = self.store.views.get(view_id)
        if opened is None or opened["user"] != user:
            raise ActingError("that modal is not open")
        return opened

    def submit(self, user: str, view_id: str, values: dict[str, Any]) -> Sent:
        """Submit a modal with its inputs' state (block id -> action id -> state)."""
        member, opened = self.member(user), self._open_view(user, view_id)
        payload = payloads.view_submission(
            member=member,
            view=payloads.view_shown(opened, values),
            trigger_id=self.standin.issue_trigger(user),
        )
        sent = self._post(payloads.interaction_body(payload))
        self._apply_submission_answer(opened, sent)
        return sent

    def _apply_submission_answer(self, opened: dict[str, Any], sent: Sent) -> None:
        store, answer = self.store, sent.json()
        action, view = answer.get("response_action"), answer.get("view")
        with store.lock:
            if not sent.ok:
                opened["errors"] = {"": NO_ANSWER}
            elif action == "errors":
                opened["errors"] = dict(answer.get("errors") or {})
            elif action in ("update", "push"):
                problem = view_problem(view)
                if problem is not None:
                    opened["errors"] = {"": f"Slack refused the view Switchboard sent: {problem}"}
                elif action == "update":
                    store.replace_view(opened["id"], view)
                else:
                    store.open_view(opened["user"], view, push=True)
            else:
                store.close_view(opened["id"], all_of_stack=action == "clear")
            store.touch()

    def close(self, user: str, view_id: str) -> None:
        """Cancel a modal; the app hears of it only if the view asked (`notify_on_close`)."""
        member, opened = self.member(user), self._open_view(user, view_id)
        if opened["view"].get("notify_on_close"):
            payload = payloads.view_closed(member=member, view=payloads.view_shown(opened, {}))
            self._post(payloads.interaction_body(payload))
        with self.store.lock:
            self.store.close_view(view_id)
            self.store.touch()

    def dismiss(self, user: str, ephemeral_id: str) -> None:
        """Dismiss an ephemeral message (Slack's "Dismiss message" link)."""
        ephemeral = self.store.ephemeral(ephemeral_id)
        if ephemeral is None or ephemeral["user"] != user:
            raise ActingError("that message is gone")
        self.store.delete(channel=ephemeral["channel"], ts=None, ephemeral_id=ephemeral_id)
        self.store.touch()
