"""Random bytes from a peer, fed to what parses them: the direct receive path's PDU/PDV/command walk
(``DirectGet`` over a scripted transport, no socket), the PDU bounds and PDV order shared with
pynetdicom's path (net/pdu_bounds.py, also through its DUL extension), and the header scanner
(storage/header_scan.py). Whatever the bytes: an ending or a diagnosis the caller turns into an
abort, never an exception of another kind, never a hang, never memory allocated from a length the
peer declared."""

from __future__ import annotations

import queue
import struct
import tracemalloc
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import Dataset

from getsh.dicom.net.pdu_bounds import PDU_NAMES, BoundedPduReader, PdvOrder, pdu_limit, pdv_items, too_long
from getsh.dicom.retrieve.receive import wire
from getsh.dicom.retrieve.receive.direct_get import BUFFER_BYTES, DirectGet, Outcome
from getsh.dicom.retrieve.receive.message import Negotiated, StoreRequest
from getsh.dicom.storage.header_scan import scan

CT, MR = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"
IMPLICIT, EXPLICIT = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
NEGOTIATED = Negotiated(get_context=(1, IMPLICIT), storage={3: (CT, EXPLICIT), 5: (MR, IMPLICIT)},
                        accepted=frozenset({1, 3, 5}), peer_max_pdu=16384, max_pdu=16384)
ENDINGS = {"final", "closed", "invalid", "peer-pdu"}
MEMORY_BOUND = BUFFER_BYTES + 4 * 1024 * 1024
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Script:
    """A transport that hands the path ``chunks`` one read at a time, then end of file."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.sent: list[bytes] = []

    def read_into(self, buffer: memoryview) -> int | None:
        if not self.chunks:
            return 0
        chunk = self.chunks.pop(0)
        taken = chunk[: len(buffer)]
        if len(chunk) > len(taken):
            self.chunks.insert(0, chunk[len(taken) :])
        buffer[: len(taken)] = taken
        return len(taken)

    def wait(self, timeout: float | None) -> bool:
        return True

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def wake(self) -> None:
        pass

    def close(self) -> None:
        pass


class MemorySink:
    def __init__(self) -> None:
        self.size = 0

    def write_many(self, chunks: list[memoryview]) -> None:
        self.size += sum(len(c) for c in chunks)

    def finish(self) -> int:
        return 0

    def abort(self) -> None:
        pass


def run_direct(chunks: list[bytes]) -> tuple[Outcome, Script]:
    transport = Script(chunks)
    direct = DirectGet(transport, negotiated=NEGOTIATED, dimse_timeout=None,
                       begin=lambda request: MemorySink() if isinstance(request, StoreRequest) else 0xC000,
                       pending=lambda *counts: None, foreign_pdu=lambda raw: None)
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "PATIENT"
    return direct.run(identifier, "1.2.840.10008.5.1.4.1.2.1.3", 7), transport


# --- strategies: PDUs that are nearly right, and plain noise --------------------------------------

def _command(fields: dict[int, bytes]) -> bytes:
    return wire.encode_command(fields.items())


COMMANDS = st.one_of(
    st.builds(lambda mid, status, resp: _command({0x0002: b"1.2.840.10008.5.1.4.1.2.1.3\0", 0x0100: b"\x10\x80",
                                                  0x0120: struct.pack("<H", resp), 0x0800: b"\x01\x01",
                                                  0x0900: struct.pack("<H", status)}),
              st.integers(0, 0xFFFF), st.sampled_from([0x0000, 0xFF00, 0xB000, 0xA700, 0xFE00]),
              st.sampled_from([7, 8])),
    st.builds(lambda cls, uid, kind: _command({0x0002: cls, 0x0100: b"\x01\x00", 0x0110: b"\x05\x00",
                                               0x0700: b"\x02\x00", 0x0800: kind, 0x1000: uid}),
              st.sampled_from([CT.encode(), MR.encode(), b"", b"\xff\xfe"]), st.binary(max_size=70),
              st.sampled_from([b"\x00\x00", b"\x01\x01", b"\x01"])),
    st.binary(max_size=200),
)


@st.composite
def pdvs(draw: Any) -> bytes:
    context = draw(st.sampled_from([1, 3, 5, 7, 255]))
    control = draw(st.integers(0, 3))
    data = draw(COMMANDS) if control & 1 else draw(st.binary(max_size=300))
    item = len(data) + 2 if draw(st.booleans()) else draw(st.integers(0, 0xFFFFFFFF))
    return struct.pack(">IBB", item, context, control) + data


@st.composite
def pdus(draw: Any) -> bytes:
    kind = draw(st.sampled_from([0x04, 0x04, 0x04, 0x07, 0x05, 0x02, 0x09, 0x00]))
    body = b"".join(draw(st.lists(pdvs(), max_size=3))) if kind == 0x04 else draw(st.binary(max_size=40))
    length = len(body) if draw(st.integers(0, 5)) else draw(st.sampled_from(
        [0xFFFFFFF0, 0xFFFFFFFF, 16390, 16391, 1 << 20, len(body) + 1, max(len(body) - 1, 0)]))
    return struct.pack(">BxI", kind, length) + body


def _p_data(context: int, control: int, data: bytes) -> bytes:
    return struct.pack(">BxIIBB", 0x04, len(data) + 6, len(data) + 2, context, control) + data


MESSAGES = st.one_of(  # well framed, so that the walk gets past the framing to the messages themselves
    st.builds(lambda status, counts: _p_data(1, 3, _command({0x0100: b"\x10\x80", 0x0120: b"\x07\x00",
                                                             0x0800: b"\x01\x01", 0x0900: struct.pack("<H", status),
                                                             0x1021: counts})),
              st.sampled_from([0x0000, 0xFF00, 0xB000, 0xFE00, 0xC000]), st.binary(max_size=3)),
    st.builds(lambda uid, data: _p_data(3, 3, _command({0x0002: CT.encode(), 0x0100: b"\x01\x00",
                                                        0x0110: b"\x05\x00", 0x0800: b"\x00\x00", 0x1000: uid}))
              + _p_data(3, 2, data), st.binary(max_size=70), st.binary(max_size=300)),
)
STREAMS = st.lists(st.one_of(MESSAGES, pdus(), st.binary(max_size=64)), max_size=8)


# --- the direct path -------------------------------------------------------------------------------

@FAST
@given(STREAMS, st.integers(1, 4096))
def test_the_direct_path_ends_cleanly_on_any_bytes(parts: list[bytes], size: int) -> None:
    data = b"".join(parts)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    outcome, _ = run_direct(chunks)
    assert outcome.ending in ENDINGS
    if outcome.ending == "invalid":
        assert outcome.detail and "\n" not in outcome.detail


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([0x04, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07]), st.integers(0x10000000, 0xFFFFFFFF),
       st.integers(0, 3 * 1024 * 1024))
def test_a_declared_length_is_never_allocated(kind: int, length: int, sent: int) -> None:
    """A header declaring up to 4 GB, then some megabytes: refused on the header, memory flat."""
    tracemalloc.start()
    try:
        outcome, _ = run_direct([struct.pack(">BxI", kind, length)] + [bytes(65536)] * (sent // 65536))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.ending == "invalid", outcome
    assert f"PDU of {length} bytes, more than" in outcome.detail
    assert peak < MEMORY_BOUND, peak


# --- shared bounds and order -----------------------------------------------------------------------

@FAST
@given(st.integers(0, 0xFF), st.integers(0, 0xFFFFFFFF), st.integers(4096, 131072))
def test_the_bound_names_sizes_and_holds_for_every_type(kind: int, length: int, max_pdu: int) -> None:
    why = too_long(kind, length, max_pdu)
    limit = pdu_limit(kind, max_pdu)
    if kind not in PDU_NAMES:
        assert why == "" and limit == 0
    elif length <= limit:
        assert why == ""
    else:
        assert f"{PDU_NAMES[kind]} PDU of {length} bytes" in why
    if kind == 0x04:
        assert limit == max_pdu + 6


@FAST
@given(st.binary(max_size=400), st.lists(st.tuples(st.sampled_from([1, 3, 4, 9]), st.integers(0, 3),
                                                   st.integers(0, 70000)), max_size=20))
def test_pdv_walk_and_order_give_words_or_nothing(body: bytes, items: list[tuple[int, int, int]]) -> None:
    try:
        for context, control, first, last in pdv_items(body, 0, len(body)):
            assert 0 <= first <= last <= len(body)
            assert 0 <= context <= 255 and 0 <= control <= 255
    except ValueError as exc:
        assert str(exc).startswith("an invalid P-DATA-TF PDU")
    order = PdvOrder({1, 3})
    for context, control, size in items:
        why = order.check(context, control, size)
        assert isinstance(why, str)
        if why:
            break


class _Socket:
    """AssociationSocket's ``recv(n)`` (reads until n bytes or end of file) over a byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.socket = self

    def recv(self, count: int) -> bytearray:
        taken, self.data = self.data[:count], self.data[count:]
        return bytearray(taken)


class _Dul:
    def __init__(self, data: bytes) -> None:
        self.socket = _Socket(data)
        self.event_queue: queue.Queue[str] = queue.Queue()
        self._recv_pdu: queue.Queue[Any] = queue.Queue()
        self.assoc = self
        self.accepted_contexts: list[Any] = []
        self.decoded = 0

    def _decode_pdu(self, raw: bytearray) -> tuple[Any, str]:
        self.decoded += 1
        return raw, "Evt10"


@FAST
@given(STREAMS)
def test_the_dul_extension_reads_any_bytes_with_bounded_memory(parts: list[bytes]) -> None:
    """pynetdicom's path: the reader queues an event per PDU, Evt19 on a fault, and then only discards."""
    data = b"".join(parts)
    dul = _Dul(data)
    reader = BoundedPduReader(dul, 16384)
    for _ in range(len(parts) + 2):
        before = len(dul.socket.data)
        reader()
        assert len(dul.socket.data) <= before
        if not dul.socket.data:
            break
    events = list(dul.event_queue.queue)
    assert set(events) <= {"Evt10", "Evt17", "Evt19"}
    if reader.diagnosis:
        assert "Evt19" in events and "\n" not in reader.diagnosis


# --- the header scanner ----------------------------------------------------------------------------

ELEMENT_SOUP = st.lists(st.one_of(
    st.builds(lambda g, e, vr, n, v: struct.pack("<HH", g, e) + vr + struct.pack("<H", n) + v,
              st.sampled_from([0x0008, 0x0010, 0x0020, 0xFFFE]), st.sampled_from([0x0005, 0x0060, 0x0010, 0x0020,
                                                                                  0x000D, 0xE000, 0xE0DD]),
              st.sampled_from([b"LO", b"PN", b"SQ", b"UN", b"CS"]), st.integers(0, 0xFFFF), st.binary(max_size=20)),
    st.builds(lambda tag, n: tag + struct.pack("<I", n), st.sampled_from([b"\xfe\xff\x00\xe0", b"\x08\x00\x15\x11"]),
              st.sampled_from([0xFFFFFFFF, 0, 8])),
    st.binary(max_size=16),
), max_size=30)


@FAST
@given(ELEMENT_SOUP, st.sampled_from([IMPLICIT, EXPLICIT]), st.booleans())
def test_the_header_scanner_returns_values_or_none(parts: list[bytes], syntax: str, complete: bool) -> None:
    got = scan(b"".join(parts), syntax, complete=complete)
    assert got is None or set(got) == {"PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID",
                                        "Modality"}


def test_the_header_scanner_survives_deeply_nested_sequences() -> None:
    """Items of undefined length inside sequences of undefined length, 5,000 deep: None, not a RecursionError."""
    nest = (b"\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff") * 5000
    assert scan(nest, EXPLICIT, complete=False) is None
