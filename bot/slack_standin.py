"""A local stand-in for Slack's Web API, on loopback.

The bot's real ``slack_sdk.WebClient`` talks to it over HTTP
(``WebClient(base_url=standin.api_url)``), so the demo and the tests exercise the real
client, its serialisation and its error handling, without a workspace or the network. It
records every call, keeps the messages posted (as later updates change them), answers
``response_url`` posts, and fails on demand (429 with Retry-After, 5xx, Slack errors,
dropped connections).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

_BASE_TS_MICROS = 1_700_000_000 * 1_000_000

AUTH_TEST = {
    "ok": True,
    "url": "https://fake.slack.com/",
    "team": "Fake",
    "user": "switchboard",
    "team_id": "T0FAKE",
    "user_id": "U0BOT",
    "bot_id": "B0BOT",
}


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


def _parse_json(value: Any) -> Any:
    """Decode a JSON string (form fields such as ``blocks``); pass anything else through."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _parse_body(content_type: str, body: bytes) -> dict:
    """slack_sdk sends form-encoded bodies, or JSON when a method is called with ``json=``."""
    if content_type == "application/json" and body:
        return json.loads(body)
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {}


class SlackStandIn:
    """Records Web API calls, answers them as Slack does and fails them on request."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self._lock = threading.RLock()  # re-entrant: a post takes a ts and stores under one hold
        self._arrived = threading.Condition(self._lock)  # notified on every recorded call
        self._failures: list[_Failure] = []
        self._messages: list[dict] = []
        self._counter = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

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
        """A URL usable as an interaction payload's ``response_url``."""
        return f"{self.base_url}/response/{name}"

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
            return [dict(m) for m in self._messages if channel is None or m["channel"] == channel]

    @staticmethod
    def blocks_of(call: Call) -> list:
        """The ``blocks`` of a call as Python objects, whether sent as JSON string or list."""
        return _parse_json(call.params.get("blocks")) or []

    # -- request handling (runs on server threads) ------------------------

    def _handle(
        self, path: str, params: dict, headers: dict, body: bytes
    ) -> tuple[int, dict | None, dict]:
        """Answer one request; returns (status, JSON body or None to drop, extra headers)."""
        method, status, response, extra = self._route(path, params, body)
        with self._lock:
            self.calls.append(Call(method, params, headers, path, status, response))
            self._arrived.notify_all()
        return status, response, extra

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

    def _route(self, path: str, params: dict, body: bytes) -> tuple[str, int, dict | None, dict]:
        kind, _, rest = path.lstrip("/").partition("/")
        method = {"api": rest, "response": "response_url", "upload": "file_upload"}.get(kind, "")
        failure = self._take_failure(method)
        if failure is not None:
            return (method, *self._failure_answer(failure))
        if kind == "api" and rest:
            return method, 200, self._api_answer(method, params), {}
        if kind == "response":
            return method, 200, {"ok": True}, {}
        if kind == "upload":
            with self._lock:
                self.uploads[rest] = body
            return method, 200, {"ok": True}, {}
        return method, 404, {"ok": False, "error": "unknown_path"}, {}

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.method in ("*", method):
                    return self._failures.pop(index)
        return None

    @staticmethod
    def _failure_answer(failure: _Failure) -> tuple[int, dict | None, dict]:
        if failure.drop_connection:
            return 0, None, {}
        if failure.status == 429:
            headers = {"Retry-After": str(failure.retry_after or 1)}
            return 429, {"ok": False, "error": failure.error or "ratelimited"}, headers
        return failure.status, {"ok": False, "error": failure.error or "internal_error"}, {}

    def _next_id(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _next_ts(self) -> str:
        micros = _BASE_TS_MICROS + self._next_id() * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _api_answer(self, method: str, params: dict) -> dict:
        if method == "auth.test":
            return dict(AUTH_TEST)
        if method == "chat.postMessage":
            return self._post_message(params)
        if method == "chat.update":
            return self._update_message(params)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            users = str(params.get("users", "")).replace(",", "")
            return {"ok": True, "channel": {"id": params.get("channel") or f"D{users}"}}
        if method in ("views.open", "views.update", "views.push"):
            view = _parse_json(params.get("view")) or {}
            view_id = params.get("view_id") or f"V{self._next_id():08d}"
            return {"ok": True, "view": {**view, "id": view_id}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{self._next_id():08d}"
            upload_url = f"{self.base_url}/upload/{file_id}"
            return {"ok": True, "file_id": file_id, "upload_url": upload_url}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": _parse_json(params.get("files")) or []}
        if method == "conversations.history":
            return self._history(params)
        if method == "conversations.replies":
            return self._replies(params)
        return {"ok": True}

    @staticmethod
    def _shown(message: dict, params: dict) -> dict:
        """A stored message as Slack returns it: metadata only when asked for."""
        shown = {k: v for k, v in message.items() if k not in ("channel", "metadata") and v}
        wants_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        if wants_metadata and message.get("metadata"):
            shown["metadata"] = message["metadata"]
        return shown

    def _history(self, params: dict) -> dict:
        """Top-level messages of a channel, newest first, after `oldest`."""
        channel, oldest = params.get("channel"), float(params.get("oldest") or 0)
        with self._lock:
            found = [
                self._shown(m, params)
                for m in reversed(self._messages)
                if m["channel"] == channel and not m.get("thread_ts") and float(m["ts"]) > oldest
            ]
        return {"ok": True, "messages": found[: int(params.get("limit") or 100)]}

    def _replies(self, params: dict) -> dict:
        """A thread: its parent, then its replies, oldest first."""
        channel, ts = params.get("channel"), params.get("ts")
        with self._lock:
            found = [
                self._shown(m, params)
                for m in self._messages
                if m["channel"] == channel and ts in (m["ts"], m.get("thread_ts"))
            ]
        if not found:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": found}

    def _post_message(self, params: dict) -> dict:
        with self._lock:
            ts = self._next_ts()
            message = {
                "channel": params.get("channel"),
                "ts": ts,
                "text": params.get("text"),
                "blocks": _parse_json(params.get("blocks")),
                "thread_ts": params.get("thread_ts"),
                "metadata": _parse_json(params.get("metadata")),
            }
            self._messages.append(message)
        return {
            "ok": True,
            "channel": message["channel"],
            "ts": ts,
            "message": {"text": message["text"], "ts": ts, "user": "U0BOT", "bot_id": "B0BOT"},
        }

    def _update_message(self, params: dict) -> dict:
        channel, ts = params.get("channel"), params.get("ts")
        with self._lock:
            for message in self._messages:
                if message["channel"] == channel and message["ts"] == ts:
                    if "text" in params:
                        message["text"] = params["text"]
                    if "blocks" in params:
                        message["blocks"] = _parse_json(params["blocks"])
                    return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}


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

        status, response, extra_headers = self.server.fake._handle(url.path, params, headers, body)
        if response is None:
            # Scripted drop. The request was fully read, so the client sees a clean EOF.
            self.close_connection = True
            return
        payload = json.dumps(response).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
