"""A local stand-in for Slack's Web API, on loopback.

The bot's real ``slack_sdk.WebClient`` talks to it over HTTP
(``WebClient(base_url=standin.api_url)``), so the sandbox, the demo and the tests exercise
the real client, its serialisation and its error handling, without a workspace or the
network. It answers every method the bot calls as Slack does (bot/sandbox/standin_methods.py),
keeps what it received (bot/sandbox/slack_store.py: messages as later updates change them,
ephemeral messages, modals, files), answers ``response_url`` posts
(bot/sandbox/responses.py), records every call, and fails on demand (429 with Retry-After,
5xx, Slack errors, dropped connections).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from switchboard.bot.sandbox.responses import respond
from switchboard.bot.sandbox.slack_checks import parse_json
from switchboard.bot.sandbox.slack_store import Responder, SlackStore
from switchboard.bot.sandbox.standin_methods import AUTH_TEST, WebApi
from switchboard.bot.sandbox.workspace import Workspace

__all__ = ["AUTH_TEST", "Call", "SlackStandIn"]


@dataclass(frozen=True)
class Call:
    """One request the fake received, with what it answered.

    ``status`` is 0 when the connection was dropped without an answer.
    """

    method: str
    params: dict
    headers: dict
    path: str
    status: int
    response: dict | None


@dataclass(frozen=True)
class _Failure:
    method: str
    status: int
    error: str | None
    retry_after: int | str | None  # a header's text: seconds, usually
    drop_connection: bool


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict | None  # None: drop the connection
    headers: dict[str, str]
    plain: bool = False  # the error code as a text body (response URLs), not JSON
    content: tuple[bytes, str] | None = None  # a file's bytes and type, instead of JSON


def _parse_body(content_type: str, body: bytes) -> dict:
    """slack_sdk sends form-encoded bodies, or JSON when a method is called with ``json=``."""
    if content_type == "application/json" and body:
        return json.loads(body)
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {}


class SlackStandIn:
    """Records Web API calls, answers them as Slack does and fails them on request.

    With a `workspace` it knows which channels and people exist and refuses others as Slack
    does; `clock` dates its messages (a counter from a fixed base without one).
    """

    def __init__(
        self, workspace: Workspace | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.calls: list[Call] = []
        self.store = SlackStore(clock)
        self.api = WebApi(self.store, workspace, lambda: self.base_url)
        self._lock = self.store.lock
        self._arrived = self.store.changed  # notified on every recorded call
        self._failures: list[_Failure] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def uploads(self) -> dict[str, bytes]:
        """The bytes posted to each upload URL, by file id."""
        return self.store.uploads

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # bounds how long stop() waits for the loop
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and release the port; safe to call twice.

        The port is released and the thread joined whatever fails first; a serving thread
        still running after `timeout` seconds is an error, not a wait without end.
        """
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        try:
            if thread is not None and thread.is_alive():
                server.shutdown()  # returns once serve_forever has seen the request (50 ms)
        finally:
            server.server_close()
            if thread is not None:
                thread.join(timeout)
                if thread.is_alive():
                    raise RuntimeError(f"the Slack stand-in did not stop within {timeout} s")

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A URL usable as an interaction payload's ``response_url`` (answers are recorded)."""
        return f"{self.base_url}/response/{name}"

    def responder_url(self, responder: Responder) -> str:
        """A response URL whose answers land where Slack would put them for `responder`."""
        return self.response_url(self.store.add_responder(responder))

    def issue_trigger(self, user: str | None) -> str:
        """A trigger id for `user`'s click or command: one modal, within 3 seconds."""
        return self.store.issue_trigger(user)

    # -- scripting and assertions -----------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 200,
        error: str | None = None,
        retry_after: int | str | None = None,
        drop_connection: bool = False,
    ) -> None:
        """Queue ``times`` failures for ``method`` ("*" matches any); consumed in order."""
        failure = _Failure(method, status, error, retry_after, drop_connection)
        with self._lock:
            self._failures.extend([failure] * times)

    def reset(self) -> None:
        """Forget recorded calls and pending failures; posted messages stay updatable."""
        with self._lock:
            self.calls.clear()
            self._failures.clear()

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def messages(self, channel: str | None = None) -> list[dict]:
        """Successfully posted messages, in order, as changed by later chat.update calls."""
        with self._lock:
            return [
                dict(m) for m in self.store.messages if channel is None or m["channel"] == channel
            ]

    def ephemerals(self, user: str | None = None) -> list[dict]:
        """Ephemeral messages (answers to one person), in order, for `user` or everyone."""
        with self._lock:
            return [dict(e) for e in self.store.ephemerals if user is None or e["user"] == user]

    @staticmethod
    def blocks_of(call: Call) -> list:
        """The ``blocks`` of a call as Python objects, whether sent as JSON string or list."""
        return parse_json(call.params.get("blocks")) or []

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `count` calls to `method` have arrived (work Bolt does after the ack)."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
            if not arrived:
                seen = [c.method for c in self.calls]
                raise AssertionError(
                    f"expected {count} {method} call(s) within {timeout}s; got {seen}"
                )
            return self.calls_to(method)

    # -- request handling (runs on server threads) ------------------------

    def _handle(self, path: str, params: dict, headers: dict, body: bytes) -> _Answer:
        """Answer one request, record it, and wake whoever waits for a change."""
        method, answer = self._route(path, params, headers, body)
        with self._lock:
            self.calls.append(Call(method, params, headers, path, answer.status, answer.body))
            self.store.touch()
        return answer

    def _route(self, path: str, params: dict, headers: dict, body: bytes) -> tuple[str, _Answer]:
        kind, _, rest = path.lstrip("/").partition("/")
        method = {
            "api": rest,
            "response": "response_url",
            "upload": "file_upload",
            "files": "file_download",
        }.get(kind, "")
        failure = self._take_failure(method)
        if failure is not None:
            return method, self._failure_answer(failure)
        if kind == "api" and rest:
            return method, _Answer(200, self.api.answer(method, params, headers), {})
        if kind == "response":
            return method, self._respond(rest, params)
        if kind == "upload":
            self.api.receive_upload(rest, body)
            return method, _Answer(200, {"ok": True}, {})
        if kind == "files":
            stored = self.store.files.get(rest.partition("/")[0])
            if stored is not None and stored.data is not None:
                return method, _Answer(
                    200, {"ok": True}, {}, content=(stored.data, stored.mimetype)
                )
        return method, _Answer(404, {"ok": False, "error": "unknown_path"}, {})

    def _respond(self, name: str, payload: dict) -> _Answer:
        responder, refused = self.store.use_responder(name)
        if refused is not None:
            return _Answer(404, {"ok": False, "error": refused}, {}, plain=True)
        if responder is None:
            return _Answer(200, {"ok": True}, {})  # a name a test made up: recorded only
        answered = respond(self.store, responder, payload)
        if answered.error is not None:
            return _Answer(answered.status, {"ok": False, "error": answered.error}, {}, plain=True)
        return _Answer(200, {"ok": True}, {})

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.method in ("*", method):
                    return self._failures.pop(index)
        return None

    @staticmethod
    def _failure_answer(failure: _Failure) -> _Answer:
        if failure.drop_connection:
            return _Answer(0, None, {})
        if failure.status == 429:
            headers = {"Retry-After": str(failure.retry_after or 1)}
            return _Answer(429, {"ok": False, "error": failure.error or "ratelimited"}, headers)
        return _Answer(
            failure.status, {"ok": False, "error": failure.error or "internal_error"}, {}
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrent tests must not overflow the listen backlog
    fake: SlackStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        # Uploads carry raw file bytes (kept in SlackStandIn.uploads), not parameters.
        if not url.path.startswith("/upload/"):
            params.update(_parse_body(self.headers.get_content_type(), body))
        headers = {key.lower(): value for key, value in self.headers.items()}

        answer = self.server.fake._handle(url.path, params, headers, body)
        if answer.body is None:
            # Scripted drop. The request was fully read, so the client sees a clean EOF.
            self.close_connection = True
            return
        if answer.content is not None:
            payload, kind = answer.content
        elif answer.plain:
            payload, kind = str(answer.body["error"]).encode(), "text/plain; charset=utf-8"
        else:
            payload, kind = json.dumps(answer.body).encode(), "application/json; charset=utf-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
