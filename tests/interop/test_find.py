"""find and get N against real peers: the rows are what the archive holds, and row N retrieves exactly
that row's objects (issue 13, acceptance 1 and 4)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from getsh.exitstatus import ExitStatus
from tests.interop.test_get import LEVELS_OF, peer_address, uids_in
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

UNIQUE = {"PATIENT": "patient_id", "STUDY": "study_uid", "SERIES": "series_uid", "IMAGE": "sop_instance_uid"}
KEYWORD = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
           "IMAGE": "SOPInstanceUID"}
PEERS = ("demo_server", "dcmqrscp", "orthanc")


def parents(model: str, level: str, pick: ArchiveEntry) -> tuple[str, list[str]]:
    """The keys that narrow a find at ``level`` to ``pick``'s parent (hierarchical: every unique key
    above the level), and the attribute names of ArchiveEntry they match."""
    chain = ["PATIENT", "STUDY", "SERIES", "IMAGE"]
    if model == "study":
        chain = chain[1:]
    above = chain[: chain.index(level)]
    keys = " ".join(f"{KEYWORD[lvl]}={getattr(pick, UNIQUE[lvl])}" for lvl in above)
    return keys, [UNIQUE[lvl] for lvl in above]


def rows_of(shell: Shell) -> list[dict[str, object]]:
    status, shown = shell.run("results --json")
    assert status is ExitStatus.SUCCESS, shown
    return list(json.loads(shown)["rows"])


@pytest.mark.parametrize(("peer", "model", "level"), [
    (peer, model, level) for peer in PEERS for model, level in LEVELS_OF
    if not (peer == "orthanc" and model == "psonly")
])
def test_find_lists_what_the_archive_holds_and_get_n_retrieves_that_row(
    request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], tmp_path: Path,
    peer: str, model: str, level: str,
) -> None:
    port, aet = peer_address(request, peer)
    pick = next(e for e in archive if e.modality == "CT")
    narrowing, attrs = parents(model, level, pick)
    holds = [e for e in archive if all(getattr(e, a) == getattr(pick, a) for a in attrs)]
    expected = {getattr(e, UNIQUE[level]) for e in holds}
    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec {aet}; model {model}; output {tmp_path}; "
                              f"find QueryRetrieveLevel={level} {narrowing}")
    assert status is ExitStatus.SUCCESS, shown
    assert f"{len(expected)} match" in shown and f"at {level} level" in shown, shown
    rows = rows_of(shell)
    assert [r["#"] for r in rows] == list(range(1, len(expected) + 1))
    assert {r[KEYWORD[level]] for r in rows} == expected

    target = rows[-1]
    status, shown = shell.run(f"get {target['#']}")
    assert status is ExitStatus.SUCCESS, shown
    wanted = {e.sop_instance_uid for e in holds if getattr(e, UNIQUE[level]) == target[KEYWORD[level]]}
    assert uids_in(tmp_path) == wanted
    # the identifier was the row's level and unique keys only
    assert f"C-GET row {target['#']}" in shown
    recorded = shell.ctx.session.history[-1]
    assert recorded.startswith("get ") and f"QueryRetrieveLevel={level}" in recorded and "--exact" in recorded
    assert f"{KEYWORD[level]}={target[KEYWORD[level]]}" in recorded


def test_default_columns_are_formatted_for_people_and_raw_on_request(shell: Shell, demo_server: object) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    status, shown = shell.run(f"connect 127.0.0.1 {port}; find")
    assert status is ExitStatus.SUCCESS, shown
    header = next(line for line in shown.splitlines() if "patient ID" in line)
    for label in ("patient", "born", "sex", "studies"):
        assert label in header
    assert "DOE, JANE" in shown and "1970-03-12" in shown  # DOE^JANE, 19700312
    status, raw = shell.run("results --raw")
    assert "DOE^JANE" in raw and "19700312" in raw and "PatientBirthDate" in raw
    assert "4 matches at PATIENT level" in shown


def test_keys_on_the_line_narrow_this_find_only_and_the_users_keys_win(shell: Shell, demo_server: object) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    shell.run(f"connect 127.0.0.1 {port}; key PatientSex=M")
    status, shown = shell.run("find PatientName=SMITH*")
    assert status is ExitStatus.SUCCESS, shown
    rows = rows_of(shell)
    assert [r["PatientID"] for r in rows] == ["DEMO002"]
    status, shown = shell.run("find")  # the line's key was for that request only; PatientSex=M stays
    assert {r["PatientID"] for r in rows_of(shell)} == {"DEMO002", "DEMO004"}
    _, keys = shell.run("keys")
    assert "PatientName" not in keys


def test_limit_cancels_after_n_and_keeps_them(shell: Shell, demo_server: object, tmp_path: Path) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    status, shown = shell.run(f"connect 127.0.0.1 {port}; output {tmp_path}; level IMAGE; "
                              "find PatientID=DEMO001 --limit 3")
    assert status is ExitStatus.SUCCESS, shown
    assert "3 matches at IMAGE level" in shown and "cancelled after 3 matches (--limit 3)" in shown
    assert len(rows_of(shell)) == 3
    status, shown = shell.run("get 1")  # the association is still good after the C-CANCEL
    assert status is ExitStatus.SUCCESS, shown
    assert len(list(tmp_path.iterdir())) == 1  # row 1's object, where the output setting says


@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc"])
def test_limit_on_a_real_archive_leaves_the_association_in_step(
        request: pytest.FixtureRequest, shell: Shell, archive: list[ArchiveEntry], peer: str) -> None:
    """Whether the C-CANCEL reaches the peer before its last match or after its final response (a race
    on loopback), the association stays in step: Orthanc answers 0xFE00 *with* an identifier, which
    findscu 3.6.7 leaves unread; the next find on the same association must get every match, no
    left-over of the cancelled one."""
    port, aet = peer_address(request, peer)
    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec {aet}; level IMAGE")
    assert status is ExitStatus.SUCCESS, shown
    for limit in (1, 2, 5, 1, 3):
        status, shown = shell.run(f"find --limit {limit}")
        assert status is ExitStatus.SUCCESS, shown
        assert f"cancelled after {limit} match" in shown and len(rows_of(shell)) == limit, shown
        status, shown = shell.run("find")
        assert status is ExitStatus.SUCCESS, shown
        assert {r["SOPInstanceUID"] for r in rows_of(shell)} == {e.sop_instance_uid for e in archive}, shown
    assert "re-associat" not in shell.run("status")[1]


def test_several_rows_are_one_command_and_record_as_their_unique_keys(
    shell: Shell, demo_server: object, tmp_path: Path, archive: list[ArchiveEntry],
) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    status, shown = shell.run(f"connect 127.0.0.1 {port}; output {tmp_path}; level STUDY; find; set prefer rle")
    rows = rows_of(shell)
    status, shown = shell.run("get 1,3-4")
    assert status is ExitStatus.SUCCESS, shown
    studies = {rows[n - 1]["StudyInstanceUID"] for n in (1, 3, 4)}
    assert uids_in(tmp_path) == {e.sop_instance_uid for e in archive if e.study_uid in studies}
    line = shell.ctx.session.history[-1]
    assert line.count(" + ") == 2 and line.endswith("--exact")
    # replayed on its own (no results, other keys set), the recorded line retrieves the same objects
    again = tmp_path / "again"
    again.mkdir()
    fresh = Shell()
    try:
        status, shown = fresh.run(f"connect 127.0.0.1 {port}; output {again}; set prefer rle; key PatientSex=F; "
                                  f"{line}")
        assert status is ExitStatus.SUCCESS, shown
        assert uids_in(again) == uids_in(tmp_path)
    finally:
        fresh.close()


def test_results_export_json_and_csv(shell: Shell, demo_server: object, tmp_path: Path) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    shell.run(f"connect 127.0.0.1 {port}; level STUDY; find")
    document = json.loads(shell.run("results --json")[1])
    assert document["level"] == "STUDY" and document["status"]["category"] == "Success"
    target = tmp_path / "studies.csv"
    status, shown = shell.run(f"results --csv {target}")
    assert status is ExitStatus.SUCCESS and "6 rows written" in shown
    with target.open(newline="") as stream:
        table = list(csv.DictReader(stream))
    assert [r["StudyInstanceUID"] for r in table] == [r["StudyInstanceUID"] for r in document["rows"]]
    assert {r["PatientID"] for r in table} == {"DEMO001", "DEMO002", "DEMO003", "DEMO004"}


@pytest.mark.parametrize(("line", "message"), [
    ("get 2", "there are no results yet"),
    ("results", "no results yet in this session"),
    ("find PatientNam=X", "PatientNam"),
    ("find QueryRetrieveLevel=FRAME", "'FRAME' is not one of"),
    ("find --limit 0", "1 or more"),
])
def test_bad_input_before_any_result(shell: Shell, demo_server: object, line: str, message: str) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    shell.run(f"connect 127.0.0.1 {port}")
    status, shown = shell.run(line)
    assert status is not ExitStatus.SUCCESS
    assert message in shown and shown.count("error:") == 1, shown
    status, shown = shell.run("find")  # alive, state intact
    assert status is ExitStatus.SUCCESS and "4 matches" in shown


@pytest.mark.parametrize(("line", "message"), [
    ("get 99", "there is no row 99: the last find has 4 rows"),
    ("get 3-2", "runs backwards"),
    ("get 2 PatientID=X", "cannot be mixed"),
    ("get 1 +", "nothing on one side"),
])
def test_bad_row_numbers(shell: Shell, demo_server: object, line: str, message: str, tmp_path: Path) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    shell.run(f"connect 127.0.0.1 {port}; output {tmp_path}; find")
    status, shown = shell.run(line)
    assert status is ExitStatus.USAGE or status is ExitStatus.ERROR
    assert message in shown and shown.count("error:") == 1, shown
    assert not list(tmp_path.iterdir())  # nothing was retrieved
    assert len(rows_of(shell)) == 4


def test_rows_of_another_model_are_refused(shell: Shell, demo_server: object) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    shell.run(f"connect 127.0.0.1 {port}; model study; level STUDY; find")
    status, shown = shell.run("model patient; get 1")
    assert status is not ExitStatus.SUCCESS
    assert "the last find ran under the study model" in shown and "set model study" in shown


def test_a_query_file_named_like_a_row_is_still_reachable(
    shell: Shell, demo_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    shell.run(f"connect 127.0.0.1 {port}; output {out}; key PatientID=DEMO004; save 1")
    status, shown = shell.run("get 1")  # no results yet: the file
    assert status is ExitStatus.SUCCESS and "C-GET 1:" in shown, shown
    shell.run("find PatientID=DEMO003")
    status, shown = shell.run("get 1")
    assert "taken as row numbers of the last find; a query file of that name exists too: get ./1" in shown
    assert "C-GET row 1" in shown


def test_a_key_of_a_level_above_is_warned_about_where_peers_ignore_it(shell: Shell, dcmqrscp: object) -> None:
    port, aet = dcmqrscp.port, dcmqrscp.ae_title  # type: ignore[attr-defined]
    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec {aet}; level SERIES; find PatientName=DOE*")
    assert status is ExitStatus.SUCCESS
    assert ("warning: PatientName is a PATIENT-level key: in a SERIES-level find some peers ignore it (DCMTK's "
            "dcmqrscp does) — narrow by PatientID, or find at PATIENT level first") in shown
    assert "10 matches" in shown  # dcmqrscp ignored it: every series of every patient
    status, shown = shell.run("find PatientID=DEMO001")
    assert "warning" not in shown and "4 matches" in shown


def test_the_demo_archive_does_not_match_on_the_character_set(shell: Shell, demo_server: object,
                                                              tmp_path: Path) -> None:
    """SpecificCharacterSet steers a request; it is not a matching key (PS3.4 C.4.1.1.3.1)."""
    port = demo_server.port  # type: ignore[attr-defined]
    status, shown = shell.run(f"connect 127.0.0.1 {port}; output {tmp_path}; set charset ISO_IR 100; "
                              "find PatientName=D* --limit 1")
    assert status is ExitStatus.SUCCESS and "1 match at PATIENT level" in shown, shown
    assert "in ISO_IR 100" in shown and "after 1 match (--limit 1)" in shown
    status, shown = shell.run("get 1")
    assert status is ExitStatus.SUCCESS and "getsh received 17" in shown, shown
