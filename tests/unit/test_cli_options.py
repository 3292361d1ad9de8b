"""getscu's command line, option by option: every spelling in the manual is accepted and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from getsh.cli import arguments_text, help_text, parse_args
from getsh.cmdline.argfiles import expand_command_files, split_command_file
from getsh.errors import UsageError
from tests.conftest import peer_missing
from tests.shell_driver import run_getsh

MANUAL = Path("/work/shared/reference/getscu-manual.txt")
_REPO_MANUAL = Path(__file__).resolve().parents[2] / "docs" / "reference" / "getscu-manual.txt"


def manual_text() -> str:
    for path in (MANUAL, _REPO_MANUAL):
        if path.is_file():
            return path.read_text()
    peer_missing("getscu-manual.txt not found beside the repository (../shared/reference)")


def manual_options() -> dict[str, bool]:
    """Every option spelling in the manual's option list → whether it takes a value."""
    text = manual_text()
    section = text[text.index("general options"):text.index("Each file supplied")]
    words = section.split()
    options: dict[str, bool] = {}
    for index, word in enumerate(words):
        if re.fullmatch(r"(--[a-z0-9-]+|[-+][a-zA-Z0-9=]{1,3})", word):
            following = words[index + 1:index + 3]
            options[word] = any(w.startswith("[") for w in following)
    return options


SAMPLE = {
    "-k": "PatientID=1", "--key": "PatientID=1", "-ll": "info", "--log-level": "debug",
    "-aet": "ME", "--aetitle": "ME", "-aec": "PEER", "--call": "PEER",
    "-to": "5", "--timeout": "5", "-ta": "5", "--acse-timeout": "5", "-td": "5", "--dimse-timeout": "5",
    "-pdu": "8192", "--max-pdu": "8192", "--repeat": "2",
}


def test_the_manual_lists_what_the_issue_names() -> None:
    options = manual_options()
    for spelling in ("-h", "--help", "--version", "--arguments", "-q", "-v", "-d", "-ll", "-lc", "+v", "-k", "-P",
                     "-S", "-O", "-aet", "-aec", "+x=", "+xe", "+xb", "+xs", "+xy", "+xx", "+xv", "+xw", "+xt",
                     "+xu", "+xm", "+xh", "+xn", "+xl", "+x2", "+x3", "+xo", "+x4", "+x5", "+xr", "+xd", "+xi",
                     "-x=", "-xe", "-xb", "-xd", "-xi", "-to", "-ta", "-td", "-pdu", "--repeat", "--abort", "-od",
                     "-B", "+B", "--ignore", "--prefer-mpeg4-2-st", "--propose-implicit", "--bit-preserving"):
        assert spelling in options, spelling
    assert len(options) >= 80


def test_every_manual_option_is_accepted(tmp_path: Path) -> None:
    for spelling, takes_value in manual_options().items():
        value = {"-od": str(tmp_path), "--output-directory": str(tmp_path), "-lc": str(tmp_path / "log.ini"),
                 "--log-config": str(tmp_path / "log.ini")}.get(spelling, SAMPLE.get(spelling))
        assert takes_value == (value is not None), spelling
        argv = ["get", spelling, *([value] if value else []), "-k", "QueryRetrieveLevel=PATIENT", "127.0.0.1", "104"]
        opts = parse_args(argv)
        assert opts.mode in ("get", "help", "version"), spelling
        parse_args([spelling, *([value] if value else [])])  # the shell mode takes them too


def test_every_manual_option_is_in_the_help() -> None:
    text = help_text()
    for spelling in manual_options():
        assert re.search(rf"(^|[\s,]){re.escape(spelling)}([\s,]|$)", text, re.M), spelling


def test_help_of_the_program_lists_them_too() -> None:
    result = run_getsh(["--help"])
    assert result.returncode == 0
    for spelling in manual_options():
        assert re.search(rf"(^|[\s,]){re.escape(spelling)}([\s,]|$)", result.stdout, re.M), spelling
    assert "getsh get [options] peer port [dcmfile-in…]" in result.stdout


def test_options_set_the_settings_rightmost_wins() -> None:
    opts = parse_args(["get", "-P", "-S", "+xi", "+xr", "-xb", "--propose-deflated", "-pdu", "4096", "--max-pdu",
                       "131072", "+B", "-B", "--repeat", "2", "--abort", "-aec", "A", "--call", "B",
                       "-k", "PatientID=1", "host", "104"])
    final = dict(opts.settings)
    assert final == {"model": "study", "prefer": "rle", "propose": "deflated", "max-pdu": "131072",
                     "storage": "normal", "repeat": "2", "abort": "on", "aec": "B"}
    assert opts.peer == ("host", "104") and opts.keys == ["PatientID=1"] and opts.query_files == []


def test_get_takes_several_query_files(tmp_path: Path) -> None:
    files = [tmp_path / "a.dcm", tmp_path / "b.dcm"]
    for f in files:
        f.write_bytes(b"")
    opts = parse_args(["get", "host", "104", *map(str, files)])
    assert opts.query_files == [str(f) for f in files]
    with pytest.raises(UsageError, match="one query file"):  # the shell holds one identifier
        parse_args(["host", "104", *map(str, files)])


def test_command_files_split_like_dcmtk(tmp_path: Path) -> None:
    assert split_command_file('-aec "MY AE"  -S\n+xr\t-k \'PatientName=A B\' ""\n') == [
        "-aec", "MY AE", "-S", "+xr", "-k", "PatientName=A B", ""]
    assert split_command_file("-k ModalitiesInStudy=CT\\MR") == ["-k", "ModalitiesInStudy=CT\\MR"]
    (tmp_path / "inner.txt").write_text("-O")
    (tmp_path / "opts.txt").write_text(f'-aec "MY AE" -S\n@{tmp_path / "inner.txt"}\n')
    assert expand_command_files(["get", f"@{tmp_path / 'opts.txt'}", "host"]) == [
        "get", "-aec", "MY AE", "-S", f"@{tmp_path / 'inner.txt'}", "host"]  # no nesting: a plain word
    (tmp_path / "opts.txt").write_text('-aec "MY AE" -S')
    opts = parse_args(["get", f"@{tmp_path / 'opts.txt'}", "-k", "PatientID=1", "host", "104"])
    assert ("aec", "MY AE") in opts.settings and ("model", "study") in opts.settings


def test_arguments_prints_the_expanded_line_in_long_forms() -> None:
    assert arguments_text(["--arguments", "-aec", "MY AE", "-S", "+xr", "-k", "A=B", "host", "1"]) == (
        "I: calling 'getsh' with 9 arguments: '--arguments' '--call' 'MY AE' '--study' '--prefer-rle' "
        "'--key' 'A=B' 'host' '1'\nI: ")


def test_arguments_on_the_command_line(tmp_path: Path) -> None:
    cmd = tmp_path / "cmd.txt"
    cmd.write_text('-aec "MY AE" -S')
    result = run_getsh(["get", "--arguments", f"@{cmd}", "-k", "PatientID=1", "127.0.0.1", "1", "-to", "1"])
    assert result.stderr.startswith(
        "I: calling 'getsh' with 11 arguments: 'get' '--arguments' '--call' 'MY AE' '--study' '--key' 'PatientID=1'")
    assert result.returncode == 7  # nobody listens on port 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "--bogus", "host", "104"], "getsh: unknown option --bogus"),
        (["get", "-k", "PatientID=1", "host", "104", "-pdu"], "getsh: option -pdu needs a value"),
        (["get", "-k"], "getsh: option -k needs a value"),
        (["get", "-pdu", "100", "-k", "PatientID=1", "host", "104"],
         "getsh: max-pdu: 100 is out of range (4096..131072)"),
        (["get", "-pdu", "200000", "-k", "PatientID=1", "host", "104"], "getsh: max-pdu: 200000 is out of range"),
        (["get", "-k", "PatientID=1", "host", "eleven"], "getsh: port: 'eleven' is not a port number"),
        (["host", "eleven"], "getsh: port: 'eleven' is not a port number"),
        (["get", "host", "104", "/nonexistent/q.dcm"], "getsh: cannot access query file: /nonexistent/q.dcm"),
        (["get", "host", "104", "/"], "getsh: cannot access query file: /"),  # a directory is not readable as one
        (["get", "-od", "/nonexistent/dir", "-k", "PatientID=1", "host", "104"],
         "getsh: specified output directory does not exist: /nonexistent/dir"),
        (["-od", "/nonexistent/dir"], "getsh: specified output directory does not exist"),
        (["get", "host", "104"], "getsh: get: either query file or override keys (or both) must be specified"),
        (["get"], "getsh: get: missing parameter peer"),
        (["get", "-k", "PatientID=1", "host"], "getsh: expected 'peer port'"),
        (["get", "-c", "echo", "host", "104"], "getsh: get: -c does not apply"),
        (["get", "@/nonexistent/cmd.txt"], "getsh: cannot open command file '/nonexistent/cmd.txt'"),
        (["get", "--repeat", "0", "-k", "PatientID=1", "host", "104"], "getsh: repeat: 0 is out of range"),
        (["get", "-ll", "loud", "-k", "PatientID=1", "host", "104"], "getsh: log-level: 'loud' is not one of"),
    ],
)
def test_bad_command_lines_exit_1_with_one_line(args: list[str], message: str) -> None:
    result = run_getsh(args)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_unreadable_query_file(tmp_path: Path) -> None:
    """A file without read permission (or, for root, whom permissions do not stop, a link to nowhere)."""
    import os

    query = tmp_path / "q.dcm"
    query.write_bytes(b"")
    query.chmod(0)
    if os.access(query, os.R_OK):
        query.unlink()
        query.symlink_to(tmp_path / "gone.dcm")
    result = run_getsh(["get", "host", "104", str(query)])
    assert result.returncode == 1 and "cannot access query file" in result.stderr, result.stderr
