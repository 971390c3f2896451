"""A local fake of Anthropic's Messages API, on loopback, for the real `anthropic` client.

It records each request (headers and JSON) and answers from a script: replies with text, or
errors as the API sends them (`overloaded_error` with 529, `rate_limit_error` with 429),
with a `retry-after-ms` header so the SDK's own retries take milliseconds.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def reply(text: str) -> Answer:
    return Answer(
        200,
        {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 20},
        },
    )


def error(status: int, kind: str) -> Answer:
    return Answer(status, {"type": "error", "error": {"type": kind, "message": kind}})


class FakeAnthropic:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._script: list[Answer] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def answer(self, *answers: Answer) -> None:
        """Queue answers, used in order; when none is left, a plain reply."""
        with self._lock:
            self._script.extend(answers)

    def _next(self) -> Answer:
        with self._lock:
            return (
                self._script.pop(0) if self._script else reply("Hello,\n\nThank you.\n\nThe team")
            )

    def __enter__(self) -> FakeAnthropic:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "json": body,
                        }
                    )
                answer = fake._next()
                payload = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if answer.status >= 400:
                    self.send_header("retry-after-ms", "1")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"
