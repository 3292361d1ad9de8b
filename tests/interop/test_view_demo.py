"""view after a real get from the demo archive: its CT (uncompressed and RLE), its structured report and its
multi-frame capture, drawn from the files getsh wrote (this console has no colour: brightness characters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.storage import with_header
from getsh.exitstatus import ExitStatus

RLE = "1.2.840.10008.1.2.5"


def study(archive: list[ArchiveEntry], patient: str, modality: str) -> str:
    return next(e.study_uid for e in archive if e.patient_id == patient and e.modality == modality)


def numbers(shell: Any, modality: str) -> list[int]:
    """The numbers in 'received' of the objects of this modality (read from their files, as 'received' does)."""
    return [r.index for r in map(with_header, shell.ctx.session.received) if r.modality == modality]


def got(shell: Any, demo_server: Any, tmp_path: Path, uid: str, prefer: str = "") -> None:
    if prefer:  # the RLE study is only sent to an SCU that proposes RLE
        assert shell.run(f"set prefer {prefer}")[0] == ExitStatus.SUCCESS
    assert shell.run(f"connect 127.0.0.1 {demo_server.port}")[0] == ExitStatus.SUCCESS
    assert shell.run(f"output {tmp_path}")[0] == ExitStatus.SUCCESS
    status, shown = shell.run(f"get StudyInstanceUID={uid}")
    assert status == ExitStatus.SUCCESS, shown


def phantom_drawn(shown: str, number: int) -> None:
    """The demo's CT phantom (air, a bone ring, soft tissue) at twice its 64 pixels: 128 wide, 64 lines."""
    lines = shown.splitlines()
    picture = lines[:64]
    assert all(len(line) == 128 for line in picture)
    assert set(picture[0]) == {" "}  # air above the body: black
    middle = picture[32]
    assert middle[:4] == "    " and set(middle[4:10]) == {"@"}  # air at the edge, then the bone ring: white
    assert set(middle[50:78]) <= set("=+")  # soft tissue at the window's centre: mid grey
    assert lines[64].startswith(f"{number}: CT Image Storage  64×64 · MONOCHROME2 · rescale ×1 -1024 HU · "
                                "window 40/400")


def test_view_ct_and_its_report_after_a_get(shell: Any, demo_server: Any, archive: list[ArchiveEntry],
                                            tmp_path: Path) -> None:
    got(shell, demo_server, tmp_path, study(archive, "DEMO001", "CT"))
    ct = numbers(shell, "CT")[0]
    status, shown = shell.run(f"view {ct}")
    assert status == ExitStatus.SUCCESS
    phantom_drawn(shown, ct)
    report = numbers(shell, "SR")[0]
    status, shown = shell.run(f"view {report}")
    assert status == ExitStatus.SUCCESS
    assert f"{report}: Basic Text SR Storage" in shown and "Lungs are clear. No pleural effusion." in shown
    assert "contains Impression (CONTAINER)" in shown
    status, shown = shell.run("view all --width 16")
    assert status == ExitStatus.SUCCESS and f"{ct} CT" in shown and f"{report} Basic Text SR" in shown


def test_view_rle_ct_after_a_get(shell: Any, demo_server: Any, archive: list[ArchiveEntry], tmp_path: Path) -> None:
    got(shell, demo_server, tmp_path, study(archive, "DEMO002", "CT"), prefer="rle")
    ct = numbers(shell, "CT")[0]
    assert shell.ctx.session.received[ct - 1].transfer_syntax == RLE
    status, shown = shell.run(f"view {ct}")
    assert status == ExitStatus.SUCCESS
    phantom_drawn(shown, ct)


def test_view_frames_of_the_cine_after_a_get(shell: Any, demo_server: Any, archive: list[ArchiveEntry],
                                             tmp_path: Path) -> None:
    got(shell, demo_server, tmp_path, study(archive, "DEMO003", "OT"))
    cine = numbers(shell, "OT")[0]
    first = shell.run(f"view {cine}")[1]
    fifth = shell.run(f"view {cine} --frame 5")[1]
    assert "frame 1 of 10" in first and "frame 5 of 10" in fifth
    assert first.splitlines()[10] != fifth.splitlines()[10]  # the bar has moved
