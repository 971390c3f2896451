"""The Web API calls the outbox makes, each done or raising `Undelivered` with what to do.

Slack answers in three ways that matter here: sent; try again later (a rate limit, a 5xx, a
dropped connection); or never, as it stands (a channel that does not exist, a token Slack
no longer accepts). Authentication errors are their own case: they say nothing about the
message, everything about the token, so the outbox pauses rather than failing rows.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

METADATA_EVENT = "switchboard_outbox"
# Slack error codes worth another try; any other error code is permanent.
RETRYABLE_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
# The token, not the message: the outbox pauses until Slack accepts it again.
AUTH_ERRORS = {"invalid_auth", "token_revoked", "token_expired", "account_inactive", "not_authed"}
# Slack will not take messages into this channel as things stand.
CHANNEL_REFUSED = {"not_in_channel", "channel_not_found", "is_archived"}
CONNECTION_ERRORS = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    urllib.error.URLError,
    http.client.HTTPException,
)
RESPOND_TIMEOUT = 5  # seconds: a reply to a person is short, and Slack answers it at once
HISTORY_LIMIT = 200  # messages looked through for a post whose outcome a crash lost


class Undelivered(Exception):
    """A send that did not reach Slack, and what to do about it."""

    def __init__(
        self, why: str, *, permanent: bool, code: str | None = None, wait: timedelta | None = None
    ) -> None:
        super().__init__(why)
        self.why, self.permanent, self.code, self.wait = why, permanent, code, wait

    @property
    def auth(self) -> bool:
        return self.code in AUTH_ERRORS


def undelivered(status: int, code: str | None, retry_after: str | None) -> Undelivered:
    if status == 429:
        try:
            wait = timedelta(seconds=max(1, min(int(retry_after or 1), 3600)))
        except ValueError:  # Retry-After may be a date, or junk: wait a second and look again
            wait = timedelta(seconds=1)
        return Undelivered("ratelimited", permanent=False, code="ratelimited", wait=wait)
    if status >= 500 or code in RETRYABLE_ERRORS:
        return Undelivered(f"HTTP {status}: {code or 'server error'}", permanent=False, code=code)
    return Undelivered(code or f"HTTP {status}", permanent=True, code=code)


class SlackTransport:
    """The Web API, as the outbox uses it."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Slack's errors and connection failures, as Undelivered."""
        try:
            yield
        except SlackApiError as error:
            response = error.response
            code = response.get("error") if isinstance(response.data, dict) else None
            raise undelivered(
                response.status_code, code, response.headers.get("Retry-After")
            ) from None
        except CONNECTION_ERRORS as error:
            raise Undelivered(f"connection error: {error!r}", permanent=False) from None

    def post(
        self, channel: str, payload: dict[str, Any], *, key: str, thread_ts: str | None
    ) -> tuple[str, str]:
        """Post; returns (channel it landed in, ts). The key rides along in the metadata."""
        with self._translated():
            response = self.client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload.get("blocks"),
                thread_ts=thread_ts,
                unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            )
        return response["channel"], response["ts"]

    def open_dm(self, user: str) -> str:
        with self._translated():
            response = self.client.conversations_open(users=user)
        return response["channel"]["id"]

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        with self._translated():
            self.client.chat_update(
                channel=channel, ts=ts, text=payload["text"], blocks=payload.get("blocks")
            )

    def respond(self, payload: dict[str, Any]) -> None:
        body = {k: v for k, v in payload.items() if k != "response_url"}
        webhook = WebhookClient(payload["response_url"], timeout=RESPOND_TIMEOUT)
        try:
            answer = webhook.send_dict(body)
        except CONNECTION_ERRORS as error:
            raise Undelivered(f"connection error: {error!r}", permanent=False) from None
        if answer.status_code != 200:
            raise undelivered(
                answer.status_code, answer.body or None, answer.headers.get("Retry-After")
            )

    def probe(self) -> None:
        """Does Slack accept the token now? (auth.test; raises Undelivered if not.)"""
        with self._translated():
            self.client.auth_test()

    def find_posted(self, channel: str, key: str, *, thread_ts: str | None) -> str | None:
        """The ts of a message this bot posted under `key`, if Slack has it.

        For a post whose outcome was lost (the sender died between Slack's answer and
        recording it): one history call, looking for the key in each message's metadata
        among the latest messages (the lost post is among them: the lane behind it waited),
        whatever our clock says of Slack's.
        """
        with self._translated():
            if thread_ts is not None:
                page = self.client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=HISTORY_LIMIT,
                )
            else:
                page = self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=HISTORY_LIMIT
                )
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                return str(message["ts"])
        return None
