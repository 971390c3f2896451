"""The email gateway: the one place client mail leaves, and only with a human's approval.

It refuses any send without an `approved` record whose text is exactly the text being sent
(the refusal is audited); it derives the Message-ID from the approval, so a resend of the same
approval is recognisably the same mail; and it says, when a send fails, whether the server
certainly did not take the message (safe to retry) or the outcome is unknown (a person
decides). Backends: `file` writes `.eml` files to EMAIL_FILE_DIR (the default; nothing leaves
the machine), `smtp` talks to SMTP_URL (`smtp://user:pass@host:port`, STARTTLS when the server
offers it; `smtps://` for TLS from the start).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine

from switchboard.bot.settings import Settings, SettingsError
from switchboard.store import audit
from switchboard.store.drafts import Approval, Draft, approval_for, sha256
from switchboard.store.engine import reading, transaction
from switchboard.store.source_data import InboundEmail

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 30  # seconds


class Refused(Exception):
    """No approval for this exact text: nothing was sent."""


class NotAccepted(Exception):
    """The server did not take the message (refused the connection, or answered 4xx/5xx)."""


class OutcomeUnknown(Exception):
    """The connection failed while the message was being handed over: it may have gone."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError(
                "SMTP_URL: must look like smtp://user:pass@host:587 or smtps://host"
            )
        try:
            port = parts.port
        except ValueError:
            raise SettingsError("SMTP_URL: the port is not a number") from None
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if tls else 587),
            implicit_tls=tls,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True)
class EmailSettings:
    backend: str
    sender: str
    file_dir: Path
    smtp: SmtpServer | None

    @classmethod
    def of(cls, settings: Settings) -> EmailSettings:
        """The email settings, checked; a problem is one line naming the variable."""
        sender = settings.email_from or "switchboard@localhost"
        if settings.email_backend == "smtp":
            if not settings.smtp_url:
                raise SettingsError("SMTP_URL: required when EMAIL_BACKEND is smtp")
            if not settings.email_from:
                raise SettingsError("EMAIL_FROM: required when EMAIL_BACKEND is smtp")
            return cls("smtp", sender, settings.email_file_dir, SmtpServer.parse(settings.smtp_url))
        return cls("file", sender, settings.email_file_dir, None)


class EmailGateway:
    def __init__(
        self, engine: Engine, config: EmailSettings, clock: Callable[[], datetime]
    ) -> None:
        self.engine, self.config, self.clock = engine, config, clock

    def send(self, draft_id: int, text: str) -> str:
        """Send `text` as the reply for draft `draft_id`; returns its Message-ID.

        Raises Refused (nothing sent) unless an approval of exactly this text exists.
        """
        with reading(self.engine) as session:
            draft = session.get(Draft, draft_id)
            approval = approval_for(session, draft_id)
            inbound = session.get(InboundEmail, draft.inbound_message_id) if draft else None
        if draft is None or inbound is None or approval is None or not _covers(approval, text):
            self._refuse(draft_id, "no approval of this exact text")
        message = self._message(draft, inbound, approval, text)  # type: ignore[arg-type]
        if self.config.backend == "file":
            self._write(message, approval)  # type: ignore[arg-type]
        else:
            self._smtp(message)
        log.info("sent draft %s (%s)", draft_id, message["Message-ID"])
        return str(message["Message-ID"])

    def _refuse(self, draft_id: int, why: str) -> None:
        with transaction(self.engine) as session:
            audit.record(
                session,
                at=self.clock(),
                actor="email",
                action="email.refused",
                subject=f"draft:{draft_id}",
                after={"why": why},
            )
        log.error("refused to send draft %s: %s", draft_id, why)
        raise Refused(why)

    def _message(
        self, draft: Draft, inbound: InboundEmail, approval: Approval, text: str
    ) -> EmailMessage:
        message = EmailMessage()
        domain = self.config.sender.rpartition("@")[2] or "localhost"
        # The same for every attempt at one approval, so a receiving server can drop a repeat.
        message["Message-ID"] = f"<approval-{approval.id}.{approval.text_sha256[:16]}@{domain}>"
        message["From"] = self.config.sender
        message["To"] = inbound.from_email
        message["Subject"] = draft.subject
        message["Date"] = format_datetime(self.clock())
        if inbound.message_id.startswith("<"):  # a real Message-ID: thread the reply
            message["In-Reply-To"] = inbound.message_id
            message["References"] = inbound.message_id
        message.set_content(text)
        return message

    def _write(self, message: EmailMessage, approval: Approval) -> None:
        folder = self.config.file_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"approval-{approval.id}.eml"
        partial = path.with_suffix(".eml.partial")
        partial.write_bytes(bytes(message))
        os.replace(partial, path)  # whole or absent, never half written

    def _smtp(self, message: EmailMessage) -> None:
        server = self.config.smtp
        assert server is not None
        context = ssl.create_default_context()
        try:
            if server.implicit_tls:
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    server.host, server.port, timeout=SMTP_TIMEOUT, context=context
                )
            else:
                connection = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
        except OSError as error:  # refused, unreachable: certainly not taken
            raise NotAccepted(f"cannot connect to {server.host}:{server.port} ({error})") from error
        with connection:
            try:
                connection.ehlo()
                if not server.implicit_tls and connection.has_extn("starttls"):
                    connection.starttls(context=context)
                    connection.ehlo()
                if server.user:
                    connection.login(server.user, server.password or "")
            except (smtplib.SMTPException, OSError) as error:
                raise NotAccepted(f"the server refused the session ({error})") from error
            try:
                connection.send_message(message)
            except smtplib.SMTPResponseException as error:
                # The server answered with an error code: it did not take the message.
                raise NotAccepted(f"{error.smtp_code} {error.smtp_error!r}") from error
            except smtplib.SMTPRecipientsRefused as error:
                raise NotAccepted(f"recipient refused ({error.recipients})") from error
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                raise OutcomeUnknown(f"the connection failed mid-send ({error})") from error


def _covers(approval: Approval, text: str) -> bool:
    return approval.text == text and approval.text_sha256 == sha256(text)
