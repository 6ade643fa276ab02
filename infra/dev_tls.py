"""A throwaway certificate authority and a loopback server certificate for the dev brokers' TLS.

Production brokers get their certificates from the province's PKI; what RiskLoop's clients
need there is only the CA file (``RISKLOOP_KAFKA_AUTH__CA_FILE``). To test that path on one
machine, the secured dev broker (``infra/kafka_secure.py``) serves SASL_SSL with a certificate
issued here: a CA of its own (``ca.pem``, public, what clients are given) and a server key and
certificate for ``127.0.0.1`` and ``localhost`` packed as PKCS#12 (``server.p12``, 0600, under
a generated password), which the JVM reads without any extra tool. Both are made once per
folder and kept, so a restarted broker keeps its certificate and clients keep their CA file.
The CA's key stays beside them (``ca.key``, 0600) to issue client certificates
(:func:`client_certificate`, ``CN=<principal>``) for brokers that require them (mTLS).

>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as d:
...     tls = ensure(Path(d), password="pw")
...     ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
...     again = ensure(Path(d), password="pw")
...     ca.subject == ca.issuer, oct(tls.keystore.stat().st_mode & 0o777), again == tls
...     cert, key = client_certificate(Path(d), "intake")
...     mine = x509.load_pem_x509_certificate(cert.read_bytes())
...     mine.issuer == ca.subject, mine.subject.rfc4514_string(), oct(key.stat().st_mode & 0o777)
...     (Path(d) / "ca.key").unlink()  # a CA made anew: the old client certificate is replaced
...     _ = ensure(Path(d), password="pw")
...     _issued_by(cert, ca), client_certificate(Path(d), "intake")[0] == cert, _issued_by(cert, ca)
(True, '0o600', True)
(True, 'CN=intake', '0o600')
(True, True, False)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.secrets import write_private

if TYPE_CHECKING:
    from pathlib import Path

VALID = dt.timedelta(days=825)
"""How long the dev certificates last: long enough that no dev stack outlives them."""


@dataclass(frozen=True)
class DevTls:
    """Where one folder's TLS material lives."""

    ca_file: Path
    """The CA certificate (PEM): what clients verify the broker against."""
    keystore: Path
    """The server's key and certificate chain (PKCS#12, 0600)."""
    password: str
    """The keystore's password (the broker's ``ssl.keystore.password``)."""


def ensure(folder: Path, *, password: str, host: str = "127.0.0.1") -> DevTls:
    """The CA and server certificate in ``folder``, made on first use and kept after.

    The server certificate names ``host`` (an IP address or a DNS name) and ``localhost``, so
    clients that check host names (librdkafka, Python's ``ssl``) accept it on loopback.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tls = DevTls(folder / "ca.pem", folder / "server.p12", password)
    if tls.ca_file.is_file() and tls.keystore.is_file() and (folder / "ca.key").is_file():
        return tls
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # a little clock skew is fine
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RiskLoop dev CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    san = x509.SubjectAlternativeName(_names(host))
    key, server = _leaf(ca, ca_key, host, ExtendedKeyUsageOID.SERVER_AUTH, san)
    packed = pkcs12.serialize_key_and_certificates(
        b"kafka", key, server, [ca], _pkcs12_encryption(password)
    )
    write_private(tls.keystore, packed)
    write_private(folder / "ca.key", _pem_key(ca_key))
    write_private(tls.ca_file, ca.public_bytes(serialization.Encoding.PEM), 0o644)
    return tls


def client_certificate(folder: Path, principal: str) -> tuple[Path, Path]:
    """A client certificate ``CN=<principal>`` issued by ``folder``'s CA (made by :func:`ensure`
    first), and its key: ``<principal>.pem`` and ``<principal>.key`` (0600), made once, and
    again if the CA was made anew since (a certificate of the old one would be refused)."""
    cert_path, key_path = folder / f"{principal}.pem", folder / f"{principal}.key"
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    if cert_path.is_file() and key_path.is_file() and _issued_by(cert_path, ca):
        return cert_path, key_path
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{folder / 'ca.key'} is not this module's CA key")
    key, cert = _leaf(ca, ca_key, principal, ExtendedKeyUsageOID.CLIENT_AUTH)
    write_private(key_path, _pem_key(key))
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def _leaf(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    name: str,
    usage: x509.ObjectIdentifier,
    *extensions: x509.ExtensionType,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A new key and its certificate ``CN=<name>`` from ``ca``, for ``usage`` (server or
    client authentication), with ``extensions`` besides (a server's names)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # a little clock skew is fine
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        _builder(subject, ca.subject, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _issued_by(path: Path, ca: x509.Certificate) -> bool:
    try:
        x509.load_pem_x509_certificate(path.read_bytes()).verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALID)
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    return names


def _pkcs12_encryption(password: str) -> serialization.KeySerializationEncryption:
    """PBES2 with AES-256 and an HMAC-SHA256 MAC: what Java 12 and later read by default."""
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
