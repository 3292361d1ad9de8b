"""Saying plainly what happened, against the real peers (issue 13): a get that matched nothing says so
on each peer (after Orthanc's generic 0xC000 only once a C-FIND agreed), with its exit status; a
wildcard or missing unique key is refused in a script, asked about at the prompt, warned about in
one-shot ``getsh get``; the level follows the model and the keys."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydicom import dcmread

from getsh.dicom.demo.data import ArchiveEntry
from getsh.exitstatus import ExitStatus
from tests.shell_driver import Shell, ShellDriver, run_getsh

pytestmark = pytest.mark.interop

PEERS = ("demo_server", "dcmqrscp", "orthanc")
NOTHING = "nothing matched these keys (0 sub-operations"
FIND_SHOWS = "— 'find' shows what the archive holds"
WIDE = {"COLUMNS": "1000"}  # long lines stay whole


def address(request: pytest.FixtureRequest, name: str) -> tuple[int, str]:
    peer = request.getfixturevalue(name)
    return peer.port, peer.ae_title


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def mr_study(archive: list[ArchiveEntry]) -> tuple[str, str, set[str]]:
    """DEMO001's MR study (uncompressed, every class in the default list): its UID, patient and objects."""
    pick = next(e for e in archive if e.patient_id == "DEMO001" and e.modality == "MR")
    return pick.study_uid, pick.patient_id, {e.sop_instance_uid for e in archive if e.study_uid == pick.study_uid}


# --- a get that matched nothing ---------------------------------------------------------------------

@pytest.mark.parametrize("peer", PEERS)
def test_a_get_that_matched_nothing_says_so_on_every_peer(
    request: pytest.FixtureRequest, shell: Shell, tmp_path: Path, peer: str,
) -> None:
    port, aet = address(request, peer)
    shell.run(f"connect 127.0.0.1 {port} --aec {aet}; output {tmp_path}")
    status, shown = shell.run("get PatientID=NOPE")
    assert NOTHING in shown and FIND_SHOWS in shown, shown
    if peer == "orthanc":  # a generic failure: only said once a C-FIND of the same keys agreed
        assert "C-GET Failure: Unable to Process (0xC000)" in shown
        assert "a C-FIND of the same keys matched nothing either" in shown
        assert status is ExitStatus.FAILURE  # the peer's status, as before
    else:
        assert "C-GET Success (0x0000)" in shown and "C-FIND" not in shown
        assert status is ExitStatus.SUCCESS  # as getscu: a success is a success
    assert "sub-operations: 0 completed, 0 failed, 0 warning" in shown
    assert files_in(tmp_path) == []
    for check in ("expect matched 0", "expect completed 0"):
        status, shown = shell.run(check)
        assert status is ExitStatus.SUCCESS and "ok:" in shown, shown
    status, shown = shell.run("expect matched > 0")
    assert status is ExitStatus.EXPECTATION and "found 0 (nothing matched)" in shown


@pytest.mark.parametrize("peer", PEERS)
def test_a_script_checks_an_empty_match_the_same_way_on_every_peer(
    request: pytest.FixtureRequest, tmp_path: Path, peer: str,
) -> None:
    """What a CI check replays: 'expect matched 0' holds whatever status the peer gives an empty match,
    and 'expect matched > 0' fails the script on every peer."""
    port, aet = address(request, peer)
    head = f"connect 127.0.0.1 {port} --aec {aet}\noutput {tmp_path}\nget PatientID=NOPE\n"
    gone, there = tmp_path / "gone.getsh", tmp_path / "there.getsh"
    gone.write_text(head + "expect matched 0\nexpect completed 0\n")
    there.write_text(head + "expect matched > 0\n")
    result = run_getsh(["run", str(gone)], env=WIDE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert NOTHING in result.stdout
    result = run_getsh(["run", str(there)], env=WIDE)
    # on Orthanc the C-GET itself failed (0xC000) too and counts; the failed expectation ranks above it
    assert result.returncode == 9, result.stdout + result.stderr
    assert "expectation failed: expected matched > 0, found 0 (nothing matched)" in result.stderr


def test_a_failure_that_c_find_contradicts_is_not_called_an_empty_match(orthanc, shell: Shell,  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path) -> None:
    """Orthanc refuses PatientID=* with the same 0xC000 as an unknown UID; the C-FIND of the same keys
    matches, so the summary says the failure is something else."""
    shell.run(f"connect 127.0.0.1 {orthanc.port} --aec {orthanc.ae_title}; output {tmp_path}")
    status, shown = shell.run("get --force PatientID=*")
    assert status is ExitStatus.FAILURE
    assert "why: a C-FIND of the same keys matches, so it is not that nothing matched" in shown
    assert NOTHING not in shown
    status, shown = shell.run("expect matched 0")
    assert status is ExitStatus.EXPECTATION and "not known: the get ended failure (0xC000" in shown


# --- wildcards and missing unique keys ---------------------------------------------------------------

def test_a_script_refuses_a_wildcard_unique_key_and_force_sends_it(dcmqrscp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """dcmqrscp sends its whole archive for PatientID=*: a script refuses the line, naming the fix."""
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "s.getsh"
    connect = f"connect 127.0.0.1 {dcmqrscp.port} --aec {dcmqrscp.ae_title}\noutput {out}\nset storage ignore\n"
    script.write_text(connect + "get PatientID=*\n")
    result = run_getsh(["run", str(script)], env=WIDE)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if "error:" in ln]
    assert lines == [f"{script}:4: error: not sent: a C-GET with PatientID=* may retrieve the whole archive (PS3.4 "
                     "allows no wildcard, empty or missing unique key in a retrieve) — get --force 'PatientID=*' to "
                     "mean it; 'find' shows what the archive holds"]
    assert "C-GET keys" not in result.stdout  # nothing was sent

    # sent: dcmqrscp answers with every object (some in classes the default list does not accept: 0xB000)
    script.write_text(connect + "get --force PatientID=*\nexpect status warning\nexpect completed > 20\n")
    result = run_getsh(["run", str(script)], env=WIDE)
    assert "C-GET keys: patient root, PATIENT level  PatientID=*" in result.stdout
    assert "2 expectations held" in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.parametrize("line", ["get", "get PatientID=", "get PatientID=DEMO00?"])
def test_dash_c_refuses_an_open_unique_key_in_one_line(demo_server, shell: Shell, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      line: str) -> None:
    shell.run(f"connect 127.0.0.1 {demo_server.port}; output {tmp_path}")
    status, shown = shell.run(line)
    assert status is ExitStatus.ERROR
    assert shown.count("\n") == 1 and shown.startswith("error: not sent: a C-GET with ") and "get --force" in shown
    last = shell.ctx.session.script.last_get  # the refused get is the last get, and it sent nothing
    assert files_in(tmp_path) == [] and last is not None and not last.sent_get


def test_the_shell_asks_before_a_get_that_may_pull_the_whole_archive(demo_server, archive: list[ArchiveEntry],  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    out, script = tmp_path / "out", tmp_path / "rec.getsh"
    out.mkdir()
    with ShellDriver(key_delay=0.1) as shell:
        shell.line(f"record {script}")
        shell.line(f"connect 127.0.0.1 {demo_server.port}")
        shell.line(f"output {out}")

        def answered(line: str, answer: str) -> str:
            out, err = len(shell.out.getvalue()), len(shell.err.getvalue())
            count = shell.lines_run
            shell.type(line, "\r")
            time.sleep(0.5)  # the question is up; the get waits for it
            assert shell.lines_run == count, "the get ran without asking"
            shell.type(answer, "\r")
            shell.wait_idle(count, timeout=60)
            return shell.out.getvalue()[out:] + shell.err.getvalue()[err:]

        shown = answered("get PatientID=*", "n")
        assert "warning: a C-GET with PatientID=* may retrieve the whole archive (PS3.4 allows no wildcard" in shown
        assert "error: C-GET not sent: you answered no — 'find' shows what the archive holds; get --force " \
               "'PatientID=*' sends it without asking" in shown
        assert files_in(out) == [] and shell.alive

        shown = answered("get PatientID=*", "")  # Enter: no
        assert "C-GET not sent" in shown and files_in(out) == []

        shown = answered("get PatientID=*", "y")
        assert "C-GET keys: patient root, PATIENT level  PatientID=*" in shown
        sent = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in files_in(out)}
        assert sent and sent <= {e.sop_instance_uid for e in archive}

        count = shell.lines_run
        shown = shell.line("get --force PatientID=DEMO001")  # nothing open: not asked; --force harmless
        assert shell.lines_run == count + 1 and "send it?" not in shown
        shell.line("record stop")
        assert shell.alive
    recorded = script.read_text()
    assert "\nget 'PatientID=*' --force\n" in recorded  # the yes is in the recording: a replay sends it


def test_one_shot_get_sends_a_wildcard_as_getscu_with_a_warning_on_stderr(dcmqrscp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_getsh(["get", "-aec", dcmqrscp.ae_title, "-od", str(tmp_path), "-k", "QueryRetrieveLevel=PATIENT",
                        "-k", "PatientID=*", "127.0.0.1", str(dcmqrscp.port)], env=WIDE)
    warning = ("warning: a C-GET with PatientID=* may retrieve the whole archive (PS3.4 allows no wildcard, empty or "
               "missing unique key in a retrieve); sent as getscu sends it")
    assert warning in result.stderr and warning not in result.stdout
    assert len(files_in(tmp_path)) > 20  # sent: dcmqrscp answered with its whole archive


# --- the level follows the model and the keys ---------------------------------------------------------

@pytest.mark.parametrize("peer", PEERS)
def test_model_study_moves_the_level_and_the_next_get_works(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
) -> None:
    port, aet = address(request, peer)
    study, _patient, expected = mr_study(archive)
    shell.run(f"connect 127.0.0.1 {port} --aec {aet}; output {tmp_path}")
    status, shown = shell.run("model study")
    assert status is ExitStatus.SUCCESS
    assert ("QueryRetrieveLevel is now STUDY: the study model has no PATIENT level (its levels: STUDY, SERIES, "
            "IMAGE; level NAME chooses another)") in shown
    status, shown = shell.run(f"get StudyInstanceUID={study}")
    assert status is ExitStatus.SUCCESS, shown
    assert f"sub-operations: {len(expected)} completed, 0 failed" in shown
    assert shell.ctx.session.identifier.QueryRetrieveLevel == "STUDY"


@pytest.mark.parametrize("peer", PEERS)
def test_a_deeper_unique_key_moves_the_level_of_that_get(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
) -> None:
    """help get's own example from the default state (patient root, PATIENT level)."""
    port, aet = address(request, peer)
    study, patient, expected = mr_study(archive)
    shell.run(f"connect 127.0.0.1 {port} --aec {aet}; output {tmp_path}")
    status, shown = shell.run(f"get StudyInstanceUID={study}")
    assert ("get at STUDY level: StudyInstanceUID is a STUDY key (the level was PATIENT; to keep STUDY: "
            "level STUDY)") in shown
    assert "0xA900" not in shown
    if peer == "dcmqrscp":  # it matches a study only under its patient: said, with what to type
        assert status is ExitStatus.SUCCESS
        assert ("nothing matched these keys (0 sub-operations; no PatientID above the STUDY level, which some "
                "archives need: key PatientID=…, or model study)") in shown
        status, shown = shell.run(f"get StudyInstanceUID={study} PatientID={patient}")
    assert status is ExitStatus.SUCCESS, shown
    assert f"sub-operations: {len(expected)} completed, 0 failed" in shown
    assert shell.ctx.session.identifier.QueryRetrieveLevel == "PATIENT"  # for that get only

    status, shown = shell.run(f"find StudyInstanceUID={study}")
    assert "find at STUDY level: StudyInstanceUID is a STUDY key" in shown
    assert "1 match at STUDY level" in shown

    status, shown = shell.run(f"get QueryRetrieveLevel=PATIENT PatientID={patient} StudyInstanceUID={study}")
    assert "get at STUDY level" not in shown  # the line's own level stands
    assert "C-GET keys: patient root, PATIENT level" in shown
