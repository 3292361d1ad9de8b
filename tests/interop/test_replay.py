"""Record and replay against real peers: a typed session replays as a script, expectations
check an archive, ``getsh run`` exit statuses and JUnit reports, and the docs' examples run."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.demo.server import DemoServer
from tests.peers import free_port
from tests.shell_driver import ShellDriver, run_getsh

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.getsh"))
WIDE = {"COLUMNS": "1000"}  # echoed lines hold long UIDs: keep each on one line
RLE = "1.2.840.10008.1.2.5"
RECORDED = re.compile(r"[$][{]GETSH_[A-Z]+:-([^}]*)[}]")  # a recording's variable, replaced by its default


def uids_in(folder: Path) -> set[str]:
    return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.rglob("*") if p.is_file()}


def rle_series(archive: list[ArchiveEntry]) -> list[ArchiveEntry]:
    first = next(e for e in archive if e.transfer_syntax_uid == RLE)
    return [e for e in archive if e.series_uid == first.series_uid]


def run(script: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return run_getsh(["run", str(script), *args], stdin=stdin, env=WIDE)


def test_a_typed_session_recorded_then_replayed_brings_the_same_objects(
    dcmqrscp, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    out, script = tmp_path / "out", tmp_path / "session.getsh"
    out.mkdir()
    study = next(e for e in archive if e.patient_id == "DEMO001" and e.modality == "MR").study_uid
    expected = {e.sop_instance_uid for e in archive if e.study_uid == study}
    with ShellDriver(key_delay=0.05) as shell:
        assert "recording to" in shell.line(f"record {script}")
        assert "associated" in shell.line(f"connect 127.0.0.1 {dcmqrscp.port} --aec {dcmqrscp.ae_title}")
        shell.line("model study")
        shell.line(f"output {out}")
        shell.line("level STUDY")
        shell.line(f"key StudyInstanceUID={study}")
        assert "C-GET Success" in shell.line("get", timeout=60)
        assert "ok: received 8" in shell.line(f"expect received {len(expected)}")
        shell.line("status")  # only looks: not recorded
        assert "recorded 7 commands" in shell.line("record stop")
    assert uids_in(out) == expected
    text = script.read_text()
    assert (f'connect ${{GETSH_HOST:-127.0.0.1}} ${{GETSH_PORT:-{dcmqrscp.port}}} --aec "${{GETSH_AEC:-'
            f'{dcmqrscp.ae_title}}}"') in text and "\nstatus\n" not in text

    shutil.rmtree(out)
    out.mkdir()
    result = run(script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert uids_in(out) == expected  # the same objects arrive again
    for number, line in enumerate(text.splitlines(), 1):
        if line and not line.startswith("#"):  # echoed with the recorded values for the variables
            echoed = RECORDED.sub(r"\1", line)
            assert f"{script}:{number}: {echoed}\n" in result.stdout
    assert f"{script}: " in result.stdout and "1 expectation held" in result.stdout


def warnings_in(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip().startswith("warning:")}


@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc"])
def test_a_recording_replays_without_warnings_its_live_session_did_not_show(
    request: pytest.FixtureRequest, peer: str, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """Issue 19: the header clears the identifier before it sets the keys in force; 'clear' said
    "warning: PATIENT level: its unique key PatientID is missing" on every replay. Here a patient-level
    get (the default model's own level) and a study-level one, typed, recorded, replayed."""
    server = request.getfixturevalue(peer)
    out, script = tmp_path / "out", tmp_path / "session.getsh"
    (out / "study").mkdir(parents=True)
    study = next(e for e in archive if e.patient_id == "DEMO001" and e.modality == "MR").study_uid
    live = ""
    with ShellDriver(key_delay=0.05) as shell:
        for line in (f"record {script}", f"connect 127.0.0.1 {server.port} --aec {server.ae_title}",
                     f"output {out}", "key PatientID=DEMO001", "get", "expect status success", "record stop",
                     f"record {script} --append", f"output {out / 'study'}", "model study", "unkey PatientID",
                     "level STUDY", f"key StudyInstanceUID={study}", "get", "record stop"):
            live += shell.line(line, timeout=60)
    assert "C-GET Success" in live and warnings_in(live) == set(), live
    text = script.read_text()
    assert text.count("\nreset-keys\n") == 2 and "# failed when recorded" not in text, text

    shutil.rmtree(out)
    (out / "study").mkdir(parents=True)
    result = run(script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert warnings_in(result.stdout + result.stderr) == set(), result.stdout + result.stderr
    assert uids_in(out / "study") == {e.sop_instance_uid for e in archive if e.study_uid == study}
    assert uids_in(out) == {e.sop_instance_uid for e in archive if e.patient_id == "DEMO001"}


@pytest.fixture
def rle_script(demo_server, archive: list[ArchiveEntry], tmp_path: Path) -> Iterator[tuple[Path, Path, int]]:  # type: ignore[no-untyped-def]
    """The head of a script retrieving the demo's RLE series: (script, output directory, objects)."""
    series = rle_series(archive)
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "check.getsh"
    script.write_text(
        f"connect 127.0.0.1 ${{PORT}}\nmodel study\noutput {out}\nprefer rle\nstorage bit-preserving\n"
        f"level SERIES\nkey StudyInstanceUID={series[0].study_uid} \\\n    SeriesInstanceUID={series[0].series_uid}\n"
        "get\n"
    )
    yield script, out, len(series)


def test_every_expect_form_holds(rle_script: tuple[Path, Path, int], demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    script, _out, count = rle_script
    with script.open("a") as fh:
        fh.write(f"expect status success\nexpect completed {count}\nexpect failed 0\nexpect warning 0\n"
                 f"expect received >= {count}\nexpect received != {count + 1}\nexpect files {count}\n"
                 f"expect tsyntax rle\nexpect tsyntax {RLE}\nexpect value PatientName \"SMITH^JOHN^A\"\n"
                 f"expect value --any Modality CT\nconnect 127.0.0.1 {free_port()}\nexpect error refused\n")
    report = tmp_path / "report.xml"
    result = run(script, "--var", f"PORT={demo_server.port}", "--junit", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok: ") == 12
    assert "connection refused" in result.stderr  # shown, and judged by the expect after it
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["21", "0", "0", "0"]


def test_every_expect_form_that_does_not_hold_says_what_it_found(
    rle_script: tuple[Path, Path, int], demo_server, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    script, out, count = rle_script
    wrong = [
        ("expect status warning", "expected status warning, found success (0x0000)"),
        (f"expect completed {count + 1}", f"expected completed {count + 1}, found {count}"),
        ("expect failed > 0", "expected failed > 0, found 0"),
        ("expect warning 2", "expected warning 2, found 0"),
        (f"expect received < {count}", f"expected received < {count}, found {count}"),
        ("expect files 1", f"expected files 1, found {count} in {out}"),
        ("expect tsyntax implicit", "expected tsyntax Implicit VR Little Endian, found also RLE Lossless"),
        ("expect value PatientName DOE^JANE", f"found 0 of {count} objects have it; others: 'SMITH^JOHN^A'"),
        ("expect value --any Modality MR", f"found 0 of {count} objects have it; others: 'CT'"),
        ("expect error", "expected an error, found 'get' succeeded"),
    ]
    with script.open("a") as fh:
        fh.write("".join(f"{line}\n" for line, _ in wrong))
    first = len(script.read_text().splitlines()) - len(wrong) + 1
    report = tmp_path / "report.xml"
    result = run(script, "--var", f"PORT={demo_server.port}", "--keep-going", "--junit", str(report))
    assert result.returncode == 9, result.stdout + result.stderr
    for offset, (_line, message) in enumerate(wrong):
        line = next(x for x in result.stderr.splitlines() if x.startswith(f"{script}:{first + offset}: "))
        assert "expectation failed: " in line and message in line, line
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("tests", "failures", "errors")] == [str(8 + len(wrong)), str(len(wrong)), "0"]
    assert "expectations: 0 held, 10 failed" in result.stderr


@pytest.mark.parametrize(("body", "status", "message"), [
    ("connect 127.0.0.1 {port}\necho\nexpect error\n", 9,
     ":3: expectation failed: expected an error, found 'echo' succeeded"),
    ("connect 127.0.0.1 {port}\nmodel study\nlevel PATIENT\nget PatientID=X\necho\n", 6,
     ":4: error: C-GET Failure (0xA900: Identifier does not match SOP class): 0 completed, 1 failed"),
    ("connect 127.0.0.1 {free}\necho\n", 7, ":1: error: connection refused"),
    ("connect 127.0.0.1 {port}\noutput /nonexistent/getsh\nget PatientID=X\necho\n", 2, ":3: error: "),
    ("connect 127.0.0.1 {port}\n\n\nfrobnicate\necho\n", 3, ":4:1: error: unknown command 'frobnicate'"),
    ("connect 127.0.0.1 {port}\nkey PatientNmae=X\n", 3,
     ":2:5: error: key 'PatientNmae': unknown keyword 'PatientNmae' — did you mean"),
    ("connect 127.0.0.1 {port}\naet ${{CALLING}}\n", 3, ":2:5: error: variable ${{CALLING}} is not set"),
])
def test_getsh_run_exit_statuses(demo_server, tmp_path: Path, body: str, status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "s.getsh"
    script.write_text(body.format(port=demo_server.port, free=free_port()))
    result = run(script)
    assert result.returncode == status, result.stdout + result.stderr
    assert f"{script}{message.format()}" in result.stderr
    if status == 3:
        assert "associated" not in result.stdout  # a bad line stops the script before anything runs


def test_keep_going_judges_each_line_for_itself(dcmqrscp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: a get that failed to associate (dcmqrscp rejects a called AE title it does not know)
    is the last get: the expect line after it judges it, not an earlier get nor "no get has run"; it
    fails as a command unless the expect lines after it hold; the summary and JUnit count both."""
    out = tmp_path / "out"
    out.mkdir()
    script, report = tmp_path / "s.getsh", tmp_path / "report.xml"
    script.write_text(f"connect 127.0.0.1 {dcmqrscp.port} --aec TESTQR\noutput {out}\nkey PatientID=DEMO001\n"
                      "set aec NOSUCH\nget\nexpect status success\n"  # 4-6: no get has run before
                      "get\nexpect error 'called AE title not recognised'\n"  # 7-8: the failure expected
                      "set aec TESTQR\nget\nexpect completed 17\n"  # 9-11
                      "set aec NOSUCH\nget\nexpect status success\n")  # 12-14: a get ran before
    result = run(script, "--keep-going", "--junit", str(report))
    assert result.returncode == 7, result.stdout + result.stderr  # the rejected association outranks the rest
    rejected = "re-associating failed: association rejected permanently by the service user: called AE title not " \
               f"recognised (NOSUCH @ 127.0.0.1:{dcmqrscp.port})"
    errors = [line.removeprefix(f"{script}:") for line in result.stderr.splitlines() if line.startswith(f"{script}:")]
    assert [e.split(": ")[0] for e in errors[:-1]] == ["5", "6", "7", "13", "14"], result.stderr  # 7: as it ran
    for number in (6, 14):
        line = next(e for e in errors if e.startswith(f"{number}: "))
        assert line.startswith(f"{number}: expectation failed: expected status success, found 'get' sent no C-GET: "
                               "settings changed (aec NOSUCH), and " + rejected), line
    assert "no get has run" not in result.stderr
    assert errors[-1].startswith(" 10 of 10 commands run, 2 failed; expectations: 2 held, 2 failed"), errors[-1]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "14", "failures": "2", "errors": "2", "skipped": "0"}
    results = {int(c.get("line") or 0): (c[0].tag if len(c) else "passed") for c in suite.findall("testcase")}
    assert [n for n, r in results.items() if r == "error"] == [5, 13]
    assert [n for n, r in results.items() if r == "failure"] == [6, 14]
    assert results[7] == results[8] == "passed"  # its failure was the one expected
    assert len(list(out.iterdir())) == 17


def test_getsh_run_of_an_unreadable_script(tmp_path: Path) -> None:
    result = run(tmp_path / "missing.getsh")
    assert result.returncode == 3
    assert f"{tmp_path / 'missing.getsh'}: error: cannot read the script: No such file or directory" in result.stderr
    result = run_getsh(["run"])
    assert result.returncode == 1 and "give one script" in result.stderr


def test_dry_run_touches_no_network(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: connecting would fail
    script = tmp_path / "dry.getsh"
    script.write_text(f"connect 127.0.0.1 {port}\nmodel study\nget StudyInstanceUID=1.2.3\nexpect completed 3\n")
    result = run(script, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    for number, line in enumerate(script.read_text().splitlines(), 1):
        assert f"{script}:{number}: {line}" in result.stdout
    assert "dry run: 3 commands and 1 expectations parse; nothing was run" in result.stdout
    assert run(script).returncode == 7  # and for real, it fails: nothing listens there


def test_step_asks_on_the_terminal(demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "s.getsh"
    script.write_text(f"connect 127.0.0.1 {demo_server.port}\necho\naet SKIPPED\necho\n")
    result = run(script, "--step", stdin="y\ny\nn\nq\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("run it?") == 4
    assert result.stdout.count("C-ECHO Success") == 1 and "aet = SKIPPED" not in result.stdout
    assert f"{script}:4: replay stopped: you quit" in result.stderr


@pytest.fixture(scope="module")
def strict_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo archive as 'getsh serve --demo --require-called-ae' runs it: it checks our called AE title."""
    server = DemoServer(port=0, require_called_ae=True, data_dir=tmp_path_factory.mktemp("strict-demo"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_documented_examples_run_against_the_demo_archive(
    request: pytest.FixtureRequest, example: Path, tmp_path: Path,
) -> None:
    text = example.read_text()
    assert text.startswith("# ") and "getsh run docs/examples/" + example.name in text  # says how to run it
    server = request.getfixturevalue("strict_demo" if "--require-called-ae" in text else "demo_server")
    result = run(example, "--var", f"GETSH_PORT={server.port}", "--var", f"GETSH_OUTPUT={tmp_path}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replay stopped" not in result.stderr and " 0 of " not in result.stdout


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"patient-vs-study-root.getsh", "compressed-series.getsh",
                                          "rejected-association.getsh"}
