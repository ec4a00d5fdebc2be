"""Email notifications for escalate over SMTP: plain, STARTTLS or SMTPS, with optional login.

Pass `SmtpNotifier("smtp://desk@mail.example.com:587?from=desk@example.com&starttls=1")` to
`Desk(..., plugins=[...])`, or install this package and set `ESCALATE_SMTP_URL`: the
`escalate` entry point then builds the same notifier from the environment. The password
comes from `ESCALATE_SMTP_PASSWORD` (the variable's name is configurable) or the URL, and is
never logged or put into an error message.

The notifier serves the "email" channel. A delivery that fails (refused connection,
timeout, TLS failure, a 4xx or 5xx answer) raises `SmtpDeliveryError`, so that the outbox
retries it later.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

from escalate import ConfigError, Notification, hookimpl

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_PASSWORD_ENV",
    "DEFAULT_TIMEOUT",
    "URL_ENV",
    "SmtpDeliveryError",
    "SmtpNotifier",
    "escalate_deliver",
    "message_id",
    "notifier_from_env",
]

__version__ = "0.1.0"

log = logging.getLogger("escalate.smtp")

#: The environment variable the entry-point plugin reads its URL from.
URL_ENV = "ESCALATE_SMTP_URL"
#: The environment variable the password is read from unless another name is configured.
DEFAULT_PASSWORD_ENV = "ESCALATE_SMTP_PASSWORD"
#: The notification channel served unless another is configured.
DEFAULT_CHANNEL = "email"
#: Seconds to wait for the server to connect or answer a command.
DEFAULT_TIMEOUT = 10.0

_SECURITY = ("plain", "starttls", "ssl")
_DEFAULT_PORTS = {"plain": 25, "starttls": 587, "ssl": 465}
_QUERY_KEYS = ("from", "starttls", "timeout", "password_env", "domain", "cafile", "auth",
               "channel")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class SmtpDeliveryError(Exception):
    """One delivery attempt failed; the outbox retries it unless `permanent` is true."""

    permanent: bool = False

    def __init__(self, message: str, *, code: int | None = None,
                 permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


def message_id(key: str, domain: str) -> str:
    """The Message-ID for the outbox row `key`: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<escalate.{digest}@{domain}>"


def _flag(value: str, path: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(path, f"expected 1/0, true/false, yes/no or on/off, got {value!r}")


def _timeout(value: object, path: str) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(path, f"expected a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ConfigError(path, f"expected a positive number of seconds, got {value!r}")
    return seconds


def _address_book(book: Mapping[str, str] | str | None) -> Mapping[str, str] | str | None:
    if book is None:
        return None
    if isinstance(book, str):
        if "{name}" not in book or "@" not in book:
            raise ConfigError("address_book", "a template must contain {name} and a domain, "
                                              f"like '{{name}}@example.com'; got {book!r}")
        try:
            book.format(name="ana")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError("address_book", f"template {book!r} does not format: "
                                              f"{exc}; only {{name}} may be used") from None
        return book
    if not isinstance(book, Mapping):
        raise ConfigError("address_book", "expected a mapping of agent name to email address "
                                          f"or a '{{name}}@domain' template, got {book!r}")
    for name, address in book.items():
        if not isinstance(address, str) or "@" not in address:
            raise ConfigError(f"address_book.{name}",
                              f"expected an email address, got {address!r}")
    return dict(book)


class SmtpNotifier:
    """Sends notifications on the "email" channel as email through one SMTP server.

    Configure it with a URL, keyword settings, or both (keywords win):

    - `url`: `smtp://[user[:password]@]host[:port][?query]` (plain, or STARTTLS with
      `starttls=1`) or `smtps://...` (TLS from the first byte). Query keys: `from`,
      `starttls`, `timeout`, `password_env`, `domain` (recipients without "@" become
      `name@domain`), `cafile`, `auth` and `channel`.
    - `host`, `port`, `security` ("plain", "starttls" or "ssl"), `username`, `password`,
      `password_env`, `sender`, `address_book`, `timeout`, `channel`, `ssl_context`,
      `cafile`, `auth_method` ("LOGIN", "PLAIN" or "CRAM-MD5"; default: the best the
      server offers) and `local_hostname` (the name sent with EHLO).

    The password is taken from `password`, else the URL, else the environment variable
    named by `password_env` (default `ESCALATE_SMTP_PASSWORD`), once, when the notifier
    is made. Bad settings raise `escalate.ConfigError` naming the setting.
    """

    def __init__(self, url: str | None = None, *, host: str | None = None,
                 port: int | None = None, security: str | None = None,
                 username: str | None = None, password: str | None = None,
                 password_env: str | None = None, sender: str | None = None,
                 address_book: Mapping[str, str] | str | None = None,
                 timeout: float | None = None, channel: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, cafile: str | None = None,
                 auth_method: str | None = None, local_hostname: str | None = None) -> None:
        found, url_port = _parse_url(url) if url is not None else ({}, None)
        self.host: str = host or found.get("host") or ""
        if not self.host:
            raise ConfigError("host", "no SMTP server given; put it in the URL "
                                      "(smtp://mail.example.com:587) or pass host=")
        chosen = security or found.get("security") or "plain"
        if chosen not in _SECURITY:
            raise ConfigError("security", f"expected one of {', '.join(_SECURITY)}, "
                                          f"got {chosen!r}")
        self.security: str = chosen
        picked_port = port if port is not None else url_port
        if picked_port is None:
            picked_port = _DEFAULT_PORTS[self.security]
        if not isinstance(picked_port, int) or not 0 < picked_port < 65536:
            raise ConfigError("port", f"expected a port number 1-65535, got {picked_port!r}")
        self.port: int = picked_port
        self.username: str | None = username or found.get("username") or None
        self.password_env: str = (password_env or found.get("password_env")
                                  or DEFAULT_PASSWORD_ENV)
        secret = password or found.get("password") or os.environ.get(self.password_env) or None
        if self.username and not secret:
            raise ConfigError("password", f"user {self.username!r} needs a password; set the "
                                          f"{self.password_env} environment variable")
        if secret and not self.username:
            raise ConfigError("username", "a password is configured but no user name; give "
                                          "it in the URL (smtp://user@host) or pass username=")
        self._password: str | None = secret
        self.sender: str = sender or found.get("from") or ""
        if "@" not in parseaddr(self.sender)[1]:
            raise ConfigError("sender", "expected the From address, like "
                                        "?from=desk@example.com in the URL or sender=..., "
                                        f"got {self.sender!r}")
        domain = found.get("domain")
        if address_book is None and domain:
            address_book = "{name}@" + domain
        self.address_book: Mapping[str, str] | str | None = _address_book(address_book)
        self.timeout: float = _timeout(timeout if timeout is not None
                                       else found.get("timeout", DEFAULT_TIMEOUT), "timeout")
        self.channel: str = channel or found.get("channel") or DEFAULT_CHANNEL
        method = auth_method or found.get("auth")
        if method is not None and method.upper() not in ("LOGIN", "PLAIN", "CRAM-MD5"):
            raise ConfigError("auth_method", f"expected LOGIN, PLAIN or CRAM-MD5, got {method!r}")
        self.auth_method: str | None = method.upper() if method else None
        self.local_hostname = local_hostname
        if ssl_context is None and self.security != "plain":
            try:
                ssl_context = ssl.create_default_context(cafile=cafile or found.get("cafile"))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError("cafile", f"cannot load CA certificates: {exc}") from None
        self.ssl_context = ssl_context

    def __repr__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return (f"SmtpNotifier({self.security} {user}{self.host}:{self.port}, "
                f"from={self.sender!r}, channel={self.channel!r})")

    # -- the hook --------------------------------------------------------------------

    @hookimpl
    def escalate_deliver(self, notification: Notification) -> bool | None:
        """Email the notification; None for other channels; raise when the attempt failed."""
        if notification.channel != self.channel:
            return None
        self.send(notification)
        return True

    # -- the parts -------------------------------------------------------------------

    def address_for(self, recipient: str) -> str:
        """The email address of `recipient`: itself if it has an "@", else the address book's."""
        if "@" in recipient:
            return recipient
        book = self.address_book
        if isinstance(book, str):
            return book.format(name=recipient)
        if book is not None and recipient in book:
            return book[recipient]
        raise SmtpDeliveryError(
            f"no email address for recipient {recipient!r}; add it to the address book "
            "or configure a '{name}@domain' template", permanent=True)

    def build_message(self, notification: Notification) -> EmailMessage:
        """The email for one notification, with a Message-ID derived from its outbox key."""
        to = self.address_for(notification.recipient)
        message = EmailMessage()
        try:
            message["From"] = self.sender
            message["To"] = to
            message["Subject"] = " ".join(notification.subject.split())
            message["Date"] = format_datetime(notification.created_at)
            message["Message-ID"] = message_id(notification.key, self._domain())
            message["X-Escalate-Case"] = notification.case_id
            message["X-Escalate-Key"] = notification.key
            message["Auto-Submitted"] = "auto-generated"
        except ValueError as exc:  # a line break or other unusable text in a header
            raise SmtpDeliveryError(f"cannot build the email for {notification.key!r}: {exc}",
                                    permanent=True) from None
        message.set_content(notification.body)
        return message

    def send(self, notification: Notification) -> None:
        """Send the notification's email now; raise SmtpDeliveryError when that fails."""
        message = self.build_message(notification)
        to = str(message["To"])
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as client:
                if self.security == "starttls":
                    client.starttls(context=self.ssl_context)
                    client.ehlo()
                if self.username:
                    self._login(client)
                refused = client.send_message(message, from_addr=parseaddr(self.sender)[1],
                                              to_addrs=[to])
        except Exception as exc:
            raise SmtpDeliveryError(self._explain(exc, where, to),
                                    code=_code(exc)) from None
        if refused:  # pragma: no cover - one recipient: refusing it raises above
            raise SmtpDeliveryError(self._redact(f"{where} refused {refused}"))
        log.info("emailed %s about case %s (%s) via %s", to, notification.case_id,
                 notification.key, where)

    # -- helpers ---------------------------------------------------------------------

    def _domain(self) -> str:
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "escalate.invalid"

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                    timeout=self.timeout, context=self.ssl_context)
        return smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                            timeout=self.timeout)

    def _login(self, client: smtplib.SMTP) -> None:
        assert self.username is not None and self._password is not None
        if self.auth_method is None:
            client.login(self.username, self._password)
            return
        client.ehlo_or_helo_if_needed()
        client.user, client.password = self.username, self._password
        if self.auth_method == "LOGIN":
            client.auth("LOGIN", client.auth_login)
        elif self.auth_method == "PLAIN":
            client.auth("PLAIN", client.auth_plain)
        else:
            client.auth("CRAM-MD5", client.auth_cram_md5)

    def _explain(self, exc: BaseException, where: str, to: str) -> str:
        """A message that says what failed, never containing the password."""
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            answers = "; ".join(f"{rcpt}: {_answer(code, text)}"
                                for rcpt, (code, text) in exc.recipients.items())
            text = f"{where} refused the recipient ({answers})"
        elif isinstance(exc, smtplib.SMTPSenderRefused):
            text = (f"{where} refused the sender {exc.sender!r}: "
                    f"{_answer(exc.smtp_code, exc.smtp_error)}")
        elif isinstance(exc, smtplib.SMTPAuthenticationError):
            text = (f"{where} refused the login of user {self.username!r}: "
                    f"{_answer(exc.smtp_code, exc.smtp_error)}")
        elif isinstance(exc, smtplib.SMTPResponseException):
            text = f"{where} answered {_answer(exc.smtp_code, exc.smtp_error)}"
        elif isinstance(exc, smtplib.SMTPNotSupportedError):
            text = f"{where} does not support what is configured: {exc}"
        elif isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            text = f"{where} did not answer within {self.timeout:g}s"
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            text = f"{where} closed the connection: {exc}"
        elif isinstance(exc, ssl.SSLError):
            text = f"TLS with {where} failed: {exc}"
        elif isinstance(exc, ConnectionRefusedError):
            text = f"connection to {where} refused (is the SMTP server running?)"
        elif isinstance(exc, OSError):
            text = f"cannot reach {where}: {type(exc).__name__}: {exc}"
        else:
            text = f"sending to {to} via {where} failed: {type(exc).__name__}: {exc}"
        return self._redact(f"email to {to} not sent: {text}")

    def _redact(self, text: str) -> str:
        secret = self._password
        if not secret:
            return text
        forms = {secret, base64.b64encode(secret.encode()).decode(),
                 base64.b64encode(f"\0{self.username}\0{secret}".encode()).decode()}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return codes[0] if codes else None
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code
    return None


def _parse_url(url: str) -> tuple[dict[str, str], int | None]:
    """The settings an smtp:// or smtps:// URL holds, and its port (ConfigError if bad)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError("url", f"scheme {parts.scheme or '(none)'!r} is not supported; use "
                                 "smtp://host:port (plain or ?starttls=1) or smtps://host:port")
    if not parts.hostname:
        raise ConfigError("url", "no host in the URL; expected smtp://host[:port]")
    if parts.path not in ("", "/"):
        raise ConfigError("url", f"an SMTP URL has no path, got {parts.path!r}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("url", "the port must be a number 1-65535") from None
    found = {"host": parts.hostname, "security": "ssl" if parts.scheme == "smtps" else "plain"}
    if parts.username:
        found["username"] = unquote(parts.username)
    if parts.password:
        found["password"] = unquote(parts.password)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _QUERY_KEYS:
            raise ConfigError(f"url?{key}", f"unknown setting; expected one of "
                                            f"{', '.join(_QUERY_KEYS)}")
        if key == "starttls":
            if _flag(value, "url?starttls"):
                if parts.scheme == "smtps":
                    raise ConfigError("url?starttls", "smtps:// is TLS from the start; use "
                                                      "smtp://...?starttls=1 for STARTTLS")
                found["security"] = "starttls"
        else:
            found[key] = value
    return found, port


def notifier_from_env() -> SmtpNotifier | None:
    """A notifier configured by `ESCALATE_SMTP_URL`, or None when that variable is unset."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    return SmtpNotifier(url)


@hookimpl
def escalate_deliver(notification: Notification) -> bool | None:
    """Deliver through the notifier `ESCALATE_SMTP_URL` describes; None when it is unset."""
    notifier = notifier_from_env()
    if notifier is None:
        return None
    return notifier.escalate_deliver(notification)
