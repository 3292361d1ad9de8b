"""Scripts without a peer: reading, recording, expectations, replay, exit statuses, JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

from getsh import settings as settings_module
from getsh.cli import parse_args
from getsh.dicom.events import GetDone, GetStarted, Received
from getsh.dicom.status import decode
from getsh.errors import UsageError
from getsh.exitstatus import ExitStatus
from getsh.results import Outcome
from getsh.script.expectations import parse
from getsh.script.reading import ScriptError, parse_text, read_script, variable
from getsh.setting import Setting
from tests.peers import free_port
from tests.shell_driver import Shell


@pytest.fixture
def shell() -> Iterator[Shell]:
    s = Shell()
    yield s
    s.close()


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- reading -------------------------------------------------------------------------------------


def test_comments_blanks_continuation_and_line_numbers() -> None:
    text = ("# header\n\n  connect 127.0.0.1 104   \n"
            "key QueryRetrieveLevel=STUDY \\\n    ModalitiesInStudy=CT\\MR\n"
            "   # indented comment\n"
            "get\n")
    statements, problems = parse_text(text, "s.getsh", {})
    assert problems == []
    assert [(s.where, s.text) for s in statements] == [
        ("s.getsh:3", "connect 127.0.0.1 104"),
        ("s.getsh:4", "key QueryRetrieveLevel=STUDY ModalitiesInStudy=CT\\MR"),  # an inner backslash is DICOM's
        ("s.getsh:7", "get"),
    ]


def test_variables_from_the_given_values_defaults_and_literals() -> None:
    text = "connect ${HOST} ${PORT:-11112}\naec ${AEC:-ANY}\nkey PatientID=$${NOT_A_VAR}\n"
    statements, problems = parse_text(text, "s", {"HOST": "pacs", "AEC": ""})
    assert problems == []
    assert [s.text for s in statements] == ["connect pacs 11112", "aec ANY", "key PatientID=${NOT_A_VAR}"]


@pytest.mark.parametrize(("text", "where", "message"), [
    ("echo\nconnect ${HOST} 104\n", "s:2:9", "variable ${HOST} is not set"),
    ("get \\\n  PatientID=${WHO}\n", "s:2:13", "variable ${WHO} is not set"),  # the continuation line itself
    ("echo ${HOST\n", "s:1:6", "has no closing '}'"),
    ("echo ${1X}\n", "s:1:6", "'1X' is not a variable name"),
    ("echo\nget \\\n", "s:2", "ends with '\\' but no line follows"),
])
def test_reading_problems_name_their_line(text: str, where: str, message: str) -> None:
    _statements, problems = parse_text(text, "s", {})
    assert len(problems) == 1
    assert problems[0].where == where and message in problems[0].message


def test_the_first_bad_line_stops_the_reading() -> None:
    """A file that is not a script (a log, /etc/passwd) gets one line saying where, not one per line."""
    statements, problems = parse_text("echo\necho ${A}\necho ${B}\n", "s", {})
    assert [p.where for p in problems] == ["s:2:6"]
    assert [s.text for s in statements] == ["echo"]


def test_unreadable_scripts(tmp_path: Path) -> None:
    with pytest.raises(ScriptError) as missing:
        read_script(str(tmp_path / "nope.getsh"), {})
    assert missing.value.where == str(tmp_path / "nope.getsh")
    assert "No such file" in missing.value.message and missing.value.status is ExitStatus.SCRIPT
    with pytest.raises(ScriptError, match="directory"):
        read_script(str(tmp_path), {})
    binary = tmp_path / "bin.getsh"
    binary.write_bytes(b"echo\necho\n\xff\xfe\n")
    with pytest.raises(ScriptError) as bad:
        read_script(str(binary), {})
    assert bad.value.where == f"{binary}:3:1" and "not UTF-8" in bad.value.message


def test_var_words() -> None:
    assert variable("PORT=11112") == ("PORT", "11112")
    assert variable("X=a=b") == ("X", "a=b")
    for bad in ("PORT", "1X=2", "=3"):
        with pytest.raises(ValueError):
            variable(bad)


# --- expectations --------------------------------------------------------------------------------


@pytest.mark.parametrize(("what", "words", "shown"), [
    ("status", ["Success"], "status success"),
    ("completed", ["12"], "completed 12"),
    ("received", [">=", "10"], "received >= 10"),
    ("received", [">=10"], "received >= 10"),
    ("failed", ["==", "0"], "failed 0"),
    ("files", ["!=", "3"], "files != 3"),
    ("tsyntax", ["rle"], "tsyntax RLE Lossless"),
    ("tsyntax", ["1.2.840.10008.1.2"], "tsyntax Implicit VR Little Endian"),
    ("tsyntax", ["Explicit VR Big Endian"], "tsyntax Explicit VR Big Endian"),
    ("value", ["PatientName", "DOE^JANE"], "PatientName = 'DOE^JANE' in every object"),
    ("error", ["rejected"], "an error containing 'rejected'"),
    ("error", [], "an error"),
])
def test_expect_forms_parse(what: str, words: list[str], shown: str) -> None:
    assert parse(what, words).describe() == shown


@pytest.mark.parametrize(("what", "words", "message"), [
    ("status", ["fine"], "'fine' is not one of success, warning, failure, cancel"),
    ("completed", ["lots"], "'lots' is not a whole number"),
    ("received", ["=>", "3"], "give a number, optionally after one of"),
    ("received", [], "nothing"),
    ("tsyntax", ["zip"], "not a transfer syntax"),
    ("value", ["PatientName"], "give a keyword and a value"),
    ("value", ["PatientNam", "X"], "unknown keyword 'PatientNam'"),
    ("error", ["a", "b"], "give the text as one word"),
])
def test_bad_expect_forms(what: str, words: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse(what, words)


def _received(index: int, tmp: Path | None, syntax: str = ExplicitVRLittleEndian, **values: str) -> Received:
    path = None
    if tmp is not None:
        ds = Dataset()
        for keyword, value in values.items():
            setattr(ds, keyword, value)
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = f"OBJ{index}.dcm"
        ds.save_as(tmp / path, enforce_file_format=True)
    return Received(index, "1.2.840.10008.5.1.4.1.1.2", generate_uid(), syntax, path, "written", 10,
                    output_dir=str(tmp or ""))


def _get(code: int, received: tuple[Received, ...], completed: int, failed: int = 0, warning: int = 0) -> Outcome:
    done = GetDone("keys", decode(code, "get"), completed, failed, warning, 0, received, (), (), "", 0.1, False)
    return Outcome("get", "get", done.exit_status, items=(GetStarted("keys", "study", "STUDY", ()), done))


@pytest.mark.parametrize(("line", "held", "found"), [
    ("status success", True, "success (0x0000)"),
    ("status failure", False, "success (0x0000)"),
    ("completed 2", True, "2"),
    ("completed > 2", False, "2"),
    ("failed 0", True, "0"),
    ("warning 1", False, "0"),
    ("received >= 2", True, "2"),
    ("received < 2", False, "2"),
    ("tsyntax little", True, "all 2 in it"),
    ("tsyntax rle", False, "also Explicit VR Little Endian (1.2.840.10008.1.2.1)"),
    ("value PatientName DOE^JANE", True, "2 of 2 objects have it"),
    ("value PatientID P1", False, "1 of 2 objects have it; others: 'P2'"),
    ("value --any PatientID P1", True, "1 of 2 objects have it; others: 'P2'"),
    ("value StudyDescription CT*", True, "2 of 2"),
    ("value Modality MR", False, "0 of 2 objects have it; others: absent"),
])
def test_expectations_on_the_last_get(shell: Shell, tmp_path: Path, line: str, held: bool, found: str) -> None:
    objects = (_received(1, tmp_path, PatientName="DOE^JANE", PatientID="P1", StudyDescription="CT CHEST"),
               _received(2, tmp_path, PatientName="DOE^JANE", PatientID="P2", StudyDescription="CT HEAD"))
    shell.ctx.session.script.last_get = _get(0x0000, objects, 2)
    status, shown = shell.run(f"expect {line}")
    assert status is (ExitStatus.SUCCESS if held else ExitStatus.EXPECTATION), shown
    assert found in shown
    if not held:
        assert "expectation failed: expected" in shown


def test_status_of_every_request_of_the_last_get_and_no_get_yet(shell: Shell) -> None:
    status, shown = shell.run("expect status success")
    assert status is ExitStatus.EXPECTATION and "found no get has run in this session" in shown
    shell.ctx.session.script.last_get = _get(0xA702, (), 0, failed=3)
    status, shown = shell.run("expect status failure; expect failed 3; expect tsyntax rle")
    assert "ok: status failure (found failure (0xA702: Refused: Out of resources" in shown
    assert "ok: failed 3" in shown
    assert "expected tsyntax RLE Lossless, found no objects were received" in shown
    assert status is ExitStatus.EXPECTATION


def test_tsyntax_holds_only_when_every_object_has_it(shell: Shell) -> None:
    shell.ctx.session.script.last_get = _get(0, (_received(1, None, RLELossless), _received(2, None)), 2)
    status, shown = shell.run("expect tsyntax rle")
    assert status is ExitStatus.EXPECTATION and "also Explicit VR Little Endian" in shown


def test_value_needs_stored_files(shell: Shell) -> None:
    shell.ctx.session.script.last_get = _get(0, (_received(1, None),), 1)
    status, shown = shell.run("expect value Modality CT")
    assert status is ExitStatus.EXPECTATION and "object 1 was not stored (storage ignore)" in shown


def test_files_counts_the_output_directory(shell: Shell, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "CT.1").write_bytes(b"x")
    (tmp_path / "MR.2").write_bytes(b"x")
    (tmp_path / ".getsh-1.partial").write_bytes(b"x")  # hidden: not counted
    status, shown = shell.run(f"output {tmp_path}; expect files 2; expect files > 2")
    assert "ok: files 2" in shown and "expected files > 2, found 2 in" in shown
    assert status is ExitStatus.EXPECTATION


def test_expect_error_looks_at_the_command_before(shell: Shell) -> None:
    shell.run("echo")
    status, shown = shell.run("expect error 'not connected'; expect error; keys; expect error CONNECTED")
    assert status is ExitStatus.SUCCESS, shown  # other expects and look-only commands are transparent
    status, shown = shell.run("set repeat 2; expect error")
    assert status is ExitStatus.EXPECTATION and "found 'set repeat 2' succeeded" in shown
    status, shown = shell.run("echo; expect error refused")
    assert "expected an error containing 'refused', found 'echo' failed: not connected to a peer" in shown


# --- recording -----------------------------------------------------------------------------------


def test_recording_header_commands_and_failures(shell: Shell, tmp_path: Path) -> None:
    script = tmp_path / "rec.getsh"
    shell.run("set max-pdu 32768; set verbose-pc on; model study; level STUDY; key StudyInstanceUID=1.2.3")
    status, shown = shell.run(f"record {script}")
    assert status is ExitStatus.SUCCESS and f"recording to {script}" in shown
    shell.run("set  PREFER  rle; echo; aet ME; help; keys; echo; expect error 'not connected'; "
              "expect status success; key ModalitiesInStudy=CT\\MR")
    status, shown = shell.run("record")
    assert "recording to" in shown and "5 commands so far" in shown
    shell.run("record stop")
    text = script.read_text()
    lines = text.splitlines()
    assert lines[0].startswith("# getsh 0.1.0 recording, started ")
    assert "set max-pdu 32768" in lines and "set model study" in lines and 'set output "${GETSH_OUTPUT:-.}"' in lines
    assert not any(line.startswith(("set log-level", "set verbose-pc")) for line in lines)  # the replayer's own
    assert "reset-keys" in lines and "key QueryRetrieveLevel=STUDY" in lines and "key StudyInstanceUID=1.2.3" in lines
    body = lines[lines.index("# the session") + 1:]
    assert body == [
        "set prefer rle",
        "# failed when recorded: not connected to a peer",
        "# echo",
        'aet "${GETSH_AET:-ME}"',
        "# the next command fails; the expect lines after it check how (not connected to a peer)",
        "echo",
        "expect error 'not connected'",
        "# did not hold when recorded: found no get has run in this session",
        "# expect status success",
        "key 'ModalitiesInStudy=CT\\MR'",
        body[-1],
    ]
    assert body[-1].startswith("# recording stopped ")


def test_record_refuses_to_clobber_and_appends(shell: Shell, tmp_path: Path) -> None:
    script = tmp_path / "rec.getsh"
    script.write_text("echo\n")
    status, shown = shell.run(f"record {script}")
    assert status is ExitStatus.ERROR and "--force overwrites it, --append adds to it" in shown
    shell.run(f"record {script} --append; aet A; record stop")
    assert script.read_text().startswith("echo\n\n# getsh")
    shell.run(f"record {script} --force; aet B; record stop")
    text = script.read_text()
    assert text.startswith("# getsh") and '\naet "${GETSH_AET:-B}"\n' in text
    assert '\naet "${GETSH_AET:-A}"\n' not in text
    status, shown = shell.run("record stop")
    assert status is ExitStatus.ERROR and "not recording" in shown
    status, shown = shell.run(f"record {tmp_path / 'missing' / 'x.getsh'}")
    assert status is ExitStatus.ERROR and "cannot write" in shown


def test_the_identifier_survives_a_recording(shell: Shell, tmp_path: Path) -> None:
    shell.run("model study; level SERIES; key StudyInstanceUID=1.2.3 ModalitiesInStudy=CT\\MR PatientName "
              "ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.4 '(0009,0010)=ACME' "
              "'(0009,1001,LO)=private value' 'StudyDescription=two words'")
    script = tmp_path / "rec.getsh"
    shell.run(f"record {script}; record stop")
    replayed = Shell()
    try:
        status, shown = replayed.run(f"source {script}")
        assert status is ExitStatus.SUCCESS, shown
        assert replayed.ctx.session.identifier == shell.ctx.session.identifier
        assert replayed.ctx.settings["model"] == "study"
    finally:
        replayed.close()


def test_secrets_are_masked_and_never_recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = Setting("tls-password", "a TLS key passphrase", "", secret=True)
    monkeypatch.setattr(settings_module, "SETTINGS", (*settings_module.SETTINGS, secret))
    monkeypatch.setattr(settings_module, "BY_NAME", {**settings_module.BY_NAME, secret.name: secret})
    monkeypatch.setattr("getsh.script.recording.SETTINGS", settings_module.SETTINGS)
    shell = Shell()
    try:
        script = tmp_path / "rec.getsh"
        shell.run("set tls-password hunter2")
        shell.run(f"record {script}; set tls-password swordfish; aet X; record stop")
        _status, shown = shell.run("history; settings")
        assert "set tls-password ********" in shown
        assert shell.ctx.settings["tls-password"] == "swordfish"
        text = script.read_text()
        assert "hunter2" not in text and "swordfish" not in text and "hunter2" not in shown
        assert "# set tls-password ********\n# (this sets a secret: it is never recorded" in text
        assert '\naet "${GETSH_AET:-X}"\n' in text
    finally:
        shell.close()


def test_history(shell: Shell) -> None:
    status, shown = shell.run("history")
    assert "no commands yet" in shown
    shell.run("aet A; help; aet B; settings; aet C")
    status, shown = shell.run("history 2")
    assert [line.split() for line in shown.splitlines()] == [["2", "aet", "B"], ["3", "aet", "C"]]
    status, shown = shell.run("history 0")
    assert status is ExitStatus.ERROR and "not a number of commands" in shown


# --- replay ---------------------------------------------------------------------------------------


def test_source_echoes_each_line_and_exit_statuses(shell: Shell, tmp_path: Path) -> None:
    ok = write(tmp_path / "ok.getsh", "aet ${WHO}\n# comment\nset repeat \\\n  2\nexpect error\n")
    status, shown = shell.run(f"source {ok} WHO=ME")
    assert status is ExitStatus.EXPECTATION  # the expect: 'set repeat 2' succeeded
    assert f"{ok}:1: aet ME" in shown and f"{ok}:3: set repeat 2" in shown
    assert f"{ok}:5: expectation failed: expected an error, found 'set repeat 2' succeeded" in shown
    assert f"{ok}: 2 of 2 commands run; expectations: 0 held, 1 failed" in shown
    failing = write(tmp_path / "fail.getsh", "aet A\necho\naet B\n")
    status, shown = shell.run(f"replay {failing}")
    assert status is ExitStatus.ERROR
    assert f"{failing}:2: error: not connected to a peer" in shown
    assert f"{failing}:2: replay stopped: a command failed" in shown and f"{failing}:3: aet B" not in shown
    status, shown = shell.run(f"source {failing} --keep-going")
    assert status is ExitStatus.ERROR and f"{failing}:3: aet B" in shown
    assert f"{failing}: 3 of 3 commands run, 1 failed" in shown


@pytest.mark.parametrize(("text", "where", "message"), [
    ("aet A\n\nfrobnicate now\n", ":3:1", "error: unknown command 'frobnicate'"),
    ("aet A\nkey PatientNam=X\n", ":2:5", "error: key 'PatientNam': unknown keyword 'PatientNam'"),
    ("aet A\nkey PatientID=${WHO}\n", ":2:15", "error: variable ${WHO} is not set"),
    ("expect completed lots\n", ":1:1", "error: expect completed: 'lots' is not a whole number"),
    ("set max-pdu 12\n", ":1:1", "error: max-pdu: 12 is out of range"),
    ("model stuyd\n", ":1:1", "error: model: 'stuyd' is not one of its values"),
])
def test_bad_lines_stop_the_script_before_anything_runs(shell: Shell, tmp_path: Path, text: str, where: str,
                                                        message: str) -> None:
    script = write(tmp_path / "bad.getsh", text)
    status, shown = shell.run(f"source {script}")
    assert status is ExitStatus.SCRIPT
    assert f"{script}{where}: {message}" in shown
    assert "aet = A" not in shown and shell.ctx.settings["aet"] == "GETSCU"  # nothing ran
    assert "not run:" in shown


def test_unreadable_script_is_a_script_error(shell: Shell, tmp_path: Path) -> None:
    status, shown = shell.run(f"source {tmp_path / 'none.getsh'}")
    assert status is ExitStatus.SCRIPT
    assert f"{tmp_path / 'none.getsh'}: error: cannot read the script: No such file or directory" in shown


def test_dry_run_parses_and_sends_nothing(shell: Shell, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    script = write(tmp_path / "dry.getsh", f"connect 127.0.0.1 {port}\necho\nget PatientID=X\nexpect received 3\n")
    status, shown = shell.run(f"source {script} --dry-run")
    assert status is ExitStatus.SUCCESS, shown
    assert f"{script}:1: connect 127.0.0.1 {port}" in shown and f"{script}:4: expect received 3" in shown
    assert "dry run: 3 commands and 1 expectations parse; nothing was run" in shown
    assert "refused" not in shown and shell.ctx.session.peer is None


def test_nested_scripts_pass_variables_and_are_checked(shell: Shell, tmp_path: Path) -> None:
    inner = write(tmp_path / "inner.getsh", "aet ${WHO}\n")
    outer = write(tmp_path / "outer.getsh", f"source {inner}\naec ${{WHO}}-SCP\n")
    status, shown = shell.run(f"source {outer} WHO=NESTED")
    assert status is ExitStatus.SUCCESS, shown
    assert shell.ctx.settings["aet"] == "NESTED" and shell.ctx.settings["aec"] == "NESTED-SCP"
    write(tmp_path / "inner.getsh", "frobnicate\n")
    status, shown = shell.run(f"source {outer} WHO=X --dry-run")
    assert status is ExitStatus.SCRIPT
    assert f"{inner}:1:1: error: unknown command 'frobnicate' (sourced at {outer}:1)" in shown


def test_replay_asks_each_command_its_declared_check_and_nesting(shell: Shell, tmp_path: Path) -> None:
    """Replay knows no command by name: what a dry run checks, and which script a line runs, come from
    the command's declaration."""
    from getsh.registry import Arg, Command, Invocation, Registry
    from getsh.script.replay import validate

    def refuse(invocation: Invocation) -> None:
        if invocation.args.word == "bad":
            raise UsageError("frob: a bad word", "say good")

    def runs(invocation: Invocation, variables: Mapping[str, str]) -> tuple[str, Mapping[str, str]]:
        return str(tmp_path / invocation.args.word), {**variables, "X": "good"}

    registry = Registry()
    registry.add(Command("frob", lambda ctx, args: None, "test", args=(Arg("word", "a word"),), check=refuse))
    registry.add(Command("run", lambda ctx, args: None, "test", args=(Arg("word", "a file"),), nested=runs))
    inner = write(tmp_path / "inner.getsh", "frob ${X}\nfrob bad\n")
    outer = write(tmp_path / "outer.getsh", "frob good\nfrob bad\nrun inner.getsh\n")
    lines, problems = validate(shell.ctx, registry, outer, {})
    assert [line.statement.where for line in lines] == [f"{outer}:1"]  # the first problem stops the reading
    assert [(p.where, p.message) for p in problems] == [(f"{outer}:2:1", "frob: a bad word")]
    write(tmp_path / "outer.getsh", "frob good\nrun inner.getsh\n")
    lines, problems = validate(shell.ctx, registry, outer, {})
    assert [(p.where, p.message) for p in problems] == [(f"{inner}:2:1", f"frob: a bad word (sourced at {outer}:2)")]


def test_step_asks_before_each_command(tmp_path: Path) -> None:
    shell = Shell()
    shell.ctx.env.stdin.write("y\nn\nwhat\n\nq\n")  # type: ignore[union-attr]
    shell.ctx.env.stdin.seek(0)  # type: ignore[union-attr]
    try:
        script = write(tmp_path / "s.getsh", "aet A\naet B\nexpect error\naet C\naet D\naet E\n")
        status, shown = shell.run(f"source {script} --step")
        assert shown.count("run it? [Y]es / [n]o, skip it / [q]uit the script:") == 5  # 'what' asks again
        assert shell.ctx.settings["aet"] == "C"  # B skipped with its expect, C by Enter, D quit
        assert f"{script}:5: replay stopped: you quit" in shown
        assert status is ExitStatus.SUCCESS
    finally:
        shell.close()


def test_junit_report_counts(shell: Shell, tmp_path: Path) -> None:
    script = write(tmp_path / "s.getsh", "aet A\necho\nexpect error refused\nexpect error\naet B\necho\naet C\n")
    report = tmp_path / "report.xml"
    status, _shown = shell.run(f"source {script} --keep-going --junit {report}")
    assert status is ExitStatus.ERROR  # the last echo failed with nothing to judge it; an expectation failed too
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == script
    # the first echo's failure was not the one expected ('refused' is not in its error): it is an error too
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "7", "failures": "1", "errors": "2", "skipped": "0"}
    cases = suite.findall("testcase")
    assert [c.get("line") for c in cases] == ["1", "2", "3", "4", "5", "6", "7"]
    assert cases[1].find("error").get("message") == "not connected to a peer"  # type: ignore[union-attr]
    assert cases[2].find("failure") is not None and "expected an error containing 'refused'" in \
        cases[2].find("failure").get("message")  # type: ignore[union-attr]
    assert cases[5].find("error").get("message") == "not connected to a peer"  # type: ignore[union-attr]
    status, _shown = shell.run(f"source {script} --junit {report}")
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and (suite.get("failures"), suite.get("skipped")) == ("1", "4")


def test_junit_report_of_a_bad_script(shell: Shell, tmp_path: Path) -> None:
    script = write(tmp_path / "s.getsh", "aet A\nfrob\naet B\n")
    report = tmp_path / "r.xml"
    status, _shown = shell.run(f"source {script} --junit {report}")
    assert status is ExitStatus.SCRIPT
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("errors"), suite.get("skipped")) == ("2", "1", "1")
    status, shown = shell.run(f"source {script} --junit {tmp_path / 'no' / 'r.xml'}")
    assert status is ExitStatus.ERROR and "its directory does not exist" in shown


def test_a_recording_replays_what_the_session_did(shell: Shell, tmp_path: Path) -> None:
    script = tmp_path / "rec.getsh"
    shell.run(f"record {script}; aet RECORDED; model psonly; set repeat 3; key PatientID=P1; record stop")
    replayed = Shell()
    try:
        status, shown = replayed.run(f"source {script}")
        assert status is ExitStatus.SUCCESS, shown
        for name in ("aet", "model", "repeat"):
            assert replayed.ctx.settings[name] == shell.ctx.settings[name]
        assert replayed.ctx.session.identifier == shell.ctx.session.identifier
        assert replayed.ctx.session.history[-4:] == shell.ctx.session.history[-4:]
    finally:
        replayed.close()


# --- the command line ----------------------------------------------------------------------------


def test_getsh_run_command_line() -> None:
    opts = parse_args(["run", "s.getsh", "--var", "A=1", "--var=B=2", "--keep-going", "--dry-run", "--step",
                       "--junit", "r.xml", "-aec", "PACS", "+xr"])
    assert opts.mode == "run"
    assert opts.run_words == ["source", "s.getsh", "A=1", "B=2", "--keep-going", "--dry-run", "--step",
                              "--junit", "r.xml"]
    assert opts.settings == [("aec", "PACS"), ("prefer", "rle")]
    for argv, message in ((["run"], "give one script"), (["run", "a", "b"], "one script at a time"),
                          (["run", "a", "--var", "1=2"], "not NAME=VALUE"), (["run", "a", "--fast"], "unknown option")):
        with pytest.raises(UsageError, match=message):
            parse_args(argv)
    assert parse_args(["run", "--help"]).mode == "help"


def test_outcome_flags() -> None:
    plain = Outcome("aet", "aet X", ExitStatus.SUCCESS)
    assert not plain.failed and not plain.sent_get and plain.gets == ()
    get = _get(0xB000, (), 1, failed=1)
    assert get.failed and get.sent_get and len(get.gets) == 1
    assert not replace(get, items=get.items[:1]).gets and replace(get, items=get.items[:1]).sent_get


def test_completion_of_expect_and_record(shell: Shell, tmp_path: Path) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from getsh.registry import REGISTRY
    from getsh.shell.completion import RegistryCompleter

    completer = RegistryCompleter(shell.ctx, REGISTRY)

    def complete(text: str) -> set[str]:
        return {c.text for c in completer.get_completions(Document(text), CompleteEvent())}

    assert complete("expect st") == {"status"}
    assert complete("expect status ") == {"success", "warning", "failure", "cancel"}
    assert complete("expect received >") == {">", ">="}
    assert "rle" in complete("expect tsyntax r")
    assert "PatientName" in complete("expect value PatientNa")
    assert complete("expect status success ") == set()
    assert "stop" not in complete("record st")
    shell.run(f"record {tmp_path / 'r.getsh'}")
    assert "stop" in complete("record st")
    shell.run("record stop")


def test_a_script_without_a_format_line_reads_clear_as_reset_keys() -> None:
    from getsh.script.reading import FORMAT_LINE, parse_text, script_format

    old = "# recorded long ago\nclear\nkey PatientID=1\n  clear  \nclearly\n"
    assert script_format(old) == 1
    statements, problems = parse_text(old, "old.getsh", {})
    assert not problems
    assert [s.text for s in statements] == ["reset-keys", "key PatientID=1", "reset-keys", "clearly"]

    new = f"# a recording\n{FORMAT_LINE}\nclear\n"
    assert script_format(new) == 2
    assert [s.text for s in parse_text(new, "new.getsh", {})[0]] == ["clear"]
    # the format is declared before the first command; a comment further down does not change it
    assert script_format(f"echo\n{FORMAT_LINE}\n") == 1
