"""``trace``: the protocol as it happens, on both receive paths, against real peers (issue 16, acceptance 1).

A get traced on getsh's direct receive path and on pynetdicom's own shows the same lines: the
A-ASSOCIATE exchange with its context table, the C-GET-RQ, the C-STORE-RQ/RSP pairs (a long run
folded), the final C-GET-RSP. Also here: trace in a recording (comments a replay skips), ``trace off``
silence, nothing bound while it is off, C-ECHO, C-FIND, release, re-association, a reject, a peer's
A-ABORT, and a hostile peer's strings shown literally.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.net.trace import tracer_of
from getsh.exitstatus import ExitStatus
from tests.faults.fake_peers import UID_ROOT, FakeQR, make_objects, sends
from tests.faults.hostile_names import raw_controls
from tests.shell_driver import Shell, ShellDriver

pytestmark = pytest.mark.interop

PATHS = ["direct", "pynetdicom"]
LINE = re.compile(r"(→|←|↻) |… \d")  # a trace line (the table's own "…  N more" row is not one)
TIMING = re.compile(r"  \+[0-9.]+ (ms|s)$")
CHEST = "CT CHEST W/O CONTRAST"  # 8 CT images and an SR: 9 C-STOREs, 6 of them folded


def receive(path: str) -> str:
    return "pynetdicom" if path == "pynetdicom" else "auto"


def traced(shown: str) -> list[str]:
    """The trace lines shown, without their timing (which differs run to run)."""
    return [TIMING.sub("", line) for line in shown.splitlines() if LINE.match(line)]


def chest(archive: list[ArchiveEntry]) -> tuple[str, set[str]]:
    study = next(e.study_uid for e in archive if e.patient_id == "DEMO001" and e.modality == "SR")
    return study, {e.sop_instance_uid for e in archive if e.study_uid == study}


def traced_get(peer: object, path: str, out: Path, study: str, mode: str = "on") -> tuple[ExitStatus, str]:
    shell = Shell()
    try:
        port, aet = peer.port, peer.ae_title  # type: ignore[attr-defined]
        return shell.run(f"set receive {receive(path)}; trace {mode}; model study; connect 127.0.0.1 {port} "
                         f"--aec {aet}; output {out}; get QueryRetrieveLevel=STUDY StudyInstanceUID={study}")
    finally:
        shell.close()


@pytest.mark.parametrize("peer_name", ["demo_server", "dcmqrscp"])
def test_a_traced_get_shows_the_protocol_the_same_on_both_receive_paths(
        request: pytest.FixtureRequest, archive: list[ArchiveEntry], tmp_path: Path, peer_name: str) -> None:
    peer = request.getfixturevalue(peer_name)
    study, uids = chest(archive)
    lines = {}
    for path in PATHS:
        out = tmp_path / path
        out.mkdir()
        status, shown = traced_get(peer, path, out, study)
        assert status is ExitStatus.SUCCESS, shown
        assert len([p for p in out.iterdir() if p.is_file()]) == 9, shown
        lines[path] = traced(shown)
        shown_lines = shown.splitlines()

        # the A-ASSOCIATE exchange: our request, the peer's answer with its implementation, the table
        assert any(line.startswith(f"→ A-ASSOCIATE-RQ GETSCU → {peer.ae_title}: ") and "max PDU 16384" in line
                   for line in lines[path]), shown
        answer = next(line for line in lines[path] if line.startswith("← A-ASSOCIATE-AC"))
        assert re.match(rf"← A-ASSOCIATE-AC {peer.ae_title} accepts \d+ of \d+ contexts; max PDU: peer \d+, "
                        r"ours 16384; peer implementation [0-9.]+ \S+", answer), answer
        if peer_name == "dcmqrscp":
            assert "OFFIS_DCMTK_" in answer, answer
        get_row = next(line for line in shown_lines if "Study Root Query/Retrieve Information Model - GET" in line)
        assert "accepted: " in get_row, get_row
        storage = [line for line in shown_lines if "SCP asked, SCP accepted" in line]
        assert 1 <= len(storage) <= 3 and all("accepted: Explicit VR LE" in line for line in storage), shown
        assert re.search(r"^…\s+\d+ more storage classes accepted like these", shown, flags=re.M), shown

        # the exchange itself
        requests = [line for line in lines[path] if line.startswith("→ C-GET-RQ")]
        assert len(requests) == 1 and re.fullmatch(
            rf"→ C-GET-RQ #\d+ study root, STUDY StudyInstanceUID={study} \(ctx \d+\)", requests[0]), requests
        stores = [line for line in lines[path] if line.startswith("← C-STORE-RQ")]
        assert len(stores) == 3, shown  # then folded
        numbers = []
        for line in stores:  # the peer numbers its sub-operations as it likes
            match = re.fullmatch(r"← C-STORE-RQ #(\d+) (CT Image Storage|Basic Text SR Storage) (\S+) "
                                 r"\(ctx \d+, Explicit VR LE, [0-9.]+ (KB|MB)\)", line)
            assert match and match[3] in uids, line
            numbers.append(match[1])
        answers = [line for line in lines[path] if line.startswith("→ C-STORE-RSP")]
        assert answers == [f"→ C-STORE-RSP #{n} Success" for n in numbers], shown
        folded = [line for line in lines[path] if line.startswith("… ")]
        assert len(folded) == 1 and folded[0].startswith("… 6 more C-STORE like these ("), lines[path]
        final = [line for line in lines[path] if line.startswith("← C-GET-RSP") and "Pending" not in line]
        assert len(final) == 1 and " Success " in final[0] and "completed 9 failed 0" in final[0], final
        assert lines[path].index(folded[0]) + 1 == lines[path].index(final[0]), lines[path]
    assert lines["direct"] == lines["pynetdicom"]


@pytest.mark.parametrize("path", PATHS)
def test_trace_all_shows_every_message_and_folds_nothing(
        demo_server: object, archive: list[ArchiveEntry], tmp_path: Path, path: str) -> None:
    study, uids = chest(archive)
    status, shown = traced_get(demo_server, path, tmp_path, study, mode="all")
    assert status is ExitStatus.SUCCESS, shown
    lines = traced(shown)
    stored = {re.search(r"Storage (\S+) \(ctx", line)[1] for line in lines  # type: ignore[index]
              if line.startswith("← C-STORE-RQ")}
    assert stored == uids, shown
    answers = [line for line in lines if line.startswith("→ C-STORE-RSP")]
    assert len(answers) == 9 and all(line.endswith(" Success") for line in answers), shown
    assert not any(line.startswith("… ") for line in lines), shown
    ct_row = next(line for line in shown.splitlines() if " CT Image Storage " in line and "accepted:" in line)
    assert "accepted: Explicit VR LE" in ct_row and "SCP asked, SCP accepted" in ct_row, ct_row
    assert "more storage classes accepted" not in shown, shown


@pytest.mark.parametrize("path", PATHS)
def test_trace_off_is_silent_and_binds_nothing(
        shell: Shell, demo_server: object, archive: list[ArchiveEntry], tmp_path: Path, path: str) -> None:
    study, _ = chest(archive)
    get = f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}"
    status, shown = shell.run(f"set receive {receive(path)}; trace on; model study; connect 127.0.0.1 "
                              f"{demo_server.port} --aec GETSH-DEMO; output {tmp_path}; trace")  # type: ignore[attr-defined]
    assert status is ExitStatus.SUCCESS and "trace = on" in shown and traced(shown), shown
    status, shown = shell.run("trace off")
    assert status is ExitStatus.SUCCESS and "trace = off" in shown, shown
    assoc = shell.ctx.session.link.assoc
    tracer = shell.ctx.session.link.tracer
    assert assoc is not None and tracer_of(assoc) is None  # off: the direct path gets no tracer

    def bound() -> list[object]:
        return [h for event, _ in tracer.handlers() for h, *_ in assoc.get_handlers(event)]  # type: ignore[misc]

    assert all(handler in bound() for _, handler in tracer.handlers())  # opened while on: still bound
    status, shown = shell.run(f"{get}; echo")
    assert status is ExitStatus.SUCCESS, shown
    assert traced(shown) == [] and "→" not in shown and "←" not in shown, shown
    assert len([p for p in tmp_path.iterdir() if p.is_file()]) == 9, shown
    assert shell.ctx.session.link.assoc is assoc  # the same association, its hooks unbound by the get
    assert all(handler not in bound() for _, handler in tracer.handlers()), bound()
    status, shown = shell.run("disconnect; echo; disconnect")
    assert status is ExitStatus.SUCCESS and traced(shown) == [], shown


def test_echo_find_release_reassociation_and_a_reject_are_traced(
        shell: Shell, dcmqrscp: object, tmp_path: Path) -> None:
    port = dcmqrscp.port  # type: ignore[attr-defined]
    status, shown = shell.run(f"trace on; connect 127.0.0.1 {port} --aec TESTQR; echo")
    assert status is ExitStatus.SUCCESS, shown
    lines = traced(shown)
    echo = [line for line in lines if line.startswith(("→ C-ECHO", "← C-ECHO"))]
    assert len(echo) == 2 and re.fullmatch(r"→ C-ECHO-RQ #(\d+) \(ctx \d+\)", echo[0]), lines
    assert echo[1] == f"← C-ECHO-RSP #{echo[0].split('#')[1].split()[0]} Success", lines
    status, shown = shell.run("echo")  # each request its own Message ID from the session's counter
    again = [line for line in traced(shown) if line.startswith("→ C-ECHO-RQ")]
    assert again and int(again[0].split("#")[1].split()[0]) > int(echo[0].split("#")[1].split()[0]), shown

    status, shown = shell.run("model study; find QueryRetrieveLevel=STUDY PatientID=DEMO001 StudyInstanceUID")
    assert status is ExitStatus.SUCCESS, shown
    lines = traced(shown)
    assert lines[0] == "↻ re-associating: settings changed (model study)", lines
    assert lines[1:3] == ["→ A-RELEASE-RQ", "← A-RELEASE-RP"], lines  # the stale association, released
    assert lines[3].startswith("→ A-ASSOCIATE-RQ GETSCU → TESTQR: "), lines
    assert any(line.startswith("→ C-FIND-RQ #") and " study root, STUDY " in line and " PatientID=DEMO001 " in line
               for line in lines), lines
    assert len([line for line in lines if line.startswith("← C-FIND-RSP") and " Pending " in line]) == 2, lines
    assert re.fullmatch(r"← C-FIND-RSP #\d+ Success", lines[-1]), lines

    status, shown = shell.run("disconnect")
    assert traced(shown) == ["→ A-RELEASE-RQ", "← A-RELEASE-RP"], shown

    status, shown = shell.run(f"connect 127.0.0.1 {port} --aec NOSUCHAE")
    assert status is not ExitStatus.SUCCESS, shown
    assert "← A-ASSOCIATE-RJ rejected permanently by the service user: called AE title not recognised" \
        in traced(shown), shown


@pytest.mark.filterwarnings("ignore:Found unknown escape sequence")  # pydicom, on the peer's Error Comment
@pytest.mark.parametrize("path", PATHS)
def test_a_peers_abort_and_hostile_strings_are_traced_literally(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, path: str) -> None:
    comment = "\x1b[2J[bold red]x[/]\x07"

    def script(event: object, peer: FakeQR):  # type: ignore[no-untyped-def]
        yield 1
        from pydicom import Dataset

        status = Dataset()
        status.Status = 0xA702
        status.ErrorComment = comment
        yield status, None

    hostile = FakeQR(script, ae_title="[bold red]Q[/]")
    aborting = FakeQR(sends(make_objects(4), abort_after=2))
    for peer in (hostile, aborting):
        fake.append(peer)
        peer.start()
    get = "get QueryRetrieveLevel=PATIENT PatientID=FAKE001"
    script = tmp_path / "hostile.getsh"
    status, shown = shell.run(f"set receive {receive(path)}; trace on; output {tmp_path}; record {script}; "
                              f"connect 127.0.0.1 {hostile.port} --aec '[bold red]Q[/]'; {get}; record stop")
    assert raw_controls(shown) == [], repr(shown)
    lines = traced(shown)
    assert any(line.startswith("← A-ASSOCIATE-AC [bold red]Q[/] accepts ") for line in lines), shown
    final = next(line for line in lines if line.startswith("← C-GET-RSP"))
    assert final.endswith(", comment: \\x1b[2J[bold red]x[/]\\x07"), final
    assert "Failure 0xA702" in final, final
    text = script.read_text()  # the same line as a comment: the peer's bytes cannot end it or reach a terminal
    assert raw_controls(text) == [] and f"# {final}  (+" in text, text
    status, shown = shell.run(f"source {script} --dry-run")
    assert status is ExitStatus.SUCCESS, shown

    status, shown = shell.run(f"connect 127.0.0.1 {aborting.port} --aec {aborting.ae_title}; {get}")
    assert status is not ExitStatus.SUCCESS, shown
    lines = traced(shown)
    assert "← A-ABORT aborted by the peer (service user)" in lines, shown
    stores = [line for line in lines if line.startswith("← C-STORE-RQ")]
    assert len(stores) == 2, shown
    for number, line in enumerate(stores, 1):
        assert re.fullmatch(rf"← C-STORE-RQ #\d+ CT Image Storage {re.escape(UID_ROOT)}\.1\.{number} "
                            r"\(ctx \d+, Explicit VR LE, 4\.\d KB\)", line), line


def test_trace_lines_are_recorded_as_comments_and_a_replay_skips_them(
        shell: Shell, demo_server: object, archive: list[ArchiveEntry], tmp_path: Path) -> None:
    study, _ = chest(archive)
    script = tmp_path / "traced.getsh"
    out = tmp_path / "out"
    out.mkdir()
    status, shown = shell.run(f"record {script}; model study; connect 127.0.0.1 {demo_server.port} "  # type: ignore[attr-defined]
                              f"--aec GETSH-DEMO; output {out}; trace on; "
                              f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}; record stop")
    assert status is ExitStatus.SUCCESS, shown
    text = script.read_text()
    after_get = text.split(f"StudyInstanceUID={study}\n", 1)[1].splitlines()
    comments = [line for line in after_get if line.startswith("# ")]
    assert comments[0].startswith("# → C-GET-RQ #") and " study root, STUDY " in comments[0], text
    assert any(re.match(r"# ← C-STORE-RQ #\d+ CT Image Storage ", line) for line in comments), text
    assert any(line.startswith("# … 6 more C-STORE like these") for line in comments), text
    assert any(line.startswith("# ← C-GET-RSP #") and " Success " in line for line in comments), text
    assert "trace on" in text  # typed while recording: the replay traces too

    replayed = tmp_path / "replayed"
    replayed.mkdir()
    status, shown = shell.run(f"trace off; output {replayed}; source {script} GETSH_OUTPUT={replayed}")
    assert status is ExitStatus.SUCCESS, shown
    assert len([p for p in replayed.iterdir() if p.is_file()]) == 9, shown
    assert any(line.startswith("→ C-GET-RQ #") for line in traced(shown)), shown


@pytest.mark.parametrize("path", PATHS)
def test_trace_at_the_interactive_prompt(demo_server: object, archive: list[ArchiveEntry], tmp_path: Path,
                                         path: str) -> None:
    """The same, typed at the real prompt (prompt_toolkit on a pipe): trace on, a get, trace off."""
    study, uids = chest(archive)
    with ShellDriver() as shell:
        shell.line(f"set receive {receive(path)}")
        shell.line(f"model study; connect 127.0.0.1 {demo_server.port} --aec GETSH-DEMO; output {tmp_path}")  # type: ignore[attr-defined]
        assert "trace = on" in shell.line("trace on")
        shown = shell.line(f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}", timeout=60)
        lines = traced(shown)
        assert lines[0].startswith("→ C-GET-RQ #") and lines[-1].startswith("← C-GET-RSP #"), shown
        stores = [re.search(r"Storage (\S+) \(ctx", line) for line in lines if line.startswith("← C-STORE-RQ #")]
        assert len(stores) == 3 and all(m and m[1] in uids for m in stores), shown
        assert "completed 9 failed 0" in lines[-1] and len(list(tmp_path.iterdir())) == 9, shown
        assert "trace = off" in shell.line("trace off")
        shown = shell.line("echo")
        assert "C-ECHO Success" in shown and traced(shown) == [], shown


@pytest.mark.parametrize("path", PATHS)
def test_a_cancel_and_our_own_abort_are_traced(
        shell: Shell, demo_server: object, archive: list[ArchiveEntry], tmp_path: Path, path: str) -> None:
    study, _ = chest(archive)
    status, shown = shell.run(f"set receive {receive(path)}; model study; connect 127.0.0.1 {demo_server.port} "  # type: ignore[attr-defined]
                              f"--aec GETSH-DEMO; output {tmp_path}; set max-objects 2; trace on; "
                              f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study}")
    assert status is ExitStatus.LIMIT and len(list(tmp_path.iterdir())) >= 2, shown
    lines = traced(shown)
    get = next(line for line in lines if line.startswith("→ C-GET-RQ #"))
    number = get.split()[2]
    cancels = [line for line in lines if line.startswith("→ C-CANCEL-RQ")]
    assert len(cancels) == 1 and re.fullmatch(rf"→ C-CANCEL-RQ for {number} \(ctx \d+\)", cancels[0]), lines
    final = lines[-1]
    assert final.startswith(f"← C-GET-RSP {number} Cancel 0xFE00"), lines
    assert lines.index(cancels[0]) < lines.index(final), lines
    status, shown = shell.run("set abort on; disconnect")
    assert status is ExitStatus.SUCCESS and traced(shown) == ["→ A-ABORT sent by getsh"], shown
