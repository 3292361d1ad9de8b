"""Where the direct receive path (direct_get.py) puts each object's data set, per storage mode.

Bit-preserving and ignore stream the fragments as they arrive (one ``writev`` per buffer-full,
the File Meta in the same call as the first fragment; memory stays flat whatever the size);
normal mode gathers the data set, decodes it as pynetdicom would for ``event.dataset`` and writes
it like getscu -B. A storage failure part-way does not stop the receiving: the rest of the data
set is read and dropped, and ``finish`` answers with the failure's C-STORE status.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from pydicom import Dataset
from pynetdicom.dsutils import decode

from getsh.dicom.net.syntaxes import syntax_encoding
from getsh.dicom.storage.header_scan import PREFIX, scan
from getsh.dicom.storage.outcomes import STATUS_PROCESSING_FAILURE, ObjectMeta, StorageError, StorageMode, StoredFile
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
    """Normal mode: the data set is gathered, decoded and written like getscu -B."""

    def __init__(self, storage: Storage, meta: ObjectMeta, report: Report) -> None:
        self.storage, self.meta, self.report = storage, meta, report
        self.data = bytearray()

    def write_many(self, chunks: list[memoryview]) -> None:
        for chunk in chunks:
            self.data += chunk

    def finish(self) -> int:
        implicit, little, deflated = syntax_encoding(str(self.meta.transfer_syntax))
        raw, self.data = bytes(self.data), bytearray()  # one copy alive at a time (BytesIO shares bytes)
        try:
            dataset = decode(BytesIO(raw), implicit, little, deflated)
            dataset.set_original_encoding(implicit, little)
            stored = self.storage.store_dataset(dataset, self.meta)
        except Exception as error:  # StorageError, or a data set pydicom cannot decode
            return self.report(self.meta, error, None)
        # The table's few values from the bytes: pydicom would convert each element it is asked for.
        header = scan(raw[:PREFIX], str(self.meta.transfer_syntax), complete=len(raw) <= PREFIX)
        return self.report(self.meta, stored, header or dataset)

    def abort(self) -> None:
        self.data = bytearray()


def make_sink(storage: Storage, meta: ObjectMeta, report: Report) -> StreamSink | DecodeSink:
    if storage.mode is StorageMode.NORMAL:
        return DecodeSink(storage, meta, report)
    return StreamSink(storage, meta, report)

