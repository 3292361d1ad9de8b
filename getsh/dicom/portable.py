"""The POSIX-only calls of the receive path and of storage, each with a fallback that works anywhere.

The direct receive path writes a buffer-full of fragments with one ``os.writev``, reads the socket
with ``MSG_DONTWAIT`` and is woken through ``select`` on an ``os.pipe``; storage copies with
``os.preadv`` and makes a rename durable with an fsync of its directory. Windows has none of these
(and opens files in text mode unless told ``O_BINARY``). This module is the only place that knows:
it picks each call once, at import, by what the system offers, and the rest of getsh calls it
without asking which OS it runs on.

Fallbacks: a loop of ``os.write`` for ``writev``; a connected socket pair for the wake-up (``select``
on Windows takes sockets only); a socket made non-blocking for ``MSG_DONTWAIT``; ``lseek`` + ``read``
for ``preadv``; a directory fsync skipped where the system refuses it. Files a user names (scripts,
query files) are opened without blocking, so a FIFO or a device is refused instead of hanging.

``GETSH_PORTABLE=fallback`` in the environment (read once, at import) forces every fallback, so the
tests prove them here, where no Windows runner exists (``scripts/test`` runs the receive-path tests
a second time with it set).
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import threading
from collections.abc import Sequence

FORCED = os.environ.get("GETSH_PORTABLE", "").strip().lower() == "fallback"

O_BINARY: int = getattr(os, "O_BINARY", 0)  # for os.open: no newline translation on Windows
_NATIVE_WRITEV = hasattr(os, "writev") and not FORCED
_NATIVE_PREADV = hasattr(os, "preadv") and not FORCED
_NATIVE_COPY_RANGE = hasattr(os, "copy_file_range") and not FORCED
_NATIVE_DIR_FSYNC = os.name == "posix" and not FORCED
_MSG_DONTWAIT: int | None = None if FORCED else getattr(socket, "MSG_DONTWAIT", None)
_NATIVE_PIPE_WAKE = os.name == "posix" and not FORCED  # select() takes pipes only on POSIX
_NO_DIR_FSYNC = {errno.EACCES, errno.EPERM, errno.EINVAL, errno.EBADF, errno.EISDIR, errno.ENOTSUP}

Chunks = Sequence[bytes | bytearray | memoryview]


def describe() -> str:
    """Which calls are native here and which fall back (for diagnostics and the tests)."""
    native = {"writev": _NATIVE_WRITEV, "preadv": _NATIVE_PREADV, "copy_file_range": _NATIVE_COPY_RANGE,
              "directory fsync": _NATIVE_DIR_FSYNC, "MSG_DONTWAIT": _MSG_DONTWAIT is not None,
              "pipe wake-up": _NATIVE_PIPE_WAKE}
    return ", ".join(f"{name} {'native' if on else 'fallback'}" for name, on in native.items())


# --- files ---------------------------------------------------------------------------------------


def writev(fd: int, chunks: Chunks) -> int:
    """Write ``chunks`` in order; the byte count written (a short write is the caller's to continue)."""
    if _NATIVE_WRITEV:
        return os.writev(fd, chunks)
    done = 0
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            n = os.write(fd, view)
            done += n
            view = view[n:]
    return done


def pread_into(fd: int, buffer: memoryview, offset: int) -> int:
    """Read into ``buffer`` from ``offset`` of ``fd``; the byte count (0 at the end of the file).
    The fallback moves the file position: use it on a descriptor of one's own."""
    if _NATIVE_PREADV:
        return os.preadv(fd, [buffer], offset)
    os.lseek(fd, offset, os.SEEK_SET)
    data = os.read(fd, len(buffer))
    buffer[: len(data)] = data
    return len(data)


def copy_file_range(src: int, dst: int, count: int, offset: int) -> int:
    """In-kernel copy of up to ``count`` bytes of ``src`` from ``offset`` to ``dst``'s position;
    OSError(ENOSYS) where the system has none (the caller copies through a buffer then)."""
    if not _NATIVE_COPY_RANGE:
        raise OSError(errno.ENOSYS, "copy_file_range is not available")
    return os.copy_file_range(src, dst, count, offset)


def fsync_directory(path: str) -> None:
    """Make the names just created in ``path`` durable. Where a directory cannot be opened or synced
    (Windows; NTFS journals its metadata anyway) this is skipped; other errors are raised."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        if _NATIVE_DIR_FSYNC or exc.errno not in _NO_DIR_FSYNC:
            raise
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if _NATIVE_DIR_FSYNC or exc.errno not in _NO_DIR_FSYNC:
            raise
    finally:
        os.close(fd)


# --- files a user names ----------------------------------------------------------------------------
_O_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)  # Windows has no FIFO that blocks an open
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OSError):
    """A path that names something other than a file: reading it could block for ever or never end."""


def open_regular(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of a regular file, at most ``limit`` + 1 of them (the caller sees it is too long).

    Opened without blocking (a FIFO's open waits for a writer, a terminal's read for a line) and
    checked with fstat on the open descriptor, so nothing can swap the file between check and read.
    A directory, FIFO, device or socket raises NotRegularFile, whose strerror names what it is.
    """
    fd = os.open(path, os.O_RDONLY | O_BINARY | _O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "something other than a file")
            raise NotRegularFile(errno.EINVAL, f"it is {kind}, not a file", os.fspath(path))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read() if limit is None else handle.read(limit + 1)
    finally:
        os.close(fd)


# --- sockets -------------------------------------------------------------------------------------


class NoWaitSocket:
    """A socket read without ever blocking, written in full.

    Native: ``recv_into`` with ``MSG_DONTWAIT``, the socket's own mode untouched. Fallback: the
    socket is made non-blocking (whoever lent it restores its timeout afterwards) and ``send_all``
    waits for room with ``select`` when the send buffer is full."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._flags = _MSG_DONTWAIT
        if self._flags is None:
            sock.setblocking(False)

    def recv_into(self, buffer: memoryview) -> int | None:
        """Bytes read into ``buffer``; 0 at end of file; None when nothing is there now.
        OSError when the connection failed (reset)."""
        try:
            if self._flags is None:
                return self.sock.recv_into(buffer)
            return self.sock.recv_into(buffer, 0, self._flags)
        except (BlockingIOError, InterruptedError):
            return None

    def send_all(self, data: bytes) -> None:
        if self._flags is not None:
            self.sock.sendall(data)
            return
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view) :]
            except (BlockingIOError, InterruptedError):
                select.select([], [self.sock], [])


def peer_closed(sock: socket.socket) -> bool:
    """True when the peer has closed the connection (end of file is readable now). Consumes nothing,
    so a thread reading the same socket is not disturbed. Raises OSError/ValueError for a socket
    that is itself closed or broken.

    The fallback (no ``MSG_DONTWAIT``) peeks with a blocking ``recv`` after ``select`` saw the socket
    readable: should the other reader take the data in between, the peek waits for the next data or
    the end of the connection. On a TLS socket it peeks below TLS (an ``SSLSocket`` takes no flags): the
    encrypted bytes, or the end of the connection."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        if _MSG_DONTWAIT is None:
            return socket.socket.recv(sock, 1, socket.MSG_PEEK) == b""
        return socket.socket.recv(sock, 1, socket.MSG_PEEK | _MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False


class Waker:
    """Wakes a thread blocked in ``select`` from another thread: include ``fileno()`` among what it
    waits on. A pipe on POSIX; a connected socket pair elsewhere (Windows' ``select`` takes sockets
    only). Once woken it stays readable: every later wait returns at once. Safe to wake after close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._pair: tuple[socket.socket, socket.socket] | None = None
        if _NATIVE_PIPE_WAKE:
            self._read, self._write = os.pipe()
        else:
            self._pair = socket.socketpair()
            self._read, self._write = self._pair[0].fileno(), self._pair[1].fileno()

    def fileno(self) -> int:
        return self._read

    def wake(self) -> None:
        with self._lock:  # never a write to a closed descriptor (its number may be reused by then)
            if self._closed:
                return
            try:
                if self._pair is not None:
                    self._pair[1].send(b"x")
                else:
                    os.write(self._write, b"x")
            except OSError:
                pass  # already woken (full) or going away

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._pair is not None:
                for end in self._pair:
                    end.close()
            else:
                os.close(self._read)
                os.close(self._write)
