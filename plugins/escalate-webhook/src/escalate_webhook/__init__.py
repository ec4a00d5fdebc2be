"""Webhook notifications for escalate: a signed JSON POST per notification, standard library only.

Pass `WebhookNotifier("https://hooks.example.com/escalate")` to `Desk(..., plugins=[...])`,
or install this package and set `ESCALATE_WEBHOOK_URL`: the `escalate` entry point then
builds the same notifier from the environment. Each request carries the outbox key in
`Idempotency-Key` (the same on every attempt of one message, so receivers can drop repeats) and
`X-Escalate-Signature: t=<unix>,v1=<hex>`, an HMAC-SHA256 of `"<t>.<body>"` with the
secret from `ESCALATE_WEBHOOK_SECRET` (or the `secret` setting); receivers check it with
`verify_signature`. The secret is never logged or put into an error message.

A failed attempt raises `RetryableDeliveryError` (network trouble, timeouts, 5xx, 408, 429)
so that the outbox retries it, or `PermanentDeliveryError` (other 4xx, redirects), whose
`permanent` attribute tells the outbox to dead-letter the row at once.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from escalate import ConfigError, Notification, hookimpl

from .signature import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "CHANNEL_ENV",
    "DEFAULT_CHANNEL",
    "DEFAULT_SECRET_ENV",
    "DEFAULT_TIMEOUT",
    "IDEMPOTENCY_HEADER",
    "SHAPES",
    "SHAPE_ENV",
    "SIGNATURE_HEADER",
    "URL_ENV",
    "PermanentDeliveryError",
    "RetryableDeliveryError",
    "WebhookDeliveryError",
    "WebhookNotifier",
    "escalate_deliver",
    "header_value",
    "notifier_from_env",
    "sign",
    "verify_signature",
]

__version__ = "0.1.0"

log = logging.getLogger("escalate.webhook")

#: The environment variable the entry-point plugin reads its URL from.
URL_ENV = "ESCALATE_WEBHOOK_URL"
#: The environment variable the entry-point plugin reads its payload shape from.
SHAPE_ENV = "ESCALATE_WEBHOOK_SHAPE"
#: The environment variable the entry-point plugin reads its channel from.
CHANNEL_ENV = "ESCALATE_WEBHOOK_CHANNEL"
#: The environment variable the secret is read from unless another name is configured.
DEFAULT_SECRET_ENV = "ESCALATE_WEBHOOK_SECRET"
#: The notification channel served unless another is configured.
DEFAULT_CHANNEL = "webhook"
#: Seconds to wait for the receiver to connect and answer.
DEFAULT_TIMEOUT = 10.0
#: Payload shapes: the full notification as JSON, or `{"text": ...}` for chat webhooks.
SHAPES = ("full", "chat")
#: The request header carrying the outbox key, the same on every attempt of one message.
IDEMPOTENCY_HEADER = "Idempotency-Key"

#: Printable ASCII that header_value keeps as it is.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')

_RETRYABLE_4XX = frozenset({408, 429})
_DETAIL_LIMIT = 200


class WebhookDeliveryError(Exception):
    """One delivery attempt failed; `status` is the HTTP status when there was an answer."""

    permanent: bool = False

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RetryableDeliveryError(WebhookDeliveryError):
    """A failure that may pass: network trouble, timeouts, 5xx, 408 or 429; retry later."""

    permanent = False


class PermanentDeliveryError(WebhookDeliveryError):
    """A failure that retrying will not fix (4xx, redirects); the row is dead-lettered."""

    permanent = True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would drop the POST body (or send it elsewhere): report it instead."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None


class _Target:
    """One receiving URL, without credentials, plus its Basic auth header if it had any."""

    def __init__(self, url: str, path: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ConfigError(path, f"scheme {parts.scheme or '(none)'!r} is not supported; "
                                    "expected an http:// or https:// URL")
        if not parts.hostname:
            raise ConfigError(path, "no host in the URL; expected https://host/path")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(path, "the port must be a number 1-65535") from None
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if port is not None:
            netloc = f"{netloc}:{port}"
        self.url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        # Shown in logs and errors: the path of a chat webhook is itself a credential.
        self.origin = f"{parts.scheme}://{netloc}"
        self.authorization: str | None = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _timeout(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError("timeout", f"expected a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ConfigError("timeout", f"expected a positive number of seconds, got {value!r}")
    return seconds


def header_value(text: str) -> str:
    """`text` as a header value: printable ASCII kept, anything else percent-encoded (UTF-8).

    Outbox keys escape their own "%" and ":", so an ASCII key is sent unchanged and every
    key still gives one header value of its own.
    """
    return quote(text, safe=_HEADER_SAFE)


class WebhookNotifier:
    """POSTs notifications on the "webhook" channel as signed JSON to an HTTP endpoint.

    Settings: `url` (one endpoint for every recipient) and/or `urls` (recipient name ->
    endpoint; takes precedence), `secret` (else the environment variable `secret_env`,
    default `ESCALATE_WEBHOOK_SECRET`), `channel`, `shape` ("full" JSON, or "chat" for
    Slack/Mattermost incoming webhooks, where a secret is optional), `timeout` (seconds,
    default 10), `headers` (extra request headers), `ssl_context`, and `clock` (the time
    source for signature timestamps). Bad settings raise `escalate.ConfigError`.
    """

    def __init__(self, url: str | None = None, *, urls: Mapping[str, str] | None = None,
                 secret: str | None = None, secret_env: str = DEFAULT_SECRET_ENV,
                 channel: str = DEFAULT_CHANNEL, shape: str = "full",
                 timeout: float = DEFAULT_TIMEOUT, headers: Mapping[str, str] | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if url is None and not urls:
            raise ConfigError("url", "no endpoint; give one URL for every recipient (url=) "
                                     "or one per recipient (urls={'ana': 'https://...'})")
        self._default = _Target(url, "url") if url is not None else None
        self._targets = {name: _Target(target, f"urls.{name}")
                         for name, target in (urls or {}).items()}
        if shape not in SHAPES:
            raise ConfigError("shape", f"expected one of {', '.join(SHAPES)}, got {shape!r}")
        self.shape = shape
        self.secret_env = secret_env
        self._secret: str | None = secret or os.environ.get(secret_env) or None
        if self._secret is None and shape == "full":
            raise ConfigError("secret", f"no signing secret; set the {secret_env} environment "
                                        "variable or pass secret=")
        if not channel:
            raise ConfigError("channel", "expected a channel name")
        self.channel = channel
        self.timeout = _timeout(timeout)
        self.headers = dict(headers or {})
        self.clock = clock
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        where = self._default.origin if self._default else f"{len(self._targets)} URLs"
        return (f"WebhookNotifier({where}, shape={self.shape!r}, channel={self.channel!r}, "
                f"signed={self._secret is not None})")

    # -- the hook --------------------------------------------------------------------

    @hookimpl
    def escalate_deliver(self, notification: Notification) -> bool | None:
        """POST the notification; None for other channels; raise when the attempt failed."""
        if notification.channel != self.channel:
            return None
        self.send(notification)
        return True

    # -- the parts -------------------------------------------------------------------

    def payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON document sent for `notification`, in the configured shape."""
        if self.shape == "chat":
            return {"text": f"{notification.subject}\n{notification.body.rstrip()}"}
        return {
            "type": "escalate.notification",
            "key": notification.key,
            "case_id": notification.case_id,
            "seq": notification.seq,
            "event_id": f"{notification.case_id}:{notification.seq}",
            "recipient": notification.recipient,
            "channel": notification.channel,
            "subject": notification.subject,
            "body": notification.body,
            "created_at": notification.created_at.isoformat(),
            "attempt": max(notification.attempts, 1),  # the claim counted this one
        }

    def body(self, notification: Notification) -> bytes:
        """The exact request body (UTF-8 JSON) for `notification`."""
        return json.dumps(self.payload(notification), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")

    def send(self, notification: Notification) -> None:
        """POST the notification now; raise a WebhookDeliveryError when that fails."""
        target = self._target_for(notification.recipient)
        body = self.body(notification)
        key = header_value(notification.key)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": f"escalate-webhook/{__version__}",
                   IDEMPOTENCY_HEADER: key,
                   "X-Escalate-Key": key,
                   "X-Escalate-Case": header_value(notification.case_id),
                   **self.headers}
        if target.authorization:
            headers["Authorization"] = target.authorization
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret, body, int(self.clock()))
        request = urllib.request.Request(target.url, data=body, headers=headers, method="POST")
        what = f"webhook {notification.key!r} to {target.origin}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            raise _classify(exc, what) from None
        except urllib.error.URLError as exc:
            raise self._network_error(exc.reason, what) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._network_error(exc, what) from None
        log.info("posted %s (%s)", what, status)

    # -- helpers ---------------------------------------------------------------------

    def _target_for(self, recipient: str) -> _Target:
        target = self._targets.get(recipient, self._default)
        if target is None:
            raise PermanentDeliveryError(
                f"no webhook URL for recipient {recipient!r}; add it to urls= or set url=")
        return target

    def _network_error(self, reason: object, what: str) -> RetryableDeliveryError:
        if isinstance(reason, TimeoutError):
            return RetryableDeliveryError(f"{what}: no answer within {self.timeout:g}s")
        if isinstance(reason, ConnectionRefusedError):
            return RetryableDeliveryError(f"{what}: connection refused (is the receiver up?)")
        name = type(reason).__name__ if isinstance(reason, BaseException) else "error"
        return RetryableDeliveryError(f"{what} failed: {name}: {reason}")


def _classify(exc: urllib.error.HTTPError, what: str) -> WebhookDeliveryError:
    """The error for an HTTP answer outside 2xx: retryable or permanent."""
    status = exc.code
    try:
        raw = exc.read(_DETAIL_LIMIT * 4)
    except (OSError, http.client.HTTPException):
        raw = b""
    finally:
        exc.close()
    detail = " ".join(raw.decode("utf-8", "replace").split())[:_DETAIL_LIMIT]
    text = f"{what}: answered {status} {exc.reason}" + (f": {detail}" if detail else "")
    if 300 <= status < 400:
        location = exc.headers.get("Location", "")
        where = urlsplit(location)
        shown = f"{where.scheme}://{where.netloc}" if where.netloc else "another URL"
        return PermanentDeliveryError(f"{text} (a redirect to {shown}; point the webhook "
                                      "at the final URL)", status=status)
    if status >= 500 or status in _RETRYABLE_4XX:
        return RetryableDeliveryError(text, status=status,
                                      retry_after=_retry_after(exc.headers.get("Retry-After")))
    return PermanentDeliveryError(text, status=status)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: left to the outbox's own backoff


def notifier_from_env() -> WebhookNotifier | None:
    """A notifier configured by `ESCALATE_WEBHOOK_URL` (and friends), or None when unset."""
    env = os.environ
    url = env.get(URL_ENV, "").strip()
    if not url:
        return None
    return WebhookNotifier(url, secret=env.get(DEFAULT_SECRET_ENV) or None,
                           shape=env.get(SHAPE_ENV, "").strip() or "full",
                           channel=env.get(CHANNEL_ENV, "").strip() or DEFAULT_CHANNEL)


@hookimpl
def escalate_deliver(notification: Notification) -> bool | None:
    """Deliver through the notifier `ESCALATE_WEBHOOK_URL` describes; None when it is unset."""
    notifier = notifier_from_env()
    if notifier is None:
        return None
    return notifier.escalate_deliver(notification)
