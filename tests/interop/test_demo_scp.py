"""The demo Q/R SCP against real clients: DCMTK's echoscu/findscu/getscu and a pynetdicom SCU."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (
    CTImageStorage,
    PatientRootQueryRetrieveInformationModelFind,
    PatientStudyOnlyQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.demo.server import DemoServer

pytestmark = pytest.mark.interop

HOST = "127.0.0.1"


def _peer(path: str) -> str:
    """A DCMTK tool by absolute path; skip without it, fail if GETSH_REQUIRE_PEERS=1."""
    if os.access(path, os.X_OK):
        return path
    reason = f"{path} is not installed (DCMTK)"
    if os.environ.get("GETSH_REQUIRE_PEERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TCP_NODELAY": "1"}  # Debian DCMTK disables Nagle only with this
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def scp() -> Iterator[DemoServer]:
    server = DemoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _study(scp: DemoServer, patient_id: str, index: int = 0) -> list[ArchiveEntry]:
    """The entries of a patient's index-th study, in archive order."""
    studies = list(dict.fromkeys(e.study_uid for e in scp.entries if e.patient_id == patient_id))
    return [e for e in scp.entries if e.study_uid == studies[index]]


def _rle_study(scp: DemoServer) -> list[ArchiveEntry]:
    uids = {e.study_uid for e in scp.entries if e.transfer_syntax_uid == RLELossless}
    assert len(uids) == 1
    return [e for e in scp.entries if e.study_uid in uids]


def _received(directory: Path) -> dict[str, Dataset]:
    return {str(ds.SOPInstanceUID): ds for ds in map(dcmread, directory.iterdir())}


def _pynetdicom_ae() -> AE:
    ae = AE("GETSH-TEST")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae


# ---- DCMTK ------------------------------------------------------------------------------------

def test_echoscu_succeeds_with_any_called_ae(scp: DemoServer) -> None:
    echoscu = _peer("/usr/bin/echoscu")
    assert _run(echoscu, HOST, str(scp.port)).returncode == 0
    assert _run(echoscu, "-aec", "ANYTHING", HOST, str(scp.port)).returncode == 0


def test_findscu_lists_every_study(scp: DemoServer, tmp_path: Path) -> None:
    findscu = _peer("/usr/bin/findscu")
    run = _run(findscu, "-S", "-X", "-od", str(tmp_path), "-k", "QueryRetrieveLevel=STUDY",
               "-k", "StudyInstanceUID", HOST, str(scp.port))
    assert run.returncode == 0, run.stderr
    found = [dcmread(p).StudyInstanceUID for p in sorted(tmp_path.glob("rsp*.dcm"))]
    expected = {e.study_uid for e in scp.entries}
    assert len(found) == len(expected) >= 4
    assert set(found) == expected


@pytest.mark.parametrize(("model", "keys", "study"), [
    ("-P", ["QueryRetrieveLevel=PATIENT", "PatientID=DEMO001"], None),  # 2 studies: CT+SR, MR
    ("-S", ["QueryRetrieveLevel=STUDY", "StudyInstanceUID={uid}"], ("DEMO003", 0)),  # multi-frame
    ("-O", ["QueryRetrieveLevel=STUDY", "PatientID=DEMO004", "StudyInstanceUID={uid}"],
     ("DEMO004", 1)),
], ids=["patient-root", "study-root", "patient-study-only"])
def test_getscu_retrieves_exactly_the_requested_instances(
        scp: DemoServer, tmp_path: Path, model: str, keys: list[str],
        study: tuple[str, int] | None) -> None:
    getscu = _peer("/usr/bin/getscu")
    if study is None:
        expected = [e for e in scp.entries if e.patient_id == "DEMO001"]
    else:
        expected = _study(scp, *study)
    args = [a for k in keys for a in ("-k", k.format(uid=expected[0].study_uid))]
    run = _run(getscu, model, *args, "-od", str(tmp_path), HOST, str(scp.port))
    assert run.returncode == 0, run.stderr

    received = _received(tmp_path)
    assert set(received) == {e.sop_instance_uid for e in expected}
    for entry in expected:
        original = dcmread(entry.path)
        got = received[entry.sop_instance_uid]
        assert got.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert got.get("PixelData") == original.get("PixelData")


def test_getscu_prefer_rle_receives_the_rle_study_as_stored(scp: DemoServer, tmp_path: Path) -> None:
    getscu = _peer("/usr/bin/getscu")
    expected = _rle_study(scp)
    run = _run(getscu, "-S", "+xr", "-k", "QueryRetrieveLevel=STUDY",
               "-k", f"StudyInstanceUID={expected[0].study_uid}", "-od", str(tmp_path),
               HOST, str(scp.port))
    assert run.returncode == 0, run.stderr

    received = _received(tmp_path)
    assert set(received) == {e.sop_instance_uid for e in expected}
    for entry in expected:
        got = received[entry.sop_instance_uid]
        assert got.file_meta.TransferSyntaxUID == RLELossless
        assert got.PixelData == dcmread(entry.path).PixelData


def test_getscu_prefer_rle_gets_uncompressed_study_rle_encoded(scp: DemoServer, tmp_path: Path) -> None:
    """RLE is what we accept first when offered, so uncompressed files are encoded, losslessly."""
    getscu = _peer("/usr/bin/getscu")
    pytest.importorskip("numpy", reason="pydicom needs numpy to decode pixel data")
    expected = _study(scp, "DEMO001", 0)  # CT slices and a pixel-less SR
    run = _run(getscu, "-S", "+xr", "-k", "QueryRetrieveLevel=STUDY",
               "-k", f"StudyInstanceUID={expected[0].study_uid}", "-od", str(tmp_path),
               HOST, str(scp.port))
    assert run.returncode == 0, run.stderr

    received = _received(tmp_path)
    assert set(received) == {e.sop_instance_uid for e in expected}
    for entry in expected:
        got, original = received[entry.sop_instance_uid], dcmread(entry.path)
        assert got.file_meta.TransferSyntaxUID == RLELossless
        if "PixelData" in original:
            assert (got.pixel_array == original.pixel_array).all()


def test_wrong_called_ae_is_rejected_when_required(tmp_path: Path) -> None:
    echoscu = _peer("/usr/bin/echoscu")
    with DemoServer(require_called_ae=True, data_dir=tmp_path) as server:
        wrong = _run(echoscu, "-aec", "NOT-THE-DEMO", HOST, str(server.port))
        right = _run(echoscu, "-aec", server.ae_title, HOST, str(server.port))
    assert wrong.returncode != 0
    output = wrong.stdout + wrong.stderr
    assert "Association Rejected" in output and "Called AE Title Not Recognized" in output
    assert right.returncode == 0, right.stderr


# ---- pynetdicom SCU: cancel, failures, matching ------------------------------------------------

def _get(scp: DemoServer, study_uid: str, syntax: str = ExplicitVRLittleEndian,
         cancel_after: int = 0) -> tuple[list[int], Dataset | None, list[str]]:
    """C-GET one study (CT contexts only); returns statuses, final identifier, stored UIDs."""
    ae = _pynetdicom_ae()
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage, syntax)
    stored: list[str] = []

    def on_store(event: evt.Event) -> int:
        stored.append(event.request.AffectedSOPInstanceUID)
        if len(stored) == cancel_after:
            event.assoc.send_c_cancel(1, query_model=StudyRootQueryRetrieveInformationModelGet)
        return 0x0000

    assoc = ae.associate(HOST, scp.port, ext_neg=[build_role(CTImageStorage, scp_role=True)],
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    try:
        responses = list(assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet, msg_id=1))
    finally:
        assoc.release()
    assert all("Status" in status for status, _ in responses), "no or bad response"
    return [int(status.Status) for status, _ in responses], responses[-1][1], stored


def test_cancel_after_first_sub_operation_stops_the_retrieve(scp: DemoServer) -> None:
    study = _study(scp, "DEMO004", 0)
    assert len(study) > 2
    statuses, _, stored = _get(scp, study[0].study_uid, cancel_after=1)
    assert statuses[-1] == 0xFE00
    assert 1 <= len(stored) < len(study)


def test_unsendable_instances_are_listed_as_failed(scp: DemoServer) -> None:
    """The RLE study to a client that accepts only uncompressed CT: nothing sent, all listed."""
    study = _rle_study(scp)
    statuses, identifier, stored = _get(scp, study[0].study_uid)
    assert statuses[-1] == 0xA702
    assert stored == []
    assert identifier is not None
    assert set(identifier.FailedSOPInstanceUIDList) == {e.sop_instance_uid for e in study}


def _find(scp: DemoServer, model: str, **keys: object) -> tuple[int, list[Dataset]]:
    ae = _pynetdicom_ae()
    ae.add_requested_context(model)
    assoc = ae.associate(HOST, scp.port)
    assert assoc.is_established
    query = Dataset()
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    try:
        responses = list(assoc.send_c_find(query, model))
    finally:
        assoc.release()
    return int(responses[-1][0].Status), [ds for status, ds in responses if status.Status == 0xFF00]


def test_find_refuses_missing_or_foreign_levels(scp: DemoServer) -> None:
    status, matches = _find(scp, StudyRootQueryRetrieveInformationModelFind, PatientID="")
    assert (status, matches) == (0xA900, [])
    status, _ = _find(scp, PatientStudyOnlyQueryRetrieveInformationModelFind,
                      QueryRetrieveLevel="SERIES", SeriesInstanceUID="")
    assert status == 0xA900
    status, _ = _find(scp, StudyRootQueryRetrieveInformationModelFind,
                      QueryRetrieveLevel="PATIENT", PatientID="")
    assert status == 0xA900


def test_find_matches_wildcards_ranges_and_uid_lists(scp: DemoServer) -> None:
    status, patients = _find(scp, PatientRootQueryRetrieveInformationModelFind,
                             QueryRetrieveLevel="PATIENT", PatientName="doe*", PatientID="",
                             NumberOfPatientRelatedStudies="")
    assert status == 0x0000
    assert [(p.PatientID, p.NumberOfPatientRelatedStudies) for p in patients] == [("DEMO001", 2)]

    dates = {e.study_uid: str(dcmread(e.path, stop_before_pixels=True).StudyDate) for e in scp.entries}
    _, studies = _find(scp, StudyRootQueryRetrieveInformationModelFind, QueryRetrieveLevel="STUDY",
                       StudyDate="20240101-20241231", StudyInstanceUID="")
    assert {s.StudyInstanceUID for s in studies} == {u for u, d in dates.items() if d >= "20240101"}

    series = list(dict.fromkeys(e.series_uid for e in scp.entries))[:3:2]
    _, found = _find(scp, StudyRootQueryRetrieveInformationModelFind, QueryRetrieveLevel="SERIES",
                     SeriesInstanceUID=series, Modality="")
    assert sorted(s.SeriesInstanceUID for s in found) == sorted(series)
    assert all(s.Modality for s in found)


def test_stop_closes_the_port_and_removes_generated_data() -> None:
    server = DemoServer()
    try:
        port = server.start()
        files = [e.path for e in server.entries]
        assert files and all(p.is_file() for p in files)
    finally:
        server.stop()
    server.stop()  # idempotent
    assert not any(p.exists() for p in files)
    ae = _pynetdicom_ae()
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assert not ae.associate(HOST, port).is_established
