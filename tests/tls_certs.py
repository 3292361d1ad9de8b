"""Certificates for the TLS tests and the TLS benchmark, made on the spot (the ``cryptography`` package of
the test extra): a CA, a server certificate for 127.0.0.1 and localhost, a client certificate (its key also
encrypted with a password), an expired server certificate, one for another host, a second CA that
signs nothing the peers trust, and a node's certificate that is both a client's and a server's (getsh
associating over TLS and its C-MOVE receiver listening over TLS). RSA keys: the BCP 195 TLS 1.2 suites are RSA ones."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_PASSWORD = "s3cret-Key-Passw0rd"  # the encrypted client key's: a test asserts it is never shown or recorded


@dataclass(frozen=True)
class Pair:
    key: Path
    cert: Path


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA the peers and getsh trust
    other_ca: Path  # a CA nobody's certificate here is signed by
    server: Pair  # CN=localhost, for 127.0.0.1 and localhost
    client: Pair  # CN=getsh-client
    client_encrypted: Pair  # the same client, its key encrypted with KEY_PASSWORD
    expired: Pair  # a server certificate for 127.0.0.1 that expired yesterday
    wrong_host: Pair  # a server certificate for pacs.example.org only
    untrusted_client: Pair  # signed by other_ca
    node: Pair  # CN=getsh-node, for 127.0.0.1 and localhost, a client's and a server's (getsh's C-MOVE receiver)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "getsh tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: Path, key: rsa.RSAPrivateKey, password: str = "") -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       encryption))
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _ca(common: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca: tuple[rsa.RSAPrivateKey, x509.Certificate], common: str, names: list[x509.GeneralName],
          usage: x509.ObjectIdentifier | list[x509.ObjectIdentifier],
          expired: bool = False) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    ca_key, ca_cert = ca
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)) if expired else (
        now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    builder = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usage if isinstance(usage, list) else [usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def make_pki(directory: Path) -> Pki:
    """Write every key and certificate into ``directory`` (PEM)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, other = _ca("getsh test CA"), _ca("some other CA")
    local = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server_auth, client_auth = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH

    def pair(name: str, made: tuple[rsa.RSAPrivateKey, x509.Certificate], password: str = "") -> Pair:
        return Pair(_write_key(directory / f"{name}.key", made[0], password),
                    _write_cert(directory / f"{name}.crt", made[1]))

    client = _leaf(ca, "getsh-client", [], client_auth)
    return Pki(
        ca=_write_cert(directory / "ca.crt", ca[1]),
        other_ca=_write_cert(directory / "other-ca.crt", other[1]),
        server=pair("server", _leaf(ca, "localhost", local, server_auth)),
        client=pair("client", client),
        client_encrypted=pair("client-encrypted", client, KEY_PASSWORD),
        expired=pair("expired", _leaf(ca, "localhost", local, server_auth, expired=True)),
        wrong_host=pair("wrong-host", _leaf(ca, "pacs.example.org", [x509.DNSName("pacs.example.org")],
                                            server_auth)),
        untrusted_client=pair("untrusted-client", _leaf(other, "stranger", [], client_auth)),
        node=pair("node", _leaf(ca, "getsh-node", local, [client_auth, server_auth])),
    )
