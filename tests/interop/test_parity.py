"""getsh get against DCMTK getscu: the same option line, run by both into separate folders.

Each case runs ``/usr/bin/getscu`` (TCP_NODELAY=1, see field notes) and ``getsh get`` with the
same options against the same peer; the same SOP Instances must arrive, and in bit-preserving
mode the same data set bytes. Deliberate differences (docs/getscu.md) are asserted as such.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ImplicitVRLittleEndian, generate_uid

from getsh.dicom.demo.data import ArchiveEntry

pytestmark = pytest.mark.interop

PLAIN = "DEMO004"  # two small uncompressed CT studies, 8 objects
RLE = "DEMO002"  # one RLE-only CT study, 10 objects
PIXEL_DATA = 0x7FE00010


@dataclass
class Both:
    theirs: subprocess.CompletedProcess[str]
    ours: subprocess.CompletedProcess[str]
    theirs_dir: Path
    ours_dir: Path


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def uids_in(folder: Path) -> set[str]:
    return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in files_in(folder)}


def by_uid(folder: Path) -> dict[str, Path]:
    return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in files_in(folder)}


def dataset_bytes(path: Path) -> bytes:
    """The bytes after the file meta: preamble, DICM, then (0002,0000) UL gives the group's length."""
    data = path.read_bytes()
    assert data[128:132] == b"DICM"
    assert data[132:138] == b"\x02\x00\x00\x00UL"
    (group_length,) = struct.unpack("<I", data[140:144])
    return data[144 + group_length:]


def transfer_syntaxes(folder: Path) -> set[str]:
    return {str(dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in files_in(folder)}


@pytest.fixture
def both(tmp_path: Path, dcmtk: Callable[[str], Path]) -> Callable[..., Both]:
    getscu = dcmtk("getscu")
    count = 0

    def run(port: int, aet: str, line: list[str], output: bool = True) -> Both:
        nonlocal count
        count += 1
        theirs, ours = tmp_path / f"getscu{count}", tmp_path / f"getsh{count}"
        theirs.mkdir()
        ours.mkdir()
        env = {**os.environ, "TCP_NODELAY": "1"}
        # -aec first: a later -aec in the line wins, as in DCMTK; positionals last
        options = ["-aec", aet, *[w for w in line if not w.startswith("@@")]]
        files = [w[2:] for w in line if w.startswith("@@")]
        tail = ["127.0.0.1", str(port), *files]
        a = subprocess.run([str(getscu), *options, *(["-od", str(theirs)] if output else []), *tail],
                           capture_output=True, text=True, env=env, timeout=60, cwd=theirs)
        b = subprocess.run([sys.executable, "-m", "getsh", "get", *options, *(["-od", str(ours)] if output else []),
                            *tail], capture_output=True, text=True, env=env, timeout=60, cwd=ours)
        return Both(a, b, theirs, ours)

    return run


def patient(archive: list[ArchiveEntry], pid: str) -> set[str]:
    return {e.sop_instance_uid for e in archive if e.patient_id == pid}


def study_of(archive: list[ArchiveEntry], pid: str, n: int = 0) -> str:
    return sorted({e.study_uid for e in archive if e.patient_id == pid})[n]


def patient_keys(pid: str = PLAIN) -> list[str]:
    return ["-k", "QueryRetrieveLevel=PATIENT", "-k", f"PatientID={pid}"]


SAME_UIDS = [
    ("P", ["-P"]),
    ("xi", ["+xi"]),
    ("xe", ["+xe"]),
    ("xs", ["+xs"]),
    ("propose-implicit", ["-xi"]),
    ("propose-big", ["-xb"]),
    ("propose-deflated", ["-xd"]),
    ("normal", ["-B"]),
    ("abort", ["--abort"]),
    ("pdu-4096", ["-pdu", "4096"]),
    ("pdu-131072", ["-pdu", "131072"]),
]


@pytest.mark.parametrize(("name", "options"), SAME_UIDS, ids=[c[0] for c in SAME_UIDS])
def test_same_objects_arrive(both, dcmqrscp, archive: list[ArchiveEntry], name: str, options: list[str]) -> None:  # type: ignore[no-untyped-def]
    run = both(dcmqrscp.port, dcmqrscp.ae_title, [*options, *patient_keys()])
    assert run.theirs.returncode == 0, run.theirs.stderr
    assert run.ours.returncode == 0, run.ours.stderr + run.ours.stdout
    expected = patient(archive, PLAIN)
    assert uids_in(run.theirs_dir) == uids_in(run.ours_dir) == expected
    assert sorted(p.name for p in files_in(run.ours_dir)) == sorted(p.name for p in files_in(run.theirs_dir))
    if name == "xi":  # getscu's normal mode writes its files explicit VR little endian; getsh keeps the wire's
        assert transfer_syntaxes(run.ours_dir) == {"1.2.840.10008.1.2"}
        assert transfer_syntaxes(run.theirs_dir) == {"1.2.840.10008.1.2.1"}
        same_values(run)
    else:  # getscu's normal mode re-writes the data set, yet here in the same bytes as getsh's
        assert transfer_syntaxes(run.ours_dir) == transfer_syntaxes(run.theirs_dir)
        ours, theirs = by_uid(run.ours_dir), by_uid(run.theirs_dir)
        for uid, path in ours.items():
            assert dataset_bytes(path) == dataset_bytes(theirs[uid]), uid


def same_values(run: Both) -> None:
    """The same objects with the same decoded element values (pixels included), whatever the encoding."""
    ours, theirs = by_uid(run.ours_dir), by_uid(run.theirs_dir)
    assert ours.keys() == theirs.keys()
    for uid, path in ours.items():
        a, b = dcmread(path), dcmread(theirs[uid])
        def values(ds: Dataset) -> list[tuple[object, object]]:
            return [(e.tag, e.value) for e in ds if e.tag != PIXEL_DATA]

        assert values(a) == values(b), uid
        assert (a.pixel_array == b.pixel_array).all() if "PixelData" in a else "PixelData" not in b


BIT_PRESERVING = [
    ("plain", []),
    ("xe", ["+xe"]),
    ("propose-deflated", ["-xd"]),
]


@pytest.mark.parametrize(("name", "options"), BIT_PRESERVING, ids=[c[0] for c in BIT_PRESERVING])
def test_bit_preserving_same_data_set_bytes(  # type: ignore[no-untyped-def]
    both, dcmqrscp, archive: list[ArchiveEntry], name: str, options: list[str],
) -> None:
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["+B", *options, *patient_keys()])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    ours, theirs = by_uid(run.ours_dir), by_uid(run.theirs_dir)
    assert ours.keys() == theirs.keys() == patient(archive, PLAIN)
    for uid, path in ours.items():
        assert dataset_bytes(path) == dataset_bytes(theirs[uid]), uid


def test_prefer_implicit_bit_preserving(both, dcmqrscp, archive: list[ArchiveEntry]) -> None:  # type: ignore[no-untyped-def]
    """+xi +B: getsh's files hold what came on the wire (implicit VR); DCMTK 3.6.7's getscu writes explicit VR
    little endian even here. The same objects and values."""
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["+xi", "+B", *patient_keys()])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    assert transfer_syntaxes(run.ours_dir) == {"1.2.840.10008.1.2"}
    assert transfer_syntaxes(run.theirs_dir) == {"1.2.840.10008.1.2.1"}
    same_values(run)


def test_prefer_big_differs_by_design_same_values(both, dcmqrscp, archive: list[ArchiveEntry]) -> None:  # type: ignore[no-untyped-def]
    """+xb: getsh proposes big endian in a context of its own, so dcmqrscp sends big endian; getscu's
    single context ends up little endian. The same objects and values either way."""
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["+xb", "+B", *patient_keys()])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    assert transfer_syntaxes(run.ours_dir) == {"1.2.840.10008.1.2.2"}
    assert transfer_syntaxes(run.theirs_dir) == {"1.2.840.10008.1.2.1"}
    same_values(run)


def test_prefer_rle_brings_an_rle_study(both, dcmqrscp, archive: list[ArchiveEntry]) -> None:  # type: ignore[no-untyped-def]
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["+xr", "+B", *patient_keys(RLE)])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    ours, theirs = by_uid(run.ours_dir), by_uid(run.theirs_dir)
    assert ours.keys() == theirs.keys() == patient(archive, RLE)
    assert transfer_syntaxes(run.ours_dir) == transfer_syntaxes(run.theirs_dir) == {"1.2.840.10008.1.2.5"}
    for uid, path in ours.items():
        assert dataset_bytes(path) == dataset_bytes(theirs[uid]), uid


def test_prefer_rle_on_an_uncompressed_study_fails_in_both(both, dcmqrscp) -> None:  # type: ignore[no-untyped-def]
    """dcmqrscp accepts the RLE context first and cannot encode RLE: every sub-operation fails.
    getscu exits 0 all the same; getsh exits non-zero (the deliberate difference)."""
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["+xr", *patient_keys()])
    assert files_in(run.theirs_dir) == files_in(run.ours_dir) == []
    assert run.theirs.returncode == 0
    assert run.ours.returncode in (5, 6), run.ours.stderr


def test_models(both, dcmqrscp, archive: list[ArchiveEntry]) -> None:  # type: ignore[no-untyped-def]
    study = study_of(archive, PLAIN)
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    for options in (["-S", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}"],
                    ["-O", "-k", "QueryRetrieveLevel=STUDY", "-k", f"PatientID={PLAIN}",
                     "-k", f"StudyInstanceUID={study}"]):
        run = both(dcmqrscp.port, dcmqrscp.ae_title, options)
        assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
        assert uids_in(run.theirs_dir) == uids_in(run.ours_dir) == expected, options


def test_ignore_stores_nothing(both, dcmqrscp) -> None:  # type: ignore[no-untyped-def]
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["--ignore", *patient_keys()], output=False)  # getscu: not with -od
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    assert files_in(run.theirs_dir) == files_in(run.ours_dir) == []
    assert run.ours.stdout.count("C-GET") >= 1 and "8" in run.ours.stdout


def test_repeat_two(both, dcmqrscp, archive: list[ArchiveEntry]) -> None:  # type: ignore[no-untyped-def]
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["--repeat", "2", *patient_keys()])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    assert uids_in(run.theirs_dir) == uids_in(run.ours_dir) == patient(archive, PLAIN)
    # getscu overwrites the first round's files; getsh keeps both (setting existing = rename)
    assert len(files_in(run.theirs_dir)) == len(patient(archive, PLAIN))
    assert len(files_in(run.ours_dir)) == 2 * len(patient(archive, PLAIN))


def test_key_with_a_sequence_path(both, dcmqrscp, archive: list[ArchiveEntry]) -> None:  # type: ignore[no-untyped-def]
    study = study_of(archive, PLAIN)
    run = both(dcmqrscp.port, dcmqrscp.ae_title, [
        "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
        "-k", "ReferencedStudySequence[0].ReferencedSOPClassUID=1.2.840.10008.3.1.2.3.1"])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    assert uids_in(run.theirs_dir) == uids_in(run.ours_dir) == expected


def write_query(path: Path, **keys: str) -> Path:
    ds = Dataset()
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Q/R GET
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dcmwrite(path, ds, enforce_file_format=True)
    return path


def test_two_query_files_with_a_key_on_top(both, dcmqrscp, archive: list[ArchiveEntry], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    q1 = write_query(tmp_path / "q1.dcm", QueryRetrieveLevel="STUDY", StudyInstanceUID=study_of(archive, PLAIN, 0))
    q2 = write_query(tmp_path / "q2.dcm", QueryRetrieveLevel="STUDY", StudyInstanceUID=study_of(archive, PLAIN, 1))
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["-S", f"@@{q1}", f"@@{q2}"])
    # DCMTK 3.6.7's getscu crashes (SIGSEGV) at exit after more than one query file, having retrieved them all
    assert run.theirs.returncode in (0, -11) and run.ours.returncode == 0, run.ours.stderr
    assert uids_in(run.theirs_dir) == uids_in(run.ours_dir) == patient(archive, PLAIN)
    assert run.ours.stdout.count("C-GET") >= 2
    # -k overrides a key of each file: both requests now ask for the first study
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["-S", "-k", f"StudyInstanceUID={study_of(archive, PLAIN, 0)}",
                                                  f"@@{q1}", f"@@{q2}"])
    assert run.theirs.returncode in (0, -11) and run.ours.returncode == 0, run.ours.stderr
    first = {e.sop_instance_uid for e in archive if e.study_uid == study_of(archive, PLAIN, 0)}
    assert uids_in(run.theirs_dir) == first
    assert uids_in(run.ours_dir) == first


def test_wrong_called_ae_title_fails_in_both(both, dcmqrscp) -> None:  # type: ignore[no-untyped-def]
    run = both(dcmqrscp.port, dcmqrscp.ae_title, ["-aec", "NOT-TESTQR", *patient_keys()])
    assert run.theirs.returncode == 1 and "Association Rejected" in run.theirs.stderr
    assert run.ours.returncode == 7
    assert "association rejected" in run.ours.stderr and "called AE title not recognised (NOT-TESTQR" in run.ours.stderr
    assert files_in(run.theirs_dir) == files_in(run.ours_dir) == []


@pytest.mark.parametrize(("pid", "options"), [(PLAIN, []), (RLE, []), (PLAIN, ["+B"]), (RLE, ["+xr"])])
def test_orthanc(both, orthanc, archive: list[ArchiveEntry], pid: str, options: list[str]) -> None:  # type: ignore[no-untyped-def]
    run = both(orthanc.port, orthanc.ae_title, [*options, *patient_keys(pid)])
    assert run.theirs.returncode == 0 and run.ours.returncode == 0, run.ours.stderr
    assert uids_in(run.theirs_dir) == uids_in(run.ours_dir) == patient(archive, pid)
    print("orthanc", pid, options, transfer_syntaxes(run.ours_dir), transfer_syntaxes(run.theirs_dir))
    same_values(run)
