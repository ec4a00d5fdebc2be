"""WebhookNotifier against a real local HTTP receiver: signatures, shapes, failures, config."""

from __future__ import annotations

import json
import logging
import socket
import time
import traceback
import urllib.error
import urllib.request
from importlib.metadata import entry_points

import escalate_webhook
import pytest
from escalate_webhook import (
    SIGNATURE_HEADER,
    PermanentDeliveryError,
    RetryableDeliveryError,
    WebhookDeliveryError,
    WebhookNotifier,
    sign,
    verify_signature,
)
from webhook_support import SECRET, SLOW_SECONDS, Receiver, note

from escalate import ConfigError
from escalate.testing import NotifierContract


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- a signed delivery -------------------------------------------------------------------


def test_signed_json_arrives_and_verifies(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url(), secret=SECRET)
    row = note("bo", attempts=2)  # as the outbox hands it over: the claim counted attempt 2

    assert notifier.escalate_deliver(notification=row) is True

    [got] = receiver.requests
    assert got.valid is True
    assert got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert got.headers["X-Escalate-Key"] == row.key
    assert got.headers["X-Escalate-Case"] == "C-7"
    assert got.json() == {
        "type": "escalate.notification", "key": row.key, "case_id": "C-7", "seq": 3,
        "event_id": "C-7:3", "recipient": "bo", "channel": "webhook", "subject": row.subject,
        "body": row.body, "created_at": "2026-03-02T09:00:00+00:00", "attempt": 2,
    }
    assert got.headers["Idempotency-Key"] == row.key
    stamp = int(got.headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
    assert abs(time.time() - stamp) < 5


def test_a_key_outside_ascii_is_sent_percent_encoded(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url(), secret=SECRET)
    row = note("ană", key="C-7:3:ană:webhook")

    assert notifier.escalate_deliver(notification=row) is True

    [got] = receiver.requests
    assert got.headers["Idempotency-Key"] == "C-7:3:an%C4%83:webhook"
    assert got.headers["X-Escalate-Key"] == "C-7:3:an%C4%83:webhook"
    assert got.json()["key"] == row.key, "the body carries the key as it is"


def test_secret_from_the_environment(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATE_WEBHOOK_SECRET", SECRET)
    assert WebhookNotifier(receiver.url()).escalate_deliver(notification=note()) is True
    assert receiver.requests[0].valid is True


def test_secret_variable_name_is_configurable(receiver: Receiver,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_HOOK_KEY", SECRET)
    notifier = WebhookNotifier(receiver.url(), secret_env="DESK_HOOK_KEY")
    assert notifier.escalate_deliver(notification=note()) is True
    assert receiver.requests[0].valid is True


def test_tampered_body_is_rejected_by_the_receiver(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url(), secret=SECRET)
    assert notifier.escalate_deliver(notification=note()) is True
    [original] = receiver.requests
    header = original.headers[SIGNATURE_HEADER]
    tampered = original.body.replace(b"Printer on fire", b"Printer is fine")
    assert tampered != original.body

    request = urllib.request.Request(receiver.url(), data=tampered, method="POST",
                                     headers={SIGNATURE_HEADER: header,
                                              "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    refused.value.close()
    assert refused.value.code == 401
    assert receiver.requests[-1].valid is False

    assert verify_signature(SECRET, header, original.body) is True
    assert verify_signature(SECRET, header, tampered) is False
    assert verify_signature("another-secret", header, original.body) is False


def test_wrong_secret_is_refused_permanently(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url(), secret="not-the-shared-secret")
    with pytest.raises(PermanentDeliveryError) as err:
        notifier.escalate_deliver(notification=note())
    assert err.value.status == 401 and err.value.permanent is True
    assert receiver.requests[0].valid is False


def test_old_timestamp_is_rejected(receiver: Receiver) -> None:
    ten_minutes_ago = WebhookNotifier(receiver.url(), secret=SECRET,
                                      clock=lambda: time.time() - 600)
    with pytest.raises(PermanentDeliveryError, match="401"):
        ten_minutes_ago.escalate_deliver(notification=note())
    [got] = receiver.requests
    assert got.valid is False
    header = got.headers[SIGNATURE_HEADER]
    assert verify_signature(SECRET, header, got.body, tolerance=None) is True  # signed right
    assert verify_signature(SECRET, header, got.body, tolerance=900) is True
    assert verify_signature(SECRET, header, got.body) is False  # but too old for 300 s


def test_verify_signature_edges() -> None:
    body = b'{"a":1}'
    header = sign(SECRET, body, timestamp=1_000_000)
    assert header.startswith("t=1000000,v1=")
    assert verify_signature(SECRET, header, body, now=1_000_000) is True
    assert verify_signature(SECRET, header, body.decode(), now=1_000_300) is True
    assert verify_signature(SECRET, header, body, now=1_000_301) is False  # too old
    assert verify_signature(SECRET, header, body, now=999_699) is False  # from the future
    digest = header.split("v1=")[1]
    rotated = f"t=1000000,v1={'0' * 64},v1={digest}"
    assert verify_signature(SECRET, rotated, body, now=1_000_000) is True
    for bad in (None, "", "v1=" + digest, "t=1000000", "t=soon,v1=" + digest,
                f"t=1000001,v1={digest}", f"t=1000000,v1={digest[:-1]}é"):
        assert verify_signature(SECRET, bad, body, now=1_000_000) is False, bad


# -- failures and how they are classified -------------------------------------------------


@pytest.mark.parametrize(("code", "kind"), [
    (500, RetryableDeliveryError),
    (503, RetryableDeliveryError),
    (429, RetryableDeliveryError),
    (408, RetryableDeliveryError),
    (400, PermanentDeliveryError),
    (404, PermanentDeliveryError),
    (410, PermanentDeliveryError),
])
def test_status_codes_are_classified(receiver: Receiver, code: int,
                                     kind: type[WebhookDeliveryError]) -> None:
    notifier = WebhookNotifier(receiver.url(f"/status/{code}"), secret=SECRET)
    with pytest.raises(WebhookDeliveryError) as err:
        notifier.escalate_deliver(notification=note())
    assert type(err.value) is kind
    assert err.value.status == code
    assert err.value.permanent is (kind is PermanentDeliveryError)
    assert f"answered {code}" in str(err.value)
    assert f"refused with {code}" in str(err.value)  # the receiver's own words
    assert len(receiver.requests) == 1  # one attempt: retrying is the outbox's job
    if code in (429, 503):
        assert err.value.retry_after == 7


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url("/redirect"), secret=SECRET)
    with pytest.raises(PermanentDeliveryError, match=r"redirect to http://elsewhere\.example"):
        notifier.escalate_deliver(notification=note())
    assert len(receiver.requests) == 1


def test_timeout_is_retryable(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url("/slow"), secret=SECRET, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(RetryableDeliveryError, match=r"no answer within 0\.2s") as err:
        notifier.escalate_deliver(notification=note())
    assert time.monotonic() - started < SLOW_SECONDS
    assert err.value.status is None


def test_connection_refused_is_retryable() -> None:
    notifier = WebhookNotifier(f"http://127.0.0.1:{closed_port()}/hook", secret=SECRET)
    with pytest.raises(RetryableDeliveryError, match="connection refused"):
        notifier.escalate_deliver(notification=note())


def test_default_timeout_is_ten_seconds() -> None:
    assert WebhookNotifier("https://hooks.example.com/x", secret=SECRET).timeout == 10.0


# -- shapes, routing, channels -----------------------------------------------------------


def test_chat_shape_posts_text_only(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url("/open/chat"), shape="chat")  # no secret needed
    row = note(subject="[C-7] Printer on fire", body="escalated to specialists\n")
    assert notifier.escalate_deliver(notification=row) is True
    [got] = receiver.requests
    assert got.json() == {"text": "[C-7] Printer on fire\nescalated to specialists"}
    assert SIGNATURE_HEADER not in got.headers


def test_chat_shape_is_signed_when_a_secret_is_set(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url(), shape="chat", secret=SECRET)
    assert notifier.escalate_deliver(notification=note(body="line one\nline two\n")) is True
    [got] = receiver.requests
    assert got.valid is True
    assert json.loads(got.body)["text"].endswith("\nline one\nline two")


def test_url_per_recipient(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url("/team"), secret=SECRET,
                               urls={"ana": receiver.url("/ana"), "bo": receiver.url("/bo")})
    for name in ("ana", "bo", "cy"):
        assert notifier.escalate_deliver(notification=note(name)) is True
    assert [r.path for r in receiver.requests] == ["/ana", "/bo", "/team"]
    assert all(r.valid for r in receiver.requests)

    only_some = WebhookNotifier(secret=SECRET, urls={"ana": receiver.url("/ana")})
    with pytest.raises(PermanentDeliveryError, match="no webhook URL for recipient 'zed'"):
        only_some.escalate_deliver(notification=note("zed"))


def test_credentials_in_the_url_become_basic_auth_and_stay_out_of_errors(
        receiver: Receiver) -> None:
    good = WebhookNotifier(f"http://hook:pa%3Ass@127.0.0.1:{receiver.port}/hook?v=2",
                           secret=SECRET)
    assert good.escalate_deliver(notification=note()) is True
    [got] = receiver.requests
    assert got.path == "/hook?v=2"
    assert got.headers["Authorization"] == "Basic aG9vazpwYTpzcw=="  # hook:pa:ss

    token = "T0KEN-in-the-path"
    bad = WebhookNotifier(f"http://hook:pa%3Ass@127.0.0.1:{receiver.port}/status/500/{token}",
                          secret=SECRET)
    with pytest.raises(RetryableDeliveryError) as err:
        bad.escalate_deliver(notification=note())
    text = str(err.value)
    assert f"to http://127.0.0.1:{receiver.port}" in text
    assert token not in text and "pa:ss" not in text and "pa%3Ass" not in text
    assert token not in repr(bad)


def test_extra_headers_are_sent(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url(), secret=SECRET, headers={"X-Team": "billing"})
    assert notifier.escalate_deliver(notification=note()) is True
    assert receiver.requests[0].headers["X-Team"] == "billing"


def test_other_channels_are_left_alone(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url(), secret=SECRET)
    assert notifier.escalate_deliver(notification=note(channel="email")) is None
    chat = WebhookNotifier(receiver.url(), secret=SECRET, channel="chat")
    assert chat.escalate_deliver(notification=note(channel="webhook")) is None
    assert receiver.requests == []
    assert chat.escalate_deliver(notification=note(channel="chat")) is True
    assert len(receiver.requests) == 1


# -- the secret stays secret -------------------------------------------------------------


def test_the_secret_never_reaches_logs_or_errors(
        receiver: Receiver, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    failures: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        notifier = WebhookNotifier(receiver.url(), secret=SECRET)
        assert notifier.escalate_deliver(notification=note()) is True
        for path in ("/status/500", "/status/400", "/redirect"):
            failing = WebhookNotifier(receiver.url(path), secret=SECRET)
            with pytest.raises(WebhookDeliveryError) as err:
                failing.escalate_deliver(notification=note())
            failures.append(err.value)
        down = WebhookNotifier(f"http://127.0.0.1:{closed_port()}/", secret=SECRET)
        with pytest.raises(RetryableDeliveryError) as err:
            down.escalate_deliver(notification=note())
        failures.append(err.value)
    logged = caplog.text
    assert "posted webhook" in logged  # the check looks at real log output
    captured = capsys.readouterr()
    texts = [logged, captured.out, captured.err, repr(notifier), repr(down)]
    texts += ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
              + repr(exc) for exc in failures]
    for text in texts:
        assert SECRET not in text


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "config", "path", "words"), [
    ((), {"secret": SECRET}, "url", "no endpoint"),
    (("ftp://hooks.example.com/x",), {"secret": SECRET}, "url", "'ftp' is not supported"),
    (("hooks.example.com/x",), {"secret": SECRET}, "url", "is not supported"),
    (("http:///x",), {"secret": SECRET}, "url", "no host"),
    (("http://hooks.example.com:70000/x",), {"secret": SECRET}, "url", "port"),
    ((), {"secret": SECRET, "urls": {"ana": "mailto:ana@example.com"}}, "urls.ana",
     "not supported"),
    (("https://hooks.example.com/x",), {}, "secret", "ESCALATE_WEBHOOK_SECRET"),
    (("https://hooks.example.com/x",), {"secret_env": "MY_HOOK_KEY"}, "secret", "MY_HOOK_KEY"),
    (("https://hooks.example.com/x",), {"secret": SECRET, "shape": "slack"}, "shape",
     "full, chat"),
    (("https://hooks.example.com/x",), {"secret": SECRET, "timeout": 0}, "timeout",
     "positive"),
    (("https://hooks.example.com/x",), {"secret": SECRET, "channel": ""}, "channel",
     "channel name"),
])
def test_bad_configuration_names_the_setting(args: tuple[str, ...], config: dict[str, object],
                                             path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        WebhookNotifier(*args, **config)  # type: ignore[arg-type]
    assert err.value.path == path
    assert words in str(err.value)


# -- the entry-point plugin --------------------------------------------------------------


def test_module_hook_does_nothing_without_the_url(receiver: Receiver) -> None:
    assert escalate_webhook.notifier_from_env() is None
    assert escalate_webhook.escalate_deliver(notification=note()) is None
    assert receiver.requests == []


def test_module_hook_delivers_with_settings_from_the_environment(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCALATE_WEBHOOK_URL", receiver.url("/from-env"))
    monkeypatch.setenv("ESCALATE_WEBHOOK_SECRET", SECRET)
    assert escalate_webhook.escalate_deliver(notification=note(channel="email")) is None
    assert escalate_webhook.escalate_deliver(notification=note()) is True
    monkeypatch.setenv("ESCALATE_WEBHOOK_SHAPE", "chat")
    monkeypatch.setenv("ESCALATE_WEBHOOK_CHANNEL", "chat")
    assert escalate_webhook.escalate_deliver(notification=note(channel="chat")) is True
    first, second = receiver.requests
    assert first.path == second.path == "/from-env"
    assert first.valid and second.valid
    assert first.json()["key"] == "C-7:3:bo:webhook"
    assert set(second.json()) == {"text"}


def test_entry_point_is_installed() -> None:
    found = {entry.name: entry for entry in entry_points(group="escalate")}
    assert "webhook" in found
    assert found["webhook"].value == "escalate_webhook"
    assert found["webhook"].load() is escalate_webhook


def test_plugin_manager_accepts_the_module_and_the_notifier() -> None:
    """Every escalate_* name in the module and the class is a real hook (typos would fail)."""
    from escalate.plugins import make_plugin_manager

    notifier = WebhookNotifier("https://hooks.example.com/x", secret=SECRET)
    manager = make_plugin_manager([notifier], autoload=True)
    assert manager.get_plugin("webhook") is escalate_webhook
    assert manager.is_registered(notifier)


# -- the contract escalate ships for notifiers --------------------------------------------


class TestWebhookNotifierContract(NotifierContract):
    channel = "webhook"

    @pytest.fixture(autouse=True)
    def _attach(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def make_notifier(self) -> WebhookNotifier:
        return WebhookNotifier(self.receiver.url(), secret=SECRET)

    def make_broken_notifier(self) -> WebhookNotifier:
        return WebhookNotifier(f"http://127.0.0.1:{closed_port()}/hook", secret=SECRET)

    def delivered(self) -> list[tuple[str, str]]:
        return [(r.json()["recipient"], r.json()["subject"]) for r in self.receiver.requests
                if r.valid]


# -- the receiver code in docs/notifiers.md ----------------------------------------------


def _docs_page() -> str:
    from pathlib import Path

    page = Path(__file__).resolve().parents[3] / "docs" / "notifiers.md"
    if not page.exists():
        pytest.skip("docs/notifiers.md is not next to this checkout")
    return page.read_text(encoding="utf-8")


def test_standalone_verify_in_the_docs_agrees_with_the_notifier(receiver: Receiver) -> None:
    page = _docs_page()
    blocks = page.split("```python\n")[1:]
    [code] = [block.split("```")[0] for block in blocks if "def verify(" in block]
    namespace: dict[str, object] = {}
    exec(code, namespace)
    verify = namespace["verify"]
    assert callable(verify)

    notifier = WebhookNotifier(receiver.url(), secret=SECRET)
    assert notifier.escalate_deliver(notification=note()) is True
    [got] = receiver.requests
    header = got.headers[SIGNATURE_HEADER]
    assert verify(SECRET, header, got.body) is True
    assert verify(SECRET, header, got.body + b" ") is False
    assert verify("other", header, got.body) is False
    assert verify(SECRET, sign(SECRET, got.body, int(time.time()) - 301), got.body) is False
    assert verify(SECRET, None, got.body) is False


def test_signature_example_in_the_docs_is_real() -> None:
    page = _docs_page()
    example = json.loads(page.split('```json\n')[1].split("```")[0])
    body = json.dumps(example, ensure_ascii=False, separators=(",", ":")).encode()
    header = sign("example-secret", body, timestamp=1772442000)
    assert f"X-Escalate-Signature: {header}\n" in page
    assert example == WebhookNotifier("https://x.example/h", secret="s").payload(note())
