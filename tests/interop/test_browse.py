"""ls, cd, pwd and get . against real peers through the runner (issue 13, browsing): every listing is
what the archive holds under the path, and get . retrieves exactly where you stand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from getsh.exitstatus import ExitStatus
from tests.interop.test_get import PLAIN, peer_address, uids_in
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

UNIQUE = {"PATIENT": "patient_id", "STUDY": "study_uid", "SERIES": "series_uid", "IMAGE": "sop_instance_uid"}
KEYWORD = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
           "IMAGE": "SOPInstanceUID"}
CHAIN = {"patient": ("PATIENT", "STUDY", "SERIES", "IMAGE"), "study": ("STUDY", "SERIES", "IMAGE"),
         "psonly": ("PATIENT", "STUDY")}


def ok(shell: Shell, line: str) -> str:
    status, shown = shell.run(line)
    assert status is ExitStatus.SUCCESS, shown
    return shown


def listed(shell: Shell, level: str) -> set[str]:
    document = json.loads(ok(shell, "results --json"))
    assert document["level"] == level
    return {row[KEYWORD[level]] for row in document["rows"]}


def under(archive: list[ArchiveEntry], path: dict[str, str]) -> list[ArchiveEntry]:
    """The archive's entries below a path of (level → unique value)."""
    return [e for e in archive if all(getattr(e, UNIQUE[lvl]) == v for lvl, v in path.items())]


def row_under(shell: Shell, patient_id: str) -> int:
    """The number of the first row of the last listing that belongs to ``patient_id``."""
    found = shell.ctx.session.found
    assert found is not None
    if found.level in ("PATIENT", "STUDY") and found.rows[0].value("PatientID"):
        return next(r.number for r in found.rows if r.value("PatientID") == patient_id)
    return 1


@pytest.mark.parametrize(("peer", "model"), [
    (peer, model) for peer in ("demo_server", "dcmqrscp", "orthanc") for model in ("patient", "study")
])
def test_walk_down_to_the_instances_get_here_and_back_up(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str, model: str,
) -> None:
    port, aet = peer_address(request, peer)
    ok(shell, f"connect 127.0.0.1 {port} --aec {aet}; model {model}; output {tmp_path}")
    path: dict[str, str] = {}
    for depth, level in enumerate(CHAIN[model]):
        shown = ok(shell, "ls")
        assert f"at {level} level" in shown
        holds = under(archive, path)
        assert listed(shell, level) == {getattr(e, UNIQUE[level]) for e in holds}  # what the archive holds there
        if depth == len(CHAIN[model]) - 1:
            status, shown = shell.run("cd 1")  # an instance: nothing below it
            assert status is not ExitStatus.SUCCESS and "an instance is the deepest level" in shown, shown
            break
        ok(shell, f"cd {row_under(shell, PLAIN)}")
        path[level] = dict(shell.ctx.session.browse.unique)[KEYWORD[level]]
        assert dict(shell.ctx.session.browse.unique) == {KEYWORD[lvl]: v for lvl, v in path.items()}

    # standing in a series: get . brings exactly its objects
    shown = ok(shell, "get .")
    assert "C-GET Success" in shown, shown
    assert uids_in(tmp_path) == {e.sop_instance_uid for e in under(archive, path)}
    assert shell.ctx.session.history[-1].endswith("--exact")

    shown = ok(shell, "cd ..; pwd")  # up from the series: the study, and the levels above it
    steps = [line.split()[:2] for line in shown.splitlines()[-len(CHAIN[model]) + 2:]]
    assert steps == [[level, f"{KEYWORD[level]}={path[level]}"] for level in CHAIN[model][:-2]]
    top = CHAIN[model][0]
    # back where the series were listed, the rows are that listing again: get 1 is a series of this study
    assert shell.ctx.session.found is not None and shell.ctx.session.found.level == "SERIES"
    ok(shell, "cd /")
    assert shell.ctx.session.browse.at_root and shell.ctx.session.found.level == top


@pytest.mark.parametrize("peer", ["demo_server", "dcmqrscp"])  # Orthanc does not offer patient/study only
def test_patient_study_only_stops_at_studies(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path, peer: str,
) -> None:
    port, aet = peer_address(request, peer)
    ok(shell, f"connect 127.0.0.1 {port} --aec {aet}; model psonly; output {tmp_path}; ls")
    ok(shell, f"cd {row_under(shell, PLAIN)}")  # uncompressed, as every peer sends it by default
    patient = dict(shell.ctx.session.browse.unique)["PatientID"]
    ok(shell, "ls")
    assert listed(shell, "STUDY") == {e.study_uid for e in archive if e.patient_id == patient}
    status, shown = shell.run("cd 1")
    assert status is not ExitStatus.SUCCESS
    assert "under the patient/study only model, browsing stops at studies: there is nothing below a study" in shown
    shown = ok(shell, "get .")  # the patient, at the PATIENT level of the model
    assert uids_in(tmp_path) == {e.sop_instance_uid for e in archive if e.patient_id == patient}


def test_siblings_limit_narrowing_and_a_model_change(shell: Shell, demo_server: object) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    ok(shell, f"connect 127.0.0.1 {port}; ls; cd 1; ls; cd 1")
    first = shell.ctx.session.browse.labels
    shown = ok(shell, "cd ../2")  # the second study of the same patient, from the listing kept there
    assert shell.ctx.session.browse.labels[0] == first[0] and shell.ctx.session.browse.labels[1] != first[1]
    assert "(a study; pwd shows its keys)" in shown

    shown = ok(shell, "cd /; set ls-limit 2; ls")
    assert "cancelled after 2 matches (ls-limit 2)" in shown
    assert "the first 2 patients are listed (ls-limit): ls --all lists every one, or narrow the listing: " \
           "ls PatientName=DOE*" in shown
    assert len(shell.ctx.session.found.rows) == 2  # type: ignore[union-attr]
    assert "4 matches at PATIENT level" in ok(shell, "ls --all")
    shown = ok(shell, "ls PatientName=SMITH*")
    assert listed(shell, "PATIENT") == {"DEMO002"} and "ls-limit" not in shown

    ok(shell, "cd 1")
    status, shown = shell.run("ls PatientID=DEMO001")
    assert status is not ExitStatus.SUCCESS and "PatientID is fixed by where you stand (PatientID=DEMO002)" in shown
    shown = ok(shell, "model study")
    assert "the model is now study: ls and cd are back at the root (you stood at /SMITH^JOHN^A under patient root)" \
        in shown
    assert shell.ctx.session.browse.at_root
    assert "at STUDY level" in ok(shell, "ls")  # the study root lists studies at its root
    ok(shell, "cd 1")
    shown = ok(shell, "aec ELSEWHERE; pwd")  # another archive: the path means nothing there
    assert f"the peer is now ELSEWHERE@127.0.0.1:{port}: ls and cd are back at the root (you stood at " in shown
    assert shown.splitlines()[-1] == "/  (study root)"


@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc"])
def test_ls_limit_cancels_on_real_peers_and_the_association_goes_on(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], peer: str,
) -> None:
    port, aet = peer_address(request, peer)
    shown = ok(shell, f"connect 127.0.0.1 {port} --aec {aet}; set ls-limit 2; ls")
    assert len(shell.ctx.session.found.rows) == 2  # type: ignore[union-attr]
    assert "the first 2 patients are listed (ls-limit): ls --all lists every one" in shown
    assoc = shell.ctx.session.link.assoc
    ok(shell, "ls --all")
    assert listed(shell, "PATIENT") == {e.patient_id for e in archive}
    assert shell.ctx.session.link.assoc is assoc  # the C-CANCEL left the association usable
    ok(shell, "cd 1; ls")
    assert listed(shell, "STUDY")
