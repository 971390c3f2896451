"""The sandbox's page and its JSON API, on 127.0.0.1.

`GET /` is the page (static files shipped in bot/sandbox/page/); `GET /api/state` is what
one person sees, answered at once or, with `after=VERSION`, as soon as something changes
(a long poll, so the page updates live); the `POST /api/...` calls are what a person does.
Only requests addressed to this loopback server, and JSON bodies, are taken: a web page
elsewhere cannot drive the sandbox from the browser.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from switchboard.bot.sandbox.acting import ActingError, Clicked, Sent
from switchboard.bot.sandbox.page_state import Scene, page_state

if TYPE_CHECKING:
    from switchboard.bot.sandbox.session import Sandbox

PAGE = files("switchboard.bot.sandbox") / "page"
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
    "/static/mrkdwn.js": ("mrkdwn.js", "text/javascript; charset=utf-8"),
    "/static/blocks.js": ("blocks.js", "text/javascript; charset=utf-8"),
    "/static/modal.js": ("modal.js", "text/javascript; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
}
POLL_SECONDS = 20.0  # a long poll answers at the latest after this, changed or not
MAX_BODY = 256 * 1024
# Data only from this server; images may be the files it serves.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class NoSuchCall(Exception):
    """A POST to a path the API does not have."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    user: str = Field(alias="as", min_length=1, max_length=32)


class CommandBody(_Body):
    channel: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=4000, pattern=r"^/")


class MessageBody(_Body):
    channel: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=4000)


class ShortcutBody(_Body):
    channel: str = Field(min_length=1, max_length=32)
    ts: str = Field(min_length=1, max_length=32)
    callback_id: str = Field(min_length=1, max_length=255)


class ActionBody(_Body):
    block: int = Field(ge=0, le=100)
    element: int | None = Field(default=None, ge=0, le=25)  # None: the section's accessory
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    ephemeral: str | None = Field(default=None, max_length=32)
    view: str | None = Field(default=None, max_length=32)
    selected: str | None = Field(default=None, max_length=2000)


class SubmitBody(_Body):
    view: str = Field(min_length=1, max_length=32)
    values: dict[str, dict[str, dict[str, Any]]] = {}


class ViewBody(_Body):
    view: str = Field(min_length=1, max_length=32)


class DismissBody(_Body):
    ephemeral: str = Field(min_length=1, max_length=32)


class ClockBody(_Body):
    step: Literal["30m", "2h", "morning"]


class PageServer:
    """Serves the page for `sandbox` on 127.0.0.1:`port` (0: any free port)."""

    def __init__(self, sandbox: Sandbox, scene: Scene, *, port: int) -> None:
        self.sandbox, self.scene = sandbox, scene
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.page = self
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-page",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()
        self.scene.store.touch()  # long polls still waiting answer now

    @property
    def hosts(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    # -- the API -------------------------------------------------------------------------

    def state(self, user: str, after: int | None) -> dict[str, Any]:
        if user not in self.scene.workspace.members:
            raise ActingError(f"{user} is not in this workspace")
        if after is not None:
            self.scene.store.wait_for_change(after, POLL_SECONDS)
        clock = self.sandbox.clock
        return page_state(self.scene, user, clock(), clock.offset.total_seconds())

    def people(self) -> list[dict[str, Any]]:
        """Who one may act as, the manifest's people first (the page's first choice)."""
        members = self.scene.workspace.members.values()
        return [
            {"id": m.id, "name": m.name} for m in sorted(members, key=lambda m: not m.in_manifest)
        ]

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        acting = self.sandbox.acting
        if path == "/api/command":
            command = CommandBody.model_validate(body)
            return _sent(acting.command(command.user, command.channel, command.text))
        if path == "/api/message":
            message = MessageBody.model_validate(body)
            acting.say(message.user, message.channel, message.text)
            return {"ok": True}
        if path == "/api/shortcut":
            used = ShortcutBody.model_validate(body)
            return _sent(acting.shortcut(used.user, used.channel, used.ts, used.callback_id))
        if path == "/api/action":
            action = ActionBody.model_validate(body)
            clicked = Clicked(**action.model_dump(exclude={"user"}))
            return _sent(acting.click(action.user, clicked))
        if path == "/api/submit":
            submitted = SubmitBody.model_validate(body)
            return _sent(acting.submit(submitted.user, submitted.view, submitted.values))
        if path == "/api/close":
            closed = ViewBody.model_validate(body)
            acting.close(closed.user, closed.view)
            return {"ok": True}
        if path == "/api/dismiss":
            dismissed = DismissBody.model_validate(body)
            acting.dismiss(dismissed.user, dismissed.ephemeral)
            return {"ok": True}
        if path == "/api/clock":
            now = self.sandbox.advance(ClockBody.model_validate(body).step)
            return {"ok": True, "now": now.isoformat()}
        raise NoSuchCall(path)


def _sent(sent: Sent) -> dict[str, Any]:
    """The app's answer, as the page reports it (Slack shows a failed request as an error)."""
    if sent.ok:
        return {"ok": True}
    problem = "did not answer" if sent.status == 0 else f"answered HTTP {sent.status}"
    return {"ok": False, "error": f"Switchboard {problem}."}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a long poll left waiting never holds up the end of the process
    page: PageServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A page closed while its long poll waited is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """The terminal shows the sandbox's own lines, not one per request."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _addressed_here(self) -> bool:
        """The Host is this server (not a name rebound to loopback) and, for a POST, the
        Origin too (not another site's page)."""
        page = self.server.page
        if self.headers.get("Host") not in page.hosts:
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin.removeprefix("http://") in page.hosts

    def do_GET(self) -> None:
        if not self._addressed_here():
            self._json(403, {"ok": False, "error": "not addressed to the sandbox"})
            return
        url = urlsplit(self.path)
        page = self.server.page
        if url.path in STATIC:
            name, kind = STATIC[url.path]
            self._send(200, (PAGE / name).read_bytes(), kind)
        elif url.path == "/api/people":
            self._send(200, json.dumps(page.people()).encode(), "application/json")
        elif url.path == "/api/state":
            query = parse_qs(url.query)
            after = query.get("after", [""])[0]
            try:
                state = page.state(query.get("as", [""])[0], int(after) if after else None)
            except (ActingError, ValueError) as error:
                self._json(400, {"ok": False, "error": str(error)})
                return
            self._json(200, state)
        elif url.path.startswith("/files/"):
            stored = page.scene.store.files.get(url.path.split("/")[2])
            if stored is None or stored.data is None:
                self._json(404, {"ok": False, "error": "no such file"})
                return
            self._send(200, stored.data, stored.mimetype)
        else:
            self._json(404, {"ok": False, "error": "not found"})

    def do_POST(self) -> None:
        if not self._addressed_here():
            self._json(403, {"ok": False, "error": "not addressed to the sandbox"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get_content_type() != "application/json" or length > MAX_BODY:
            self._json(415, {"ok": False, "error": "send JSON"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            answer = self.server.page.post(urlsplit(self.path).path, body)
        except NoSuchCall:
            self._json(404, {"ok": False, "error": "not found"})
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self._json(400, {"ok": False, "error": f"{where}: {first['msg']}"})
        except (ActingError, json.JSONDecodeError, TypeError) as error:
            self._json(400, {"ok": False, "error": str(error)})
        else:
            self._json(200, answer)
