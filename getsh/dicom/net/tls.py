"""DICOM over TLS (PS3.15 B.9): the ssl contexts of an association, of the demo archive and of the C-MOVE
receiver, the security profiles in DCMTK's words, the private key's password from a file or the
environment (never from a command line), and what a TLS connection negotiated, for ``status`` and the
toolbar. (The accepting side's handshake, and a refusal in words: tls_server.py.)

The handshake runs while pynetdicom connects (``AssociationSocket.connect`` wraps the socket with the
context given as ``tls_args``). Two things pynetdicom does not do are done here, by the socket class
of ``TlsContext``: the handshake gets a limit of its own (the ACSE timeout: pynetdicom would give it the
connect timeout, which is unlimited by default, as getscu's), and the first TLS failure of the
connection — in the handshake or, under TLS 1.3, the peer's alert that follows it (a client
certificate it wanted or does not trust) — is kept on the context, where failures.py reads the cause.
"""

from __future__ import annotations

import os
import ssl
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from getsh.errors import UsageError

# DCMTK's profiles (dcmtls/docs/ciphers.txt) as (lowest TLS version, highest or None, TLS 1.2 ciphers);
# TLS 1.3's own suites are all BCP 195 ones, and OpenSSL offers them under every profile that allows 1.3.
_GCM = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"
PROFILES: dict[str, tuple[ssl.TLSVersion, ssl.TLSVersion | None, str]] = {
    "bcp195-nd": (ssl.TLSVersion.TLSv1_2, None, _GCM),
    "bcp195": (ssl.TLSVersion.TLSv1, None, f"{_GCM}:AES128-SHA:DES-CBC3-SHA"),
    "bcp195-ex": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2,
                  f"{_GCM}:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"),
}
NO_PASSWORD = "none"


@dataclass(frozen=True)
class TlsOptions:
    """What an association asks of TLS (part of the request: a change means re-associating).
    ``mode``: on (with our key and certificate) or anonymous (without); ``trust``: a CA file or
    directory ('' : the system's); ``verify``: require or ignore; ``password``: none, file:PATH, env:NAME."""

    mode: str
    key: str = ""
    cert: str = ""
    trust: str = ""
    verify: str = "require"
    password: str = NO_PASSWORD
    profile: str = "bcp195-nd"


class NoPassword(Exception):
    """The private key is encrypted and no password source was given."""


def password_words(source: str) -> str:
    """Where the password comes from, in words (never the password)."""
    kind, _, rest = source.partition(":")
    return {"file": f"the file {rest}", "env": f"the environment variable {rest}"}.get(kind, "no password")


def read_password(source: str) -> Callable[[], str]:
    """What OpenSSL calls when the key is encrypted (and only then)."""

    def password() -> str:
        kind, _, rest = source.partition(":")
        if kind == "file":
            try:
                with open(rest, encoding="utf-8") as file:
                    return file.readline().rstrip("\r\n")
            except OSError as exc:
                raise UsageError(f"cannot read the key's password from the file {rest}: {exc.strerror}",
                                 "+ps FILE names a readable file holding the password (set tls-password file:PATH)"
                                 ) from None
        if kind == "env":
            value = os.environ.get(rest)
            if value is None:
                raise UsageError(f"the environment variable {rest}, which should hold the key's password, is not set",
                                 f"export {rest}=… before starting getsh, or give a file: +ps FILE")
            return value
        raise NoPassword

    return password


class _TlsSocket(ssl.SSLSocket):
    """An SSLSocket whose handshake has the context's limit, and whose first TLS failure is kept."""

    def do_handshake(self, block: bool = False) -> None:
        context = self.context
        before = self.gettimeout()
        if isinstance(context, TlsContext):
            self.settimeout(context.handshake_timeout)
            context.shaking = True
        try:
            super().do_handshake(block)
        except OSError as exc:
            if isinstance(context, TlsContext):
                context.fail(exc, "handshake", self.cipher() is not None)
            raise
        finally:
            if isinstance(context, TlsContext):
                context.shaking = False
            self.settimeout(before)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        try:
            return super().recv(buflen, flags)
        except ssl.SSLError as exc:  # under TLS 1.3, the peer's verdict on our certificate comes here
            context = self.context
            if isinstance(context, TlsContext):
                context.fail(exc, "after", True)
            raise


class TlsContext(ssl.SSLContext):
    """A client context that times its handshakes and keeps the first failure (see the module docstring)."""

    sslsocket_class = _TlsSocket
    handshake_timeout: float | None = None
    failure: OSError | None = None
    phase = ""  # handshake / after
    agreed = False  # a cipher was agreed before it failed (TLS 1.2: the handshake got past the hello)
    shaking = False  # a handshake is under way (pynetdicom's ACSE timer, as long and started first, may end first)

    def fail(self, error: OSError, phase: str, agreed: bool) -> None:
        if self.failure is None:
            self.failure, self.phase, self.agreed = error, phase, agreed

    def settled_failure(self) -> OSError | None:
        """The failure to name once the association failed: one that was kept, or a handshake still
        under way (the association gave up waiting for it: a handshake that timed out)."""
        if self.failure is None and self.shaking:
            self.fail(TimeoutError("the TLS handshake did not end"), "handshake", False)
        return self.failure


def _profile(context: ssl.SSLContext, profile: str) -> None:
    lowest, highest, ciphers = PROFILES[profile]
    with warnings.catch_warnings():  # TLS 1.0 is deprecated: +px asks for it knowingly
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = lowest
        if highest is not None:
            context.maximum_version = highest
    context.set_ciphers(ciphers)


def _load_chain(context: ssl.SSLContext, key: str, cert: str, password: str) -> None:
    """Our certificate and key, with the one-line reason when they cannot be used."""
    for what, path in (("key", key), ("certificate", cert)):
        if not os.path.isfile(path):
            raise UsageError(f"TLS: the {what} file {path!r} does not exist",
                             "+tls KEY CERT names the private key and certificate files (PEM)")
    try:
        context.load_cert_chain(cert, key, password=read_password(password))
    except NoPassword:
        raise UsageError(f"TLS: the private key {key} is encrypted and no password was given",
                         "give it from a file or the environment: +ps FILE or +pw VARIABLE "
                         "(set tls-password file:PATH or env:NAME)") from None
    except ssl.SSLError as exc:
        reason = str(exc.reason or exc).upper()  # a wrong password: BAD_DECRYPT, or only "[SSL] PEM lib"
        if "MISMATCH" in reason:
            raise UsageError(f"TLS: the private key {key} does not belong to the certificate {cert}",
                             "give the key that was made with that certificate") from None
        if password != NO_PASSWORD and ("DECRYPT" in reason or "PEM" in reason):
            raise UsageError(f"TLS: cannot decrypt the private key {key} with the password from "
                             f"{password_words(password)}", "check the password (tls-password)") from None
        raise UsageError(f"TLS: cannot use {cert} and {key}: {exc.reason or exc}",
                         "both must be PEM files: the certificate and its private key") from None


def _trust(context: ssl.SSLContext, trust: str) -> None:
    if not trust:
        context.load_default_certs()
        return
    if not os.path.exists(trust):
        raise UsageError(f"TLS: the trusted certificates {trust!r} do not exist",
                         "+cf FILE names a PEM file of CA certificates, +cd DIR a directory of them")
    try:
        if os.path.isdir(trust):
            context.load_verify_locations(capath=trust)
        else:
            context.load_verify_locations(cafile=trust)
    except ssl.SSLError as exc:
        raise UsageError(f"TLS: cannot read trusted certificates from {trust}: {exc.reason or exc}",
                         "+cf FILE names a PEM file of CA certificates") from None


def client_context(options: TlsOptions, handshake_timeout: float | None) -> TlsContext:
    """The context for one association; UsageError (one line, the fix) when a file cannot be used."""
    context = TlsContext(ssl.PROTOCOL_TLS_CLIENT)
    context.handshake_timeout = handshake_timeout
    _profile(context, options.profile)
    if options.verify == "require":
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        _trust(context, options.trust)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.mode == "on":
        if not options.key or not options.cert:
            raise UsageError("TLS: tls on needs our private key and certificate",
                             "+tls KEY CERT (set tls-key FILE, set tls-cert FILE); without them: set tls anonymous")
        _load_chain(context, options.key, options.cert, options.password)
    return context


def server_context(key: str, cert: str, *, trust: str = "", require_client_cert: bool = False,
                   password: str = NO_PASSWORD, profile: str = "bcp195-nd") -> ssl.SSLContext:
    """The demo archive's context: our certificate, the profile, and clients' certificates checked
    against ``trust`` (required with ``require_client_cert``, else checked when sent)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _profile(context, profile)
    _load_chain(context, key, cert, password)
    if trust:
        _trust(context, trust)
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    elif require_client_cert:
        raise UsageError("serve: --require-client-cert needs the CA that signs the clients' certificates",
                         "add +cf CA.pem")
    return context


def receiver_context(options: TlsOptions) -> ssl.SSLContext:
    """getsh's C-MOVE receiver over TLS (listen-tls on): our key and certificate (tls-key, tls-cert), the
    profile, and under tls-verify require the archive's certificate verified against tls-ca, which must be
    given (the system's CAs would let any holder of a public certificate send to us)."""
    if not options.key or not options.cert:
        raise UsageError("listen-tls on: the receiver needs our private key and certificate to listen over TLS",
                         "set tls-key FILE and tls-cert FILE (+tls KEY CERT), or set listen-tls off")
    if options.verify == "require" and not options.trust:
        raise UsageError("listen-tls on: the receiver verifies the archive's certificate against tls-ca, "
                         "and tls-ca is not set", "set tls-ca CA.pem (the CA that signed the archive's "
                         "certificate), or set tls-verify ignore to accept any certificate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _profile(context, options.profile)
    _load_chain(context, options.key, options.cert, options.password)
    if options.verify == "require":
        _trust(context, options.trust)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
          "localityName": "L", "stateOrProvinceName": "ST", "emailAddress": "emailAddress"}


def subject_words(cert: dict[str, Any]) -> str:
    """A certificate's subject as ``CN=…, O=…`` (the peer's words: the caller shows them literally)."""
    parts = [f"{_SHORT.get(name, name)}={value}" for rdn in cert.get("subject", ()) for name, value in rdn]
    return ", ".join(parts)


def describe(sock: Any) -> str:
    """What a TLS connection negotiated: version, cipher, the peer certificate's subject ('' if not TLS)."""
    if not isinstance(sock, ssl.SSLSocket):
        return ""
    try:
        version, cipher = sock.version() or "TLS", (sock.cipher() or ("?",))[0]
        cert = sock.getpeercert()
    except (OSError, ValueError):
        return ""
    peer = f"peer {subject_words(cert)}" if cert else "peer certificate not verified (-ic)"
    return f"{version}, {cipher}, {peer}"
