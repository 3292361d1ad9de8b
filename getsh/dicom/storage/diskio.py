"""Low-level file operations for store.py: File Meta bytes, partial files, no-replace links, copies.

Kept apart so store.py reads as policy (names, outcomes, statuses) and this as mechanism, each
piece small enough to test on its own. Linux first (copy_file_range, writev, /proc); the calls
other systems lack go through dicom/portable.py, which falls back where they are missing.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import secrets
import struct
from collections.abc import Sequence

from getsh.dicom import portable

PARTIAL_PREFIX, PARTIAL_SUFFIX = ".getsh-", ".partial"  # hidden: no sanitised final name starts with '.'
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}
_COPY_CHUNK = 1024 * 1024
IOV_MAX = 1024  # buffers one writev takes (POSIX's minimum is 16; Linux and macOS: 1024)


def _meta_element(elem: int, vr: bytes, value: bytes) -> bytes:
    if len(value) > 0xFFFE:
        raise ValueError(f"a {len(value):,}-byte value does not fit in File Meta Information")
    if vr == b"OB":
        return struct.pack("<HH2sHI", 2, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 2, elem, vr, len(value)) + value


def _meta_ui(elem: int, text: str) -> bytes:
    raw = str(text).rstrip("\0 ").encode("ascii", "replace")
    return _meta_element(elem, b"UI", raw + b"\0" * (len(raw) % 2))


@functools.lru_cache(maxsize=256)
def _meta_class(sop_class_uid: str) -> bytes:
    return _meta_element(0x0001, b"OB", b"\x00\x01") + _meta_ui(0x0002, sop_class_uid)


@functools.lru_cache(maxsize=256)
def _meta_tail(transfer_syntax: str, uid: str, version: str) -> bytes:
    sh = version.encode("ascii", "replace")
    return (_meta_ui(0x0010, transfer_syntax) + _meta_ui(0x0012, uid)
            + _meta_element(0x0013, b"SH", sh + b" " * (len(sh) % 2)))


def file_meta_bytes(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, uid: str, version: str) -> bytes:
    """Preamble, ``DICM`` and File Meta Information (Explicit VR Little Endian, PS3.10 7.1),
    encoded by hand: it is on the path of every object, where pydicom would cost ~100 µs; only
    the SOP Instance UID changes from one object to the next, the rest is cached.
    Raises ValueError for a value that cannot be encoded (a UID over 65,534 bytes)."""
    body = b"".join((_meta_class(str(sop_class_uid)), _meta_ui(0x0003, sop_instance_uid),
                     _meta_tail(str(transfer_syntax), str(uid), str(version))))
    return b"\0" * 128 + b"DICM" + _meta_element(0x0000, b"UL", struct.pack("<I", len(body))) + body


def dataset_offset(path: str | os.PathLike[str]) -> int:
    """Where the data set starts in a received file: after preamble and File Meta when present
    (pynetdicom's dataset_path has them), else 0 (a bare data set)."""
    with open(path, "rb") as fp:
        return offset_in(fp.read(144))


def offset_in(head: bytes) -> int:
    """``dataset_offset`` for a file's first (at least 144) bytes already read."""
    if len(head) < 144 or head[128:132] != b"DICM":
        return 0
    if head[132:140] != b"\x02\x00\x00\x00UL\x04\x00":
        raise ValueError("its File Meta Information has no group length")
    return 144 + int(struct.unpack_from("<I", head, 140)[0])


_PARTIALS = itertools.count(1)
_TAG = [secrets.token_hex(6)]  # this process's: a forked child makes its own


def _new_tag() -> None:
    _TAG[0] = secrets.token_hex(6)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_tag)


def _partial_name() -> str:
    """A name no other process is likely to take (a random tag of this process's, a counter): a
    random one each time cost a getrandom call an object, one more place for a parallel retrieve's
    threads to hand the interpreter lock over. O_EXCL decides in the end."""
    return f"{PARTIAL_PREFIX}{_TAG[0]}-{next(_PARTIALS)}{PARTIAL_SUFFIX}"


def new_partial(directory: str) -> tuple[int, str]:
    """Create a fresh hidden partial file in ``directory``: (fd, path), mode 0666 & ~umask, open for
    reading too (the bit-preserving check reads it back through the same descriptor)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | portable.O_BINARY
    while True:
        path = os.path.join(directory, _partial_name())
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue


def copy_to_partial(source: str, directory: str) -> str:
    """Copy ``source`` to a new partial file in ``directory`` (another file system), remove
    ``source``, return the new path; on failure the copy is removed and ``source`` kept."""
    fd, path = new_partial(directory)
    try:
        with open(source, "rb") as src:
            copy_range(src.fileno(), fd, 0, os.fstat(src.fileno()).st_size)
    except BaseException:
        os.close(fd)
        remove(path)
        raise
    os.close(fd)
    remove(source)
    return path


def link_new(source: str, target: str) -> bool:
    """Give ``source`` the name ``target`` only if that name is free (race-free: link fails on an
    existing name), then drop the ``source`` name. False if taken. On file systems without hard
    links: reserve the name with O_EXCL, then rename over the (empty) reservation."""
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        os.replace(source, target)
        return True
    os.unlink(source)
    return True


def writev_all(fd: int, chunks: Sequence[bytes | bytearray | memoryview]) -> int:
    """Write every chunk, in order, with as few ``writev`` calls as the kernel allows; the byte count.
    A short write (a signal, a nearly full disk) continues where it stopped; a full disk raises. More
    chunks than one call may take (IOV_MAX, 1024 on Linux and macOS) go in groups."""
    if len(chunks) > IOV_MAX:
        return sum(writev_all(fd, chunks[i : i + IOV_MAX]) for i in range(0, len(chunks), IOV_MAX))
    total = sum(len(c) for c in chunks)
    done = portable.writev(fd, chunks)
    if done == total:
        return total
    rest = [memoryview(c) for c in chunks]
    while done < total:
        skip = done - (total - sum(len(c) for c in rest))
        while skip >= len(rest[0]):
            skip -= len(rest.pop(0))
        rest[0] = rest[0][skip:]
        done += portable.writev(fd, rest)
    return total


def copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """Copy ``count`` bytes of ``src`` from ``offset`` to ``dst``'s position: in-kernel
    (copy_file_range) where possible, else through one reused 1 MiB buffer. Memory stays flat."""
    fast = True
    buffer: bytearray | None = None
    while count > 0:
        if fast:
            try:
                n = portable.copy_file_range(src, dst, min(count, 1 << 30), offset)
            except OSError as exc:
                if exc.errno not in _NO_COPY_RANGE:
                    raise
                fast = False
                continue
        else:
            buffer = buffer or bytearray(_COPY_CHUNK)
            n = portable.pread_into(src, memoryview(buffer)[: min(count, _COPY_CHUNK)], offset)
            view = memoryview(buffer)[:n]
            while view:
                view = view[os.write(dst, view) :]
        if n == 0:
            raise OSError(errno.EIO, "the received file ended early")
        offset += n
        count -= n


def remove(path: str) -> None:
    """Unlink if present."""
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable (where the system can: see portable.fsync_directory)."""
    portable.fsync_directory(path)


def current_umask() -> int:
    """The umask without changing it (os.umask sets it, racing other threads)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def association_implementation_uid() -> str:
    """The Implementation Class UID getsh's associations announce (pynetdicom's), imported late:
    pynetdicom costs ~0.2 s of start-up."""
    from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID

    return str(PYNETDICOM_IMPLEMENTATION_UID)
