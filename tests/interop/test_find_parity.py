"""getsh find against DCMTK findscu: the same option line, run by both against the same peer.

Each case runs ``/usr/bin/findscu`` (TCP_NODELAY=1, see the field notes) and ``getsh find`` with the
same options, ``-X`` into separate folders; the extracted responses must name the same matches (their
identifying values: PatientID, Study/Series/SOP Instance UIDs) and those must be what the archive holds.
Deliberate differences (docs/getscu.md, "getsh find") are asserted as such: getsh exits non-zero after a
failure, and ``--cancel N`` keeps exactly N where findscu also writes what arrived after its C-CANCEL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread

from getsh.dicom.demo.data import ArchiveEntry
from tests.peers import Dcmqrscp, Orthanc

pytestmark = pytest.mark.interop

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IDENTIFYING = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@dataclass
class Both:
    theirs: subprocess.CompletedProcess[str]
    ours: subprocess.CompletedProcess[str]
    theirs_dir: Path
    ours_dir: Path

    def explain(self) -> str:
        return (f"findscu {self.theirs.returncode}: {self.theirs.stderr[-1500:]}\n"
                f"getsh {self.ours.returncode}: {self.ours.stdout[-1500:]}{self.ours.stderr[-1500:]}")


def responses(folder: Path) -> list[Path]:
    return sorted(folder.glob("rsp*.dcm"))


def identities(folder: Path) -> set[tuple[tuple[str, str], ...]]:
    """Each extracted response as its identifying (keyword, value) pairs: what a match stands for."""
    return {identity(dcmread(path)) for path in responses(folder)}


def identity(ds: Dataset) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(ds.get(k, "") or "")) for k in IDENTIFYING if k in ds)


@pytest.fixture
def both(tmp_path: Path, dcmtk: Callable[[str], Path]) -> Callable[..., Both]:
    findscu = dcmtk("findscu")
    count = 0

    def run(peer: Dcmqrscp | Orthanc, line: list[str], *, aec: str | None = None, verbose: bool = False) -> Both:
        nonlocal count
        count += 1
        theirs, ours = tmp_path / f"findscu{count}", tmp_path / f"getsh{count}"
        theirs.mkdir()
        ours.mkdir()
        env = {**os.environ, "TCP_NODELAY": "1", "COLUMNS": "200"}
        options = ["-aec", aec or peer.ae_title, *line]
        tail = ["127.0.0.1", str(peer.port)]
        a = subprocess.run([str(findscu), *options, *(["-v"] if verbose else []), "-X", "-od", str(theirs), *tail],
                           capture_output=True, text=True, env=env, timeout=60, cwd=theirs)
        b = subprocess.run([sys.executable, "-m", "getsh", "find", *options, "-X", "-od", str(ours), *tail],
                           capture_output=True, text=True, env=env, timeout=60, cwd=ours)
        return Both(a, b, theirs, ours)

    return run


def patients(archive: list[ArchiveEntry]) -> set[str]:
    return {e.patient_id for e in archive}


def first_study(archive: list[ArchiveEntry], pid: str) -> str:
    return sorted({e.study_uid for e in archive if e.patient_id == pid})[0]


def first_series(archive: list[ArchiveEntry], study: str) -> str:
    return sorted({e.series_uid for e in archive if e.study_uid == study})[0]


def keys(*pairs: str) -> list[str]:
    return [word for pair in pairs for word in ("-k", pair)]


def cases(archive: list[ArchiveEntry]) -> list[tuple[str, list[str], set[tuple[tuple[str, str], ...]]]]:
    """(name, options, the identities the archive says must match)."""
    study = first_study(archive, "DEMO001")
    series = first_series(archive, study)
    return [
        ("patient-root PATIENT", ["-P", *keys("QueryRetrieveLevel=PATIENT", "PatientID", "PatientName")],
         {(("PatientID", p),) for p in patients(archive)}),
        ("patient-root PATIENT, a wildcard", ["-P", *keys("QueryRetrieveLevel=PATIENT", "PatientID",
                                                            "PatientName=DOE*")],
         {(("PatientID", "DEMO001"),)}),
        ("study-root STUDY", ["-S", *keys("QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientID")],
         {(("PatientID", e.patient_id), ("StudyInstanceUID", e.study_uid)) for e in archive}),
        ("study-root SERIES of a study", ["-S", *keys("QueryRetrieveLevel=SERIES", f"StudyInstanceUID={study}",
                                                       "SeriesInstanceUID")],
         {(("StudyInstanceUID", study), ("SeriesInstanceUID", e.series_uid)) for e in archive if e.study_uid == study}),
        ("patient-root IMAGE of a series", ["-P", *keys("QueryRetrieveLevel=IMAGE", "PatientID=DEMO001",
                                                         f"StudyInstanceUID={study}", f"SeriesInstanceUID={series}",
                                                         "SOPInstanceUID")],
         {(("PatientID", "DEMO001"), ("StudyInstanceUID", study), ("SeriesInstanceUID", series),
           ("SOPInstanceUID", e.sop_instance_uid)) for e in archive if e.series_uid == series}),
    ]


CASE_NAMES = ["patient-root PATIENT", "patient-root PATIENT, a wildcard", "study-root STUDY",
              "study-root SERIES of a study", "patient-root IMAGE of a series"]


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("which", ["dcmqrscp", "orthanc"])
def test_the_same_matches(both, request: pytest.FixtureRequest, archive: list[ArchiveEntry],  # type: ignore[no-untyped-def]
                          which: str, name: str) -> None:
    peer = request.getfixturevalue(which)
    line, expected = next((line, expected) for n, line, expected in cases(archive) if n == name)
    run = both(peer, line)
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.explain()
    assert identities(run.ours_dir) == identities(run.theirs_dir) == expected, run.explain()
    assert len(responses(run.ours_dir)) == len(responses(run.theirs_dir)) == len(expected)
    assert [p.name for p in responses(run.ours_dir)] == [f"rsp{n:04d}.dcm" for n in range(1, len(expected) + 1)]


def test_patient_study_only_on_dcmqrscp(both, dcmqrscp: Dcmqrscp, archive: list[ArchiveEntry]) -> None:  # type: ignore[no-untyped-def]
    run = both(dcmqrscp, ["-O", *keys("QueryRetrieveLevel=STUDY", "PatientID=DEMO001", "StudyInstanceUID")])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.explain()
    expected = {(("PatientID", "DEMO001"), ("StudyInstanceUID", e.study_uid))
                for e in archive if e.patient_id == "DEMO001"}
    assert identities(run.ours_dir) == identities(run.theirs_dir) == expected


@pytest.mark.parametrize("which", ["dcmqrscp", "orthanc"])
def test_extracted_files_hold_what_findscus_hold(both, request: pytest.FixtureRequest, which: str) -> None:  # type: ignore[no-untyped-def]
    """A preamble, a File Meta header, Explicit VR Little Endian, and every value findscu's file holds
    (getsh asks the level's default return keys too, so its files may hold more)."""
    peer = request.getfixturevalue(which)
    run = both(peer, ["-S", *keys("QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientID", "PatientName",
                                  "StudyDate", "AccessionNumber")])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.explain()
    ours = {identity(ds): ds for ds in map(dcmread, responses(run.ours_dir))}
    theirs = {identity(ds): ds for ds in map(dcmread, responses(run.theirs_dir))}
    assert ours.keys() == theirs.keys() and len(ours) == 6
    for key, mine in ours.items():
        assert mine.preamble == b"\0" * 128
        assert mine.file_meta.TransferSyntaxUID == theirs[key].file_meta.TransferSyntaxUID == EXPLICIT_LE
        assert mine.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root FIND
        for elem in theirs[key]:
            assert elem.tag in mine and mine[elem.tag].value == elem.value, (key, elem)


@pytest.mark.parametrize("which", ["dcmqrscp", "orthanc"])
def test_cancel_after_n_responses(both, request: pytest.FixtureRequest, archive: list[ArchiveEntry],  # type: ignore[no-untyped-def]
                                  which: str) -> None:
    """--cancel 2: both send C-CANCEL after the second response. getsh keeps those 2; findscu also writes
    what the peer had sent before the cancel reached it (here: every match, the archive is small)."""
    peer = request.getfixturevalue(which)
    run = both(peer, ["-S", "--cancel", "2", *keys("QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientID")],
               verbose=True)
    log = run.theirs.stderr + run.theirs.stdout
    assert run.ours.returncode == 0, run.explain()
    assert run.theirs.returncode == 0 or findscu_missed_orthancs_cancel_identifier(log), run.explain()
    assert log.index("Sending Cancel Request") > log.index("Received Find Response 2")
    assert [p.name for p in responses(run.ours_dir)] == ["rsp0001.dcm", "rsp0002.dcm"]
    assert len(responses(run.theirs_dir)) >= 2
    assert identities(run.ours_dir) <= identities(run.theirs_dir)
    assert "cancelled after 2 matches" in run.ours.stdout
    assert run.ours.stdout.count("\n│ ") == 2  # two rows in the table


def findscu_missed_orthancs_cancel_identifier(log: str) -> bool:
    """A race of the reference tool, not of getsh: when the C-CANCEL reaches Orthanc before its final
    response, Orthanc answers 0xFE00 *with* an identifier; findscu 3.6.7 says it assumes none, leaves that
    data set's P-DATA unread and then fails its A-RELEASE on it (exit 2). getsh reads the whole message."""
    return ("Status Cancel: MatchingTerminatedDueToCancelRequest, but DataSetType!=NULL" in log
            and "Association Release Failed" in log and "P-Data PDU arrived" in log)


def test_a_rejected_association_fails_in_both(both, dcmqrscp: Dcmqrscp) -> None:  # type: ignore[no-untyped-def]
    run = both(dcmqrscp, ["-S", *keys("QueryRetrieveLevel=STUDY", "StudyInstanceUID")], aec="NOT-TESTQR")
    assert run.theirs.returncode != 0
    assert run.ours.returncode == 7, run.explain()  # a network/association failure
    assert "called AE title not recognised" in run.ours.stderr
    assert not responses(run.theirs_dir) and not responses(run.ours_dir)


def test_a_model_the_peer_refuses_fails_in_both(both, orthanc: Orthanc) -> None:  # type: ignore[no-untyped-def]
    """Orthanc has no patient/study-only FIND: findscu says 'No Acceptable Presentation Contexts'."""
    run = both(orthanc, ["-O", *keys("QueryRetrieveLevel=STUDY", "PatientID")])
    assert run.theirs.returncode != 0
    assert run.ours.returncode == 7, run.explain()
    assert "no C-FIND was sent" in run.ours.stderr
    assert not responses(run.theirs_dir) and not responses(run.ours_dir)


def test_an_unknown_level(both, dcmqrscp: Dcmqrscp) -> None:  # type: ignore[no-untyped-def]
    """findscu sends it, the peer answers 'Unable to process' and findscu exits 0; getsh refuses the
    command line (exit 1, as a bad option), before associating."""
    run = both(dcmqrscp, ["-S", *keys("QueryRetrieveLevel=SERIESS", "SeriesInstanceUID")], verbose=True)
    assert run.theirs.returncode == 0
    assert "Failed: UnableToProcess" in run.theirs.stderr + run.theirs.stdout
    assert run.ours.returncode == 1
    assert "'SERIESS' is not one of PATIENT, STUDY, SERIES, IMAGE" in run.ours.stderr
    assert "associated" not in run.ours.stdout
    assert not responses(run.theirs_dir) and not responses(run.ours_dir)


def test_the_table_of_a_one_shot_find(dcmqrscp: Dcmqrscp, tmp_path: Path) -> None:
    """What getsh find shows: the association, the matches as a table formatted for reading, the status."""
    env = {**os.environ, "COLUMNS": "200"}
    run = subprocess.run([sys.executable, "-m", "getsh", "find", "-S", "-aec", dcmqrscp.ae_title,
                          "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=DEMO001", "127.0.0.1", str(dcmqrscp.port)],
                         capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert f"associated with TESTQR @ 127.0.0.1:{dcmqrscp.port} as FINDSCU" in out
    assert "C-FIND study root, STUDY level  PatientID=DEMO001" in out
    rows = [line for line in out.splitlines() if line.startswith("│ ")]
    assert len(rows) == 2
    assert "DOE, JANE" in rows[0] and "2024-01-15" in rows[0] and "CT CHEST W/O CONTRAST" in rows[0]
    assert "DOE, JANE" in rows[1] and "2024-03-02" in rows[1] and "MR BRAIN" in rows[1]
    assert "C-FIND 0x0000 Success: 2 matches at STUDY level" in out
    assert not list(tmp_path.iterdir())  # no -X: nothing written


def test_one_shot_find_bad_command_lines(tmp_path: Path) -> None:
    """Each a one-line error and exit 1, before anything is associated (port 9: nothing listens)."""
    def run(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "getsh", "find", *words], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path)

    lines = {
        ("-W", "-k", "PatientID", "127.0.0.1", "9"): "-W (the modality worklist model) is not supported",
        ("127.0.0.1", "9"): "find: either query file or override keys (or both) must be specified",
        ("-X", "-od", str(tmp_path / "nope"), "-k", "PatientID", "127.0.0.1", "9"):
            "specified output directory does not exist",
        ("--cancel", "0", "-k", "PatientID", "127.0.0.1", "9"): "--cancel: '0' is not a number of responses",
        ("+B", "-k", "PatientID", "127.0.0.1", "9"): "unknown option +B",
        ("-k", "PatientID"): "find: missing parameter peer",
    }
    for words, message in lines.items():
        result = run(*words)
        assert result.returncode == 1, (words, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, (words, result.stderr)
