"""What the direct receive path (direct_get.py) holds while it reads: what the association agreed,
the buffer whole PDUs are read into in place, and the DIMSE message being received from its first
fragment to its last, with the sink its data set goes to. Kept apart so direct_get.py reads as the
exchange itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from getsh.dicom.retrieve.receive import wire
from getsh.dicom.storage.outcomes import ObjectMeta

_IOV_MAX = 1024  # fragments per writev
_PDU = wire.PDU_HEADER


class Sink(Protocol):
    """One object's data set on its way to storage."""

    def write_many(self, chunks: list[memoryview]) -> None: ...

    def finish(self) -> int:
        """All data arrived: store it; the C-STORE status to answer with."""
        ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class Negotiated:
    """What the association agreed, as the direct path needs it: the C-GET's context (ID, transfer
    syntax), the storage contexts we are SCP on (ID → abstract syntax, transfer syntax), every
    accepted context ID, the peer's maximum PDU and the one getsh announced (0: unlimited)."""

    get_context: tuple[int, str]
    storage: dict[int, tuple[str, str]]
    accepted: frozenset[int]
    peer_max_pdu: int
    max_pdu: int


@dataclass(frozen=True)
class StoreRequest:
    context_id: int
    message_id: int
    meta: ObjectMeta


@dataclass(slots=True)
class Message:
    """The DIMSE message being received, from its first fragment to its last: the command set,
    then what its data set is for (an object to store, or a C-GET-RSP's identifier)."""

    command: bytearray = field(default_factory=bytearray)  # command fragments so far
    store: StoreRequest | None = None  # a C-STORE-RQ whose data set is arriving
    sink: Sink | int | None = None  # where that data set goes (an int: the status already decided)
    response: dict[int, bytes] | None = None  # a C-GET-RSP whose identifier is arriving
    identifier: bytearray = field(default_factory=bytearray)
    chunks: list[memoryview] = field(default_factory=list)  # data set fragments still in the receive buffer

    def flush(self) -> None:
        """The data set's fragments so far go to the sink, before the buffer they point into is reused."""
        chunks, sink = self.chunks, self.sink
        if not chunks:
            return
        if sink is not None and not isinstance(sink, int):
            for i in range(0, len(chunks), _IOV_MAX):
                sink.write_many(chunks[i : i + _IOV_MAX])
        chunks.clear()

    def abandon(self) -> None:
        """The exchange ended half-way through an object: nothing partial is left."""
        self.chunks.clear()
        sink, self.sink = self.sink, None
        if sink is not None and not isinstance(sink, int):
            sink.abort()


class ReceiveBuffer:
    """The receive buffer: whole PDUs are read in place between ``start`` and ``end``."""

    __slots__ = ("data", "end", "start", "view")

    def __init__(self, size: int) -> None:
        self.data = bytearray(size)
        self.view = memoryview(self.data)
        self.start = self.end = 0

    def free(self) -> memoryview:
        return self.view[self.end :]

    def compact(self, limit: int) -> None:
        """Keep the incomplete PDU, at the front; grow for a PDU larger than the buffer, never past
        ``limit`` bytes (its header was checked against the bound before: see pdu_bounds.py).
        Nothing may point into the buffer now."""
        start, end, view = self.start, self.end, self.view
        if start == end:
            self.start = self.end = 0
        elif start:
            view[: end - start] = view[start:end]
            self.start, self.end = 0, end - start
        if self.end >= 6:
            need = 6 + _PDU.unpack_from(self.data, 0)[1]
            if need > len(self.data):
                if need > limit:
                    raise wire.WireError(f"a PDU of {need} bytes, past the receive buffer's limit of {limit}")
                view.release()
                self.data.extend(bytes(need - len(self.data)))
                self.view = memoryview(self.data)

    def release(self) -> None:
        self.view.release()
