"""The completeness check's rules without a peer: which row a request stands for, its count, the exit
status and the words of each outcome (the interop tests show them against real archives)."""

from __future__ import annotations

from getsh.dicom.events import CompletenessChecked, FindDone, FoundRow
from getsh.dicom.query.completeness import PSONLY, counts_only, instance_count, row_for
from getsh.dicom.query.return_keys import retrieve_identifier
from getsh.exitstatus import ExitStatus
from getsh.shell.tables import completeness_line

ROW = FoundRow(3, "STUDY", (("NumberOfStudyRelatedInstances", "12"),),
               (("PatientID", "P1"), ("StudyInstanceUID", "1.2")))
FOUND = FindDone("patient", "STUDY", ("NumberOfStudyRelatedInstances",), (ROW,), None, 0.1)


def test_a_row_request_is_matched_to_its_row_and_its_count() -> None:
    identifier = retrieve_identifier("patient", "STUDY", dict(ROW.unique))
    assert row_for(FOUND, identifier) is ROW
    assert instance_count(ROW) == 12
    identifier.StudyDescription = "X"  # more than the unique keys: not a row's request
    assert row_for(FOUND, identifier) is None
    assert row_for(None, identifier) is None
    assert instance_count(FoundRow(1, "STUDY", (("NumberOfStudyRelatedInstances", ""),), ())) is None
    assert instance_count(FoundRow(1, "IMAGE", (), ())) is None


def test_exit_status_and_words() -> None:
    missing = CompletenessChecked("row 3", 12, ("a", "b", "c"), ("b", "c"), 1)
    assert missing.exit_status is ExitStatus.SUBOPS_FAILED
    assert completeness_line(missing).plain == (
        "check row 3: the archive lists 3 instances, 1 arrived; missing: b, c "
        "— the row counted 12 instances: the archive's count disagrees with its own list")
    many = CompletenessChecked("keys", None, tuple("abcdefg"), tuple("abcdefg"), 0)
    assert completeness_line(many).plain.endswith("missing: a, b, c, d, e and 2 more")
    complete = CompletenessChecked("row 1", 3, ("a", "b", "c"), (), 3)
    assert complete.exit_status is ExitStatus.SUCCESS
    assert completeness_line(complete).plain == "check row 1: all 3 instances the archive lists arrived"
    empty = CompletenessChecked("row 1", None, (), (), 0)
    assert completeness_line(empty).plain == "check row 1: the archive lists no instances under it"
    failed = CompletenessChecked("row 2", 4, None, (), None, why="C-FIND Failure: Unable to Process", failed=True)
    assert failed.exit_status is ExitStatus.WARNING
    assert completeness_line(failed).plain == "check row 2: the check failed: C-FIND Failure: Unable to Process"
    short = counts_only("row 1, row 2", 9, 8)
    assert short.exit_status is ExitStatus.SUBOPS_FAILED
    assert completeness_line(short).plain == f"check row 1, row 2: {PSONLY}; the rows count 9 instances, 8 arrived"
    assert counts_only("row 1", None, 8).exit_status is ExitStatus.SUCCESS
