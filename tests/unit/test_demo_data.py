"""The generated demo archive: deterministic, varied enough to exercise a client, and valid DICOM."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import UID, ExplicitVRLittleEndian, RLELossless

from getsh.dicom.demo.data import ArchiveEntry, build_archive

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
SR_CLASSES = {"1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.33"}


def _peer(path: str) -> str:
    """A DCMTK tool by absolute path; skip without it, fail if GETSH_REQUIRE_PEERS=1."""
    if os.access(path, os.X_OK):
        return path
    reason = f"{path} is not installed (DCMTK)"
    if os.environ.get("GETSH_REQUIRE_PEERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ArchiveEntry]]:
    directory = tmp_path_factory.mktemp("archive")
    return directory, build_archive(directory)


def test_two_builds_give_identical_uids_and_bytes(sample: tuple[Path, list[ArchiveEntry]],
                                                   tmp_path: Path) -> None:
    first_dir, first = sample
    second_dir = tmp_path / "not" / "yet" / "there"
    second = build_archive(second_dir)

    def relative(entries: list[ArchiveEntry], root: Path) -> list[ArchiveEntry]:
        return [replace(e, path=e.path.relative_to(root)) for e in entries]

    assert relative(first, first_dir) == relative(second, second_dir)
    first_files = sorted(p.relative_to(first_dir) for p in first_dir.rglob("*") if p.is_file())
    second_files = sorted(p.relative_to(second_dir) for p in second_dir.rglob("*") if p.is_file())
    assert first_files == second_files == sorted(e.path.relative_to(first_dir) for e in first)
    for name in first_files:
        assert (first_dir / name).read_bytes() == (second_dir / name).read_bytes(), name


def test_uids_are_unique_and_valid(sample: tuple[Path, list[ArchiveEntry]]) -> None:
    _, entries = sample
    sops = [e.sop_instance_uid for e in entries]
    assert len(set(sops)) == len(sops)
    uids = {*sops, *(e.study_uid for e in entries), *(e.series_uid for e in entries)}
    assert all(UID(u).is_valid for u in uids)
    assert len({e.study_uid for e in entries} & {e.series_uid for e in entries}) == 0


def test_archive_has_the_promised_variety(sample: tuple[Path, list[ArchiveEntry]]) -> None:
    directory, entries = sample
    assert len({e.patient_id for e in entries}) >= 3
    assert all("^" in e.patient_name for e in entries)
    assert sum(e.sop_class_uid == CT for e in entries) >= 4
    assert sum(e.sop_class_uid == MR for e in entries) >= 2

    reports = [e for e in entries if e.sop_class_uid in SR_CLASSES]
    assert reports and all("PixelData" not in dcmread(e.path) for e in reports)
    assert any(dcmread(e.path).ContentSequence for e in reports)

    frames = [int(dcmread(e.path, stop_before_pixels=True).get("NumberOfFrames", 1)) for e in entries]
    assert max(frames) > 1

    by_study: dict[str, set[str]] = {}
    for e in entries:
        by_study.setdefault(e.study_uid, set()).add(e.transfer_syntax_uid)
    rle_studies = [uid for uid, syntaxes in by_study.items() if syntaxes == {RLELossless}]
    assert rle_studies, "no study stored entirely RLE Lossless"
    assert any(len([e for e in entries if e.study_uid == uid]) > 1 for uid in rle_studies)
    assert {ts for s in by_study.values() for ts in s} == {RLELossless, ExplicitVRLittleEndian}
    assert sum(p.stat().st_size for p in directory.rglob("*.dcm")) < 5_000_000


def test_every_file_reads_back_as_indexed(sample: tuple[Path, list[ArchiveEntry]]) -> None:
    _, entries = sample
    for e in entries:
        ds = dcmread(e.path)
        assert ds.file_meta.TransferSyntaxUID == e.transfer_syntax_uid
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == e.sop_instance_uid
        assert ds.SOPClassUID == e.sop_class_uid
        assert (ds.PatientID, ds.PatientName) == (e.patient_id, e.patient_name)
        assert (ds.StudyInstanceUID, ds.SeriesInstanceUID) == (e.study_uid, e.series_uid)
        assert ds.Modality == e.modality


def test_pixel_data_decodes_including_rle(sample: tuple[Path, list[ArchiveEntry]]) -> None:
    pytest.importorskip("numpy", reason="pydicom needs numpy to decode pixel data")
    _, entries = sample
    for e in entries:
        ds = dcmread(e.path)
        if "PixelData" not in ds:
            continue
        pixels = ds.pixel_array
        frames = int(ds.get("NumberOfFrames", 1))
        assert pixels.shape == ((frames,) if frames > 1 else ()) + (ds.Rows, ds.Columns)
        assert pixels.max() < 2**ds.BitsStored and pixels.max() > pixels.min()


def test_dcmdump_reads_every_file_without_errors(sample: tuple[Path, list[ArchiveEntry]]) -> None:
    dcmdump = _peer("/usr/bin/dcmdump")
    _, entries = sample
    run = subprocess.run([dcmdump, "-q", *(str(e.path) for e in entries)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    errors = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith(("E:", "F:"))]
    assert not errors


def test_dcmqridx_indexes_every_file(sample: tuple[Path, list[ArchiveEntry]], tmp_path: Path) -> None:
    dcmqridx = _peer("/usr/bin/dcmqridx")
    _, entries = sample
    run = subprocess.run([dcmqridx, "-v", str(tmp_path), *(str(e.path) for e in entries)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    output = run.stdout + run.stderr
    assert not [line for line in output.splitlines() if line.startswith(("E:", "F:", "W:"))]
    assert output.count("registering") == len(entries)
    assert (tmp_path / "index.dat").stat().st_size > 0
