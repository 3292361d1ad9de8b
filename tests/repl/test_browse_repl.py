"""ls, cd, pwd and get . typed into the real prompt_toolkit REPL (pipe input) against the demo archive
(issue 13, acceptance 2): what the screen says, what the prompt shows, and the files on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from prompt_toolkit.formatted_text import to_plain_text

from getsh.dicom.demo.data import ArchiveEntry
from tests.interop.test_get import uids_in
from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.repl


def prompt_of(shell: ShellDriver) -> str:
    message = shell.session.message
    assert callable(message)
    return to_plain_text(message())


def test_walk_ls_cd_ls_cd_ls_get_here_up_pwd(demo_server, archive: list[ArchiveEntry],  # type: ignore[no-untyped-def]
                                            tmp_path: Path) -> None:
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {demo_server.port}")
        shell.line(f"output {tmp_path}")
        assert prompt_of(shell) == "getsh> "

        shown = shell.line("ls")
        assert "C-FIND patient root, PATIENT level" in shown and "4 matches at PATIENT level" in shown
        for name in ("DOE, JANE", "SMITH, JOHN A", "GARCIA, MARIA ELENA", "O'BRIEN, PATRICK"):
            assert name in shown
        assert shell.ctx.session.found is not None
        patient = shell.ctx.session.found.rows[0]
        assert patient.value("PatientID") == "DEMO001"

        shell.type("cd ", "\t")  # Tab offers the rows one can go into, with what they are
        offered = shell.completions()
        assert offered["1"] == "DOE^JANE" and offered["4"] == "O'BRIEN^PATRICK" and "/" in offered
        shell.type("\x15")
        shown = shell.line("cd 1")
        assert "/DOE^JANE  (a patient; pwd shows its keys): ls lists its studies" in shown
        assert prompt_of(shell) == "getsh DOE^JANE> "

        shown = shell.line("ls")
        assert "STUDY level  PatientID=DEMO001" in shown and "2 matches at STUDY level" in shown
        assert "CT CHEST W/O CONTRAST" in shown and "MR BRAIN" in shown
        assert "patient ID" not in shown  # the path's key is the same in every row: not a column
        studies = {e.study_uid for e in archive if e.patient_id == "DEMO001"}
        assert {r.value("StudyInstanceUID") for r in shell.ctx.session.found.rows} == studies

        shown = shell.line("cd 1")
        study = shell.ctx.session.browse.unique[-1][1]
        assert study in studies
        label = shell.ctx.session.browse.labels[-1]
        assert f"/DOE^JANE/{label}  (a study; pwd shows its keys): ls lists its series" in shown
        assert prompt_of(shell) == f"getsh DOE^JANE/{label}> "

        shown = shell.line("ls")
        series = {e.series_uid for e in archive if e.study_uid == study}
        assert f"{len(series)} match" in shown and "at SERIES level" in shown
        assert {r.value("SeriesInstanceUID") for r in shell.ctx.session.found.rows} == series

        shown = shell.line("get .")
        assert f"C-GET /DOE^JANE/{label}: patient root, STUDY level" in shown
        assert "C-GET Success" in shown
        # exactly the study's objects, by their UIDs
        assert uids_in(tmp_path) == {e.sop_instance_uid for e in archive if e.study_uid == study}
        # recorded as the unique keys of where it stood, so a replay retrieves the same objects
        assert shell.ctx.session.history[-1] == (f"get QueryRetrieveLevel=STUDY PatientID=DEMO001 "
                                                 f"StudyInstanceUID={study} --exact")

        shown = shell.line("cd ..")
        assert "/DOE^JANE  (a patient" in shown
        assert prompt_of(shell) == "getsh DOE^JANE> "

        shown = shell.line("pwd")
        assert shown.splitlines() == ["/DOE^JANE  (patient root)", "  PATIENT  PatientID=DEMO001  DOE^JANE"]
        assert shell.alive


def test_bad_input_says_what_and_the_shell_lives(demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {demo_server.port}")
        shell.line(f"output {tmp_path}")
        def check(line: str, message: str) -> None:
            shown = shell.line(line)
            assert message in shown and shown.count("error:") == 1, shown

        check("cd 1", "cd 1 goes into row 1 of a listing, and nothing is listed yet")
        check("get .", "you stand at the root: that would be the whole archive")
        shell.line("ls")
        check("cd 99", "there is no row 99")
        shell.line("cd 1")
        check("cd 2", "cd 2: the last results are patients, not a listing of /DOE^JANE")
        shell.line("ls")
        shell.line("cd 1")
        shell.line("ls")
        shell.line("cd 1")
        shown = shell.line("ls")
        assert "at IMAGE level" in shown and "get N retrieves a row" in shown and "cd N" not in shown
        check("cd 1", "an instance is the deepest level: there is nothing to go into")
        check("cd x", "cd: 'x' is not a row number")
        assert shell.alive
        assert not list(tmp_path.iterdir())  # nothing was retrieved
        assert prompt_of(shell).startswith("getsh DOE^JANE/")
        assert "1 match at IMAGE level" in shell.line("ls InstanceNumber=1")  # keys narrow a listing
