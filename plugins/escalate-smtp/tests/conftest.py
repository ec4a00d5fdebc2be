"""Fixtures: SMTP servers started per test, a self-signed certificate, a clean environment."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator

import pytest
from smtp_support import SmtpServer, Tls


@pytest.fixture
def servers() -> Iterator[list[SmtpServer]]:
    """Servers a test starts are appended here and stopped afterwards."""
    started: list[SmtpServer] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(servers: list[SmtpServer]) -> SmtpServer:
    """A plain SMTP server without login."""
    server = SmtpServer()
    servers.append(server)
    return server


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """Generate a key and a self-signed certificate valid for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "escalate test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return Tls(certfile, keyfile)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SMTP settings leak in from the developer's environment."""
    for name in ("ESCALATE_SMTP_URL", "ESCALATE_SMTP_PASSWORD", "DESK_MAIL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
