"""Reading a `postgresql://` store URL: escalate's own query options apart from libpq's."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs

from escalate.errors import ConfigError

__all__ = ["SCHEMES", "Options", "parse_url", "redact"]

#: The URL schemes this store serves.
SCHEMES = ("postgresql", "postgres")

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWN_KEYS = ("schema", "pool_min", "pool_max", "pool_timeout")


@attrs.frozen
class Options:
    """Where to connect and how: the libpq URL plus escalate's own settings."""

    conninfo: str
    schema: str = "escalate"
    pool_min: int = 1
    pool_max: int = 10
    pool_timeout: float = 30.0


def parse_url(url: str) -> Options:
    """Split `url` into libpq's connection URL and escalate's options; ConfigError if bad.

    escalate reads `schema`, `pool_min`, `pool_max` and `pool_timeout` from the query
    string; every other parameter (sslmode, connect_timeout, application_name…) is passed
    to libpq unchanged.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ConfigError("store", f"{redact(url)!r} is not a PostgreSQL URL; write "
                                   "postgresql://user@host:5432/database")
    own: dict[str, str] = {}
    rest: list[str] = []  # libpq's parameters, passed on exactly as written
    for piece in parts.query.split("&"):
        raw_key, _, raw_value = piece.partition("=")
        key = unquote(raw_key)
        if key in _OWN_KEYS:
            if key in own:
                raise ConfigError(f"store.{key}", "given more than once in the URL")
            own[key] = unquote(raw_value)
        elif piece:
            rest.append(piece)
    conninfo = urlunsplit(parts._replace(query="&".join(rest)))
    schema = check_schema(own.get("schema", "escalate"))
    pool_min = _integer(own, "pool_min", 1, minimum=0)
    pool_max = _integer(own, "pool_max", max(10, pool_min), minimum=1)
    if pool_max < pool_min:
        raise ConfigError("store.pool_max", f"{pool_max} is smaller than pool_min "
                                            f"({pool_min}); raise pool_max")
    pool_timeout = _number(own, "pool_timeout", 30.0)
    return Options(conninfo=conninfo, schema=schema, pool_min=pool_min, pool_max=pool_max,
                   pool_timeout=pool_timeout)


def check_schema(name: str) -> str:
    """Return `name` if it is a usable schema name, else raise ConfigError."""
    if not _SCHEMA_NAME.fullmatch(name) or len(name) > 63:
        raise ConfigError("store.schema", f"{name!r} is not a usable schema name; use 1 to 63 "
                                          "letters, digits and underscores, starting with a "
                                          "letter or underscore")
    if name.lower().startswith("pg_"):
        raise ConfigError("store.schema", f"{name!r} starts with 'pg_', which PostgreSQL "
                                          "reserves for system schemas; choose another name")
    return name


def redact(url: str) -> str:
    """`url` with its password (if any) replaced by ***, fit for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _integer(options: dict[str, str], key: str, default: int, *, minimum: int) -> int:
    if key not in options:
        return default
    text = options[key]
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"store.{key}", f"{text!r} is not a whole number of at least "
                                          f"{minimum}")
    return value


def _number(options: dict[str, str], key: str, default: float) -> float:
    if key not in options:
        return default
    text = options[key]
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"store.{key}", f"{text!r} is not a positive number of seconds")
    return value
