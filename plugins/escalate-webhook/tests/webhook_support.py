"""Test helpers: a real HTTP receiver on 127.0.0.1 that checks signatures and records requests."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from escalate_webhook import SIGNATURE_HEADER, verify_signature

from escalate import Notification

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SECRET = "whsec-7f3a-do-not-leak"
#: How long the /slow endpoint sleeps before it answers.
SLOW_SECONDS = 0.5


def note(recipient: str = "bo", *, key: str = "C-7:3:bo:webhook", channel: str = "webhook",
         subject: str = "[C-7] Printer on fire: escalated to specialists",
         body: str = "escalated to specialists\n\nCase C-7 for customer c-17\n",
         attempts: int = 0) -> Notification:
    """An outbox row as the desk renders it."""
    return Notification(key=key, case_id="C-7", seq=3, recipient=recipient, channel=channel,
                        subject=subject, body=body, created_at=AT, next_attempt_at=AT,
                        attempts=attempts)


@dataclass
class Recorded:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    valid: bool

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A ThreadingHTTPServer in a thread.

    Routes: `/status/<code>` answers with that code (429 and 503 with Retry-After: 7),
    `/redirect` answers 302, `/slow` sleeps SLOW_SECONDS first, `/open` accepts anything,
    every other path answers 200 when the signature is valid and 401 when it is not.
    """

    secret: str = SECRET
    tolerance: float = 300
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                valid = verify_signature(receiver.secret, self.headers.get(SIGNATURE_HEADER),
                                         body, tolerance=receiver.tolerance)
                receiver.requests.append(Recorded(self.path, dict(self.headers.items()), body,
                                                  valid))
                code, extra = receiver.route(self.path, valid)
                try:
                    self.send_response(code)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    payload = b"ok" if code < 300 else f"refused with {code}".encode()
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, valid: bool) -> tuple[int, dict[str, str]]:
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            return code, ({"Retry-After": "7"} if code in (429, 503) else {})
        if path.startswith("/redirect"):
            return 302, {"Location": "http://elsewhere.example/hook"}
        if path.startswith("/slow"):
            time.sleep(SLOW_SECONDS)
            return 200, {}
        if path.startswith("/open"):
            return 200, {}
        return (200, {}) if valid else (401, {})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
