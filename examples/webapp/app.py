"""A small helpdesk HTTP API over escalate: Starlette, SQLite, and the worker beside it.

One `Desk` serves the whole process: Starlette runs each request in a thread of its pool,
and the worker (timers and notifications) runs in one more thread on the same desk. Errors
map to HTTP status codes in one place, `STATUS_OF`.

Run it (needs `pip install 'escalate[webapp]'`):

    python examples/webapp/app.py --db sqlite:///cases.db --policy examples/escalation.toml

then, for example:

    curl -X POST localhost:8000/cases -H 'X-Agent: ana' \\
         -d '{"title": "Printer is out", "customer": "acme"}'
    curl 'localhost:8000/cases?status=open&limit=20'
    curl -X POST localhost:8000/cases/C-1/claim -H 'X-Agent: ana' -H 'If-Match: 1'

The acting agent comes from the `X-Agent` header here; a real application takes it from
its authentication.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from escalate import (
    CaseExists,
    CaseNotFound,
    Clock,
    ConfigError,
    ConflictError,
    Desk,
    EscalateError,
    InvalidInput,
    InvalidTransition,
    NotAuthorized,
    Policy,
    StorageError,
)

log = logging.getLogger("helpdesk")

#: Most specific first: InvalidInput is an InvalidTransition, so it is checked before it.
STATUS_OF: tuple[tuple[type[EscalateError], int], ...] = (
    (CaseNotFound, 404),
    (NotAuthorized, 403),
    (CaseExists, 409),
    (ConflictError, 409),
    (InvalidInput, 422),
    (InvalidTransition, 409),
    (ConfigError, 500),
    (StorageError, 503),
)

#: The actions the API offers: the body keys each one requires, and those it also takes.
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claim": ((), ()), "respond": ((), ("message",)), "transfer": (("to", "note"), ()),
    "escalate": ((), ("reason",)), "assign": (("to",), ("note",)), "wait": ((), ("reason",)),
    "resume": ((), ("reason",)), "resolve": (("resolution",), ()),
    "reopen": ((), ("reason",)), "close": ((), ("reason",)), "note": (("text",), ()),
}

OPEN_KEYS = ("title", "customer", "channel", "priority", "category", "fields", "case_id")
OPEN_REQUIRED = ("title", "customer")
MAX_PAGE = 200


def error_response(exc: EscalateError) -> JSONResponse:
    """The HTTP answer to an escalate error: its status code and a JSON body."""
    status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 500)
    return JSONResponse({"error": str(exc), "kind": type(exc).__name__}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    return data


def _only(data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown keys {', '.join(unknown)}; expected some of "
                           f"{', '.join(allowed) or 'nothing'}")
    return data


def _if_match(request: Request) -> int | None:
    """The case version an If-Match header names (a bare number or a quoted ETag)."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    try:
        return int(header.strip().strip('"'))
    except ValueError:
        raise InvalidInput(f"If-Match must be a case version, got {header!r}") from None


def _case_response(case: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(case.to_dict(), status_code=status,
                        headers={"ETag": f'"{case.version}"'})


class Helpdesk:
    """The endpoints, over one shared desk."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def open_case(self, request: Request) -> Response:
        data = _only(await _body(request), OPEN_KEYS)
        missing = [key for key in OPEN_REQUIRED if key not in data]
        if missing:
            raise InvalidInput(f"opening a case needs {', '.join(missing)}")
        case = await self._run(lambda: self.desk.open(by=request.headers.get("x-agent"),
                                                      **data))
        return _case_response(case, 201)

    async def list_cases(self, request: Request) -> Response:
        query = request.query_params
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise InvalidInput("limit must be a whole number") from None
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        filters = {key: query[key] for key in ("owner", "tier", "priority", "channel",
                                                "customer", "after") if key in query}
        statuses = query.getlist("status") or None
        cases = await self._run(lambda: list(self.desk.cases(status=statuses, limit=limit,
                                                             **filters)))
        next_cursor = cases[-1].id if len(cases) == limit else None
        return JSONResponse({"cases": [c.to_dict() for c in cases], "next": next_cursor})

    async def get_case(self, request: Request) -> Response:
        case_id = request.path_params["case_id"]
        return _case_response(await self._run(lambda: self.desk.get(case_id)))

    async def history(self, request: Request) -> Response:
        case_id = request.path_params["case_id"]
        events = await self._run(lambda: self.desk.history(case_id))
        return JSONResponse({"case_id": case_id, "events": [e.to_dict() for e in events]})

    async def act(self, request: Request) -> Response:
        case_id, action = request.path_params["case_id"], request.path_params["action"]
        if action not in ACTIONS:
            return JSONResponse({"error": f"no action {action!r}", "kind": "NotFound"}, 404)
        required, optional = ACTIONS[action]
        data = _only(await _body(request), required + optional)
        missing = [key for key in required if key not in data]
        if missing:
            raise InvalidInput(f"{action} needs {', '.join(missing)} in the request body")
        expected = _if_match(request)
        by = request.headers.get("x-agent")
        method = getattr(self.desk, action)
        if action == "note":
            text = data.pop("text", None)
            call = lambda: method(case_id, text, by=by, expected_version=expected)  # noqa: E731
        else:
            call = lambda: method(case_id, by=by, expected_version=expected, **data)  # noqa: E731
        return _case_response(await self._run(call))

    @staticmethod
    async def _run(call: Callable[[], Any]) -> Any:
        """Run a blocking desk call in Starlette's thread pool."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(call)


def create_app(policy: Policy, store: str, *, clock: Clock | None = None,
               worker: bool = True, max_sleep: float = 5.0) -> Starlette:
    """The helpdesk application; with `worker`, timers and notifications run beside it."""
    desk = Desk(policy, store=store, clock=clock)
    api = Helpdesk(desk)
    stop = threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        thread = threading.Thread(
            target=desk.run_worker, name="escalate-worker", daemon=True,
            kwargs={"max_sleep": max_sleep, "stop": stop, "handle_signals": False})
        if worker:
            thread.start()
        try:
            yield
        finally:
            stop.set()  # the worker finishes the transaction in flight, then returns
            if worker:
                thread.join()
            desk.shutdown()

    def guarded(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            try:
                response: Response = await endpoint(request)
                return response
            except EscalateError as exc:
                return error_response(exc)
        return handle

    routes = [
        Route("/cases", guarded(api.open_case), methods=["POST"]),
        Route("/cases", guarded(api.list_cases), methods=["GET"]),
        Route("/cases/{case_id}", guarded(api.get_case), methods=["GET"]),
        Route("/cases/{case_id}/history", guarded(api.history), methods=["GET"]),
        Route("/cases/{case_id}/{action}", guarded(api.act), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.desk = desk
    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:///cases.db")
    parser.add_argument("--policy", default=str(Path(__file__).parent.parent
                                                / "escalation.toml"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    app = create_app(Policy.from_toml(args.policy), args.db)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
