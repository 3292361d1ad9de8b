"""Where each received object's data set goes, per storage mode: the direct receive path's sinks
(direct_get.py feeds them) and ``store_event``, pynetdicom's path (its EVT_C_STORE), so that both
paths refuse, check and name the same bytes the same way (storage/checks.py, ``Storage.admit``).

Bit-preserving and ignore stream the fragments as they arrive (one ``writev`` per buffer-full,
the File Meta in the same call as the first fragment; memory stays flat whatever the size);
normal mode gathers the data set once (in memory, or in a spool file past ``stream-above``), walks
it, decodes all but its bulk elements as pynetdicom would for ``event.dataset`` and writes it like
getscu -B with the bulk copied from where it is (storage/normal.py; what does not decode is
refused with 0xC210, one line, never a traceback). A request without UIDs is refused (0xC000) once
its data set has been read. A storage failure part-way does not stop the receiving: the rest of the
data set is read and dropped, and ``finish`` answers with the failure's C-STORE status.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import Dataset

from getsh.dicom.storage.bulk import Source, Spool
from getsh.dicom.storage.diskio import dataset_offset
from getsh.dicom.storage.outcomes import (
    STATUS_PROCESSING_FAILURE,
    ObjectMeta,
    StorageError,
    StorageMode,
    StoredFile,
)
from getsh.dicom.storage.store import Storage
from getsh.dicom.storage.writer import ObjectWriter

# What a sink reports when it is done: the stored file and its header values (or the decoded data
# set to take them from), or the error that refused it. Returns the C-STORE status to answer with.
Report = Callable[[ObjectMeta, "StoredFile | Exception", "dict[str, str] | Dataset | None"], int]


class StreamSink:
    """Bit-preserving or ignore: fragments go straight to the partial file (or are counted)."""

    def __init__(self, storage: Storage, meta: ObjectMeta, report: Report) -> None:
        self.meta, self.report = meta, report
        self.failure: StorageError | None = None
        self.header: bytes | None = None
        try:
            if storage.mode is StorageMode.IGNORE:
                self.writer: ObjectWriter | None = storage.open_object(meta)
            else:
                self.header = storage.file_meta_bytes(meta)
                self.writer = ObjectWriter(storage, meta, header=False)
                self.writer.data_offset = len(self.header)  # written with the first fragment
        except StorageError as error:
            self.failure, self.writer = error, None

    def write_many(self, chunks: list[memoryview]) -> None:
        if self.writer is None:
            return
        if self.header is not None:
            chunks = [memoryview(self.header), *chunks]
            self.header = None
        try:
            self.writer.write_many(chunks)
        except StorageError as error:  # the writer has removed its partial file
            self.failure, self.writer = error, None

    def finish(self) -> int:
        if self.writer is not None and self.header is not None:  # an empty data set
            self.write_many([])
        if self.writer is None:
            failure = self.failure or StorageError("not stored", dimse_status=STATUS_PROCESSING_FAILURE)
            return self.report(self.meta, failure, None)
        try:
            stored = self.writer.commit()
        except Exception as error:  # StorageError, or anything else: answered, as on pynetdicom's path
            return self.report(self.meta, error, None)
        finally:
            self.writer = None
        return self.report(self.meta, stored, None)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


class DecodeSink:
    """Normal mode: the data set is gathered where it can stay whole once (in memory, or past the
    storage's ``stream_above`` in a spool file), then checked, decoded but for its bulk, and written
    like getscu -B with the bulk copied from there (storage/normal.py)."""

    def __init__(self, storage: Storage, meta: ObjectMeta, report: Report) -> None:
        self.storage, self.meta, self.report = storage, meta, report
        self.memory = BytesIO()
        self.spool: Spool | None = None
        self.failure: StorageError | None = None

    def write_many(self, chunks: list[memoryview]) -> None:
        if self.failure is not None:
            return
        try:
            if self.spool is not None:
                self.spool.write_many(chunks)
                return
            for chunk in chunks:
                self.memory.write(chunk)
            if self.memory.tell() > self.storage.stream_above:  # from now on the bytes go to disk
                self.spool = Spool(self.storage.root)
                with self.memory.getbuffer() as view:
                    self.spool.write_many([view])
                self.memory = BytesIO()
        except OSError as exc:
            size = self.spool.size if self.spool is not None else self.memory.tell()
            self.failure = self.storage.write_error(exc, self.meta, size)
            self.abort()

    def finish(self) -> int:
        if self.failure is not None:
            return self.report(self.meta, self.failure, None)
        spool, self.spool = self.spool, None
        memory, self.memory = self.memory, BytesIO()
        try:
            source = spool.source() if spool is not None else Source(memory, memory.tell())
            stored, header = self.storage.store_received(source, self.meta)
        except Exception as error:  # StorageError, or anything else: answered, as on pynetdicom's path
            return self.report(self.meta, error, None)
        finally:
            if spool is not None:
                spool.drop()
        return self.report(self.meta, stored, header)

    def abort(self) -> None:
        self.memory = BytesIO()
        spool, self.spool = self.spool, None
        if spool is not None:
            spool.drop()


class RefusedSink:
    """A request refused before its data set arrived: the data set is read and dropped, then answered."""

    def __init__(self, meta: ObjectMeta, report: Report, error: StorageError) -> None:
        self.meta, self.report, self.error = meta, report, error

    def write_many(self, chunks: list[memoryview]) -> None:
        pass

    def finish(self) -> int:
        return self.report(self.meta, self.error, None)

    def abort(self) -> None:
        pass


def make_sink(storage: Storage, meta: ObjectMeta, report: Report) -> StreamSink | DecodeSink | RefusedSink:
    """The sink for one C-STORE-RQ's data set. Its UIDs are taken as pynetdicom takes them (a backslash
    makes a UI value multi-valued: pynetdicom keeps the first), so both paths name an object alike."""
    meta = replace(meta, sop_class_uid=meta.sop_class_uid.split("\\")[0],
                   sop_instance_uid=meta.sop_instance_uid.split("\\")[0])
    try:
        storage.admit(meta)
    except StorageError as error:
        return RefusedSink(meta, report, error)
    if storage.mode is StorageMode.NORMAL:
        return DecodeSink(storage, meta, report)
    return StreamSink(storage, meta, report)


Outcome = tuple[ObjectMeta, "StoredFile | Exception", "dict[str, str] | Dataset | None"]


def store_event(storage: Storage, event: Any) -> Outcome:
    """pynetdicom's receive path: one EVT_C_STORE stored as the direct path stores the same bytes.
    (ObjectMeta, the stored file or the error that refused it, the table's values if at hand)."""
    request = event.request
    meta = ObjectMeta(_text(request.AffectedSOPClassUID), _text(request.AffectedSOPInstanceUID),
                      str(event.context.transfer_syntax))
    try:
        storage.admit(meta)
        if storage.mode is StorageMode.NORMAL:  # from pynetdicom's spool file, the bulk copied in-kernel
            path = str(event.dataset_path)
            stored, header = storage.store_received(Source.of_file(path, dataset_offset(path)), meta)
            return meta, stored, header
        return meta, storage.store_file(event.dataset_path, meta, move=True), None
    except Exception as error:  # StorageError, or anything else: answered with a status, as on the direct path
        return meta, error, None
    finally:
        # pynetdicom's spool file (chunked receive, every mode): its C-GET path never removes it, so
        # it is ours; renamed into place it is gone already, read, refused or ignored it goes now.
        with suppress(Exception):
            Path(event.dataset_path).unlink(missing_ok=True)


def _text(uid: object) -> str:
    """A request's UID as the direct path reads it: pynetdicom makes an empty one None."""
    return "" if uid is None else str(uid)
