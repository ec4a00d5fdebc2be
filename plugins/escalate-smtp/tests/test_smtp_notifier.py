"""SmtpNotifier against a real aiosmtpd server: content, login, TLS, failures and config."""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Iterator
from importlib.metadata import entry_points

import escalate_smtp
import pytest
from escalate_smtp import SmtpDeliveryError, SmtpNotifier, message_id
from smtp_support import SECRET, USER, SmtpServer, Tls, free_port, note

from escalate import ConfigError
from escalate.testing import NotifierContract

FROM = "desk@example.com"

# Some test servers take logins without TLS on purpose; aiosmtpd warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def url(server: SmtpServer, scheme: str = "smtp", user: str = "", query: str = "") -> str:
    who = f"{user}@" if user else ""
    extra = f"&{query}" if query else ""
    return f"{scheme}://{who}127.0.0.1:{server.port}?from={FROM}{extra}"


# -- what arrives ------------------------------------------------------------------------


def test_message_arrives_with_subject_body_and_headers(smtp_server: SmtpServer) -> None:
    notifier = SmtpNotifier(url(smtp_server), address_book={"bo": "bo@example.org"})
    row = note("bo")

    assert notifier.escalate_deliver(notification=row) is True

    [got] = smtp_server.messages
    assert got.mail_from == FROM
    assert got.rcpt_tos == ["bo@example.org"]
    assert got.tls is False and got.login is None
    message = got.message
    assert message["From"] == FROM
    assert message["To"] == "bo@example.org"
    assert message["Subject"] == row.subject
    assert message.get_content().replace("\r\n", "\n") == row.body
    assert message["Message-ID"] == message_id(row.key, "example.com")
    assert message["X-Escalate-Case"] == "C-7"
    assert message["X-Escalate-Key"] == row.key
    assert message["Auto-Submitted"] == "auto-generated"


def test_message_id_is_stable_per_key_and_differs_between_keys() -> None:
    notifier = SmtpNotifier(sender=FROM, host="127.0.0.1", address_book="{name}@example.org")
    first = notifier.build_message(note(key="C-7:3:bo:email"))["Message-ID"]
    again = notifier.build_message(note(key="C-7:3:bo:email", subject="other"))["Message-ID"]
    other = notifier.build_message(note(key="C-7:4:bo:email"))["Message-ID"]
    assert first == again != other
    assert first.startswith("<escalate.") and first.endswith("@example.com>")


def test_sender_with_a_display_name(smtp_server: SmtpServer) -> None:
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{smtp_server.port}"
                            "?from=Support%20Desk%20%3Cdesk@example.com%3E&domain=example.org")
    assert notifier.escalate_deliver(notification=note("bo")) is True
    [got] = smtp_server.messages
    assert got.mail_from == "desk@example.com"
    assert got.message["From"] == "Support Desk <desk@example.com>"
    assert got.message["Message-ID"].endswith("@example.com>")


def test_non_ascii_subject_and_body_survive(smtp_server: SmtpServer) -> None:
    notifier = SmtpNotifier(url(smtp_server))
    row = note("ana@example.org", subject="[C-7] Factură greșită: escalated",
               body="Clientul așteaptă o notă de credit.\n")
    assert notifier.escalate_deliver(notification=row) is True
    [got] = smtp_server.messages
    assert got.message["Subject"] == row.subject
    assert got.message.get_content().replace("\r\n", "\n") == row.body


def test_recipients_come_from_address_book_template_or_as_given(
        smtp_server: SmtpServer) -> None:
    by_domain = SmtpNotifier(url(smtp_server, query="domain=example.net"))
    by_template = SmtpNotifier(url(smtp_server), address_book="support+{name}@example.net")
    by_book = SmtpNotifier(url(smtp_server), address_book={"cy": "cy@elsewhere.org"})

    assert by_domain.escalate_deliver(notification=note("ana")) is True
    assert by_template.escalate_deliver(notification=note("dan")) is True
    assert by_book.escalate_deliver(notification=note("cy")) is True
    assert by_book.escalate_deliver(notification=note("c17@customer.org")) is True

    assert [m.rcpt_tos for m in smtp_server.messages] == [
        ["ana@example.net"], ["support+dan@example.net"], ["cy@elsewhere.org"],
        ["c17@customer.org"]]


def test_unknown_recipient_is_a_permanent_failure(smtp_server: SmtpServer) -> None:
    notifier = SmtpNotifier(url(smtp_server), address_book={"cy": "cy@example.org"})
    with pytest.raises(SmtpDeliveryError, match="no email address for recipient 'zed'") as err:
        notifier.escalate_deliver(notification=note("zed"))
    assert err.value.permanent is True
    assert smtp_server.messages == []


def test_other_channels_are_left_alone(smtp_server: SmtpServer) -> None:
    notifier = SmtpNotifier(url(smtp_server, query="domain=example.org"))
    assert notifier.escalate_deliver(notification=note(channel="webhook")) is None
    assert smtp_server.messages == []
    mail = SmtpNotifier(url(smtp_server, query="domain=example.org&channel=mail"))
    assert mail.escalate_deliver(notification=note(channel="email")) is None
    assert mail.escalate_deliver(notification=note(channel="mail")) is True
    assert len(smtp_server.messages) == 1


# -- login -------------------------------------------------------------------------------


@pytest.fixture
def auth_server(servers: list[SmtpServer]) -> SmtpServer:
    server = SmtpServer(auth=True, auth_required=True)
    servers.append(server)
    return server


def test_auth_login_with_password_from_the_environment(
        auth_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATE_SMTP_PASSWORD", SECRET)
    notifier = SmtpNotifier(url(auth_server, user=USER, query="auth=login&domain=example.org"))

    assert notifier.escalate_deliver(notification=note("bo")) is True

    assert auth_server.handler.mechanisms == ["LOGIN"]
    [got] = auth_server.messages
    assert got.login == USER
    assert got.rcpt_tos == ["bo@example.org"]


def test_password_variable_name_is_configurable_and_auto_mechanism_works(
        auth_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_MAIL_PASSWORD", SECRET)
    notifier = SmtpNotifier(url(auth_server, user=USER,
                                query="password_env=DESK_MAIL_PASSWORD&domain=example.org"))
    assert notifier.escalate_deliver(notification=note("bo")) is True
    assert auth_server.handler.mechanisms and auth_server.messages[0].login == USER


def test_password_in_the_url_is_used(auth_server: SmtpServer) -> None:
    quoted = SECRET.replace("-", "%2D")
    notifier = SmtpNotifier(url(auth_server, user=f"{USER}:{quoted}",
                                query="domain=example.org"))
    assert notifier.escalate_deliver(notification=note("bo")) is True
    assert auth_server.messages[0].login == USER


def test_server_requiring_login_refuses_anonymous_mail(auth_server: SmtpServer) -> None:
    notifier = SmtpNotifier(url(auth_server, query="domain=example.org"))
    with pytest.raises(SmtpDeliveryError, match="530"):
        notifier.escalate_deliver(notification=note("bo"))
    assert auth_server.messages == []


def _all_text(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc),
                      *traceback.format_exception(type(exc), exc, exc.__traceback__)])


def test_the_password_never_reaches_logs_or_errors(
        auth_server: SmtpServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    """Whatever happens, the secret appears in no log record, error text or repr.

    The records of the test server itself (logger "mail.log") are left out: aiosmtpd logs
    the credentials it received at DEBUG level, which is the server's business.
    """
    wrong = "Wr0ng-" + SECRET
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        monkeypatch.setenv("ESCALATE_SMTP_PASSWORD", SECRET)
        good = SmtpNotifier(url(auth_server, user=USER, query="domain=example.org"))
        assert good.escalate_deliver(notification=note("bo")) is True

        monkeypatch.setenv("ESCALATE_SMTP_PASSWORD", wrong)
        bad = SmtpNotifier(url(auth_server, user=USER, query="auth=login&domain=example.org"))
        with pytest.raises(SmtpDeliveryError) as refused:
            bad.escalate_deliver(notification=note("bo"))
        errors.append(refused.value)

        down = SmtpNotifier(f"smtp://{USER}:{SECRET}@127.0.0.1:{free_port()}?from={FROM}"
                            "&domain=example.org")
        with pytest.raises(SmtpDeliveryError) as unreachable:
            down.escalate_deliver(notification=note("bo"))
        errors.append(unreachable.value)

        with pytest.raises(ConfigError) as config:
            SmtpNotifier(f"smtp://{USER}:{SECRET}@127.0.0.1:{auth_server.port}?from=nobody")
        errors.append(config.value)

    assert "535" in str(refused.value) and repr(USER) in str(refused.value)
    assert "refused" in str(unreachable.value)
    ours = "\n".join(record.getMessage() for record in caplog.records
                     if not record.name.startswith("mail.log"))
    assert "emailed bo@example.org" in ours  # the check looks at real log output
    captured = capsys.readouterr()
    texts = [ours, captured.out, captured.err, repr(good), repr(bad), repr(down),
             *map(_all_text, errors)]
    for text in texts:
        assert SECRET not in text
        assert wrong not in text


# -- TLS ---------------------------------------------------------------------------------


def test_starttls_with_login(servers: list[SmtpServer], tls: Tls,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    server = SmtpServer(auth=True, tls_context=tls.server_context(), require_starttls=True,
                        auth_require_tls=True)
    servers.append(server)
    monkeypatch.setenv("ESCALATE_SMTP_PASSWORD", SECRET)
    notifier = SmtpNotifier(url(server, user=USER, query="starttls=1&domain=example.org"),
                            ssl_context=tls.client_context())
    assert notifier.security == "starttls"

    assert notifier.escalate_deliver(notification=note("bo")) is True

    [got] = server.messages
    assert got.tls is True and got.login == USER


def test_starttls_with_cafile_in_the_url(servers: list[SmtpServer], tls: Tls) -> None:
    server = SmtpServer(tls_context=tls.server_context(), require_starttls=True)
    servers.append(server)
    notifier = SmtpNotifier(url(server, query=f"starttls=1&cafile={tls.certfile}"))
    assert notifier.escalate_deliver(notification=note("ana@example.org")) is True
    assert server.messages[0].tls is True


def test_starttls_rejects_an_untrusted_certificate(servers: list[SmtpServer],
                                                   tls: Tls) -> None:
    server = SmtpServer(tls_context=tls.server_context(), require_starttls=True)
    servers.append(server)
    notifier = SmtpNotifier(url(server, query="starttls=1"))  # system CAs only
    with pytest.raises(SmtpDeliveryError, match=r"TLS with 127\.0\.0\.1:\d+ failed"):
        notifier.escalate_deliver(notification=note("ana@example.org"))
    assert server.messages == []


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(
        smtp_server: SmtpServer, tls: Tls) -> None:
    notifier = SmtpNotifier(url(smtp_server, query="starttls=1"),
                            ssl_context=tls.client_context())
    with pytest.raises(SmtpDeliveryError, match="STARTTLS"):
        notifier.escalate_deliver(notification=note("ana@example.org"))
    assert smtp_server.messages == []


def test_smtps_implicit_tls(servers: list[SmtpServer], tls: Tls) -> None:
    server = SmtpServer(ssl_context=tls.server_context())
    servers.append(server)
    notifier = SmtpNotifier(url(server, scheme="smtps"), ssl_context=tls.client_context())
    assert notifier.security == "ssl"
    assert notifier.escalate_deliver(notification=note("ana@example.org")) is True
    [got] = server.messages
    assert got.tls is True and got.rcpt_tos == ["ana@example.org"]


# -- failures ----------------------------------------------------------------------------


def test_server_down_raises_then_delivers_once_it_is_up(servers: list[SmtpServer]) -> None:
    port = free_port()
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{port}?from={FROM}&domain=example.org")
    row = note("bo")

    with pytest.raises(SmtpDeliveryError) as err:
        notifier.escalate_deliver(notification=row)
    assert f"connection to 127.0.0.1:{port} refused" in str(err.value)
    assert err.value.permanent is False

    server = SmtpServer(port)
    servers.append(server)
    assert notifier.escalate_deliver(notification=row) is True
    [got] = server.messages
    assert got.rcpt_tos == ["bo@example.org"]
    assert got.message["Message-ID"] == message_id(row.key, "example.com")


@pytest.mark.parametrize(("stage", "answer", "code"), [
    ("data", "451 4.3.0 Try again later", 451),
    ("rcpt", "550 5.1.1 No such user here", 550),
    ("rcpt", "452 4.2.2 Mailbox full", 452),
    ("data", "554 5.7.1 Message rejected", 554),
])
def test_error_answers_raise_with_their_code(smtp_server: SmtpServer, stage: str,
                                             answer: str, code: int) -> None:
    setattr(smtp_server.handler, f"{stage}_answer", answer)
    notifier = SmtpNotifier(url(smtp_server, query="domain=example.org"))
    with pytest.raises(SmtpDeliveryError) as err:
        notifier.escalate_deliver(notification=note("bo"))
    assert err.value.code == code
    assert answer in str(err.value)
    assert "bo@example.org" in str(err.value)
    assert smtp_server.messages == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield int(listener.getsockname()[1])


def test_a_server_that_does_not_answer_times_out(silent_port: int) -> None:
    notifier = SmtpNotifier(f"smtp://127.0.0.1:{silent_port}?from={FROM}&timeout=0.3")
    assert notifier.timeout == 0.3
    started = time.monotonic()
    with pytest.raises(SmtpDeliveryError, match=r"did not answer within 0\.3s"):
        notifier.escalate_deliver(notification=note("ana@example.org"))
    assert time.monotonic() - started < 3


def test_default_timeout_is_ten_seconds() -> None:
    assert SmtpNotifier(host="mail.example.com", sender=FROM).timeout == 10.0


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(("config", "path", "words"), [
    ({"url": "http://mail.example.com?from=d@example.com"}, "url", "'http' is not supported"),
    ({"url": "mail.example.com"}, "url", "is not supported"),
    ({"url": "smtp://?from=d@example.com"}, "url", "no host"),
    ({"url": "smtp://:25?from=d@example.com"}, "url", "no host"),
    ({"sender": "d@example.com"}, "host", "no SMTP server"),
    ({"url": "smtp://mail.example.com"}, "sender", "From address"),
    ({"url": "smtp://mail.example.com?from=desk"}, "sender", "From address"),
    ({"url": "smtp://mail.example.com:99999?from=d@example.com"}, "url", "port"),
    ({"url": "smtp://mail.example.com?from=d@example.com&tls=1"}, "url?tls", "unknown"),
    ({"url": "smtp://mail.example.com?from=d@example.com&starttls=maybe"}, "url?starttls",
     "expected 1/0"),
    ({"url": "smtps://mail.example.com?from=d@example.com&starttls=1"}, "url?starttls",
     "TLS from the start"),
    ({"url": "smtp://mail.example.com/inbox?from=d@example.com"}, "url", "no path"),
    ({"url": "smtp://mail.example.com?from=d@example.com&timeout=0"}, "timeout", "positive"),
    ({"url": "smtp://mail.example.com?from=d@example.com&timeout=soon"}, "timeout", "seconds"),
    ({"url": "smtp://mail.example.com?from=d@example.com&auth=xoauth"}, "auth_method",
     "LOGIN"),
    ({"url": "smtp://desk@mail.example.com?from=d@example.com"}, "password",
     "ESCALATE_SMTP_PASSWORD"),
    ({"url": "smtp://mail.example.com?from=d@example.com", "password": "x"}, "username",
     "no user name"),
    ({"url": "smtp://mail.example.com?from=d@example.com", "security": "tls"}, "security",
     "plain, starttls, ssl"),
    ({"url": "smtp://mail.example.com?from=d@example.com", "address_book": "{name}"},
     "address_book", "domain"),
    ({"url": "smtp://mail.example.com?from=d@example.com", "address_book": "{user}@x.org"},
     "address_book", "{name}"),
    ({"url": "smtp://mail.example.com?from=d@example.com", "address_book": {"bo": "bo"}},
     "address_book.bo", "email address"),
    ({"url": "smtps://mail.example.com?from=d@example.com&cafile=/no/such/ca.pem"}, "cafile",
     "CA certificates"),
])
def test_bad_configuration_names_the_setting(config: dict[str, object], path: str,
                                             words: str) -> None:
    with pytest.raises(ConfigError) as err:
        SmtpNotifier(**config)  # type: ignore[arg-type]
    assert err.value.path == path
    assert words in str(err.value)
    assert str(err.value).startswith(f"{path}: ")


def test_keywords_override_the_url_and_ports_default_by_security() -> None:
    assert SmtpNotifier("smtp://m.example.com?from=d@example.com").port == 25
    assert SmtpNotifier("smtp://m.example.com?from=d@example.com&starttls=1").port == 587
    assert SmtpNotifier("smtps://m.example.com?from=d@example.com").port == 465
    notifier = SmtpNotifier("smtp://m.example.com:2525?from=d@example.com&timeout=3",
                            host="relay.example.com", port=26, timeout=4, sender="x@y.org")
    assert (notifier.host, notifier.port, notifier.timeout, notifier.sender) == (
        "relay.example.com", 26, 4.0, "x@y.org")


# -- the entry-point plugin --------------------------------------------------------------


def test_module_hook_does_nothing_without_the_url(smtp_server: SmtpServer) -> None:
    assert escalate_smtp.notifier_from_env() is None
    assert escalate_smtp.escalate_deliver(notification=note("ana@example.org")) is None
    assert smtp_server.messages == []


def test_module_hook_delivers_with_the_url_from_the_environment(
        auth_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATE_SMTP_URL", url(auth_server, user=USER,
                                                query="domain=example.org"))
    monkeypatch.setenv("ESCALATE_SMTP_PASSWORD", SECRET)
    assert escalate_smtp.escalate_deliver(notification=note("webhook-only",
                                                            channel="webhook")) is None
    assert escalate_smtp.escalate_deliver(notification=note("bo")) is True
    [got] = auth_server.messages
    assert got.rcpt_tos == ["bo@example.org"] and got.login == USER


def test_entry_point_is_installed() -> None:
    found = {entry.name: entry for entry in entry_points(group="escalate")}
    assert "smtp" in found
    assert found["smtp"].value == "escalate_smtp"
    assert found["smtp"].load() is escalate_smtp


def test_plugin_manager_accepts_the_module_and_the_notifier() -> None:
    """Every escalate_* name in the module and the class is a real hook (typos would fail)."""
    from escalate.plugins import make_plugin_manager

    notifier = SmtpNotifier(host="mail.example.com", sender=FROM)
    manager = make_plugin_manager([notifier], autoload=True)
    assert manager.get_plugin("smtp") is escalate_smtp
    assert manager.is_registered(notifier)


# -- the contract escalate ships for notifiers --------------------------------------------


class TestSmtpNotifierContract(NotifierContract):
    channel = "email"

    @pytest.fixture(autouse=True)
    def _server(self, smtp_server: SmtpServer) -> None:
        self.server = smtp_server

    def make_notifier(self) -> SmtpNotifier:
        return SmtpNotifier(url(self.server))

    def make_broken_notifier(self) -> SmtpNotifier:
        return SmtpNotifier(f"smtp://127.0.0.1:{free_port()}?from={FROM}")

    def delivered(self) -> list[tuple[str, str]]:
        return [(str(m.message["To"]), str(m.message["Subject"])) for m in self.server.messages]
