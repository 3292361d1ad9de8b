"""The accepting side of DICOM over TLS, shared by the demo archive and getsh's C-MOVE receiver.

pynetdicom's threaded server shakes hands in ``get_request``, on the thread that accepts every
connection: one slow or silent client holds up all the others, and a failed handshake is printed as a
traceback. ``TlsLaterServer`` accepts the bare socket and shakes hands on the connection's own thread,
before any association exists; a failure ends only that connection and goes to ``on_failure`` (the
receiver says it in one line, ``refusal_words``; the demo archive logs it at debug level).

Before the handshake it peeks at the first byte: when the handshake then fails and that byte was 0x01, an
A-ASSOCIATE-RQ's, the peer spoke plain DICOM to a TLS port (OpenSSL would only say "wrong version
number"; it still answers with its alert, which tells a getsh on the other side what happened); a
connection closed before any byte (a port probe) is closed quietly.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from pynetdicom.transport import ThreadedAssociationServer

log = logging.getLogger("getsh.tls")

HANDSHAKE_LIMIT = 30.0  # seconds a peer has to say something and complete the TLS handshake
_A_ASSOCIATE_RQ = b"\x01"  # the first byte of plain DICOM's first PDU


class PlainDicom(OSError):
    """The peer sent an A-ASSOCIATE-RQ in plain TCP to a port that speaks TLS."""


class _Probe(OSError):
    """The peer closed the connection before sending anything (a port check)."""


Failure = Callable[[str, OSError], None]  # the peer's address, why its connection ended


class TlsLaterServer(ThreadedAssociationServer):
    """pynetdicom's threaded server with the TLS handshake on the connection's thread (module docstring).
    ``handshake_limit`` and ``on_failure`` may be set once it is made, before it serves."""

    handshake_limit: float = HANDSHAKE_LIMIT
    on_failure: Failure | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: set[socket.socket] = set()  # connections still shaking hands: closed by server_close
        self._pending_lock = threading.Lock()
        self._closing = False

    @property
    def handshaking(self) -> int:
        """Connections accepted whose handshake (and its failure's report) is not over yet."""
        with self._pending_lock:
            return len(self._pending)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        assert self.socket is not None
        return self.socket.accept()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is not None:
            request = self._shake(request, client_address)
            if request is None:
                return
        super().process_request_thread(request, client_address)

    def _shake(self, raw: socket.socket, address: Any) -> ssl.SSLSocket | None:
        """The connection over TLS, or None when it failed (said through ``on_failure``, and closed)."""
        assert self.ssl_context is not None
        sock: socket.socket = raw
        with self._pending_lock:
            self._pending.add(raw)
        try:
            raw.settimeout(self.handshake_limit)
            first = raw.recv(1, socket.MSG_PEEK)
            if not first:
                raise _Probe("closed before sending anything")
            sock = tls = self.ssl_context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            try:
                tls.do_handshake()
            except OSError as exc:
                if first == _A_ASSOCIATE_RQ:
                    raise PlainDicom(f"an A-ASSOCIATE-RQ in plain TCP ({getattr(exc, 'reason', '') or exc})") from exc
                raise
            tls.settimeout(None)
            return tls
        except (OSError, ValueError) as exc:
            self._failed(str(address[0]) if isinstance(address, tuple) else str(address), exc)
            self.shutdown_request(sock)
            return None
        finally:
            with self._pending_lock:
                self._pending.discard(raw)

    def _failed(self, address: str, error: OSError | ValueError) -> None:
        log.debug("TLS with %s failed: %s", address, error)
        if self._closing or isinstance(error, _Probe) or self.on_failure is None:
            return
        self.on_failure(address, error if isinstance(error, OSError) else OSError(str(error)))

    def server_close(self) -> None:
        """Close the socket, and the connections still shaking hands (a silent peer does not hold up a stop)."""
        self._closing = True
        with self._pending_lock:
            pending = list(self._pending)
        for sock in pending:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


# --- why a peer's TLS connection was refused, in the receiver's words ---------------------------------
_INVALID_PURPOSE, _EXPIRED = 26, 10  # X509_V_ERR_INVALID_PURPOSE, X509_V_ERR_CERT_HAS_EXPIRED
_OUR_CERTIFICATE = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN", "UNSUPPORTED_CERTIFICATE",
                    "DECRYPT_ERROR", "CERTIFICATE_EXPIRED", "CERTIFICATE_REVOKED", "ACCESS_DENIED")
_NOTHING_SHARED = ("NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE", "UNSUPPORTED_PROTOCOL", "PROTOCOL_VERSION",
                   "INSUFFICIENT_SECURITY", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW")


def refusal_words(error: OSError, profile: str, limit: float) -> str:
    """Why the receiver refused a connection over TLS, and what to do, in one line (the peer is the archive
    that opens a C-MOVE's association; ``profile``: tls-profile; ``limit``: the handshake's, in seconds)."""
    reason = str(getattr(error, "reason", "") or "").upper()
    if isinstance(error, PlainDicom):
        return ("it spoke plain DICOM (an A-ASSOCIATE-RQ) to our TLS port: configure the archive to use TLS for "
                "getsh, or set listen-tls off")
    if isinstance(error, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in reason:
        words = str(getattr(error, "verify_message", "") or reason.lower() or error)
        if getattr(error, "verify_code", 0) == _INVALID_PURPOSE:
            return (f"the archive's certificate is not one a client may use ({words}): the archive needs a "
                    "certificate that allows TLS Web Client Authentication for the associations it opens")
        if getattr(error, "verify_code", 0) == _EXPIRED:
            return f"the archive's certificate has expired ({words}): the archive's admin must renew it"
        return f"the archive's certificate is not trusted ({words}): set tls-ca to the CA that signed it"
    if "PEER_DID_NOT_RETURN_A_CERTIFICATE" in reason or "CERTIFICATE_REQUIRED" in reason:
        return ("the archive sent no certificate, and the receiver requires one (tls-verify require): configure the "
                "archive's certificate for TLS, or set tls-verify ignore")
    if any(word in reason for word in _OUR_CERTIFICATE):
        return (f"the archive does not accept our certificate ({reason.lower()}): it must trust the CA that signed "
                "tls-cert, and the certificate must allow use by a server (TLS Web Server Authentication)")
    if any(word in reason for word in _NOTHING_SHARED):
        return (f"no TLS version or cipher in common with the archive under the {profile} profile ({reason.lower()}):"
                " ask its admin for BCP 195, or set tls-profile bcp195 (older ciphers too)")
    if isinstance(error, TimeoutError):
        return f"no TLS handshake within {limit:g} s: the archive may not speak TLS to getsh (set listen-tls off)"
    if isinstance(error, (ssl.SSLEOFError, ConnectionError)) or "UNEXPECTED_EOF" in reason:
        return ("the archive closed the connection during the TLS handshake: it may not trust our certificate "
                "(tls-cert), or it may want plain TCP (set listen-tls off)")
    return f"the TLS handshake failed: {reason.lower() or error}; run with -d for the protocol log"
