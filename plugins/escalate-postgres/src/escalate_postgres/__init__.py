"""PostgreSQL store for escalate: `Desk(policy, store="postgresql://user@host/db")`.

Installing the package registers it under the `escalate` entry-point group, so a Desk
opened with a `postgresql://` or `postgres://` URL uses it. URL query options:
`schema` (default "escalate"), `pool_min`, `pool_max` and `pool_timeout`; libpq reads the
rest (sslmode, connect_timeout, application_name, ...).
"""

from __future__ import annotations

from escalate.hookspecs import hookimpl
from escalate.stores.base import Store

from .options import SCHEMES, Options, parse_url
from .schema import MIGRATIONS
from .store import PostgresStore, timer_channel

__all__ = [
    "MIGRATIONS",
    "SCHEMES",
    "Options",
    "PostgresStore",
    "escalate_open_store",
    "parse_url",
    "timer_channel",
]

__version__ = "0.1.0"


@hookimpl
def escalate_open_store(url: str) -> Store | None:
    """Serve postgresql:// and postgres:// URLs."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        return None
    return PostgresStore(url)
