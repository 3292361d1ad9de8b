"""The completeness check after a get (issue 13, acceptance 5): what the archive lists under a row (C-FIND
down to IMAGE level) against what arrived — against the demo archive, dcmqrscp and Orthanc."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.events import CompletenessChecked
from getsh.exitstatus import ExitStatus
from tests.interop.test_get import peer_address, uids_in
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

PATIENT = "DEMO001"  # two uncompressed studies: CT CHEST (8 CT + 1 SR) and MR BRAIN (8 MR)
COUNTS = {"demo_server": True, "orthanc": True, "dcmqrscp": False}  # dcmqrscp 3.6.7 drops the counts


def chest(archive: list[ArchiveEntry]) -> list[ArchiveEntry]:
    study = next(e for e in archive if e.patient_id == PATIENT and e.modality == "SR").study_uid
    return [e for e in archive if e.study_uid == study]


def row_of(shell: Shell, key: str, value: str) -> int:
    status, shown = shell.run("results --json")
    assert status is ExitStatus.SUCCESS, shown
    return next(int(r["#"]) for r in json.loads(shown)["rows"] if r[key] == value)


def checks(shell: Shell) -> list[CompletenessChecked]:
    """The checks the last command made (the runner's record of what it yielded)."""
    outcome = shell.ctx.session.script.last
    assert outcome is not None
    return [item for item in outcome.items if isinstance(item, CompletenessChecked)]


@pytest.mark.parametrize("peer", COUNTS)
def test_a_class_not_accepted_is_listed_as_missing_exactly(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
) -> None:
    port, aet = peer_address(request, peer)
    study = chest(archive)
    sr = [e.sop_instance_uid for e in study if e.modality == "SR"]
    shell.run(f"connect 127.0.0.1 {port} --aec {aet}; output {tmp_path}; level STUDY; find PatientID={PATIENT}")
    number = row_of(shell, "StudyInstanceUID", study[0].study_uid)
    check = "" if COUNTS[peer] else " --check"  # without a count, only when asked
    status, shown = shell.run(f"accept CT; get {number}{check}")
    arrived = uids_in(tmp_path)
    missing = [e.sop_instance_uid for e in study if e.sop_instance_uid not in arrived]
    [made] = checks(shell)
    assert sorted(made.missing) == sorted(missing) and sr[0] in missing, shown
    assert f"check row {number}: the archive lists 9 instances, {9 - len(missing)} arrived; missing: " in shown
    if peer != "orthanc":  # the demo and dcmqrscp send the CT images and fail the SR alone
        assert arrived == {e.sop_instance_uid for e in study if e.modality == "CT"}, shown
        assert f"check row {number}: the archive lists 9 instances, 8 arrived; missing: {sr[0]}\n" in shown, shown
    else:  # Orthanc gives up at the first object it cannot send (0xC000): the check names all nine
        assert not arrived and "Unable to Process (0xC000)" in shown
    assert status is ExitStatus.SUBOPS_FAILED or (peer == "orthanc" and status is ExitStatus.FAILURE)


@pytest.mark.parametrize("peer", COUNTS)
def test_all_arrived_is_said_and_without_a_count_only_on_request(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
) -> None:
    port, aet = peer_address(request, peer)
    study = chest(archive)
    shell.run(f"connect 127.0.0.1 {port} --aec {aet}; output {tmp_path}; level STUDY; find PatientID={PATIENT}")
    number = row_of(shell, "StudyInstanceUID", study[0].study_uid)
    status, shown = shell.run(f"get {number}")
    assert status is ExitStatus.SUCCESS, shown
    said = f"check row {number}: all 9 instances the archive lists arrived"
    assert (said in shown) is COUNTS[peer], shown
    if not COUNTS[peer]:
        assert "check row" not in shown
        status, shown = shell.run(f"get {number} --check")
        assert status is ExitStatus.SUCCESS and said in shown, shown
    assert uids_in(tmp_path) == {e.sop_instance_uid for e in study}


def test_series_and_patient_rows_are_checked_down_to_their_instances(
    shell: Shell, demo_server: object, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """A PATIENT row needs STUDY, SERIES and IMAGE queries (hierarchical); a SERIES row its IMAGE query."""
    port = demo_server.port  # type: ignore[attr-defined]
    mine = [e for e in archive if e.patient_id == PATIENT]
    sr = next(e for e in mine if e.modality == "SR")
    shell.run(f"connect 127.0.0.1 {port}; output {tmp_path}; accept CT MR; find PatientID={PATIENT}")
    status, shown = shell.run("get 1 --check")  # the PATIENT default return keys carry no instance count
    assert f"check row 1: the archive lists {len(mine)} instances, {len(mine) - 1} arrived; missing: " \
           f"{sr.sop_instance_uid}" in shown, shown
    assert status is ExitStatus.SUBOPS_FAILED
    shell.run(f"level SERIES; find PatientID={PATIENT} StudyInstanceUID={sr.study_uid}")
    number = row_of(shell, "SeriesInstanceUID", sr.series_uid)
    status, shown = shell.run(f"get {number}")  # the series' count: checked unasked
    assert f"check row {number}: the archive lists 1 instance, 0 arrived; missing: {sr.sop_instance_uid}" in shown
    shell.run(f"level IMAGE; find PatientID={PATIENT} StudyInstanceUID={sr.study_uid} "
              f"SeriesInstanceUID={sr.series_uid}")
    status, shown = shell.run("get 1 --check")  # an instance: the IMAGE-level C-FIND of its own keys lists it
    assert f"check row 1: the archive lists 1 instance, 0 arrived; missing: {sr.sop_instance_uid}" in shown, shown
    status, shown = shell.run("accept default; get 1 --check")
    assert "check row 1: the 1 instance the archive lists arrived" in shown and status is ExitStatus.SUCCESS


def test_keys_are_checked_on_request_by_what_the_get_matched(
    shell: Shell, demo_server: object, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """get --check KEYS: the archive is asked under the request's keys, level by level (here a patient's
    studies, their series, their instances)."""
    port = demo_server.port  # type: ignore[attr-defined]
    mine = [e for e in archive if e.patient_id == PATIENT]
    sr = next(e for e in mine if e.modality == "SR")
    status, shown = shell.run(f"connect 127.0.0.1 {port}; output {tmp_path}; accept CT MR; "
                              f"get PatientID={PATIENT}")
    assert "check keys" not in shown  # not a row, not asked
    status, shown = shell.run(f"get --check PatientID={PATIENT}")
    assert f"check keys: the archive lists {len(mine)} instances, {len(mine) - 1} arrived; missing: " \
           f"{sr.sop_instance_uid}" in shown, shown
    assert status is ExitStatus.SUBOPS_FAILED
    assert shell.ctx.session.history[-1].endswith("--check")  # a replay checks too


def test_several_rows_each_get_their_line_and_the_missing_are_bounded(
    shell: Shell, demo_server: object, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    shell.run(f"connect 127.0.0.1 {port}; output {tmp_path}; level STUDY; find PatientID={PATIENT}; accept CT")
    status, shown = shell.run("get all")
    lines = [line for line in shown.splitlines() if line.startswith("check row")]
    assert len(lines) == 2, shown
    mr = next(line for line in lines if "8 instances, 0 arrived" in line)
    assert mr.endswith(" and 3 more")  # five UIDs in full, the rest counted
    assert status is ExitStatus.FAILURE  # the MR study's C-GET failed as a whole (0xA702): worse than missing


@pytest.mark.parametrize("peer", ["demo_server", "dcmqrscp"])
def test_under_patient_study_only_the_check_is_not_possible(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
) -> None:
    port, aet = peer_address(request, peer)
    study = chest(archive)
    shell.run(f"connect 127.0.0.1 {port} --aec {aet}; output {tmp_path}; model psonly; level STUDY; "
              f"find PatientID={PATIENT}")
    number = row_of(shell, "StudyInstanceUID", study[0].study_uid)
    status, shown = shell.run(f"get {number} --check")
    assert status is ExitStatus.SUCCESS, shown
    impossible = f"check row {number}: not possible under patient/study-only: it has no IMAGE level"
    assert impossible in shown, shown
    if COUNTS[peer]:  # only the counts can be compared
        assert "the rows count 9 instances, 9 arrived" in shown
        status, shown = shell.run(f"accept CT; get {number}")
        assert "the rows count 9 instances, 8 arrived" in shown and status is ExitStatus.SUBOPS_FAILED


def test_a_stale_count_is_said_when_the_lists_agree(
    make_orthanc: object, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """The archive changed between the find and the get: the row's count is stale, the list is what counts."""
    study = chest(archive)
    orthanc = make_orthanc([e.path for e in study])  # type: ignore[operator]
    shell.run(f"connect 127.0.0.1 {orthanc.port} --aec {orthanc.ae_title}; output {tmp_path}; level STUDY; find")
    sr = next(e for e in study if e.modality == "SR")
    [gone] = orthanc.rest("POST", "/tools/lookup", sr.sop_instance_uid.encode(), "text/plain")
    orthanc.rest("DELETE", gone["Path"])
    status, shown = shell.run("get 1")
    assert status is ExitStatus.SUCCESS, shown
    assert ("check row 1: all 8 instances the archive lists arrived — the row counted 9 instances: the archive's "
            "count disagrees with its own list") in shown, shown
