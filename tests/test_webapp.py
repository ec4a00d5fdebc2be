"""The example web app (examples/webapp) under a real uvicorn server on 127.0.0.1, spoken to
over real HTTP: JSON views, paging, the error mapping, If-Match, and the worker beside it."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the webapp extra is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the webapp extra is not installed")

from escalate import ManualClock, Policy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "webapp"))
import app as webapp  # noqa: E402


class Server:
    """A uvicorn server in a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, application: Any) -> None:
        config = uvicorn.Config(application, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json",
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[Server]:
    policy = Policy.from_toml(ROOT / "examples" / "escalation.toml")
    application = webapp.create_app(policy, f"sqlite:///{tmp_path / 'cases.db'}", clock=clock,
                                    max_sleep=0.05)
    with Server(application) as running:
        yield running


ANA = {"X-Agent": "ana"}


def test_open_read_act_and_history(server: Server) -> None:
    status, headers, case = server.call("POST", "/cases",
                                        {"title": "Printer", "customer": "acme",
                                         "fields": {"order": "A-1"}}, ANA)
    assert status == 201 and case["owner"] == "queue:frontline"
    assert headers["etag"] == '"1"' and case["fields"] == {"order": "A-1"}
    cid = case["id"]
    status, _, got = server.call("GET", f"/cases/{cid}")
    assert status == 200 and got == case
    status, headers, claimed = server.call("POST", f"/cases/{cid}/claim", {},
                                           {**ANA, "If-Match": '"1"'})
    assert status == 200 and claimed["owner"] == "agent:ana" and headers["etag"] == '"2"'
    status, _, noted = server.call("POST", f"/cases/{cid}/note", {"text": "called back"}, ANA)
    assert status == 200 and noted["version"] == 3
    status, _, history = server.call("GET", f"/cases/{cid}/history")
    assert [e["kind"] for e in history["events"]] == ["opened", "claimed", "noted"]
    assert history["events"][2]["reason"] == "called back"


def test_errors_map_to_http_status_codes(server: Server) -> None:
    _, _, case = server.call("POST", "/cases", {"title": "t", "customer": "c",
                                                "case_id": "T-1"}, ANA)
    cid = case["id"]
    cases = [
        ("GET", "/cases/C-404", None, {}, 404, "CaseNotFound"),
        ("POST", "/cases/C-404/claim", {}, ANA, 404, "CaseNotFound"),
        ("POST", f"/cases/{cid}/claim", {}, {"X-Agent": "dee"}, 403, "NotAuthorized"),
        ("POST", "/cases", {"title": "t", "customer": "c", "case_id": "T-1"}, ANA, 409,
         "CaseExists"),
        ("POST", f"/cases/{cid}/close", {}, ANA, 409, "InvalidTransition"),
        ("POST", f"/cases/{cid}/claim", {}, {**ANA, "If-Match": "7"}, 409, "ConflictError"),
        ("POST", "/cases", {"title": "", "customer": "c"}, ANA, 422, "InvalidInput"),
        ("POST", "/cases", {"title": "t", "customer": "c", "colour": "red"}, ANA, 422,
         "InvalidInput"),
        ("POST", "/cases", b"{not json", ANA, 422, "InvalidInput"),
        ("POST", f"/cases/{cid}/transfer", {"to": "bo"}, ANA, 422, "InvalidInput"),
        ("POST", f"/cases/{cid}/claim", {}, {}, 422, "InvalidInput"),
        ("GET", "/cases?limit=0", None, {}, 422, "InvalidInput"),
        ("GET", "/cases?status=pending", None, {}, 422, "InvalidInput"),
        ("GET", "/cases?after=C-999", None, {}, 422, "InvalidInput"),
    ]
    for method, path, body, headers, expected, kind in cases:
        status, _, answer = server.call(method, path, body, headers)
        assert (status, answer.get("kind")) == (expected, kind), (method, path, answer)
        assert answer.get("error")
    _, _, history = server.call("GET", f"/cases/{cid}/history")
    assert len(history["events"]) == 1  # no refused request changed anything


def test_paging_walks_every_case_once(server: Server) -> None:
    opened = [server.call("POST", "/cases", {"title": f"case {n}",
                                             "customer": "acme" if n % 3 else "other"},
                          ANA)[2]["id"] for n in range(11)]
    seen: list[str] = []
    cursor = ""
    while True:
        status, _, page = server.call("GET", f"/cases?customer=acme&limit=3{cursor}")
        assert status == 200 and len(page["cases"]) <= 3
        seen += [c["id"] for c in page["cases"]]
        if page["next"] is None:
            break
        cursor = f"&after={page['next']}"
    assert seen == [cid for n, cid in enumerate(opened) if n % 3]


def test_the_worker_beside_the_server_fires_timers(server: Server,
                                                    clock: ManualClock) -> None:
    _, _, case = server.call("POST", "/cases", {"title": "Shop down", "customer": "globex",
                                                "priority": "urgent"}, ANA)
    clock.advance(timedelta(days=3))  # far past the urgent first-response target
    deadline = time.monotonic() + 60
    kinds: list[str] = []
    while time.monotonic() < deadline:
        _, _, history = server.call("GET", f"/cases/{case['id']}/history")
        kinds = [e["kind"] for e in history["events"]]
        if "breached" in kinds:
            break
        time.sleep(0.05)
    assert "breached" in kinds, kinds


def test_requests_in_parallel_share_the_desk(server: Server) -> None:
    _, _, case = server.call("POST", "/cases", {"title": "t", "customer": "c"}, ANA)
    cid = case["id"]
    server.call("POST", f"/cases/{cid}/claim", {}, ANA)
    results: list[int] = []

    def notes(n: int) -> None:
        for i in range(5):
            results.append(server.call("POST", f"/cases/{cid}/note",
                                       {"text": f"{n}-{i}"}, ANA)[0])

    threads = [threading.Thread(target=notes, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 20
    _, _, history = server.call("GET", f"/cases/{cid}/history")
    assert [e["seq"] for e in history["events"]] == list(range(1, 23))
