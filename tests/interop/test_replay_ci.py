"""Replay for CI: keys on every line checked before anything runs, recordings that take another archive
through their variables, one table of exit statuses for `getsh run` and `-c`, and `-q` and the summary's
counts — against the demo archive and dcmqrscp."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from tests.interop.test_replay import WIDE, uids_in
from tests.peers import free_port, refused_port
from tests.shell_driver import run_getsh

pytestmark = pytest.mark.interop


def run(script: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_getsh(["run", str(script), *args], env={**WIDE, **(env or {})})


@pytest.mark.parametrize(("line", "column", "message"), [
    ("get StudyInstanceUID=1.2.3.x", 5, "StudyInstanceUID (UI): '1.2.3.x' is not a UID"),
    ("get 3 + PatientNmae=X", 9, "key 'PatientNmae': unknown keyword 'PatientNmae' — did you mean PatientName"),
    ("get --exact QueryRetrieveLevel=STUDY StudyDate=2024", 38, "StudyDate (DA): '2024' is not a date"),
    ("get PatientNmae", 5, "key 'PatientNmae': unknown keyword 'PatientNmae'"),
    ("get ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.x", 5, "ReferencedSOPInstanceUID (UI): '1.x'"),
    ("find StudyDate=2024", 6, "StudyDate (DA): '2024' is not a date"),
    ("ls PatientNmae=X", 4, "key 'PatientNmae': unknown keyword 'PatientNmae'"),
    ("key StudyInstanceUID=1.x", 5, "StudyInstanceUID (UI): '1.x' is not a UID"),
])
def test_a_bad_key_on_any_line_stops_the_script_before_anything_runs(
    demo_server, tmp_path: Path, line: str, column: int, message: str,  # type: ignore[no-untyped-def]
) -> None:
    script = tmp_path / "s.getsh"
    script.write_text(f"connect 127.0.0.1 {demo_server.port}\nmodel study\n{line}\n")
    for args in ((), ("--dry-run",))[: 1 + line.startswith("get StudyInstanceUID")]:  # --dry-run: the same pass
        result = run(script, *args)
        assert result.returncode == 3, result.stdout + result.stderr
        assert f"{script}:3:{column}: error: {message}" in result.stderr
        assert "associated" not in result.stdout  # nothing ran: the connect before it neither


def test_what_is_not_a_key_on_a_get_line_is_left_to_the_run(tmp_path: Path) -> None:
    """Row numbers, '.', '+', query files (one the script writes first) and return keys pass the first pass."""
    (tmp_path / "q1.dcm").write_bytes(b"not read by a dry run")
    script = tmp_path / "s.getsh"
    script.write_text(f"connect 127.0.0.1 {free_port()}\nmodel study\nsave {tmp_path}/later.dcm\n"
                      f"get 3\nget 2-5,8\nget all\nget .\nget 1 + 2\nget {tmp_path}/q1.dcm PatientID=X\n"
                      f"get {tmp_path}/later.dcm\nget PatientName (0010,0020) 00100030\n")
    result = run(script, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dry run: 11 commands and 0 expectations parse" in result.stdout


def record(script: Path, *lines: str, status: int = 0) -> None:
    """A session recorded through -c (its exit status counts every failure, those checked by expect too)."""
    result = run_getsh([*(w for line in (f"record {script}", *lines, "record stop") for w in ("-c", line))], env=WIDE)
    assert result.returncode == status, result.stdout + result.stderr


def test_a_recording_checks_another_archive_through_its_variables(
    demo_server, dcmqrscp, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    study = next(e for e in archive if e.patient_id == "DEMO001" and e.modality == "MR").study_uid
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    recorded_out, elsewhere, from_env = (tmp_path / name for name in ("recorded", "elsewhere", "from-env"))
    for folder in (recorded_out, elsewhere, from_env):
        folder.mkdir()
    script = tmp_path / "check.getsh"
    record(script, f"connect 127.0.0.1 {demo_server.port} --aec GETSH-DEMO", "model study", f"output {recorded_out}",
           f"get StudyInstanceUID={study}", f"expect received {len(expected)}")
    text = script.read_text()
    peer = f"${{GETSH_HOST:-127.0.0.1}} ${{GETSH_PORT:-{demo_server.port}}}"
    assert f'connect {peer} --aec "${{GETSH_AEC:-GETSH-DEMO}}"' in text
    assert f'\noutput "${{GETSH_OUTPUT:-{recorded_out}}}"\n' in text and "GETSH_PORT=104" in text  # said in the header
    assert uids_in(recorded_out) == expected

    # the same check against dcmqrscp, written elsewhere; tcsh's HOST and a platform's PORT change nothing
    result = run(script, "--var", f"GETSH_PORT={dcmqrscp.port}", "--var", f"GETSH_AEC={dcmqrscp.ae_title}",
                 "--var", f"GETSH_OUTPUT={elsewhere}", env={"HOST": "tcsh-exports-this", "PORT": "8080"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"associated with {dcmqrscp.ae_title} @ 127.0.0.1:{dcmqrscp.port}" in result.stdout
    assert uids_in(elsewhere) == expected and "1 expectation held" in result.stdout

    # the environment gives them too, on purpose; unset, the recorded values hold
    result = run(script, env={"GETSH_OUTPUT": str(from_env)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"associated with GETSH-DEMO @ 127.0.0.1:{demo_server.port}" in result.stdout
    assert uids_in(from_env) == expected


def test_a_connect_that_failed_on_purpose_is_recorded_as_it_ran(demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with refused_port() as wrong:  # refused until the end: no peer started meanwhile can take it
        script = tmp_path / "rec.getsh"
        record(script, f"connect 127.0.0.1 {wrong}", "expect error refused", f"connect 127.0.0.1 {demo_server.port}",
               status=7)
        lines = script.read_text().splitlines()
        assert f"connect 127.0.0.1 {wrong}" in lines
        assert f"connect ${{GETSH_HOST:-127.0.0.1}} ${{GETSH_PORT:-{demo_server.port}}}" in lines
        result = run(script, "--var", f"GETSH_PORT={demo_server.port}")
        assert result.returncode == 0, result.stdout + result.stderr  # the refusal is still checked, on its own port


# The same lines end with the same status under `getsh run` and `getsh -c`: the archive answered otherwise
# (6, 9), could not be reached (7), or the script is wrong (3).
STATUS_CASES = [
    ("connect 127.0.0.1 {port}\necho\n", 0),
    ("connect 127.0.0.1 {free}\necho\n", 7),
    ("connect 127.0.0.1 {port}\nmodel study\nlevel PATIENT\nget PatientID=X\n", 6),
    ("connect 127.0.0.1 {port}\nmodel study\nget StudyInstanceUID=1.2.3\nexpect received 1\n", 9),
    ("connect 127.0.0.1 {port}\nfrobnicate\n", 3),
]


@pytest.mark.parametrize(("body", "status"), STATUS_CASES)
def test_run_and_dash_c_give_one_status_for_one_outcome(demo_server, tmp_path: Path, body: str, status: int) -> None:  # type: ignore[no-untyped-def]
    text = body.format(port=demo_server.port, free=free_port())
    script = tmp_path / "s.getsh"
    script.write_text(text)
    result = run(script)
    assert result.returncode == status, result.stdout + result.stderr
    if status != 3:  # -c runs line by line: a line that does not parse there is a failed command (2)
        result = run_getsh(["-c", "; ".join(text.splitlines())], env=WIDE)
        assert result.returncode == status, result.stdout + result.stderr


def test_with_keep_going_an_unreachable_archive_outranks_the_expectations_after_it(tmp_path: Path) -> None:
    script = tmp_path / "s.getsh"
    script.write_text(f"connect 127.0.0.1 {free_port()}\nmodel study\nget StudyInstanceUID=1.2.3\nexpect received 1\n")
    result = run(script, "--keep-going")
    assert result.returncode == 7, result.stdout + result.stderr
    assert "2 failed; expectations: 0 held, 1 failed" in result.stderr
    result = run_getsh(["run", "--no-such-option", str(script)])
    assert result.returncode == 1  # the job's own command line: not the archive, not the script


def test_quiet_replay_and_expectations_held_failed_and_not_run(demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    script, report = tmp_path / "s.getsh", tmp_path / "report.xml"
    script.write_text(f"connect 127.0.0.1 {demo_server.port}\nmodel study\nget StudyInstanceUID=1.2.3\n"
                      "expect status success\nexpect received 5\necho\nexpect received 0\n")
    result = run(script, "--junit", str(report))
    assert result.returncode == 9, result.stdout + result.stderr
    assert f"{script}:1: connect" in result.stdout  # echoed without -q
    assert f"{script}: 3 of 4 commands run; expectations: 1 held, 1 failed, 1 not run" in result.stderr
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["7", "1", "0", "2"]

    result = run(script, "-q")
    assert result.returncode == 9
    assert f"{script}:1: " not in result.stdout and f"{script}:6: " not in result.stdout  # no echo
    assert f"{script}:5: expectation failed: expected received 5, found 0" in result.stderr  # what went wrong
    assert "expectations: 1 held, 1 failed, 1 not run" in result.stderr
    dry = run(script, "-q", "--dry-run")
    assert dry.returncode == 0 and f"{script}:1: " not in dry.stdout and "dry run: 4 commands" in dry.stdout
