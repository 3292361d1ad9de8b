"""Peers that write raw PDUs, for the protocol-fault tests (issue 14: PDU lengths, messages that do
not belong to the running request, classes on another class's context).

Most are a ``FakeQR`` (fake_peers.py: a genuine pynetdicom association) whose C-GET script, after the
objects it sends properly, writes bytes of its own straight onto the association's socket: what a
broken or hostile archive sends and pynetdicom never would. ``RawAcceptor`` is not DICOM at all: it
reads the A-ASSOCIATE-RQ and answers with whatever bytes it was given (an A-ASSOCIATE-AC of 4 GB).

Command sets are encoded here by hand (Implicit VR Little Endian, PS3.7 E.1), not by getsh's own
encoder, so a fault in getsh's wire code cannot hide in the test's bytes.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

from pydicom import Dataset
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import CTImageStorage

from tests.faults.fake_peers import HOST, FakeQR, Script, wait_for

C_STORE_RQ, C_GET_RSP = 0x0001, 0x8010
NO_DATA_SET, DATA_SET = 0x0101, 0x0000
STREAM_CHUNK = 64 * 1024


def p_data(context_id: int, control: int, fragment: bytes) -> bytes:
    """One P-DATA-TF PDU holding one PDV (PS3.8 9.3.5); control 0x01 command, 0x02 last fragment."""
    pdv = struct.pack(">IBB", len(fragment) + 2, context_id, control) + fragment
    return struct.pack(">BBI", 0x04, 0x00, len(pdv)) + pdv


def _element(elem: int, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\0"
    return struct.pack("<HHI", 0, elem, len(value)) + value


def _us(value: int) -> bytes:
    return struct.pack("<H", value)


def command(elements: dict[int, bytes]) -> bytes:
    """A command set from group 0000 element numbers and their values, group length first."""
    body = b"".join(_element(elem, elements[elem]) for elem in sorted(elements))
    return _element(0x0000, struct.pack("<I", len(body))) + body


def c_store_rq(message_id: int, sop_class: str, sop_instance: bytes) -> bytes:
    return command({0x0002: sop_class.encode(), 0x0100: _us(C_STORE_RQ), 0x0110: _us(message_id),
                    0x0700: _us(2), 0x0800: _us(DATA_SET), 0x1000: sop_instance})


def c_get_rsp(responding_to: int, status: int, *, completed: int = 0, failed: int = 0, remaining: int | None = None,
              model: str = "1.2.840.10008.5.1.4.1.2.1.3") -> bytes:
    elements = {0x0002: model.encode(), 0x0100: _us(C_GET_RSP), 0x0120: _us(responding_to),
                0x0800: _us(NO_DATA_SET), 0x0900: _us(status), 0x1021: _us(completed), 0x1022: _us(failed),
                0x1023: _us(0)}
    if remaining is not None:
        elements[0x1020] = _us(remaining)
    return command(elements)


def storage_context(assoc: Any, sop_class: str = CTImageStorage) -> tuple[int, Any]:
    """The fake's accepted context for sending ``sop_class`` (ID, transfer syntax)."""
    cx = next(cx for cx in assoc.accepted_contexts if cx.abstract_syntax == sop_class and cx.as_scu)
    return int(cx.context_id), cx.transfer_syntax[0]


def get_context(event: Any) -> int:
    return int(event.context.context_id)


def store_pdus(context_id: int, message_id: int, ds: Dataset, syntax: Any, *, sop_class: str | None = None,
               sop_instance: bytes | None = None, fragment: int = 16_000) -> bytes:
    """A whole C-STORE-RQ for ``ds`` as P-DATA PDUs, data fragments of ``fragment`` bytes; the command's
    class and instance may differ from the data set's."""
    data = encode(ds, syntax.is_implicit_VR, syntax.is_little_endian)
    assert data is not None
    cmd = c_store_rq(message_id, sop_class or str(ds.SOPClassUID), sop_instance or str(ds.SOPInstanceUID).encode())
    pieces = [data[i : i + fragment] for i in range(0, len(data), fragment)]
    return p_data(context_id, 0x03, cmd) + b"".join(
        p_data(context_id, 0x02 if n == len(pieces) - 1 else 0x00, piece) for n, piece in enumerate(pieces))


def send_raw(assoc: Any, data: bytes) -> None:
    """Write ``data`` on the fake's socket once pynetdicom has sent all it meant to (or our bytes would
    land in the middle of one of its PDUs)."""
    wait_for(lambda: not assoc.dul.to_provider_queue.queue, 5.0, "pynetdicom's send queue to drain")
    time.sleep(0.05)
    assoc.dul.socket.socket.sendall(data)


def stream(assoc: Any, header: bytes, total: int, release: threading.Event) -> None:
    """Send ``header`` then ``total`` bytes of zeros in chunks, until done, refused or released."""
    sock = assoc.dul.socket.socket
    try:
        sock.sendall(header)
        sent = 0
        while sent < total and not release.is_set():
            sock.sendall(b"\0" * STREAM_CHUNK)
            sent += STREAM_CHUNK
    except OSError:
        pass


def take_answers(assoc: Any, fake: FakeQR, count: int) -> None:
    """Wait until getsh answered ``count`` C-STOREs in all, then take the answers to raw C-STOREs off the
    fake's queue: its pynetdicom never sent those requests, and would take a stale answer for the
    answer to its next C-STORE."""
    wait_for(lambda: len(fake.store_statuses) >= count, 5.0, f"getsh's answers to {count} C-STOREs")
    time.sleep(0.05)
    queue = assoc.dimse.msg_queue
    with queue.mutex:
        kept = [item for item in queue.queue if type(item[1]).__name__ != "C_STORE"]
        queue.queue.clear()
        queue.queue.extend(kept)


def final_response(event: Any, status: int = 0x0000, **counts: int) -> bytes:
    """The final C-GET-RSP to the running request, as one PDU, written by hand (pynetdicom's own is
    swallowed: see ``then_raw``)."""
    return p_data(get_context(event), 0x03, c_get_rsp(event.request.MessageID, status, **counts))


def _swallow_final(assoc: Any) -> None:
    """Drop the final C-GET-RSP pynetdicom sends when the script ends: the raw bytes had one already."""
    dimse = assoc.dimse
    send = dimse.send_msg

    def send_msg(msg: Any, context_id: int) -> None:
        if type(msg).__name__ == "C_GET" and msg.Status is not None and msg.Status not in (0xFF00, 0xFF01):
            del dimse.send_msg
            return
        send(msg, context_id)

    dimse.send_msg = send_msg


Raw = Callable[[Any, FakeQR], None]


def then_raw(objects: Sequence[Dataset], raw: Raw, *, stall: bool = True) -> Script:
    """Send ``objects`` as pynetdicom would, then call ``raw(event, fake)`` (which writes bytes on the
    socket), then say nothing more (``stall``), or (``stall=False``) end without pynetdicom's own final
    response (``raw`` wrote one). Misbehaves on the first C-GET only: later ones send ``objects`` and a
    final Success, so a test can show the next command works."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        first = fake.requests == 1
        yield len(objects) + (1 if first else 0)
        for ds in objects:
            yield 0xFF00, ds
        if not first:
            return
        wait_for(lambda: len(fake.store_statuses) >= len(objects), 5.0, "getsh's answers to the objects")
        raw(event, fake)
        if stall:
            fake.stall()
            yield 0xA700, None
        else:
            _swallow_final(event.assoc)

    return script


class RawAcceptor:
    """A TCP listener that reads one A-ASSOCIATE-RQ, answers with ``reply`` and then ``extra`` bytes
    of zeros (in chunks, until refused), and holds the connection until stopped."""

    def __init__(self, reply: bytes, extra: int = 0) -> None:
        self.reply = reply
        self.extra = extra
        self.port = 0
        self.sent = 0
        self.requests = 0
        self.release = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RawAcceptor:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(4)
        listener.settimeout(0.1)
        self._listener, self.port = listener, int(listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, name=f"RawAcceptor@{self.port}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._listener is not None:
            self._listener.close()

    def _serve(self) -> None:
        assert self._listener is not None
        while not self.release.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            header = conn.recv(6, socket.MSG_WAITALL)
            length = struct.unpack(">BxI", header)[1]
            conn.recv(length, socket.MSG_WAITALL)
            self.requests += 1
            conn.sendall(self.reply)
            while self.sent < self.extra and not self.release.is_set():
                conn.sendall(b"\0" * STREAM_CHUNK)
                self.sent += STREAM_CHUNK
        except OSError:
            pass
        self.release.wait(15)
