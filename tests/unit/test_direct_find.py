"""The plan's direct C-FIND path (receive/direct_find.py) against a peer written byte by byte with
pynetdicom's own encoder: the request as pynetdicom sends it, every match decoded as pynetdicom decodes
it whatever the PDUs' cut, and each way the exchange can end named — a failure status, a response to
another request, an A-ABORT, silence, a stop from another thread, and a caller that stops listening
early (the C-FIND is cancelled and read to its end, so the association stays in step)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from io import BytesIO

import pytest
from pydicom import Dataset
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom.dimse_messages import C_FIND_RQ, C_FIND_RSP
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.dsutils import decode, encode
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

from getsh.dicom.retrieve.receive import direct_find, wire
from getsh.dicom.retrieve.receive.direct_find import DirectFind
from getsh.dicom.retrieve.receive.transport import TcpTransport

CONTEXT = 1
A_ABORT = bytes([0x07, 0, 0, 0, 0, 4, 0, 0, 2, 0])


def query() -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = "1.2.3"
    ds.SOPInstanceUID = ""
    return ds


def match(number: int) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = "1.2.3"
    ds.SOPInstanceUID = f"1.2.3.4.{number}"
    ds.PatientName = "DOE^JANE"
    return ds


def response(message_id: int, status: int, identifier: Dataset | None = None, max_pdu: int = 16384,
             context: int = CONTEXT) -> bytes:
    """A C-FIND-RSP as pynetdicom's SCP sends it."""
    rsp = C_FIND()
    rsp.MessageIDBeingRespondedTo, rsp.AffectedSOPClassUID, rsp.Status = message_id, FIND, status
    if identifier is not None:
        rsp.Identifier = BytesIO(encode(identifier, True, True) or b"")
    msg = C_FIND_RSP()
    msg.primitive_to_message(rsp)
    out = []
    for primitive in msg.encode_msg(context, max_pdu):
        pdu = P_DATA_TF()
        pdu.from_primitive(primitive)
        out.append(pdu.encode())
    return b"".join(out)


class Peer:
    """The other end of a socket pair: what it received, and bytes to send."""

    def __init__(self) -> None:
        self.ours, self.sock = socket.socketpair()
        self.transport = TcpTransport(self.ours)
        self.foreign: list[bytes] = []
        self.received = bytearray()

    def finder(self, timeout: float | None = 5.0) -> DirectFind:
        return DirectFind(self.transport, context=(CONTEXT, ImplicitVRLittleEndian), accepted=frozenset({CONTEXT}),
                          peer_max_pdu=16384, max_pdu=16384, dimse_timeout=timeout, foreign_pdu=self.foreign.append)

    def read(self, seconds: float = 0.2) -> bytes:
        self.sock.settimeout(seconds)
        try:
            while True:
                got = self.sock.recv(65536)
                if not got:
                    break
                self.received += got
        except TimeoutError:
            pass
        return bytes(self.received)

    def close(self) -> None:
        self.transport.close()
        self.ours.close()
        self.sock.close()


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    try:
        yield p
    finally:
        p.close()


def commands(raw: bytes) -> list[int]:
    """The command fields of the DIMSE messages in ``raw`` (whole P-DATA-TF PDUs)."""
    fields, pos, command = [], 0, bytearray()
    while pos < len(raw):
        _, length = struct.unpack_from(">BxI", raw, pos)
        stop, item = pos + 6 + length, pos + 6
        while item < stop:
            size, _, control = struct.unpack_from(">IBB", raw, item)
            if control & 1:
                command += raw[item + 6: item + 4 + size]
                if control & 2:
                    fields.append(wire.us(wire.parse_command(command), wire.COMMAND_FIELD) or 0)
                    command.clear()
            item += 4 + size
        pos = stop
    return fields


def test_the_request_is_byte_identical_to_pynetdicoms() -> None:
    req = C_FIND()
    req.MessageID, req.AffectedSOPClassUID, req.Priority = 77, FIND, 2
    req.Identifier = BytesIO(encode(query(), True, True) or b"")
    msg = C_FIND_RQ()
    msg.primitive_to_message(req)
    assert wire.find_request(query(), FIND, 77, 3, ImplicitVRLittleEndian, 4096) == \
        wire.encode_message(msg, 3, 4096)


@pytest.mark.parametrize("cut", [1, 7, 4096, None])
def test_every_match_arrives_decoded_whatever_the_pdus_cut(peer: Peer, cut: int | None) -> None:
    sent = b"".join(response(5, 0xFF00, match(n), max_pdu=64 if cut == 7 else 16384) for n in range(40))
    sent += response(5, 0x0000)
    if cut is None:  # all at once
        peer.sock.sendall(sent)
    else:
        step = cut

        def trickle() -> None:
            for i in range(0, len(sent), step):
                peer.sock.sendall(sent[i:i + step])

        threading.Thread(target=trickle, daemon=True).start()
    finder = peer.finder()
    found = list(finder.matches(query(), FIND, 5))
    assert [m.SOPInstanceUID for m in found] == [f"1.2.3.4.{n}" for n in range(40)]
    assert found[0] == decode(BytesIO(encode(match(0), True, True) or b""), True, True)
    assert finder.outcome is not None and finder.outcome.ending == "final" and finder.outcome.status is not None
    assert finder.outcome.status.Status == 0 and not finder.outcome.after
    assert commands(peer.read()) == [0x0020]  # the C-FIND-RQ, and nothing else


def test_a_failure_status_ends_it_with_its_words(peer: Peer) -> None:
    peer.sock.sendall(response(5, 0xFF00, match(1)) + response(5, 0xC001))
    finder = peer.finder()
    assert len(list(finder.matches(query(), FIND, 5))) == 1
    assert finder.outcome is not None and finder.outcome.status is not None
    assert (finder.outcome.ending, finder.outcome.status.Status) == ("final", 0xC001)


def test_a_response_to_another_request_is_named(peer: Peer) -> None:
    peer.sock.sendall(response(5, 0xFF00, match(1)) + response(6, 0xFF00, match(2)))
    finder = peer.finder()
    assert len(list(finder.matches(query(), FIND, 5))) == 1
    assert finder.outcome is not None and finder.outcome.ending == "invalid"
    assert finder.outcome.detail == "a C-FIND-RSP to message 6, not to this request (message 5)"


def test_a_response_on_a_context_never_accepted_is_named(peer: Peer) -> None:
    peer.sock.sendall(response(5, 0xFF00, match(1), context=9))
    finder = peer.finder()
    assert list(finder.matches(query(), FIND, 5)) == []
    assert finder.outcome is not None and finder.outcome.ending == "invalid"
    assert "presentation context 9, which was never accepted" in finder.outcome.detail


def test_an_a_abort_goes_to_pynetdicom(peer: Peer) -> None:
    peer.sock.sendall(response(5, 0xFF00, match(1)) + A_ABORT)
    finder = peer.finder()
    assert len(list(finder.matches(query(), FIND, 5))) == 1
    assert finder.outcome is not None and (finder.outcome.ending, finder.outcome.detail) == ("peer-pdu", "")
    assert peer.foreign == [A_ABORT]


def test_bytes_after_the_final_response_are_named(peer: Peer) -> None:
    peer.sock.sendall(response(5, 0x0000) + response(5, 0xFF00, match(1)))
    finder = peer.finder()
    assert list(finder.matches(query(), FIND, 5)) == []
    assert finder.outcome is not None and finder.outcome.after == "another message after its final C-FIND-RSP"


def test_silence_past_the_dimse_timeout_is_a_timeout(peer: Peer) -> None:
    finder = peer.finder(timeout=0.3)
    assert list(finder.matches(query(), FIND, 5)) == []
    assert finder.outcome is not None and finder.outcome.ending == "timeout" and finder.outcome.silence >= 0.3


def test_stop_from_another_thread_ends_it_at_once(peer: Peer) -> None:
    finder = peer.finder(timeout=None)
    threading.Timer(0.2, finder.stop).start()
    assert list(finder.matches(query(), FIND, 5)) == []
    assert finder.outcome is not None and finder.outcome.ending == "stopped"


def test_a_caller_that_stops_listening_leaves_the_association_in_step(peer: Peer) -> None:
    """The C-CANCEL goes out and the responses are read to the final one (here Cancel, 0xFE00)."""
    peer.sock.sendall(b"".join(response(5, 0xFF00, match(n)) for n in range(3)))
    finder = peer.finder()
    matches = finder.matches(query(), FIND, 5)
    assert next(matches).SOPInstanceUID == "1.2.3.4.0"

    def archive() -> None:  # answers the C-CANCEL once it comes
        while commands(peer.read(0.05)) != [0x0020, 0x0FFF]:
            pass
        peer.sock.sendall(response(5, 0xFF00, match(3)) + response(5, 0xFE00))

    threading.Thread(target=archive, daemon=True).start()
    matches.close()
    assert finder.outcome is not None and finder.outcome.status is not None
    assert (finder.outcome.ending, finder.outcome.status.Status) == ("final", 0xFE00)


def test_a_cancel_asked_before_the_request_follows_it(peer: Peer) -> None:
    finder = peer.finder()
    finder.cancel()
    peer.sock.sendall(response(5, 0xFE00))
    assert list(finder.matches(query(), FIND, 5)) == []
    assert commands(peer.read()) == [0x0020, 0x0FFF]


def test_an_abandoned_c_find_has_its_drain_time_from_the_c_cancel(peer: Peer) -> None:
    """The caller stops listening long after the last response (past the DIMSE timeout): the C-CANCEL
    still gets its answer read, rather than a timeout counted from the last response."""
    peer.sock.sendall(response(5, 0xFF00, match(0)))
    finder = peer.finder(timeout=0.3)
    matches = finder.matches(query(), FIND, 5)
    next(matches)
    time.sleep(0.5)

    def archive() -> None:
        while commands(peer.read(0.05)) != [0x0020, 0x0FFF]:
            pass
        time.sleep(0.1)
        peer.sock.sendall(response(5, 0xFE00))

    threading.Thread(target=archive, daemon=True).start()
    matches.close()
    assert finder.outcome is not None and finder.outcome.status is not None
    assert (finder.outcome.ending, finder.outcome.status.Status) == ("final", 0xFE00)


def test_an_abandoned_c_find_the_peer_never_ends_stops_at_its_deadline(peer: Peer,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer that keeps sending pending responses after the C-CANCEL is held to the drain limit."""
    monkeypatch.setattr(direct_find, "DRAIN_LIMIT", 0.5)
    peer.sock.sendall(response(5, 0xFF00, match(0)))
    finder = peer.finder(timeout=5)
    matches = finder.matches(query(), FIND, 5)
    next(matches)
    stop = threading.Event()

    def archive() -> None:  # answers nothing but more matches
        n = 1
        while not stop.is_set():
            try:
                peer.sock.sendall(response(5, 0xFF00, match(n)))
            except OSError:
                return
            n += 1
            time.sleep(0.01)

    threading.Thread(target=archive, daemon=True).start()
    began = time.monotonic()
    matches.close()
    stop.set()
    assert finder.outcome is not None and finder.outcome.ending == "timeout"
    assert time.monotonic() - began < 3
