"""show getscu and show findscu, typed into the real REPL, then run with DCMTK's own tools against dcmqrscp:
the getscu line receives the same objects as getsh's own get of the same state; the findscu line finds the
same matches as getsh's find."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread

from getsh.dicom.demo.data import ArchiveEntry
from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.interop

PATIENT = "DEMO004"  # two small uncompressed CT studies, 8 objects


def sop_uids(folder: Path) -> list[str]:
    return sorted(str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.rglob("*") if p.is_file())


def printed_line(shown: str, tool: str) -> tuple[list[str], list[str]]:
    """The command line show printed (its words) and the comments under it."""
    lines = [line for line in shown.splitlines() if line.strip()]
    first = next(i for i, line in enumerate(lines) if line.startswith(f"{tool} "))
    return shlex.split(lines[first]), lines[first + 1:]


def run_dcmtk(tool: Path, words: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tool), *words[1:]], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "TCP_NODELAY": "1"})


def connected(shell: ShellDriver, peer_port: int, aec: str, output: Path, *settings: str) -> None:
    for line in (f"set aec {aec}", f"set output {output}", *settings, f"connect 127.0.0.1 {peer_port}"):
        shown = shell.line(line)
        assert "error" not in shown, (line, shown)


CASES = [
    ("patient-root", ["set model patient", "key QueryRetrieveLevel=PATIENT PatientID=DEMO004"]),
    ("study-root-options", ["set model study", "set prefer little", "set propose implicit", "set max-pdu 65536",
                            "set storage bit-preserving", "set aet SHOWME", "key QueryRetrieveLevel=STUDY",
                            "key StudyInstanceUID={study}"]),
]


@pytest.mark.parametrize(("name", "lines"), CASES, ids=[c[0] for c in CASES])
def test_the_getscu_line_receives_what_get_receives(dcmqrscp, archive: list[ArchiveEntry],  # type: ignore[no-untyped-def]
                                                    dcmtk: Callable[[str], Path], tmp_path: Path, name: str,
                                                    lines: list[str]) -> None:
    getscu = dcmtk("getscu")
    ours, theirs = tmp_path / "getsh", tmp_path / "getscu"
    ours.mkdir()
    theirs.mkdir()
    study = sorted({e.study_uid for e in archive if e.patient_id == PATIENT})[0]
    with ShellDriver() as shell:
        connected(shell, dcmqrscp.port, dcmqrscp.ae_title, ours, *(line.format(study=study) for line in lines))
        shown = shell.line("show getscu")
        got = shell.line("get")
        assert "error" not in got, got
        first = shell.ctx.session.received[0].sop_instance_uid
        said = " ".join(shell.line(f"explain {first}").split())  # a UID of this session: where it turned up
    assert "not a UID of the standard" in said and "the SOP instance of 1 received object(s): 1 (show N)" in said
    words, notes = printed_line(shown, "getscu")
    assert words[-2:] == ["127.0.0.1", str(dcmqrscp.port)]
    assert words[words.index("-aec") + 1] == dcmqrscp.ae_title
    assert words[words.index("-od") + 1] == str(ours)
    assert all(note.startswith("# ") for note in notes) and any("existing rename" in n for n in notes), notes
    words[words.index("-od") + 1] = str(theirs)  # the same line, into its own folder
    result = run_dcmtk(getscu, words, theirs)
    assert result.returncode == 0, result.stderr
    wanted = sorted(e.sop_instance_uid for e in archive if e.patient_id == PATIENT
                    and (name == "patient-root" or e.study_uid == study))
    assert sop_uids(theirs) == sop_uids(ours) == wanted
    if name == "study-root-options":
        assert {"-S", "+xe", "-xi", "+B"} <= set(words) and words[words.index("-pdu") + 1] == "65536"
        assert words[words.index("-aet") + 1] == "SHOWME"


def test_the_findscu_line_finds_what_find_finds(dcmqrscp, archive: list[ArchiveEntry],  # type: ignore[no-untyped-def]
                                                dcmtk: Callable[[str], Path], tmp_path: Path) -> None:
    findscu = dcmtk("findscu")
    with ShellDriver() as shell:
        connected(shell, dcmqrscp.port, dcmqrscp.ae_title, tmp_path, "set model study")
        assert "error" in shell.line("show findscu")  # no find yet: one line saying so
        found = shell.line(f"find QueryRetrieveLevel=STUDY PatientID={PATIENT}")
        assert "error" not in found, found
        shown = shell.line("show findscu")
        session = shell.ctx.session.found
        shell.line(f"find QueryRetrieveLevel=STUDY PatientID={PATIENT} --limit 1")
        limited, _ = printed_line(shell.line("show findscu"), "findscu")
    assert limited[limited.index("--cancel") + 1] == "1"
    assert session is not None
    ours = sorted(row.value("StudyInstanceUID") for row in session.rows)
    assert ours == sorted({e.study_uid for e in archive if e.patient_id == PATIENT})
    words, notes = printed_line(shown, "findscu")
    assert words[1] == "-S" and "QueryRetrieveLevel=STUDY" in words and f"PatientID={PATIENT}" in words
    assert any("return keys" in n for n in notes), notes
    result = run_dcmtk(findscu, [*words[:-2], "-X", *words[-2:]], tmp_path)
    assert result.returncode == 0, result.stderr
    responses = sorted(tmp_path.glob("rsp*.dcm"))
    theirs = sorted(str(dcmread(p).StudyInstanceUID) for p in responses)
    assert theirs == ours
