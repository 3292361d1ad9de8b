"""One received object on its way to disk: a hidden partial file that only ``commit`` names.

Kept apart from store.py (which decides names, places and statuses) because it is the part the
receive paths drive chunk by chunk: ``write`` through a buffer, ``write_many`` straight to the
descriptor with one ``writev`` (the direct receive path), ``copy_from`` in-kernel. Leaving without
``commit`` removes the partial file; a failure raises StorageError carrying the C-STORE status.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Protocol

from pydicom import Dataset

from getsh.dicom.events import Remark
from getsh.dicom.storage import diskio
from getsh.dicom.storage.bulk import Source, Streamed
from getsh.dicom.storage.checks import Structure, check_descriptor
from getsh.dicom.storage.outcomes import (
    Action,
    ObjectMeta,
    StorageError,
    StorageMode,
    StoredFile,
)


class Destination(Protocol):
    """Where a writer's object goes and how it is named: ``store.Storage``. A protocol, so this module
    does not import the one that uses it."""

    @property
    def mode(self) -> StorageMode: ...

    @property
    def root(self) -> str: ...

    @property
    def fsync(self) -> bool: ...

    def file_meta_bytes(self, meta: ObjectMeta) -> bytes: ...

    def write_error(self, exc: OSError, meta: ObjectMeta, written: int) -> StorageError: ...

    def place(self, partial: str, meta: ObjectMeta, size: int, dataset: Dataset | None,
              remarks: tuple[Remark, ...] = ()) -> StoredFile: ...

    def store_dataset(self, dataset: Dataset, meta: ObjectMeta, remarks: tuple[Remark, ...] = (),
                      bulk: Streamed | None = None) -> StoredFile: ...

    def check(self, meta: ObjectMeta, structure: Structure) -> tuple[Remark, ...]: ...

    def store_received(self, source: Source, meta: ObjectMeta) -> tuple[StoredFile, dict[str, str] | Dataset]: ...

    @property
    def stream_above(self) -> int: ...

    @property
    def max_inflated(self) -> int | None: ...

_BUFFER = 256 * 1024


class ObjectWriter:
    """One object on its way to disk: a partial file that only commit() gives a name. Use as a
    context manager, or call abort(): leaving without commit removes the partial file.
    ``write_many`` goes straight to the file descriptor (one ``writev``); ``write`` and ``file``
    go through a buffered file made on first use."""

    def __init__(self, storage: Destination, meta: ObjectMeta, *, header: bool = True) -> None:
        self.storage, self.meta, self.size = storage, meta, 0
        self.data_offset = 0  # where the data set starts in the file: after the File Meta written here
        self._done = False
        self._failure: StorageError | None = None
        self._buffered: BinaryIO | None = None
        head = storage.file_meta_bytes(meta) if header else b""  # may refuse the object: before any file exists
        try:
            self._fd, self._path = diskio.new_partial(storage.root)
        except OSError as exc:
            raise storage.write_error(exc, meta, 0) from exc
        # Written with the first data (one writev with it on the direct path): a buffered file made for
        # it alone cost an object a 256 KB buffer, a stat, an isatty and a seek.
        self._head = head
        self.data_offset = self.size = len(head)

    @property
    def file(self) -> BinaryIO:
        if self._buffered is None:
            self._buffered = os.fdopen(self._fd, "wb", buffering=_BUFFER, closefd=True)
            if self._head:
                self._buffered.write(self._head)
                self._head = b""
        return self._buffered

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes. A failure raises StorageError (again on later calls) and cleans up."""
        if self._failure:
            raise self._failure
        try:
            self.file.write(data)
        except OSError as exc:
            self._fail(exc)
        self.size += len(data)

    def write_many(self, chunks: list[memoryview] | list[bytes]) -> None:
        """Append several received fragments with one ``writev`` (the direct receive path's way)."""
        if self._failure:
            raise self._failure
        try:
            if self._buffered is not None:
                self._buffered.flush()
            head = self._head
            self.size += diskio.writev_all(self._fd, [head, *chunks] if head else chunks) - len(head)
            self._head = b""
        except OSError as exc:
            self._fail(exc)

    def copy_from(self, path: str | os.PathLike[str], offset: int = 0) -> None:
        """Append a file's bytes from ``offset`` in-kernel (copy_file_range), memory flat."""
        try:
            self.file.flush()
            with open(path, "rb") as src:
                count = os.fstat(src.fileno()).st_size - offset
                diskio.copy_range(src.fileno(), self._fd, offset, count)
                self.file.seek(0, os.SEEK_END)
        except OSError as exc:
            self._fail(exc)
        self.size += count

    def copy_range(self, source: Source, start: int, count: int) -> None:
        """Append ``count`` bytes of a received data set from ``start``: from memory as they are, from
        a file in-kernel. Errors are the caller's (store.py writes through ``file`` too)."""
        view = source.memory()
        if view is not None:
            self.file.write(view[start : start + count])
            return
        self.file.flush()
        diskio.copy_range(source.fp.fileno(), self._fd, source.offset + start, count)
        self.file.seek(0, os.SEEK_END)

    def commit(self, dataset: Dataset | None = None, remarks: tuple[Remark, ...] = ()) -> StoredFile:
        """Close, name and place the object; ``dataset`` (if decoded anyway) saves re-reading names.
        Bytes kept as received are walked first (checks.py): refused, or kept with remarks."""
        if self._failure:
            raise self._failure
        if self._done:
            raise ValueError("object already committed or aborted")
        structure: Structure | None = None
        try:
            if self._head:  # nothing else came: the File Meta alone
                diskio.writev_all(self._fd, [self._head])
                self._head = b""
            if self._buffered is not None:
                self._buffered.flush()
            if self.storage.fsync:
                os.fsync(self._fd)
            if self.storage.mode is StorageMode.BIT_PRESERVING:  # walked before it is closed: no reopening
                structure = check_descriptor(self._fd, self.data_offset, self.size, self.meta.transfer_syntax)
            self._close()
        except OSError as exc:  # e.g. the output directory vanished under it
            self._fail(exc)
        except BaseException:
            self.abort()
            raise
        self._done = True
        if self.storage.mode is StorageMode.NORMAL and dataset is None:
            return self._decode_and_store()
        if structure is not None:
            try:
                remarks = self.storage.check(self.meta, structure)
            except BaseException:
                diskio.remove(self._path)
                raise
        return self.storage.place(self._path, self.meta, self.size, dataset, remarks)

    def _close(self) -> None:
        buffered, fd = self._buffered, self._fd
        self._buffered, self._fd = None, -1
        if buffered is not None:
            buffered.close()
        elif fd >= 0:
            os.close(fd)

    def _decode_and_store(self) -> StoredFile:
        """Raw bytes fed in normal mode: checked, decoded (all but the bulk) and written like getscu -B."""
        try:
            return self.storage.store_received(Source.of_file(self._path, self.data_offset), self.meta)[0]
        finally:
            diskio.remove(self._path)

    def abort(self) -> None:
        """Drop the object: close and remove the partial file. Idempotent."""
        self._done = True
        try:
            self._close()
        except OSError:
            pass  # the buffered tail could not be written either: it is going away
        diskio.remove(self._path)

    def _fail(self, exc: OSError) -> None:
        self.abort()
        self._failure = self.storage.write_error(exc, self.meta, self.size)
        raise self._failure from exc

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._done:
            self.abort()


class Discard(ObjectWriter):
    """storage ignore: count the bytes, keep nothing (getscu --ignore)."""

    def __init__(self, storage: Destination, meta: ObjectMeta) -> None:
        self.storage, self.meta, self.size, self._done, self._failure = storage, meta, 0, False, None
        self._buffered, self._fd, self._path = None, -1, ""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.size += len(data)

    def write_many(self, chunks: list[memoryview] | list[bytes]) -> None:
        self.size += sum(len(c) for c in chunks)

    def copy_from(self, path: str | os.PathLike[str], offset: int = 0) -> None:
        self.size += os.path.getsize(path) - offset

    def commit(self, dataset: Dataset | None = None, remarks: tuple[Remark, ...] = ()) -> StoredFile:
        self._done = True
        return ignored(self.meta, self.size)

    def abort(self) -> None:
        self._done = True


def ignored(meta: ObjectMeta, size: int) -> StoredFile:
    return StoredFile(None, Action.IGNORED, size, meta.sop_class_uid, meta.sop_instance_uid, meta.transfer_syntax)
