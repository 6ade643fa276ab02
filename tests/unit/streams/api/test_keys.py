"""The API's trusted keys: a JWKS file re-read when it changes; unreadable keys are a 503."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from infra.devkey import DevKey
from streams.api.auth import KeySource, bearer
from streams.api.bodies import ApiError

if TYPE_CHECKING:
    from pathlib import Path


def test_a_missing_or_broken_jwks_is_a_503_not_a_401(tmp_path: Path) -> None:
    for content in (None, "{not json", '{"keys": []}'):
        path = tmp_path / "jwks.json"
        if content is not None:
            path.write_text(content)
        with pytest.raises(ApiError) as info:
            KeySource(str(path)).keys()
        assert info.value.status == 503
        assert "JWKS" in info.value.message


def test_a_rotated_key_file_is_read_again(tmp_path: Path) -> None:
    first, second = DevKey(tmp_path / "a"), DevKey(tmp_path / "b")
    first.ensure()
    second.ensure()
    served = tmp_path / "jwks.json"
    served.write_bytes(first.jwks.read_bytes())
    source = KeySource(str(served))
    (old,) = source.keys().keys
    served.write_bytes(second.jwks.read_bytes())
    stat = served.stat()
    os.utime(served, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later mtime
    (new,) = source.keys().keys
    assert old.key_id != new.key_id


def test_bearer() -> None:
    assert bearer("bearer a.b.c") == "a.b.c"
    assert bearer("Bearer   ") is None
    assert bearer("Token a.b.c") is None


def test_doctests() -> None:
    import doctest

    from streams.api import auth

    assert doctest.testmod(auth).failed == 0


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost/127.0.0.1 and its key (the test's own CA: itself)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_keys_from_an_https_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A province SSO publishes its JWKS over https: served here by a real TLS server."""
    import http.server
    import ssl
    import threading
    from datetime import UTC, datetime, timedelta

    from loop.identity import Policy, Principal, decide
    from tests.people import PEOPLE

    key = DevKey(tmp_path / "sso")
    key.ensure()
    body = key.jwks.read_bytes()

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    cert, private = _self_signed(tmp_path)
    server = http.server.HTTPServer(("127.0.0.1", 0), Jwks)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, private)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's certificate only
    try:
        source = KeySource(f"https://localhost:{server.server_address[1]}/jwks.json")
        token = key.mint(
            PEOPLE["hz_staff"],
            issuer="i",
            audience="a",
            now=datetime.now(UTC),
            ttl=timedelta(minutes=5),
        )
        who = decide(token, source.keys(), Policy(issuer="i", audience="a"))
        assert isinstance(who, Principal)
        assert who.sub == PEOPLE["hz_staff"].sub
        monkeypatch.delenv("SSL_CERT_FILE")  # an untrusted certificate: keys unavailable
        with pytest.raises(ApiError) as info:
            KeySource(f"https://localhost:{server.server_address[1]}/jwks.json").keys()
        assert info.value.status == 503
    finally:
        server.shutdown()
