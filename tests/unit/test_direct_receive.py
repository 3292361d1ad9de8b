"""The direct receive path's parts, each against the library it stands in for.

dimse_wire must read and write exactly what pynetdicom does; header_scan must read what pydicom
reads; writev_all must survive short writes; the mailbox must hand over everything, in order.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import _config
from pynetdicom.dimse_messages import C_GET_RSP, C_STORE_RQ, C_STORE_RSP
from pynetdicom.dimse_primitives import C_GET, C_STORE
from pynetdicom.dsutils import decode, encode
from pynetdicom.pdu import P_DATA_TF

from getsh.dicom.net.cancellation import Cancellation
from getsh.dicom.retrieve.mailbox import Mailbox
from getsh.dicom.retrieve.receive import wire
from getsh.dicom.retrieve.receive.transport import TcpTransport
from getsh.dicom.storage import diskio
from getsh.dicom.storage.header_scan import read_header, scan

CT = "1.2.840.10008.5.1.4.1.1.2"


def pynetdicom_command(msg: C_STORE_RQ | C_STORE_RSP | C_GET_RSP) -> bytes:
    raw = encode(msg.command_set, True, True)
    assert raw is not None
    return raw


# --- dimse_wire --------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [0x0000, 0xA700, 0xC000, 0x0122, 0xB007])
@pytest.mark.parametrize("instance", ["1.2.3", "1.2.34", "1." + "9" * 62])
def test_c_store_rsp_is_byte_identical_to_pynetdicoms(status: int, instance: str) -> None:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo = 7
    rsp.AffectedSOPClassUID = CT
    rsp.AffectedSOPInstanceUID = instance
    rsp.Status = status
    msg = C_STORE_RSP()
    msg.primitive_to_message(rsp)
    assert wire.c_store_rsp(7, CT, instance, status) == pynetdicom_command(msg)


def test_a_c_store_rq_reads_as_pynetdicom_wrote_it() -> None:
    req = C_STORE()
    req.MessageID, req.Priority = 513, 2
    req.AffectedSOPClassUID, req.AffectedSOPInstanceUID = CT, "1.2.840.99.12345"
    req.MoveOriginatorApplicationEntityTitle, req.MoveOriginatorMessageID = "MOVER", 9
    req.DataSet = BytesIO(b"\0" * 8)
    msg = C_STORE_RQ()
    msg.primitive_to_message(req)
    fields = wire.parse_command(pynetdicom_command(msg))
    assert wire.us(fields, wire.COMMAND_FIELD) == wire.C_STORE_RQ
    assert wire.us(fields, wire.MESSAGE_ID) == 513
    assert wire.uid(fields, wire.AFFECTED_SOP_CLASS_UID) == CT
    assert wire.uid(fields, wire.AFFECTED_SOP_INSTANCE_UID) == "1.2.840.99.12345"
    assert wire.us(fields, wire.COMMAND_DATA_SET_TYPE) != wire.NO_DATA_SET
    assert wire.text(fields, 0x1030) == "MOVER"


def test_a_pending_c_get_rsp_reads_its_counts() -> None:
    rsp = C_GET()
    rsp.MessageIDBeingRespondedTo, rsp.Status = 1, 0xFF00
    rsp.NumberOfRemainingSuboperations, rsp.NumberOfCompletedSuboperations = 7, 3
    rsp.NumberOfFailedSuboperations, rsp.NumberOfWarningSuboperations = 1, 0
    msg = C_GET_RSP()
    msg.primitive_to_message(rsp)
    fields = wire.parse_command(pynetdicom_command(msg))
    assert [wire.us(fields, e) for e in (wire.STATUS, wire.REMAINING, wire.COMPLETED, wire.FAILED, wire.WARNING)] \
        == [0xFF00, 7, 3, 1, 0]
    assert wire.us(fields, wire.COMMAND_DATA_SET_TYPE) == wire.NO_DATA_SET


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns about the long UID it is shown
def test_uids_are_checked_with_pynetdicoms_rule_and_words() -> None:
    long_uid = "1." + "2" * 70
    fields = {wire.AFFECTED_SOP_INSTANCE_UID: long_uid.encode() + b"\0"}
    with pytest.raises(wire.WireError, match=r"^Invalid 'Affected SOP Instance UID' value '1\.222.*' - must not "
                                             r"exceed 64 characters$"):
        wire.uid(fields, wire.AFFECTED_SOP_INSTANCE_UID)
    ok, reason = _config.VALIDATORS["UI"](long_uid)
    assert not ok and reason == "must not exceed 64 characters"


def test_a_custom_uid_validator_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_config.VALIDATORS, "UI", lambda value: (False, "site rule"))
    with pytest.raises(wire.WireError, match="site rule"):
        wire.uid({wire.AFFECTED_SOP_CLASS_UID: b"1.2\0"}, wire.AFFECTED_SOP_CLASS_UID)


@pytest.mark.parametrize("raw", [b"\0\0\0\0\4\0\0", b"\0\0\0\1\x08\0\0\0\1\0"])
def test_a_truncated_command_set_is_named(raw: bytes) -> None:
    with pytest.raises(wire.WireError, match="command set"):
        wire.parse_command(raw)


@pytest.mark.parametrize("max_pdu", [0, 16384, 64, 7])
def test_p_data_pdus_decode_with_pynetdicom_and_respect_the_peers_maximum(max_pdu: int) -> None:
    payload = bytes(range(256)) * 3
    stream = wire.p_data_pdus(5, payload, command=False, max_pdu=max_pdu)
    got, pos, lasts = b"", 0, []
    while pos < len(stream):
        length = struct.unpack(">I", stream[pos + 2 : pos + 6])[0]
        if max_pdu:
            assert length <= max(max_pdu, 7)
        pdu = P_DATA_TF()
        pdu.decode(stream[pos : pos + 6 + length])
        (item,) = pdu.presentation_data_value_items
        header, fragment = item.presentation_data_value[0], item.presentation_data_value[1:]
        assert item.context_id == 5 and header & 0x01 == 0
        lasts.append(bool(header & 0x02))
        got += fragment
        pos += 6 + length
    assert got == payload and lasts[-1] and not any(lasts[:-1])


# --- header_scan ---------------------------------------------------------------------------------

def header_dataset(name: str = "Doe^Jane", charset: str | list[str] | None = None) -> Dataset:
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID, ds.SOPInstanceUID = CT, generate_uid()
    ds.Modality = "CT"
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator = "123", "DCM"
    nested = Dataset()
    nested.ReferencedSOPInstanceUID = generate_uid()
    item.ReferencedImageSequence = Sequence([nested])
    ds.ProcedureCodeSequence = Sequence([item, Dataset()])
    ds.PatientName = name
    ds.PatientID = "PAT-01"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Rows, ds.Columns, ds.BitsAllocated = 2, 2, 16
    ds.PixelData = b"\0" * 8
    return ds


def expected(ds: Dataset) -> dict[str, str]:
    return {k: str(ds.get(k, "") or "") for k in
            ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "PatientName")}


def saved(tmp_path: Path, ds: Dataset, syntax: str, undefined: bool) -> Path:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = CT, ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = syntax
    for elem in ds.iterall():
        if elem.VR == "SQ":
            elem.is_undefined_length = undefined
            for item in elem.value:
                item.is_undefined_length_sequence_item = undefined
    path = tmp_path / f"{ds.SOPInstanceUID}.dcm"
    dcmwrite(path, ds, enforce_file_format=True)
    return path


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
@pytest.mark.parametrize("undefined", [False, True])
@pytest.mark.parametrize(("name", "charset"), [
    ("Doe^Jane", None), ("Müller^Jörg", "ISO_IR 100"), ("Ωμέγα^Δέλτα", "ISO_IR 192"),
    ("Yamada^Tarou=山田^太郎=やまだ^たろう", ["", "ISO 2022 IR 87"]),
])
def test_the_scanner_reads_what_pydicom_reads(tmp_path: Path, syntax: str, undefined: bool, name: str,
                                              charset: str | list[str] | None) -> None:
    path = saved(tmp_path, header_dataset(name, charset), syntax, undefined)
    assert read_header(path, syntax) == expected(dcmread(path))


def test_what_the_scanner_cannot_walk_is_left_to_pydicom(tmp_path: Path) -> None:
    path = saved(tmp_path, header_dataset(), ExplicitVRBigEndian, False)
    assert read_header(path, ExplicitVRBigEndian) is None
    raw = encode(header_dataset(), True, True)
    assert raw is not None
    assert scan(raw[:40], ImplicitVRLittleEndian, complete=False) is None  # a prefix that ends too soon
    assert scan(b"\x08\x00\x60\x00\xff\xff\xff\xff\x01\x02", ImplicitVRLittleEndian) is None  # garbage


def test_a_data_set_without_series_is_read_to_its_end() -> None:
    ds = Dataset()
    ds.PatientID, ds.Modality = "X", "OT"
    raw = encode(ds, False, True)
    assert raw is not None
    assert scan(raw, ExplicitVRLittleEndian) == {"PatientID": "X", "Modality": "OT", "StudyInstanceUID": "",
                                                 "SeriesInstanceUID": "", "PatientName": ""}
    assert decode(BytesIO(raw), False, True).PatientID == "X"


# --- writev_all and the mailbox ----------------------------------------------------------------------

def test_writev_all_carries_on_after_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.writev

    def short(fd: int, buffers: list[memoryview]) -> int:  # at most 5 bytes a call, like a signal-torn write
        head = b"".join(bytes(b) for b in buffers)[:5]
        return real(fd, [head])

    monkeypatch.setattr(diskio.os, "writev", short)
    chunks = [memoryview(b"abc"), memoryview(b""), memoryview(b"defghij"), memoryview(b"klmnopqrstu")]
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        assert diskio.writev_all(fd, chunks) == 21
    finally:
        os.close(fd)
    assert path.read_bytes() == b"abcdefghijklmnopqrstu"


def test_writev_all_takes_more_chunks_than_one_writev_may(tmp_path: Path) -> None:
    """Over IOV_MAX buffers (a peer's many tiny PDVs, and the File Meta in front) go in groups: one
    writev of 3,001 would fail with EINVAL."""
    chunks = [memoryview(bytes([n % 251])) for n in range(3001)]
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        assert diskio.writev_all(fd, chunks) == 3001
    finally:
        os.close(fd)
    assert path.read_bytes() == bytes(n % 251 for n in range(3001))


def test_the_mailbox_hands_over_everything_in_order_and_wakes_for_urgent_items() -> None:
    box = Mailbox(interval=5.0)
    done = threading.Event()

    def worker() -> None:
        for n in range(10_000):
            box.put(("event", n))
        box.put(("end", None), urgent=True)
        done.set()

    threading.Thread(target=worker).start()
    got: list[object] = []
    while not got or got[-1] != ("end", None):
        got += box.take(10.0)  # urgent: returns long before the 5 s interval
    assert done.is_set()
    assert got == [("event", n) for n in range(10_000)] + [("end", None)]


# --- the transport and the cancel mechanism ------------------------------------------------------------

def test_the_tcp_transport_reads_what_is_there_waits_sends_and_wakes() -> None:
    ours, peer = socket.socketpair()
    with TcpTransport(ours) as transport:
        view = memoryview(bytearray(8))
        assert transport.read_into(view) is None  # nothing there: no blocking
        assert transport.wait(0.01) is False  # timed out
        peer.sendall(b"abc")
        assert transport.wait(1.0) is True
        assert transport.read_into(view) == 3 and bytes(view[:3]) == b"abc"
        transport.send(b"rsp")
        assert peer.recv(8) == b"rsp"
        threading.Timer(0.05, transport.wake).start()
        assert transport.wait(5.0) is True  # woken from another thread
        assert transport.wait(None) is True  # and it stays woken
    with pytest.raises(OSError):
        transport.send(b"late")  # the socket went back to its owner
    transport.wake()  # harmless after close
    peer.close()
    assert transport.read_into(view) == 0  # end of file
    ours.close()


class FakePath:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def cancel(self) -> None:
        self.calls.append("cancel")

    def stop(self) -> None:
        self.calls.append("stop")

    def wake(self) -> None:
        self.calls.append("wake")


def test_one_cancel_mechanism_for_both_receive_paths() -> None:
    stock, direct = FakePath(), FakePath()
    cancellation = Cancellation(stock)  # type: ignore[arg-type]
    with cancellation.direct(direct):
        cancellation.cancel("at your request")
        cancellation.cancel("the cap was reached")  # once is enough
        cancellation.wake()  # pynetdicom is parked while the direct path runs
        cancellation.abort("at your request")
    assert direct.calls == ["cancel", "stop"] and stock.calls == []
    assert (cancellation.cancelled, cancellation.aborted) == ("at your request", "at your request")
    cancellation.abort("again")
    cancellation.wake()
    assert stock.calls == ["stop", "wake"] and cancellation.aborted == "at your request"
    late = FakePath()
    with cancellation.direct(late):  # an abort asked for before the direct path began stops it at once
        pass
    assert late.calls == ["stop"]
