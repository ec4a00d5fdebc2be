"""Test helpers: a real SMTP server (aiosmtpd) on 127.0.0.1 that records what arrives."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from escalate import Notification

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
USER = "desk"
SECRET = "s3cr3t-Pa55-do-not-leak"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def note(recipient: str = "bo", *, key: str = "C-7:3:bo:email", channel: str = "email",
         subject: str = "[C-7] Printer on fire: escalated to specialists",
         body: str = "escalated to specialists\n\nCase C-7 for customer c-17\n") -> Notification:
    """An outbox row as the desk renders it."""
    return Notification(key=key, case_id="C-7", seq=3, recipient=recipient, channel=channel,
                        subject=subject, body=body, created_at=AT, next_attempt_at=AT)


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps accepted messages, or answers with a set error."""

    messages: list[Received] = field(default_factory=list)
    rcpt_answer: str | None = None
    data_answer: str | None = None
    mechanisms: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answer:
            return self.data_answer
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        tls = server.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.login.decode() if session.authenticated else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed,
                                      tls, login))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        """Accept USER with SECRET only, and note which mechanism the client used."""
        self.mechanisms.append(mechanism)
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == SECRET.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class SmtpServer:
    """A started aiosmtpd Controller on 127.0.0.1 with its Recorder."""

    def __init__(self, port: int | None = None, *, auth: bool = False, **options: Any) -> None:
        self.port = port or free_port()
        self.handler = Recorder()
        if auth:
            options.setdefault("authenticator", self.handler.authenticate)
            options.setdefault("auth_require_tls", False)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     **options)
        self.controller.start()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Tls:
    """A self-signed certificate for 127.0.0.1 and the contexts that use it."""

    certfile: Path
    keyfile: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certfile))
