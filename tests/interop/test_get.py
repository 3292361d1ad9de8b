"""C-GET against real peers: what arrives on disk is what the peer holds, at every level and model."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.storage.diskio import offset_in
from getsh.exitstatus import ExitStatus
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

RLE = "1.2.840.10008.1.2.5"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def uids_in(folder: Path) -> set[str]:
    return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in files_in(folder)}


def selection(archive: list[ArchiveEntry], level: str, pick: ArchiveEntry) -> list[ArchiveEntry]:
    match = {
        "PATIENT": lambda e: e.patient_id == pick.patient_id,
        "STUDY": lambda e: e.study_uid == pick.study_uid,
        "SERIES": lambda e: e.series_uid == pick.series_uid,
        "IMAGE": lambda e: e.sop_instance_uid == pick.sop_instance_uid,
    }[level]
    return [e for e in archive if match(e)]


def keys_for(model: str, level: str, pick: ArchiveEntry) -> str:
    """The C-GET identifier for ``pick`` at ``level``: the unique keys of the level and those above it."""
    chain = [("PATIENT", "PatientID", pick.patient_id), ("STUDY", "StudyInstanceUID", pick.study_uid),
             ("SERIES", "SeriesInstanceUID", pick.series_uid), ("IMAGE", "SOPInstanceUID", pick.sop_instance_uid)]
    if model == "study":
        chain = chain[1:]
    keys = [f"QueryRetrieveLevel={level}"]
    for name, keyword, value in chain:
        keys.append(f"{keyword}={value}")
        if name == level:
            break
    return " ".join(keys)


def peer_address(request: pytest.FixtureRequest, name: str) -> tuple[int, str]:
    peer = request.getfixturevalue(name)
    return peer.port, peer.ae_title


PLAIN = "DEMO001"  # uncompressed: CT, SR and MR in two studies


LEVELS_OF = [("patient", "PATIENT"), ("patient", "STUDY"), ("patient", "SERIES"), ("patient", "IMAGE"),
             ("study", "STUDY"), ("study", "SERIES"), ("study", "IMAGE"), ("psonly", "PATIENT"), ("psonly", "STUDY")]


# Orthanc does not offer the retired Patient/Study Only model: it is not asked to.
@pytest.mark.parametrize(("peer", "model", "level"), [
    (peer, model, level) for peer in ("demo_server", "dcmqrscp", "orthanc") for model, level in LEVELS_OF
    if not (peer == "orthanc" and model == "psonly")
])
def test_get_at_every_level_brings_exactly_what_the_peer_holds(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path,
    peer: str, model: str, level: str,
) -> None:
    port, aet = peer_address(request, peer)
    pick = next(e for e in archive if e.patient_id == PLAIN and e.modality == "CT")
    expected = selection(archive, level, pick)
    status, shown = shell.run(
        f"connect 127.0.0.1 {port} --aec {aet}; model {model}; output {tmp_path}; get {keys_for(model, level, pick)}"
    )
    assert status is ExitStatus.SUCCESS, shown
    assert uids_in(tmp_path) == {e.sop_instance_uid for e in expected}
    assert f"sub-operations: {len(expected)} completed, 0 failed" in shown
    for path in files_in(tmp_path):
        got = dcmread(path)
        source = next(e for e in expected if e.sop_instance_uid == got.SOPInstanceUID)
        held = dcmread(source.path)
        assert got.file_meta.MediaStorageSOPInstanceUID == held.SOPInstanceUID
        if "PixelData" in held:
            assert got.PixelData == held.PixelData
        assert got.PatientName == held.PatientName


@pytest.mark.parametrize("peer", ["demo_server", "dcmqrscp", "orthanc"])
@pytest.mark.parametrize("mode", ["normal", "bit-preserving", "ignore"])
def test_storage_modes(request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path,
                       peer: str, mode: str) -> None:
    port, aet = peer_address(request, peer)
    study = next(e for e in archive if e.patient_id == PLAIN and e.modality == "MR").study_uid
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec {aet}; model study; storage {mode}; "
                              f"output {tmp_path}; get QueryRetrieveLevel=STUDY StudyInstanceUID={study}")
    assert status is ExitStatus.SUCCESS, shown
    received = shell.ctx.session.received
    assert {r.sop_instance_uid for r in received} == expected
    if mode == "ignore":
        assert files_in(tmp_path) == []
        assert all(r.path is None and r.action == "ignored" for r in received)
        return
    assert uids_in(tmp_path) == expected
    for path in files_in(tmp_path):
        meta = dcmread(path, stop_before_pixels=True).file_meta
        assert meta.ImplementationClassUID and meta.TransferSyntaxUID == EXPLICIT_LE
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name or p.name.startswith(".")]


@pytest.mark.parametrize("peer", ["demo_server", "dcmqrscp", "orthanc"])
@pytest.mark.parametrize("mode", ["normal", "bit-preserving"])
def test_both_receive_paths_store_the_same_bytes_and_show_the_same_table(
    request: pytest.FixtureRequest, archive: list[ArchiveEntry], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    peer: str, mode: str,
) -> None:
    """getsh's direct receive path (direct_get.py) and pynetdicom's own must be indistinguishable:
    every file byte for byte, every row of the table, the summary's counts."""
    from getsh.dicom.retrieve.receive import direct_get
    from tests.shell_driver import Shell

    port, aet = peer_address(request, peer)
    runs = []
    real_run = direct_get.DirectGet.run
    used: list[str] = []

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        used.append(path)
        return real_run(self, *args, **kwargs)

    for path in ("direct", "pynetdicom"):
        monkeypatch.setattr(direct_get.DirectGet, "run", counting)
        out = tmp_path / path
        out.mkdir()
        shell = Shell()
        try:
            status, shown = shell.run(f"set receive {'pynetdicom' if path == 'pynetdicom' else 'auto'}; "
                                      f"connect 127.0.0.1 {port} --aec {aet}; storage {mode}; output {out}; "
                                      f"get QueryRetrieveLevel=PATIENT PatientID={PLAIN}")
        finally:
            shell.close()
        assert status is ExitStatus.SUCCESS, shown
        assert (path in used) is (path == "direct"), "the wrong receive path was taken"
        table = [line for line in shown.splitlines() if "│" in line or line.startswith("sub-operations")]
        runs.append((out, table))
    (direct, direct_table), (stock, stock_table) = runs
    names = sorted(p.relative_to(direct).as_posix() for p in files_in(direct))
    assert names == sorted(p.relative_to(stock).as_posix() for p in files_in(stock))
    assert len(names) == len([e for e in archive if e.patient_id == PLAIN])
    for name in names:
        assert (direct / name).read_bytes() == (stock / name).read_bytes(), name
    assert direct_table == stock_table


def test_pdus_larger_than_the_receive_buffer_grow_it(
    shell: Shell, demo_server, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A peer may send PDUs larger than the buffer (one that ignores our maximum, or max-pdu 0):
    the direct path grows its buffer and loses nothing. Forced here with a 1,000-byte buffer."""
    from getsh.dicom.retrieve.receive import direct_get

    monkeypatch.setattr(direct_get, "BUFFER_BYTES", 1000)
    status, shown = shell.run(f"connect 127.0.0.1 {demo_server.port} --aec {demo_server.ae_title}; "
                              f"storage bit-preserving; output {tmp_path}; "
                              f"get QueryRetrieveLevel=PATIENT PatientID={PLAIN}")
    assert status is ExitStatus.SUCCESS, shown
    expected = {e.sop_instance_uid for e in archive if e.patient_id == PLAIN}
    assert uids_in(tmp_path) == expected
    by_uid = {e.sop_instance_uid: e.path for e in archive}
    for path in files_in(tmp_path):
        got = path.read_bytes()
        source = Path(by_uid[str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)]).read_bytes()
        assert got[offset_in(got):] == source[offset_in(source):], path.name


@pytest.mark.parametrize(("peer", "prefer", "wanted"), [
    # Where the peer can provide it. An acceptor picks a context's syntax by its own preference and a
    # sender may use any context it accepted for the class: getsh proposes the preferred syntax in a
    # context of its own, first. dcmqrscp and the demo send on the first context accepted for a class;
    # Orthanc sends an object as stored when a context allows, so only a context with nothing else
    # (implicit) makes it transcode.
    ("demo_server", "implicit", IMPLICIT), ("demo_server", "rle", RLE),
    ("dcmqrscp", "implicit", IMPLICIT), ("dcmqrscp", "big", EXPLICIT_BE),
    ("orthanc", "implicit", IMPLICIT),
])
def test_prefer_gives_files_in_that_transfer_syntax(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path,
    peer: str, prefer: str, wanted: str,
) -> None:
    pytest.importorskip("numpy")
    port, aet = peer_address(request, peer)
    series = next(e for e in archive if e.patient_id == PLAIN and e.modality == "CT").series_uid
    expected = [e for e in archive if e.series_uid == series]
    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec {aet}; model study; prefer {prefer}; "
                              f"storage bit-preserving; output {tmp_path}; "
                              f"get QueryRetrieveLevel=SERIES StudyInstanceUID={expected[0].study_uid} "
                              f"SeriesInstanceUID={series}")
    assert status is ExitStatus.SUCCESS, shown
    files = files_in(tmp_path)
    assert len(files) == len(expected)
    for path in files:
        got = dcmread(path)
        assert got.file_meta.TransferSyntaxUID == wanted
        held = dcmread(next(e.path for e in expected if e.sop_instance_uid == got.SOPInstanceUID))
        assert (got.pixel_array == held.pixel_array).all()


@pytest.mark.parametrize(("prefer", "wanted"), [("uncompr", EXPLICIT_LE), ("rle", RLE)])
def test_orthanc_transcodes_an_rle_study_unless_rle_is_accepted(
    shell: Shell, orthanc, archive: list[ArchiveEntry], tmp_path: Path, prefer: str, wanted: str,  # type: ignore[no-untyped-def]
) -> None:
    pytest.importorskip("numpy")
    study = next(e for e in archive if e.transfer_syntax_uid == RLE).study_uid
    expected = {e.sop_instance_uid: e for e in archive if e.study_uid == study}
    status, shown = shell.run(f"connect 127.0.0.1 {orthanc.port} --aec {orthanc.ae_title}; model study; "
                              f"prefer {prefer}; storage bit-preserving; output {tmp_path}; "
                              f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}")
    assert status is ExitStatus.SUCCESS, shown
    assert uids_in(tmp_path) == set(expected)
    for path in files_in(tmp_path):
        got = dcmread(path)
        assert got.file_meta.TransferSyntaxUID == wanted
        assert (got.pixel_array == dcmread(expected[got.SOPInstanceUID].path).pixel_array).all()


def test_rle_study_needs_an_rle_context_and_getsh_says_so(
    shell: Shell, dcmqrscp, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    study = next(e for e in archive if e.transfer_syntax_uid == RLE).study_uid
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    get = f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}"
    status, shown = shell.run(f"connect 127.0.0.1 {dcmqrscp.port} --aec TESTQR; model study; output {tmp_path}; {get}")
    assert status is ExitStatus.FAILURE
    assert "C-GET Failure: Refused: Out of resources, unable to perform sub-operations (0xA702)" in shown
    assert f"sub-operations: 0 completed, {len(expected)} failed" in shown
    why = " ".join(shown.split()).split("why: ", 1)[1]  # what the negotiation says: uncompressed only, all accepted
    assert "it accepted the storage classes proposed in Explicit VR Little Endian only" in why
    assert "if it holds the objects compressed and cannot convert them, prefer their syntax (prefer rle" in why
    status, shown = shell.run(f"prefer rle; {get}")
    assert status is ExitStatus.SUCCESS, shown
    assert "settings changed (prefer rle): re-associating" in shown
    assert uids_in(tmp_path) == expected


def test_getsh_and_dcmtk_getscu_receive_the_same_objects(
    shell: Shell, dcmqrscp, archive: list[ArchiveEntry], tmp_path: Path, dcmtk: Callable[[str], Path],  # type: ignore[no-untyped-def]
) -> None:
    ours, theirs = tmp_path / "getsh", tmp_path / "getscu"
    ours.mkdir()
    theirs.mkdir()
    patient = "DEMO004"
    result = subprocess.run(
        [str(dcmtk("getscu")), "-P", "-aec", "TESTQR", "-k", "QueryRetrieveLevel=PATIENT", "-k", f"PatientID={patient}",
         "-od", str(theirs), "127.0.0.1", str(dcmqrscp.port)],
        capture_output=True, text=True, env={**os.environ, "TCP_NODELAY": "1"}, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status, shown = shell.run(f"connect 127.0.0.1 {dcmqrscp.port} --aec TESTQR; output {ours}; "
                              f"get QueryRetrieveLevel=PATIENT PatientID={patient}")
    assert status is ExitStatus.SUCCESS, shown
    assert uids_in(ours) == uids_in(theirs) == {e.sop_instance_uid for e in archive if e.patient_id == patient}
    assert sorted(p.name for p in files_in(ours)) == sorted(p.name for p in files_in(theirs))  # getscu's names


def test_query_files_one_request_each_and_repeat(
    shell: Shell, demo_server, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    studies = sorted({e.study_uid for e in archive if e.patient_id == "DEMO004"})
    queries = []
    for n, study in enumerate(studies):
        query = tmp_path / f"q{n}.dcm"
        shell.run(f"reset-keys; model study; level STUDY; key StudyInstanceUID={study}; save {query}")
        queries.append(query)
    out = tmp_path / "out"
    out.mkdir()
    status, shown = shell.run(f"connect 127.0.0.1 {demo_server.port}; model study; output {out}; "
                              f"set repeat 2; set existing overwrite; get {queries[0]} {queries[1]}")
    assert status is ExitStatus.SUCCESS, shown
    assert shown.count("C-GET Success") == 4
    assert f"C-GET {queries[0]} (1/2)" in shown and f"C-GET {queries[1]} (2/2)" in shown
    assert uids_in(out) == {e.sop_instance_uid for e in archive if e.patient_id == "DEMO004"}
    assert "overwritten" in shown


def test_bad_output_directory_fails_before_anything_is_sent(shell: Shell, demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    status, shown = shell.run(f"connect 127.0.0.1 {demo_server.port}; output {tmp_path / 'missing'}; "
                              "get QueryRetrieveLevel=PATIENT PatientID=DEMO001")
    assert status is not ExitStatus.SUCCESS
    assert "missing" in shown and "C-GET keys" not in shown
    assert shell.ctx.session.received == []


@pytest.mark.parametrize(("peer", "learns"), [("orthanc", True), ("demo_server", True), ("dcmqrscp", False)])
def test_accept_auto_proposes_exactly_the_classes_the_peer_names(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path,
    peer: str, learns: bool,
) -> None:
    port, aet = peer_address(request, peer)
    patient = "DEMO003"  # MR and a multi-frame secondary capture
    expected = {e.sop_instance_uid for e in archive if e.patient_id == patient}
    classes = {e.sop_class_uid for e in archive if e.patient_id == patient}
    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec {aet}; accept auto; output {tmp_path}; "
                              f"get QueryRetrieveLevel=PATIENT PatientID={patient}")
    assert status is ExitStatus.SUCCESS, shown
    assert uids_in(tmp_path) == expected
    proposed = set(shell.ctx.session.link.request.plan.storage_classes)
    if learns:
        assert f"accept auto: {len(classes)} storage classes from" in shown
        assert proposed == classes
    else:  # dcmqrscp returns neither SOPClassesInStudy nor SOPClassUID: say so, fall back
        assert "accept auto: the peer's C-FIND responses hold no SOPClassUID; proposing the default list" in shown
        assert proposed >= classes


def test_accepting_too_few_classes_fails_those_objects_and_says_why(
    shell: Shell, demo_server, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    study = next(e for e in archive if e.modality == "SR").study_uid  # CT images and an SR
    wanted = [e for e in archive if e.study_uid == study]
    status, shown = shell.run(f"connect 127.0.0.1 {demo_server.port}; model study; accept CT; output {tmp_path}; "
                              f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}")
    assert status is ExitStatus.SUBOPS_FAILED, shown
    assert uids_in(tmp_path) == {e.sop_instance_uid for e in wanted if e.modality == "CT"}
    sr = next(e for e in wanted if e.modality == "SR")
    assert "failed: 1" in shown or ", 1 failed" in shown
    assert sr.sop_instance_uid in shown  # the Failed SOP Instance UID List
    assert "why:" in shown


@pytest.mark.parametrize("peer", ["demo_server", "dcmqrscp"])
def test_a_retrieve_whose_classes_do_not_fit_is_split_over_associations(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
) -> None:
    """accept all: 184 storage classes need two associations; the SR (Basic Text SR comes late in the
    list) arrives on the second, the CT images on the first, and nothing is reported failed."""
    port, aet = peer_address(request, peer)
    study = next(e for e in archive if e.modality == "SR").study_uid
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec {aet}; model study; accept all; output {tmp_path}; "
                              f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}")
    assert status is ExitStatus.SUCCESS, shown
    assert uids_in(tmp_path) == expected
    assert "storage classes need 2 associations" in shown
    assert f"C-GET keys over 2 associations: {len(expected)} of {len(expected)} objects received" in shown
    assert "failed SOP instances" not in shown


def test_received_lists_and_filters_and_show_renders_one_object(
    demo_server, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    shell = Shell(width=320)  # a wide terminal: every column whole
    status, shown = shell.run(f"connect 127.0.0.1 {demo_server.port}; output {tmp_path}; storage bit-preserving; "
                              "get QueryRetrieveLevel=PATIENT PatientID=DEMO001; "
                              "get QueryRetrieveLevel=PATIENT PatientID=DEMO003")
    assert status is ExitStatus.SUCCESS, shown
    everything = [e for e in archive if e.patient_id in ("DEMO001", "DEMO003")]
    status, shown = shell.run("received")
    assert f"{len(everything)} of {len(everything)} objects" in shown
    assert all(e.sop_instance_uid in shown for e in everything)
    status, shown = shell.run("received sr")
    sr = [e for e in everything if e.modality == "SR"]
    assert f"{len(sr)} of {len(everything)} objects matching 'sr'" in shown
    assert sr[0].sop_instance_uid in shown and "DEMO003" not in shown
    assert "no objects matching 'nothing-like-this'" in shell.run("received nothing-like-this")[1]

    number = next(r.index for r in shell.ctx.session.received if r.modality == "CT")
    status, shown = shell.run(f"show {number}")
    assert status is ExitStatus.SUCCESS
    item = shell.ctx.session.received[number - 1]
    assert f"object {number}: {tmp_path}" in shown and item.sop_instance_uid in shown
    assert "(0010,0020) LO PatientID  DEMO001" in shown
    assert "(7FE0,0010) OW PixelData  <8192 bytes>" in shown  # summarised, not dumped
    status, shown = shell.run("show 999")
    assert status is ExitStatus.ERROR and f"there is no object 999: {len(everything)} received so far" in shown
    shell.close()


@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc"])
def test_the_summary_reads_right_for_one_object_and_for_slow_ones(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 19: "received 1 objects" and "(0 objects/s …)" on a single large object. One object is
    "1 object", with its bytes a second only; a rate under one object a second keeps its digits."""
    import re
    import time

    from getsh.dicom.storage.store import Storage

    port, aet = peer_address(request, peer)
    ct = [e for e in archive if e.patient_id == PLAIN and e.modality == "CT"]
    shell.run(f"connect 127.0.0.1 {port} --aec {aet}; output {tmp_path}")
    status, shown = shell.run(f"get {keys_for('patient', 'IMAGE', ct[0])}")
    assert status is ExitStatus.SUCCESS, shown
    (line,) = [ln for ln in shown.splitlines() if ln.startswith("received ")]
    assert re.fullmatch(rf"received 1 object, [\d.]+ KB in [\d.]+ s \([\d.]+ [KMG]?B/s\) into {tmp_path}", line), line

    store = Storage.store_dataset

    def slow_disk(self: Storage, *args: object, **kwargs: object) -> object:
        time.sleep(1.3)
        return store(self, *args, **kwargs)

    monkeypatch.setattr(Storage, "store_dataset", slow_disk)
    two = tmp_path / "two"
    two.mkdir()
    keys = keys_for("patient", "IMAGE", ct[0]).replace(ct[0].sop_instance_uid,
                                                       f"{ct[0].sop_instance_uid}\\{ct[1].sop_instance_uid}")
    status, shown = shell.run(f"output {two}; get {keys}")
    assert status is ExitStatus.SUCCESS, shown
    (line,) = [ln for ln in shown.splitlines() if ln.startswith("received ")]
    assert re.fullmatch(rf"received 2 objects, [\d.]+ KB in [\d.]+ s \(0\.\d\d? objects/s, [\d.]+ [KMG]?B/s\) "
                        rf"into {two}", line), line
