"""The direct receive path's part of ``trace`` (net/trace.py): the messages direct_get.py writes and
reads, as the same ``Dimse`` facts pynetdicom's path gives (net/dimse_words.py), so both paths show
the same lines. Made only while tracing is on: off, the direct path holds no tracer and pays one
``is None`` check a message."""

from __future__ import annotations

from pydicom import Dataset

from getsh.dicom.net.dimse_words import Dimse, keys_of
from getsh.dicom.net.trace import Tracer
from getsh.dicom.retrieve.receive import wire
from getsh.dicom.retrieve.receive.message import Sink, StoreRequest

ERROR_COMMENT = 0x0902


class TracedSink:
    """A C-STORE-RQ's sink (or the status it was refused with), counting its data set's bytes: the
    request is traced when its data set is whole, with its size, before it is stored."""

    def __init__(self, tracer: Tracer, store: StoreRequest, inner: Sink | int) -> None:
        self.tracer, self.store, self.inner = tracer, store, inner
        self.size = 0

    def write_many(self, chunks: list[memoryview]) -> None:
        self.size += sum(len(chunk) for chunk in chunks)
        if not isinstance(self.inner, int):
            self.inner.write_many(chunks)

    def finish(self) -> int:
        self.tracer.dimse("←", store_request(self.store, self.size))
        return self.inner if isinstance(self.inner, int) else self.inner.finish()

    def abort(self) -> None:
        if not isinstance(self.inner, int):
            self.inner.abort()


def store_request(store: StoreRequest, size: int | None) -> Dimse:
    meta = store.meta
    return Dimse("C-STORE-RQ", store.message_id, store.context_id, meta.sop_class_uid, meta.sop_instance_uid,
                 syntax=meta.transfer_syntax, size=size)


def store_response(store: StoreRequest, status: int) -> Dimse:
    meta = store.meta
    return Dimse("C-STORE-RSP", store.message_id, store.context_id, meta.sop_class_uid, meta.sop_instance_uid,
                 status=status)


def get_request(identifier: Dataset, model_uid: str, message_id: int, context_id: int) -> Dimse:
    return Dimse("C-GET-RQ", message_id, context_id, model_uid, keys=keys_of(identifier))


def cancel_request(message_id: int, context_id: int) -> Dimse:
    return Dimse("C-CANCEL-RQ", message_id, context_id)


def get_response(fields: dict[int, bytes], identifier: bytes, context_id: int) -> Dimse:
    counts = tuple(wire.us(fields, elem) for elem in (wire.REMAINING, wire.COMPLETED, wire.FAILED, wire.WARNING))
    return Dimse("C-GET-RSP", wire.us(fields, wire.MESSAGE_ID_BEING_RESPONDED_TO), context_id,
                 wire.text(fields, wire.AFFECTED_SOP_CLASS_UID), status=wire.us(fields, wire.STATUS),
                 counts=counts if any(c is not None for c in counts) else (), size=len(identifier) or None,
                 comment=wire.text(fields, ERROR_COMMENT))
