"""C-MOVE to getsh's own receiver, against dcmqrscp, Orthanc and the demo archive.

The archives are told where getsh's AE title listens (dcmqrscp's HostTable, Orthanc's DicomModalities,
the demo's --move-dest) on a free port of 127.0.0.1; the receiver listens there only while a move runs
(or listen is on). What a C-MOVE brings must be what a C-GET of the same study brings, byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.demo.server import DemoServer
from getsh.dicom.events import Received
from getsh.exitstatus import ExitStatus
from tests.faults.fake_peers import wait_for
from tests.interop.test_cancel import assert_kept, ctrl_c, interrupt_when
from tests.peers import HOST, Dcmqrscp, Orthanc, free_port, port_open
from tests.shell_driver import Shell, ShellDriver

pytestmark = pytest.mark.interop

AET = "GETSCU"  # getsh's AE title (the aet setting's default): the Move Destination


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def study_of(archive: list[ArchiveEntry], patient: str = "DEMO001", modality: str = "CT") -> str:
    return next(e.study_uid for e in archive if e.patient_id == patient and e.modality == modality)


def listening(shell: Shell, port: int) -> None:
    status, shown = shell.run(f"set listen-port {port}; set listen-host {HOST}")
    assert status is ExitStatus.SUCCESS, shown


class SlowMoveDemo(DemoServer):
    """The demo archive, waiting ``delay`` seconds before each C-STORE of a C-MOVE (it checks for
    C-CANCEL between them)."""

    delay = 0.0

    def _on_move(self, event: Any) -> Iterator[Any]:
        for item in super()._on_move(event):
            if isinstance(item, tuple) and item and item[0] == 0xFF00 and self.delay:
                time.sleep(self.delay)
            yield item


@pytest.fixture
def receiver_port() -> int:
    return free_port()


@pytest.fixture
def demo(make_demo_server: Callable[..., DemoServer], receiver_port: int) -> Callable[..., DemoServer]:
    """Demo archives for one test, each knowing getsh's AE title at ``receiver_port``; stopped at teardown."""

    def make(cls: type[DemoServer] = DemoServer, **kwargs: Any) -> DemoServer:
        kwargs.setdefault("move_destinations", {AET: (HOST, receiver_port)})
        return make_demo_server(cls, **kwargs)

    return make


# --- the same bytes as C-GET ------------------------------------------------------------------------

@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc"])
def test_move_brings_the_same_files_and_bytes_as_get(
    peer: str, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
    make_dcmqrscp: Callable[..., Dcmqrscp], make_orthanc: Callable[..., Orthanc],
) -> None:
    files = [e.path for e in archive]
    destinations = {AET: (HOST, receiver_port)}
    server: Dcmqrscp | Orthanc = (make_dcmqrscp(files, move_destinations=destinations) if peer == "dcmqrscp"
                                  else make_orthanc(files, move_destinations=destinations))
    study = study_of(archive)
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    by_get, by_move = tmp_path / "get", tmp_path / "move"
    by_get.mkdir()
    by_move.mkdir()
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; set storage bit-preserving")
    listening(shell, receiver_port)
    keys = f"QueryRetrieveLevel=STUDY PatientID=DEMO001 StudyInstanceUID={study}"

    status, shown = shell.run(f"output {by_get}; get {keys}")
    assert status is ExitStatus.SUCCESS, shown
    assert not port_open(receiver_port), "a get needs no receiver"
    status, shown = shell.run(f"output {by_move}; move {keys}")
    assert status is ExitStatus.SUCCESS, shown

    assert f"receiver {AET} listening on {HOST}:{receiver_port} (loopback: this machine only)" in shown
    assert f"MoveDestination={AET}" in shown
    assert "C-MOVE Success" in shown and f"sub-operations: {len(expected)} completed, 0 failed" in shown
    assert f"getsh received {len(expected)}" in shown and "counts do not add up" not in shown
    assert len(files_in(by_move)) == len(expected)
    assert files_in(by_move) == files_in(by_get)  # the same names, the same bytes
    assert {str(dcmread(p).SOPInstanceUID) for p in by_move.iterdir()} == expected
    assert not port_open(receiver_port), "the receiver stops with the move (listen is off)"
    received = shell.ctx.session.received  # what 'received' lists: the get's objects, then the move's
    assert [r.sop_instance_uid for r in received[len(expected):]] != [] and len(received) == 2 * len(expected)
    assert {r.sop_instance_uid for r in received[len(expected):]} == expected


# --- retrieve auto: C-GET, else C-MOVE --------------------------------------------------------------

def test_auto_falls_back_to_move_when_the_peer_offers_no_get(
    shell: Shell, demo: Callable[..., DemoServer], archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
) -> None:
    server = demo(offer_get=False)
    wanted = {e.sop_instance_uid for e in archive if e.patient_id == "DEMO004"}
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}")
    listening(shell, receiver_port)

    status, shown = shell.run("get QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.NETWORK and "no C-GET was sent" in shown, shown  # retrieve get: no fallback

    status, shown = shell.run("set retrieve auto; get QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.SUCCESS, shown
    fallback = [line for line in shown.splitlines() if "instead (retrieve auto)" in line]
    assert len(fallback) == 1, shown
    assert fallback[0].startswith("no C-GET: the peer refused the Patient Root Query/Retrieve Information Model - GET")
    assert f"retrieving with C-MOVE to {AET} instead" in fallback[0]
    assert "C-MOVE Success" in shown and f"{len(wanted)} completed" in shown
    assert {str(dcmread(p).SOPInstanceUID) for p in tmp_path.iterdir()} == wanted


def test_a_third_party_destination_gets_the_objects_and_nothing_arrives_here(
    shell: Shell, demo: Callable[..., DemoServer], tmp_path: Path, receiver_port: int,
) -> None:
    got: list[str] = []
    other = AE("OTHER")
    other.add_supported_context(Verification)
    from pynetdicom import AllStoragePresentationContexts, evt

    for cx in AllStoragePresentationContexts:
        other.add_supported_context(cx.abstract_syntax)

    def stored(event: Any) -> int:
        got.append(str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    other_port = free_port()
    scp = other.start_server((HOST, other_port), block=False, evt_handlers=[(evt.EVT_C_STORE, stored)])
    try:
        server = demo(move_destinations={AET: (HOST, receiver_port), "OTHER": (HOST, other_port)})
        shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}")
        status, shown = shell.run("set move-destination OTHER; move QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    finally:
        scp.shutdown()
    assert status is ExitStatus.SUCCESS, shown
    assert "sent to OTHER: nothing was to arrive here" in shown and "MoveDestination=OTHER" in shown
    assert len(got) == 8 and not list(tmp_path.iterdir())
    assert "receiver" not in shown  # no receiver was started for a third party


# --- the archive does not know us -------------------------------------------------------------------

def test_move_destination_unknown_prints_the_lines_to_add(
    shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
    make_dcmqrscp: Callable[..., Dcmqrscp],
) -> None:
    server = make_dcmqrscp([e.path for e in archive if e.patient_id == "DEMO004"])  # no HostTable entry for us
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}")
    listening(shell, receiver_port)
    status, shown = shell.run("move QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.FAILURE, shown
    assert "C-MOVE Failure: Move destination unknown (0xA801)" in shown
    assert f"the archive does not know getsh AE title {AET} as a Move Destination (0xA801)" in shown
    assert f"getsh = ({AET}, {HOST}, {receiver_port})" in shown
    assert f'"getsh" : [ "{AET}", "{HOST}", {receiver_port} ]' in shown
    assert "nothing matched" not in shown and not list(tmp_path.iterdir())


def test_orthanc_says_it_with_0xc000_and_its_comment(
    shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
    make_orthanc: Callable[..., Orthanc],
) -> None:
    server = make_orthanc([e.path for e in archive if e.patient_id == "DEMO004"])
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}")
    listening(shell, receiver_port)
    status, shown = shell.run("move QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.FAILURE, shown
    assert "(0xC000)" in shown and f"know getsh AE title {AET} as a Move Destination (Orthanc answers so)" in shown
    assert f'"getsh" : [ "{AET}", "{HOST}", {receiver_port} ]' in shown


def test_move_without_a_port_says_how_to_give_one(shell: Shell, demo: Callable[..., DemoServer]) -> None:
    server = demo()
    shell.run(f"connect {HOST} {server.port}")
    status, shown = shell.run("move QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.ERROR, shown
    assert "a C-MOVE needs a port for getsh's receiver" in shown and "set listen-port PORT" in shown


# --- only what belongs to the move ------------------------------------------------------------------

def _associate(port: int, calling: str, bind: str = HOST) -> Any:
    ae = AE(calling)
    ae.add_requested_context(Verification)
    return ae.associate(HOST, port, ae_title=AET, bind_address=(bind, 0))


def test_a_stray_association_is_refused_and_reported(
    shell: Shell, demo: Callable[..., DemoServer], tmp_path: Path, receiver_port: int,
) -> None:
    server = demo()
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}")
    assert not port_open(receiver_port)  # neither a move nor listen: nothing listens

    status, shown = shell.run(f"set move-callers GETSH-DEMO; listen {receiver_port} --host {HOST}")
    assert status is ExitStatus.SUCCESS and "listen is on" in shown, shown
    stray = _associate(receiver_port, "STRAY", bind="127.0.0.2")  # another address
    assert stray.is_rejected
    assert (stray.acceptor.primitive.result, stray.acceptor.primitive.result_source,
            stray.acceptor.primitive.diagnostic) == (1, 1, 3)
    wrong_title = _associate(receiver_port, "STRAY")  # the peer's address, not a title move-callers lists
    assert wrong_title.is_rejected
    right = _associate(receiver_port, "GETSH-DEMO")
    assert right.is_established
    right.release()

    status, shown = shell.run("listen")
    assert "receiver: refused an association from 127.0.0.2 (calling AE 'STRAY'): not from the peer's address " \
           f"({HOST})" in shown, shown
    assert "calling AE title 'STRAY' is not one of move-callers (GETSH-DEMO)" in shown
    status, shown = shell.run("status")
    assert f"{AET} on {HOST}:{receiver_port} (loopback: this machine only), listen on" in shown, shown
    status, shown = shell.run("move QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.SUCCESS and "8 completed" in shown, shown  # the archive calls as GETSH-DEMO
    assert shell.run("expect completed 8; expect received 8")[0] is ExitStatus.SUCCESS
    assert port_open(receiver_port)  # listen is on: it outlives the move
    shell.run("listen off")
    assert not port_open(receiver_port)


def test_listen_needs_a_peer_numbers_what_came_between_commands_and_survives_a_port_change(
    shell: Shell, demo: Callable[..., DemoServer], archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
) -> None:
    """listen before connect would take anyone's objects: refused. Objects stored between commands are
    numbered by the next command (after those a get numbered), once each; moving the receiver to another
    port keeps listen on."""
    status, shown = shell.run(f"listen {receiver_port} --host {HOST}")
    assert status is ExitStatus.ERROR and "connect HOST PORT first, then listen" in shown, shown
    assert not port_open(receiver_port)
    server = demo()
    ct = [e for e in archive if e.patient_id == "DEMO001" and e.modality == "CT"][:2]
    status, shown = shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}; "
                              f"get QueryRetrieveLevel=IMAGE PatientID=DEMO001 StudyInstanceUID={ct[0].study_uid} "
                              f"SeriesInstanceUID={ct[0].series_uid} SOPInstanceUID={ct[0].sop_instance_uid}; "
                              f"listen {receiver_port} --host {HOST}")
    assert status is ExitStatus.SUCCESS and "listen is on" in shown, shown
    sender = AE("SOMEPACS")
    sender.add_requested_context(ct[1].sop_class_uid, ct[1].transfer_syntax_uid)
    assoc = sender.associate(HOST, receiver_port, ae_title=AET)
    assert assoc.is_established
    assert assoc.send_c_store(dcmread(ct[1].path)).Status == 0
    assoc.release()
    status, shown = shell.run("received --raw")  # the first command after: it numbers the object, 2
    assert status is ExitStatus.SUCCESS, shown
    assert f"receiver: object 2 from {HOST} (SOMEPACS)" in shown, shown
    numbers = [r.index for r in shell.ctx.session.received]
    assert numbers == [1, 2] and [r.sop_instance_uid for r in shell.ctx.session.received] == \
        [ct[0].sop_instance_uid, ct[1].sop_instance_uid]
    other = free_port()
    server.move_destinations[AET] = (HOST, other)
    status, shown = shell.run(f"set listen-port {other}; move QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.SUCCESS and "(listen stays on)" in shown, shown
    assert port_open(other) and not port_open(receiver_port)  # moved, and still listening after the move
    assert [r.index for r in shell.ctx.session.received] == list(range(1, len(shell.ctx.session.received) + 1))
    shell.run("listen off")
    assert not port_open(other)


def test_a_refusal_during_a_move_is_said_there_and_not_blamed_on_the_archive(
    shell: Shell, demo: Callable[..., DemoServer], tmp_path: Path, receiver_port: int,
) -> None:
    server = demo()
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}; set move-callers PACS1")
    listening(shell, receiver_port)
    status, shown = shell.run("move QueryRetrieveLevel=PATIENT PatientID=DEMO004")
    assert status is ExitStatus.FAILURE, shown  # pynetdicom's archive answers 0xA801 when it cannot associate
    refused = [line for line in shown.splitlines() if line.startswith("receiver: refused")]
    assert refused == [f"receiver: refused an association from {HOST} (calling AE 'GETSH-DEMO'): calling AE title "
                       "'GETSH-DEMO' is not one of move-callers (PACS1)"], shown
    assert "does not know" not in shown  # it called us: it knows where getsh is
    assert not list(tmp_path.iterdir())


# --- Ctrl-C --------------------------------------------------------------------------------------------

def test_ctrl_c_mid_move_cancels_and_leaves_whole_files_only(
    shell: Shell, demo: Callable[..., DemoServer], archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
) -> None:
    server = demo(SlowMoveDemo)
    assert isinstance(server, SlowMoveDemo)
    server.delay = 0.1
    total = sum(1 for e in archive if e.patient_id == "DEMO001")
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}")
    listening(shell, receiver_port)
    interrupt_when(shell, Received, 3)
    status, shown = shell.run("move QueryRetrieveLevel=PATIENT PatientID=DEMO001")
    assert status is ExitStatus.WARNING, shown
    assert "C-CANCEL sent" in shown and "C-MOVE Cancel" in shown, shown
    received = shell.ctx.session.received
    assert 3 <= len(received) < total
    assert_kept(tmp_path, archive, received)
    assert not port_open(receiver_port)  # stopped cleanly with the move
    assert shell.ctx.session.link.is_open  # the move's association carries on


def test_ctrl_c_in_the_repl_mid_move(
    demo: Callable[..., DemoServer], archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
) -> None:
    """The real REPL, Ctrl-C wherever its thread is (as a terminal's SIGINT): the same C-CANCEL, whole
    files only, the receiver stopped, the shell alive."""
    server = demo(SlowMoveDemo)
    assert isinstance(server, SlowMoveDemo)
    server.delay = 0.1
    with ShellDriver(key_delay=0.05) as driver:
        driver.line(f"connect {HOST} {server.port} --aec {server.ae_title}")
        driver.line(f"output {tmp_path}; set listen-port {receiver_port}; set listen-host {HOST}")
        before, count = len(driver.out.getvalue() + driver.err.getvalue()), driver.lines_run
        driver.type("move QueryRetrieveLevel=PATIENT PatientID=DEMO001", "\r")
        wait_for(lambda: len(driver.ctx.session.received) >= 3, 10, "three objects")
        ctrl_c(driver)
        driver.wait_idle(count, 10)
        shown = (driver.out.getvalue() + driver.err.getvalue())[before:]
        assert "C-MOVE Cancel" in shown, shown
        assert_kept(tmp_path, archive, driver.ctx.session.received)
        assert driver.alive and not port_open(receiver_port)


# --- getsh move in movescu's words ------------------------------------------------------------------

@pytest.mark.parametrize("options", [["-P", "+B"], ["-S", "-B"]])
def test_getsh_move_and_dcmtk_movescu_receive_the_same_objects(
    options: list[str], archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
    make_dcmqrscp: Callable[..., Dcmqrscp], dcmtk: Callable[[str], Path],
) -> None:
    """The same movescu option line, run by /usr/bin/movescu and by getsh move against dcmqrscp, which
    knows MOVESCU (both tools' default AE title and Move Destination) at one port: the same names, UIDs
    and (bit-preserving) data set bytes arrive; both exit 0."""
    from tests.interop.test_parity import dataset_bytes

    server = make_dcmqrscp([e.path for e in archive if e.patient_id == "DEMO004"],
                           move_destinations={"MOVESCU": (HOST, receiver_port)})
    study = study_of(archive, "DEMO004")
    level = ["-k", "QueryRetrieveLevel=STUDY"] + (["-k", "PatientID=DEMO004"] if "-P" in options else [])
    line = [*options, "-aec", server.ae_title, *level, "-k", f"StudyInstanceUID={study}", "+P", str(receiver_port)]
    theirs, ours = tmp_path / "movescu", tmp_path / "getsh"
    theirs.mkdir()
    ours.mkdir()
    env = {**os.environ, "TCP_NODELAY": "1"}
    # movescu 3.6.7 writes bit-preserving files into its working directory, whatever -od says: run it there
    movescu = subprocess.run([str(dcmtk("movescu")), *line, "-od", str(theirs), HOST, str(server.port)],
                             capture_output=True, text=True, env=env, timeout=60, cwd=theirs)
    getsh = subprocess.run([sys.executable, "-m", "getsh", "move", *line, "-od", str(ours), HOST, str(server.port)],
                           capture_output=True, text=True, env=env, timeout=60)
    assert movescu.returncode == 0, movescu.stdout + movescu.stderr
    assert getsh.returncode == 0, getsh.stdout + getsh.stderr
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    names = sorted(p.name for p in theirs.iterdir())
    assert names == sorted(p.name for p in ours.iterdir()) and len(names) == len(expected)
    assert {str(dcmread(p).SOPInstanceUID) for p in ours.iterdir()} == expected
    if "+B" in options:
        assert all(dataset_bytes(theirs / name) == dataset_bytes(ours / name) for name in names)
    assert "C-MOVE Success" in getsh.stdout, getsh.stdout
