"""Signing webhook bodies and checking signatures, Stripe-style, with HMAC-SHA256.

The header is `X-Escalate-Signature: t=<unix seconds>,v1=<hex>` where the hex digest is
HMAC-SHA256 over `"<t>." + body` with the shared secret. Signing the time with the body
lets a receiver refuse a replayed request once it is older than its tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["SIGNATURE_HEADER", "sign", "verify_signature"]

#: The request header that carries the signature.
SIGNATURE_HEADER = "X-Escalate-Signature"


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _digest(secret: str | bytes, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(_as_bytes(secret), signed, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: str | bytes, timestamp: int | None = None) -> str:
    """The `X-Escalate-Signature` value for `body` sent at `timestamp` (default: now)."""
    moment = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={moment},v1={_digest(secret, moment, _as_bytes(body))}"


def verify_signature(secret: str | bytes, header: str | None, body: str | bytes,
                     tolerance: float | None = 300, now: float | None = None) -> bool:
    """True when `header` signs exactly `body` with `secret` within `tolerance` seconds of now.

    `body` must be the raw request body, byte for byte, before any JSON parsing. Several
    `v1=` entries are allowed (one matching is enough). `tolerance=None` skips the time
    check, which gives up replay protection.
    """
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif name == "v1":
            candidates.append(value.strip())
    if timestamp is None or not candidates:
        return False
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance:
            return False
    expected = _digest(secret, timestamp, _as_bytes(body))
    wanted = expected.encode("ascii")
    return any(hmac.compare_digest(wanted, candidate.encode("utf-8", "replace"))
               for candidate in candidates)
