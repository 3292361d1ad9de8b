"""The direct receive path's socket I/O, behind five calls: read what is there, wait, send, wake, close.

``DirectGet`` talks only to a ``Transport``, so another connection can carry the same exchange:
the plain TCP socket borrowed from pynetdicom (``TcpTransport``), the TLS socket of an association
over DICOM TLS (``TlsTransport``), one of several connections of a parallel retrieve;
``transport_for`` chooses by the socket.

``TlsTransport`` implements the same calls on the ``ssl.SSLSocket`` made non-blocking (an SSLSocket
refuses ``MSG_DONTWAIT``): ``read_into`` treats ``SSLWantReadError`` (a record only half arrived)
like "nothing there" (None) and a TLS close like end of file (0); ``wait`` first asks
``SSLSocket.pending()``, because decrypted bytes already taken off the socket sit in the TLS buffer
where ``select`` cannot see them; ``send`` retries on ``SSLWantWriteError``/``SSLWantReadError``
after waiting for the socket. An SSL object must not be read and written by two threads at once
(a C-CANCEL is sent from the shell's thread while the reader reads): one lock serialises every call
into it; none of them blocks while holding it but a send waiting for room in the socket's buffer.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from getsh.dicom.portable import NoWaitSocket, Waker


class Transport(Protocol):
    """One connection to the peer, as the direct path uses it (one reading thread; any thread sends)."""

    def read_into(self, buffer: memoryview) -> int | None:
        """Bytes read into ``buffer`` without blocking; 0 at end of file; None when nothing is there.
        Raises OSError when the connection failed."""
        ...

    def wait(self, timeout: float | None) -> bool:
        """Block until there is something to read or ``wake`` was called (True), or ``timeout``
        seconds passed (False; None waits for ever)."""
        ...

    def send(self, data: bytes) -> None:
        """Send all of ``data``, whole messages never interleaved (from any thread). Raises OSError
        when the connection failed or the transport is closed."""
        ...

    def wake(self) -> None:
        """Make ``wait`` return now and every later ``wait`` at once (from any thread; also after close)."""
        ...

    def close(self) -> None:
        """Release what the transport made; the socket itself belongs to whoever lent it."""
        ...


class TcpTransport:
    """A plain TCP socket (borrowed from pynetdicom: see handover.py). Use as a context manager."""

    def __init__(self, sock: socket.socket) -> None:
        self._socket = NoWaitSocket(sock)
        self.read_into: Callable[[memoryview], int | None] = self._socket.recv_into  # hot path: no wrapper
        self._sock = sock
        self._waker = Waker()
        self._waiting = [sock.fileno(), self._waker.fileno()]
        self._send_lock = threading.Lock()
        self._closed = False

    def wait(self, timeout: float | None) -> bool:
        readable, _, _ = select.select(self._waiting, [], [], timeout)
        return bool(readable)

    def send(self, data: bytes) -> None:
        with self._send_lock:
            if self._closed:  # the socket went back to its owner: writing now would corrupt its stream
                raise OSError("the direct receive path has given the connection back")
            self._socket.send_all(data)

    def wake(self) -> None:
        self._waker.wake()

    def close(self) -> None:
        with self._send_lock:
            self._closed = True
        self._waker.close()

    def __enter__(self) -> TcpTransport:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


class TlsTransport:
    """A TLS socket (an association over DICOM TLS, borrowed like a plain one). Use as a context manager;
    whoever lent the socket restores its timeout (and with it, its blocking mode) afterwards."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._waker = Waker()
        self._waiting = [sock.fileno(), self._waker.fileno()]
        self._lock = threading.Lock()  # every call into the SSL object: it is not safe across threads
        self._closed = False

    def read_into(self, buffer: memoryview) -> int | None:
        """As many whole records as are there, up to the buffer's size (one ``recv_into`` gives one record)."""
        total, size = 0, len(buffer)
        with self._lock:
            while total < size:
                try:
                    got = self._sock.recv_into(buffer[total:])
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):  # closed, cleanly or not: end of file
                    got = 0
                if not got:
                    return total or 0
                total += got
        return total or None

    def wait(self, timeout: float | None) -> bool:
        with self._lock:
            if self._sock.pending():
                return True
        readable, _, _ = select.select(self._waiting, [], [], timeout)
        return bool(readable)

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        with self._lock:
            if self._closed:  # the socket went back to its owner: writing now would corrupt its stream
                raise OSError("the direct receive path has given the connection back")
            while view:
                try:
                    view = view[self._sock.send(view):]
                except ssl.SSLWantWriteError:
                    select.select([], [self._sock], [])
                except ssl.SSLWantReadError:
                    select.select([self._sock], [], [])

    def wake(self) -> None:
        self._waker.wake()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._waker.close()

    def __enter__(self) -> TlsTransport:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def transport_for(sock: socket.socket) -> TcpTransport | TlsTransport:
    """The transport for a borrowed socket: TLS when it is an SSLSocket."""
    return TlsTransport(sock) if isinstance(sock, ssl.SSLSocket) else TcpTransport(sock)
