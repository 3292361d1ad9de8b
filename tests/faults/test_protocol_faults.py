"""``get`` against peers that break the protocol itself (issue 14, items 2-4): PDUs longer than getsh
announced, messages that do not belong to the running request, a class sent on another class's
presentation context.

Every fault runs on both receive paths (getsh's direct one and pynetdicom's) and must give the same
result: the same line, the same files, the same C-STORE status seen by the peer. Each test also
shows the shell carries on: the next command re-associates when the association could not be
trusted any more, and receives exactly its own objects (nothing left over from the bad one).
"""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset, dcmread
from pynetdicom.sop_class import CTImageStorage, MRImageStorage

from getsh.exitstatus import ExitStatus
from tests.faults.fake_peers import UID_ROOT, FakeQR, make_objects
from tests.faults.raw_peers import (
    RawAcceptor,
    c_get_rsp,
    c_store_rq,
    final_response,
    get_context,
    p_data,
    send_raw,
    storage_context,
    store_pdus,
    stream,
    take_answers,
    then_raw,
)
from tests.shell_driver import Shell

GET = "get QueryRetrieveLevel=PATIENT PatientID=FAKE001"
MEMORY_BOUND = 24 * 1024 * 1024  # what a get of a few small objects may peak at, far below what the peer offers
OFFERED = 48 * 1024 * 1024


@pytest.fixture(autouse=True, params=["direct", "pynetdicom"])
def receive_path(request: pytest.FixtureRequest, shell: Shell) -> str:
    """Every fault on both receive paths: ``receive auto`` (getsh's direct path) and ``receive pynetdicom``."""
    shell.ctx.settings.set("receive", "pynetdicom" if request.param == "pynetdicom" else "auto")
    return str(request.param)


def start(fakes: list[FakeQR], peer: FakeQR) -> FakeQR:
    fakes.append(peer)
    peer.start()
    return peer


def connect(shell: Shell, port: int, out: Path, *settings: str, aec: str = "FAKE-QR") -> None:
    status, shown = shell.run("; ".join([*settings, "set max-pdu 16384", f"connect 127.0.0.1 {port} --aec {aec}",
                                         f"output {out}"]))
    assert status is ExitStatus.SUCCESS, shown


def error_lines(shown: str) -> list[str]:
    return [line for line in shown.splitlines() if line.startswith("error:")]


def uids_on_disk(out: Path) -> list[str]:
    return sorted(str(dcmread(p).SOPInstanceUID) for p in out.rglob("*") if p.is_file())


def uids(objects: list[Dataset]) -> list[str]:
    return sorted(str(ds.SOPInstanceUID) for ds in objects)


def assert_carries_on(shell: Shell, peer: FakeQR, tmp_path: Path, objects: list[Dataset], *,
                      reassociates: bool) -> str:
    """The next get works and receives exactly its own objects; it re-associates when it must."""
    again = tmp_path / "again"
    again.mkdir()
    before = peer.associations
    status, shown = shell.run(f"output {again}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert uids_on_disk(again) == uids(objects), "the next get received something that was not its own"
    assert ("associated with FAKE-QR" in shown) is reassociates, shown
    assert peer.associations == before + reassociates
    return shown


def one_error(shown: str, status: ExitStatus) -> str:
    assert status is ExitStatus.NETWORK, shown
    (line,) = error_lines(shown)
    return line


# --- item 2: PDU lengths ----------------------------------------------------------------------------

def test_an_endless_pdu_aborts_at_once_with_memory_bounded(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """A P-DATA-TF header declaring 0xFFFFFFF0 bytes, then 48 MB of them: refused on the header, and
    what follows is never kept."""
    objects = make_objects(3)

    def endless(event: Any, fake: FakeQR) -> None:
        stream(event.assoc, b"\x04\x00\xff\xff\xff\xf0", OFFERED, fake.release)

    peer = start(fake, FakeQR(then_raw(objects[:2], endless)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out, "set dimse-timeout 20")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        status, shown = shell.run(GET)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    line = one_error(shown, status)
    assert line.startswith("error: C-GET: the peer sent a P-DATA-TF PDU of 4294967280 bytes, more than the 16384 "
                           "getsh announced (max-pdu) plus 6 bytes of PDV header; the association was aborted"), line
    assert line.endswith("2 objects received before that were kept — the peer is at fault: check its log"), line
    assert peak < MEMORY_BOUND, f"{peak} bytes allocated"
    assert uids_on_disk(out) == uids(objects[:2])
    assert_carries_on(shell, peer, tmp_path, objects[:2], reassociates=True)


@pytest.mark.parametrize(("fragment", "refused"), [(16384, False), (16385, True), (1024 * 1024, True)])
def test_a_pdu_longer_than_getsh_announced_is_refused(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                      fragment: int, refused: bool) -> None:
    """max-pdu 16384: a PDV of 16384 bytes of data (PDU length 16390: max-pdu read as the PDV's data,
    as some peers do) is taken; one byte more, or a 1 MB PDU, aborts with the sizes named."""
    objects = make_objects(2, pixels=40_000)
    big = make_objects(1, pixels=40_000, tag="6")[0]
    big.Rows = fragment // 40_000 + 2
    big.PixelData = bytes(big.Rows * 40_000)

    def send_big(event: Any, fake: FakeQR) -> None:
        context, syntax = storage_context(event.assoc)
        send_raw(event.assoc, store_pdus(context, 99, big, syntax, fragment=fragment))
        if not refused:
            take_answers(event.assoc, fake, 3)
            send_raw(event.assoc, final_response(event, completed=3))

    peer = start(fake, FakeQR(then_raw(objects, send_big, stall=refused)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out, "set dimse-timeout 5")
    status, shown = shell.run(GET)
    if refused:
        line = one_error(shown, status)
        assert f"the peer sent a P-DATA-TF PDU of {fragment + 6} bytes, more than the 16384 getsh announced " \
               "(max-pdu) plus 6 bytes of PDV header; the association was aborted" in line, line
        assert uids_on_disk(out) == uids(objects[:2])
        assert peer.store_statuses == [0, 0]
    else:
        assert status is ExitStatus.SUCCESS, shown
        assert uids_on_disk(out) == uids([*objects, big])
        assert peer.store_statuses == [0, 0, 0]
    assert_carries_on(shell, peer, tmp_path, objects[:2], reassociates=refused)


@pytest.mark.parametrize("receive_path", ["direct"], indirect=True)  # no receive path is involved yet
def test_an_association_accept_of_4_gb_is_refused(shell: Shell, tmp_path: Path) -> None:
    """An A-ASSOCIATE-AC whose header declares 0xFFFFFFFA bytes, then 48 MB of them."""
    with RawAcceptor(b"\x02\x00\xff\xff\xff\xfa" + b"\x00\x01", extra=OFFERED) as peer:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            began = time.monotonic()
            status, shown = shell.run(f"connect 127.0.0.1 {peer.port} --aec RAW")
            took = time.monotonic() - began
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    line = one_error(shown, status)
    assert line == (f"error: association request to RAW @ 127.0.0.1:{peer.port}: the peer sent an A-ASSOCIATE-AC PDU "
                    "of 4294967290 bytes, more than the 1048576 getsh accepts for one; getsh aborted it — the peer "
                    "is at fault: check its log")
    assert peak < MEMORY_BOUND, f"{peak} bytes allocated"
    assert took < 10
    assert not shell.ctx.session.link.is_open


# --- item 3: messages that do not belong to the running request -----------------------------------

@pytest.mark.parametrize("status_code", [0xFF00, 0x0000])
def test_a_response_to_another_message_id_aborts(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                 status_code: int) -> None:
    objects = make_objects(3)
    asked: list[int] = []

    def stray(event: Any, fake: FakeQR) -> None:
        asked.append(event.request.MessageID)
        send_raw(event.assoc, p_data(get_context(event), 0x03, c_get_rsp(event.request.MessageID + 7, status_code,
                                                                          completed=2, remaining=1)))

    peer = start(fake, FakeQR(then_raw(objects[:2], stray)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out, "set dimse-timeout 5")
    status, shown = shell.run(GET)
    line = one_error(shown, status)
    (ours,) = asked
    assert re.fullmatch(rf"error: C-GET: the peer sent a C-GET-RSP to message {ours + 7}, not to this request "
                        rf"\(message {ours}\); the association was aborted after \d+\.\d s; 2 objects received "
                        r"before that were kept — the peer is at fault: check its log", line), line
    assert uids_on_disk(out) == uids(objects[:2])
    assert not shell.ctx.session.link.is_open
    status, shown = shell.run("status")  # the error said the association was aborted: it is gone, not open
    assert re.search(r"^\s*state\s+none\s*$", shown, re.M), shown
    assert_carries_on(shell, peer, tmp_path, objects[:2], reassociates=True)


def test_a_c_store_after_the_final_response_is_not_taken_by_the_next_get(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, receive_path: str) -> None:
    """The final response, then one more C-STORE: the get ends as the peer said; the association is out
    of step, so it is aborted and the next get re-associates and receives only its own objects."""
    objects = make_objects(3)
    late = make_objects(1, tag="8")[0]

    def store_after_final(event: Any, fake: FakeQR) -> None:
        context, syntax = storage_context(event.assoc)
        final = p_data(get_context(event), 0x03, c_get_rsp(event.request.MessageID, 0x0000, completed=2))
        send_raw(event.assoc, final + store_pdus(context, 50, late, syntax))

    peer = start(fake, FakeQR(then_raw(objects[:2], store_after_final)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out)
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    assert uids_on_disk(out) == uids(objects[:2])
    late_words = (r"the peer sent (another message after its final C-GET-RSP|a C-STORE-RQ that belongs to no "
                  r"request \(none was running\))")
    before = peer.associations
    again = tmp_path / "again"
    again.mkdir()
    status, shown = shell.run(f"output {again}; {GET}")
    raced = status is not ExitStatus.SUCCESS
    if raced:
        # pynetdicom's reader takes the late C-STORE when it resumes after the get: when that falls after
        # the next get found the association open and before it sent its request, that get is the one
        # told (it sent nothing), and the one after re-associates
        assert receive_path == "pynetdicom" and re.search(late_words + "; the association was aborted", shown), shown
        status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    assert uids_on_disk(again) == uids(objects[:2]), "the next get received something that was not its own"
    assert "associated with FAKE-QR" in shown and peer.associations == before + 1, shown
    assert raced or re.search(late_words + "; getsh aborted the association: re-associating", shown), shown
    assert late.SOPInstanceUID not in shown
    assert late.SOPInstanceUID not in {r.sop_instance_uid for r in shell.ctx.session.received}


def test_a_non_ascii_uid_neither_crashes_nor_desynchronises(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                            receive_path: str) -> None:
    """A C-STORE-RQ whose Affected SOP Instance UID holds bytes 0xE9: answered as pynetdicom answers it
    (the same status on both paths), kept and reported as a UID that is not a UID (a warning), the
    get ends on its final response, and the next one receives only its own objects on the same
    association."""
    objects = make_objects(3)
    odd = make_objects(1, tag="9")[0]
    raw_uid = f"{UID_ROOT}.9.".encode() + b"\xe9\xe9"

    def non_ascii(event: Any, fake: FakeQR) -> None:
        context, syntax = storage_context(event.assoc)
        send_raw(event.assoc, store_pdus(context, 77, odd, syntax, sop_instance=raw_uid))
        take_answers(event.assoc, fake, 3)
        send_raw(event.assoc, final_response(event, completed=3))

    peer = start(fake, FakeQR(then_raw(objects[:2], non_ascii, stall=False)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out)
    status, shown = shell.run(GET)
    assert status is ExitStatus.WARNING, shown
    assert "1 object had UIDs that are not valid UIDs" in " ".join(shown.split()), shown
    assert len(peer.store_statuses) == 3 and peer.store_statuses[:2] == [0, 0]
    assert peer.store_statuses[2] == 0x0000, f"0x{peer.store_statuses[2]:04X} on the {receive_path} path"
    assert not [p for p in out.rglob("*") if "\ufffd" in p.name]
    assert shell.ctx.session.link.is_open
    status, shown = shell.run("status")
    assert re.search(r"^\s*state\s+open\s*$", shown, re.M), shown
    assert_carries_on(shell, peer, tmp_path, objects[:2], reassociates=False)


@pytest.mark.parametrize(("pdus", "why"), [
    ("never-accepted", "a PDV on presentation context 255, which was never accepted"),
    ("interleaved", "a PDV on presentation context {other} in the middle of a message on context {context}"),
    ("data-elsewhere", "a data set on presentation context {context} for a command on context {other}"),
    ("huge-command", "a command set of more than 65536 bytes"),
])
def test_a_pdv_out_of_order_aborts_with_the_same_words_on_both_paths(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, pdus: str, why: str) -> None:
    objects = make_objects(3)
    seen: dict[str, int] = {}

    def out_of_order(event: Any, fake: FakeQR) -> None:
        context, _ = storage_context(event.assoc)
        other = get_context(event)
        seen.update(context=context, other=other)
        cmd = c_store_rq(60, CTImageStorage, f"{UID_ROOT}.60".encode())
        raw = {"never-accepted": p_data(255, 0x03, cmd),
               "interleaved": p_data(context, 0x01, cmd[:20]) + p_data(other, 0x03, cmd),
               "data-elsewhere": p_data(context, 0x02, b"\x08\x00\x18\x00\x00\x00\x00\x00"),
               "huge-command": b"".join(p_data(context, 0x01, bytes(8000)) for _ in range(9))}[pdus]
        send_raw(event.assoc, raw)

    peer = start(fake, FakeQR(then_raw(objects[:2], out_of_order)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out, "set dimse-timeout 5")
    began = time.monotonic()
    status, shown = shell.run(GET)
    line = one_error(shown, status)
    assert time.monotonic() - began < 4.5  # the diagnosis, not the DIMSE timeout
    assert line.startswith(f"error: C-GET: the peer sent {why.format(**seen)}; the association was aborted"), line
    assert uids_on_disk(out) == uids(objects[:2])
    assert_carries_on(shell, peer, tmp_path, objects[:2], reassociates=True)


# --- item 4: a class on another class's context -----------------------------------------------------

@pytest.mark.parametrize("sop_class", ["1.2.826.0.1.3680043.10.1137.999.1", MRImageStorage])
def test_a_class_on_another_classs_context_is_refused_alike(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                            sop_class: str) -> None:
    """A C-STORE-RQ of a class never proposed (or proposed, on its own context) sent on the CT context:
    0x0122 (SOP class not supported) on both paths, nothing stored, the association kept."""
    objects = make_objects(3)
    odd = make_objects(1, tag="7")[0]
    odd.SOPClassUID = sop_class

    def wrong_context(event: Any, fake: FakeQR) -> None:
        context, syntax = storage_context(event.assoc, CTImageStorage)
        send_raw(event.assoc, store_pdus(context, 70, odd, syntax, sop_class=sop_class))
        take_answers(event.assoc, fake, 3)
        send_raw(event.assoc, final_response(event, 0xB000, completed=2, failed=1))

    peer = start(fake, FakeQR(then_raw(objects[:2], wrong_context, stall=False)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out)
    status, shown = shell.run(GET)
    assert peer.store_statuses == [0, 0, 0x0122], shown
    assert uids_on_disk(out) == uids(objects[:2])
    assert not [p for p in out.rglob("*") if p.name.startswith("UNKNOWN")]
    assert status is ExitStatus.SUBOPS_FAILED, shown
    assert_carries_on(shell, peer, tmp_path, objects[:2], reassociates=False)


# --- any exception in the receive loop --------------------------------------------------------------

@pytest.mark.parametrize("receive_path", ["direct"], indirect=True)  # pynetdicom's path answers 0xC000 instead
def test_a_failure_inside_the_receive_loop_aborts_the_association(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No peer can cause this (it stands for a bug in getsh): the association is mid-request, so it is
    aborted, the line says so, and the next command re-associates."""
    from getsh.dicom.retrieve.receive import sinks

    objects = make_objects(3)
    peer = start(fake, FakeQR(then_raw(objects, lambda event, fake: None, stall=False)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer.port, out)
    real = sinks.make_sink
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("a bug")
        return real(*args, **kwargs)

    monkeypatch.setattr("getsh.dicom.retrieve.run.make_sink", failing)
    monkeypatch.setattr(sinks, "make_sink", failing)
    status, shown = shell.run(GET)
    line = one_error(shown, status)
    assert line.startswith("error: C-GET failed: RuntimeError: a bug; the association was aborted"), line
    assert not shell.ctx.session.link.is_open
    monkeypatch.setattr("getsh.dicom.retrieve.run.make_sink", real)
    assert_carries_on(shell, peer, tmp_path, objects, reassociates=True)
