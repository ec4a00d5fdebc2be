"""Secrets never leak: SMTP passwords, webhook secrets and database passwords stay out of
logs, events, outbox rows, reports, error messages and reprs.

A desk runs real deliveries against a real SMTP server that refuses the login, a real HTTP
server that fails, and (when reachable) PostgreSQL with a password in its URL; then every
text the library produced is searched for the secrets.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from escalate import Desk, EscalateError, ManualClock, Policy, StorageError
from escalate.codec import case_to_dict, event_to_dict

smtp = pytest.importorskip("escalate_smtp", reason="the escalate-smtp plugin is not installed")
webhook = pytest.importorskip("escalate_webhook",
                              reason="the escalate-webhook plugin is not installed")
aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

SMTP_SECRET = "Smtp-S3cret-7f1c"
HOOK_SECRET = "Hook-S3cret-9a2e"
DB_SECRET = "Db-S3cret-4b8d"
SECRETS = (SMTP_SECRET, HOOK_SECRET, DB_SECRET)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Refusing:
    """An SMTP handler whose authenticator refuses every login."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def refuse(server: Any, session: Any, envelope: Any, mechanism: str,
           auth_data: Any) -> Any:
    return aiosmtpd_smtp.AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[int]:
    port = free_port()
    controller = aiosmtpd_controller.Controller(
        Refusing(), hostname="127.0.0.1", port=port, authenticator=refuse,
        auth_require_tls=False)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def failing_http() -> Iterator[int]:
    class Fail(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Fail)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


POLICY = {
    "ladders": {"support": {"tiers": [{"name": "frontline", "members": ["ana", "bo"]},
                                      {"name": "top", "members": ["cy"], "lead": "cy",
                                       "realert_every": "1h"}]}},
    "notifications": {"channels": ["email", "webhook"], "max_attempts": 2,
                      "backoff": "1s", "timeout": "5s"},
}


def postgres_url() -> str | None:
    """A URL with a password (trust auth ignores it), or None when no server answers."""
    try:
        import psycopg
    except ImportError:
        return None
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
    except psycopg.Error:
        if os.environ.get("CI") == "true":
            raise
        return None
    return f"postgresql://postgres:{DB_SECRET}@127.0.0.1:5432/test?schema=secrets_test"


def test_no_secret_appears_anywhere(smtp_server: int, failing_http: int,
                                    monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ESCALATE_SMTP_PASSWORD", SMTP_SECRET)
    monkeypatch.setenv("ESCALATE_WEBHOOK_SECRET", HOOK_SECRET)
    notifiers = [
        smtp.SmtpNotifier(f"smtp://desk@127.0.0.1:{smtp_server}?from=desk@example.com",
                          address_book="{name}@example.com"),
        webhook.WebhookNotifier(f"http://127.0.0.1:{failing_http}/hook"),
    ]
    texts: list[str] = []
    url = postgres_url() or "memory://"
    stores: list[Any] = []
    if url.startswith("postgresql"):
        import escalate_postgres

        stores.append(escalate_postgres)
    caplog.set_level(logging.DEBUG)
    clock = ManualClock()
    with Desk(Policy.from_dict(POLICY), store=url, clock=clock, plugins=[*notifiers, *stores],
              autoload_plugins=False) as desk:
        texts += [repr(desk), desk.store.url, repr(desk.store), repr(notifiers)]
        case = desk.open(title="Invoice", customer="c-1", channel="phone", by="ana")
        desk.claim(case.id, by="ana")
        desk.escalate(case.id, by="ana", reason="needs the top")
        for _ in range(3):
            desk.dispatch()
            clock.advance(timedelta(minutes=5))
        desk.tick()
        rows = desk.outbox()
        assert rows and all(n.status in ("pending", "dead") for n in rows)
        assert any(n.last_error for n in rows), "deliveries must have failed"
        errors = " ".join(n.last_error or "" for n in rows)
        assert "refused the login" in errors and "500" in errors, errors
        texts += [json.dumps([n.__repr__() for n in rows])]
        texts += [json.dumps(event_to_dict(e)) for e in desk.history(case.id)]
        texts += [json.dumps(case_to_dict(desk.get(case.id)))]
        report = desk.report()
        texts += [report.to_text(), report.to_csv(), json.dumps(report.to_json(), default=str)]
        texts += [str(p) for p in desk.verify()]
        if url.startswith("postgresql"):
            with desk.store._pool.connection() as conn:  # type: ignore[attr-defined]
                conn.execute("DROP SCHEMA IF EXISTS secrets_test CASCADE")
    if url.startswith("postgresql"):
        bad = url.replace("127.0.0.1:5432/test", "127.0.0.1:1/test")
        with pytest.raises(StorageError) as failure:
            Desk(Policy.from_dict(POLICY), store=bad, plugins=stores, autoload_plugins=False)
        texts += [str(failure.value), repr(failure.value)]
    with pytest.raises(EscalateError) as refused:
        smtp.SmtpNotifier(f"smtp://desk:{SMTP_SECRET}@/?from=x")
    texts += [str(refused.value)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    everything = "\n".join(texts)
    assert "dead" in everything or "pending" in everything
    for secret in SECRETS:
        assert secret not in everything, f"{secret} leaked"
