"""Identifiers judged by DCMTK: dcmdump reads what save_query writes, getscu retrieves with it,
and dcmodify builds the same data set from the same path expressions."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from pydicom.dataset import Dataset

from getsh.dicom.keys.identifier import Node, apply, default_identifier, describe, load_query, parse_key, save_query
from getsh.errors import UsageError
from tests.peers import Dcmqrscp, dcmtk_env

if TYPE_CHECKING:
    from getsh.dicom.demo.data import ArchiveEntry

pytestmark = pytest.mark.interop

UID = "1.2.826.0.1.3680043.8.498.1"
# "(0010,0020) LO [PAT001]   #   6, 1 PatientID" — elements only; items and delimiters are skipped.
DUMP_LINE = re.compile(r"^(?P<indent> *)\((?P<tag>[0-9a-f]{4},[0-9a-f]{4})\) (?P<vr>[A-Z?]{2}) (?P<rest>.*?)\s+#", re.I)
Row = tuple[int, str, str, str]  # depth, "gggg,eeee", VR, value


def run(argv: Sequence[str | os.PathLike[str]]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.fspath(a) for a in argv], env=dcmtk_env(), capture_output=True, text=True, timeout=60, check=False
    )


def dcmdump_rows(dcmdump: Path, path: Path) -> list[Row]:
    """The data set (not the file meta) as dcmdump prints it."""
    result = run([dcmdump, path])
    assert result.returncode == 0, result.stderr
    rows: list[Row] = []
    for line in result.stdout.split("# Dicom-Data-Set", 1)[1].splitlines():
        match = DUMP_LINE.match(line)
        if not match or match["tag"].lower().startswith("fffe"):
            continue
        rest = match["rest"]
        value = rest[1 : rest.index("]")] if rest.startswith("[") else "" if rest.startswith("(") else rest.strip()
        rows.append((len(match["indent"]) // 4, match["tag"].upper(), match["vr"], value))
    return rows


def tree(nodes: list[Node]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for node in nodes:
        out.append((node.path, node.vr, node.value))
        out += tree(list(node.children))
    return out


def build(keys: Sequence[str], dataset: Dataset | None = None) -> Dataset:
    dataset = Dataset() if dataset is None else dataset
    for key in keys:
        apply(dataset, parse_key(key))
    return dataset


# ---- dcmdump reads exactly what was set -----------------------------------------------------------
LEVEL: Row = (0, "0008,0052", "CS", "STUDY")
FORMS: list[tuple[list[str], list[Row]]] = [
    (["PatientID=PAT001"], [(0, "0010,0020", "LO", "PAT001")]),
    (["(0010,0020)=PAT001"], [(0, "0010,0020", "LO", "PAT001")]),
    (["0010,0020=PAT001"], [(0, "0010,0020", "LO", "PAT001")]),
    (["00100020=PAT001"], [(0, "0010,0020", "LO", "PAT001")]),
    (["PatientName", "PatientBirthDate="], [(0, "0010,0010", "PN", ""), (0, "0010,0030", "DA", "")]),
    (["ModalitiesInStudy=CT\\MR"], [(0, "0008,0061", "CS", "CT\\MR")]),
    (["StudyDate=20240101-20240131", "Rows=512"], [(0, "0008,0020", "DA", "20240101-20240131"),
                                                   (0, "0028,0010", "US", "512")]),
    (["ReferencedStudySequence"], [(0, "0008,1110", "SQ", "")]),
    (["ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.3"],
     [(0, "0008,1110", "SQ", ""), (1, "0008,1155", "UI", "1.2.3")]),
    (["(0008,1110)[1].(0008,1155)=1.2.3"], [(0, "0008,1110", "SQ", ""), (1, "0008,1155", "UI", "1.2.3")]),
    (["ReferencedStudySequence[0].ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPClassUID=1.2"],
     [(0, "0008,1110", "SQ", ""), (1, "0008,1115", "SQ", ""), (2, "0008,114A", "SQ", ""),
      (3, "0008,1150", "UI", "1.2")]),
    (["(0009,0010)=GETSH", "(0009,1001,LO)=abc", "0009,1002,US=7"],
     [(0, "0009,0010", "LO", "GETSH"), (0, "0009,1001", "LO", "abc"), (0, "0009,1002", "US", "7")]),
]  # fmt: skip


@pytest.mark.parametrize(("keys", "rows"), FORMS, ids=[keys[0] for keys, _ in FORMS])
def test_dcmdump_shows_exactly_the_keys(
    keys: list[str], rows: list[Row], dcmtk: Callable[[str], Path], tmp_path: Path
) -> None:
    query = tmp_path / "q.dcm"
    save_query(build(keys, default_identifier("study")), query, model="study")
    assert dcmdump_rows(dcmtk("dcmdump"), query) == _in_file_order([LEVEL, *rows])


def _in_file_order(rows: list[Row]) -> list[Row]:
    """Top-level rows in tag order, each followed by the rows nested under it."""
    groups: list[list[Row]] = []
    for row in rows:
        if row[0] == 0:
            groups.append([row])
        else:
            groups[-1].append(row)
    return [row for group in sorted(groups, key=lambda g: g[0][1]) for row in group]


# ---- getscu takes the file as its query ------------------------------------------------------------
def _uncompressed(archive: Sequence[ArchiveEntry]) -> list[ArchiveEntry]:
    """dcmqrscp cannot transcode: keep to studies that need no RLE context."""
    rle = {e.study_uid for e in archive if e.transfer_syntax_uid == str(pydicom.uid.RLELossless)}
    return [e for e in archive if e.study_uid not in rle]


def _getscu(getscu: Path, model_flag: str, peer: Dcmqrscp, query: Path, out: Path) -> set[str]:
    out.mkdir()
    result = run([getscu, model_flag, "-aec", peer.ae_title, "-od", out, "127.0.0.1", str(peer.port), query])
    assert result.returncode == 0, result.stderr
    assert "Bad" not in result.stdout + result.stderr, result.stdout + result.stderr
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in out.iterdir()}


def test_getscu_retrieves_a_study_with_the_saved_query(
    dcmqrscp: Dcmqrscp, archive: list[ArchiveEntry], dcmtk: Callable[[str], Path], tmp_path: Path
) -> None:
    study = _uncompressed(archive)[0].study_uid
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    query = tmp_path / "q.dcm"
    save_query(build(["(0008,0052)=STUDY", f"0020,000D={study}"]), query, model="study")
    assert _getscu(dcmtk("getscu"), "-S", dcmqrscp, query, tmp_path / "out") == expected


def test_getscu_retrieves_a_patient_from_the_default_identifier(
    dcmqrscp: Dcmqrscp, archive: list[ArchiveEntry], dcmtk: Callable[[str], Path], tmp_path: Path
) -> None:
    rle_patients = {e.patient_id for e in archive if e not in _uncompressed(archive)}
    patient = next(e.patient_id for e in archive if e.patient_id not in rle_patients)
    expected = {e.sop_instance_uid for e in archive if e.patient_id == patient}
    query = tmp_path / "q.dcm"
    save_query(build([f"PatientID={patient}"], default_identifier("patient")), query)
    assert _getscu(dcmtk("getscu"), "-P", dcmqrscp, query, tmp_path / "out") == expected


# ---- dcmodify parses the same paths the same way --------------------------------------------------
SAME_AS_DCMODIFY = [
    ["(0008,1110)[0].(0008,1155)=1.2.3"],
    ["ReferencedStudySequence[2].ReferencedSOPInstanceUID=1.2.3"],
    ["PatientName", "0010,0020=PAT", "10,30=19700101", "ModalitiesInStudy=CT\\MR", "PatientID=a=b"],
    ["ReferencedStudySequence", "ReferencedPatientSequence[1]"],
    ["ReferencedStudySequence[1].ReferencedSeriesSequence[1].ReferencedInstanceSequence[0].ReferencedSOPClassUID=1.2"],
    ["ReferencedStudySequence[1].ReferencedSOPInstanceUID=1.2", "ReferencedStudySequence", "(0008,1110)[0]"],
    ["ReferencedStudySequence[0].ReferencedSOPInstanceUID=1", "(0008,1110)[0].ReferencedSOPClassUID=1.2", "PatientID"],
]


@pytest.mark.parametrize("keys", SAME_AS_DCMODIFY, ids=[k[0] for k in SAME_AS_DCMODIFY])
def test_same_data_set_as_dcmodify(keys: list[str], dcmtk: Callable[[str], Path], tmp_path: Path) -> None:
    made = tmp_path / "dcmodify.dcm"
    result = run([dcmtk("dcmodify"), "--create-file", *(arg for key in keys for arg in ("-i", key)), made])
    assert result.returncode == 0, result.stderr
    assert tree(describe(build(keys))) == tree(describe(load_query(made)))


@pytest.mark.parametrize(
    "key",
    [
        "PatientID[0].PatientName=X",
        "ReferencedStudySequence.PatientName=X",
        "ReferencedStudySequence[].PatientName=X",
        "ReferencedStudySequence[-1].PatientName=X",
        "ReferencedStudySequence[0]=X",
        "ReferencedStudySequence=X",
        "(0010,0020=X",
        "ReferencedStudySequence[*].PatientName=X",
    ],
)
def test_dcmodify_refuses_what_getsh_refuses(key: str, dcmtk: Callable[[str], Path], tmp_path: Path) -> None:
    made = tmp_path / "dcmodify.dcm"
    assert run([dcmtk("dcmodify"), "--create-file", "-i", key, made]).returncode != 0
    with pytest.raises(UsageError):
        parse_key(key)


# ---- query files DCMTK made ---------------------------------------------------------------------
@pytest.mark.parametrize("bare", [False, True], ids=["file-format", "data-set-only"])
def test_load_the_getscu_manual_example(bare: bool, dcmtk: Callable[[str], Path], tmp_path: Path) -> None:
    """The manual's dump2dcm script for a patient-level query, with and without file meta."""
    script = tmp_path / "q.txt"
    script.write_text(
        "# request all images for the patient with ID=PAT001\n(0008,0052) CS [PATIENT]\n(0010,0020) LO [PAT001]\n"
    )
    query = tmp_path / "q.dcm"
    result = run([dcmtk("dump2dcm"), *(["-F"] if bare else []), script, query])
    assert result.returncode == 0, result.stderr
    assert (query.read_bytes()[128:132] == b"DICM") is not bare
    loaded = load_query(query)
    assert [(e.keyword, e.value) for e in loaded] == [("QueryRetrieveLevel", "PATIENT"), ("PatientID", "PAT001")]
