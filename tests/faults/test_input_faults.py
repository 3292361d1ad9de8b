"""Input that hung or crawled (issue 14, item 9): huge values and lines, files that are not files,
text that is not a script, scripts that source each other.

Each test runs the real runner (``Shell``, as ``getsh -c`` does) or the program itself, and asserts
what the user sees: one line naming the problem and its limit, the value shown by its start only,
the exit status, and the session unchanged afterwards.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from getsh import registry
from getsh.exitstatus import ExitStatus
from tests.shell_driver import Shell, run_getsh

MEGABYTE = 1024 * 1024


@pytest.fixture
def shell() -> Iterator[Shell]:
    shell = Shell()
    yield shell
    shell.close()


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.getsh"
    os.mkfifo(path)
    return path


def one_error_line(shown: str) -> str:
    lines = shown.splitlines()
    assert len(lines) == 1, shown[:2000]
    assert lines[0].startswith("error: ") and "Traceback" not in shown and "internal error" not in shown
    return lines[0]


def test_a_megabyte_value_is_refused_at_once_and_not_repeated(shell: Shell) -> None:
    before = shell.ctx.session.identifier.copy()
    clock = time.perf_counter()
    status, shown = shell.run("key PatientID=" + "A" * MEGABYTE)
    assert time.perf_counter() - clock < 5  # it took 12 s (18 s here) before
    assert status is ExitStatus.ERROR
    line = one_error_line(shown)
    assert "1,048,590 characters long" in line and "at most 65,536" in line
    assert len(line) < 400  # named by its length, not repeated
    assert shell.ctx.session.identifier == before


def test_a_value_past_its_vr_limit_names_keyword_length_and_limit(shell: Shell) -> None:
    status, shown = shell.run("key PatientID=" + "B" * 60_000)
    line = one_error_line(shown)
    assert status is ExitStatus.ERROR
    assert "PatientID (LO)" in line and "60,000 characters long" in line and "the maximum is 64" in line
    assert "B" * 41 not in line and len(line) < 300  # a short prefix, not the value
    status, shown = shell.run("key StudyDate=" + "2" * 60_000)
    assert "StudyDate (DA)" in one_error_line(shown) and "the maximum is 18" in shown
    status, shown = shell.run("key " + "Pat" * 20_000 + "=1")  # a keyword no dictionary holds, not fuzzy-matched
    assert "unknown keyword" in one_error_line(shown) and "60,000 characters" in shown
    status, shown = shell.run("key ReferencedStudySequence[" + "1" * 5_000 + "].StudyInstanceUID=1.2")
    assert "an item number of 5,000 digits" in one_error_line(shown)


def test_splitting_a_line_is_linear_not_quadratic(shell: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cause, not only the cap: with the line limit lifted, 4 MB splits in well under a second
    (shlex's character-by-character token took about 18 s for 1 MB and grows with the square)."""
    monkeypatch.setattr(registry, "MAX_LINE", 64 * MEGABYTE)
    clock = time.perf_counter()
    status, shown = shell.run("key PatientID=" + "C" * (4 * MEGABYTE) + " 'quoted; word' \"x\"")
    assert time.perf_counter() - clock < 5
    assert status is ExitStatus.ERROR and "4,194,304 characters long; the maximum is 64" in one_error_line(shown)


def test_a_fifo_is_refused_not_waited_on(shell: Shell, fifo: Path, tmp_path: Path) -> None:
    for line, expected in [
        (f"source {fifo}", f"{fifo}: error: cannot read the script: it is a named pipe (FIFO), not a file"),
        (f"load {fifo}", f"error: cannot read {fifo}: it is a named pipe (FIFO), not a file"),
        (f"get {fifo}", f"error: cannot read {fifo}: it is a named pipe (FIFO), not a file"),
        (f"record {fifo} --append", f"error: cannot record to {fifo}: it is a named pipe (FIFO), not a file"),
        (f"source {tmp_path}", f"{tmp_path}: error: cannot read the script: it is a directory, not a file"),
        ("load /dev/zero", "error: cannot read /dev/zero: it is a character device, not a file"),
    ]:
        status, shown = shell.run(line)
        assert status in (ExitStatus.ERROR, ExitStatus.SCRIPT), (line, shown)
        assert shown.startswith(expected), (line, shown)
    assert shell.ctx.session.script.recording is None


def test_getsh_run_and_a_command_file_on_a_fifo_end_at_once(fifo: Path) -> None:
    done = run_getsh(["run", str(fifo)], timeout=30)  # blocked for ever before
    assert done.returncode == ExitStatus.SCRIPT
    assert f"{fifo}: error: cannot read the script: it is a named pipe (FIFO), not a file" in done.stderr
    done = run_getsh([f"@{fifo}"], timeout=30)
    assert done.returncode == ExitStatus.USAGE
    assert f"cannot open command file '{fifo}': it is a named pipe (FIFO), not a file" in done.stderr


def test_a_file_that_is_not_a_script_is_one_error_with_its_line_and_column(shell: Shell, tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("".join(f"user{n}:x:{n}:{n}:User {n}:/home/u{n}:/bin/sh\n" for n in range(40)))
    status, shown = shell.run(f"source {passwd}")
    assert status is ExitStatus.SCRIPT
    errors = [ln for ln in shown.splitlines() if "error:" in ln]
    assert errors == [f"{passwd}:1:1: error: unknown command 'user0:x:0:0:User' — type 'help' for the list of commands"]
    assert f"{passwd}: not run: a bad line stops it: nothing was run" in shown


def test_a_script_line_past_the_limit_is_located(shell: Shell, tmp_path: Path) -> None:
    script = tmp_path / "long.getsh"
    script.write_text("aet A\n  key PatientID='x y" + "z" * 70_000 + "'\naet B\n")
    status, shown = shell.run(f"source {script}")
    assert status is ExitStatus.SCRIPT and shell.ctx.settings["aet"] == "GETSCU"  # nothing ran
    assert f"{script}:2:65537: error: line 2 is 70,021 characters long; a line holds at most 65,536" in shown
    assert len(shown) < 1000
    script.write_text("aet A\n   key PatientID='open\n")
    status, shown = shell.run(f"source {script}")
    assert f"{script}:2:18: error: cannot read the line: the ' quote at column 15 is not closed" in shown


def test_an_include_cycle_is_named_apart_from_deep_nesting(shell: Shell, tmp_path: Path) -> None:
    a, b = tmp_path / "a.getsh", tmp_path / "b.getsh"
    a.write_text(f"aet A\nsource {b}\n")
    b.write_text(f"\n  source {a}\n")
    status, shown = shell.run(f"source {a}")
    assert status is ExitStatus.SCRIPT and shell.ctx.settings["aet"] == "GETSCU"
    assert (f"{b}:2:3: error: scripts source each other in a cycle: {a} → {b} → {a} (sourced at {a}:2)"
            in shown), shown
    assert "deep" not in shown
    itself = tmp_path / "self.getsh"
    itself.write_text(f"source {itself}\n")
    status, shown = shell.run(f"source {itself}")
    assert f"a cycle: {itself} → {itself}" in shown
    chain = [tmp_path / f"n{i}.getsh" for i in range(10)]
    for here, there in itertools.pairwise(chain):
        here.write_text(f"source {there}\n")
    chain[-1].write_text("aet DEEP\n")
    status, shown = shell.run(f"source {chain[0]}")
    assert status is ExitStatus.SCRIPT and "scripts nest more than 8 deep: " in shown and "each other" not in shown
    assert f"{chain[7]} → {chain[8]}" in shown and shell.ctx.settings["aet"] == "GETSCU"


def test_a_name_too_long_for_the_system_is_an_error_not_a_crash(shell: Shell, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """ENAMETOOLONG from pathlib's is_dir/exists reached the runner as an internal error (found by the
    property tests): each command that takes a file name now answers with one line."""
    monkeypatch.chdir(tmp_path)
    name = "N" * 300
    shell.run("key PatientID=1")
    for line in [f"save {name}", f"load {name}", f"get {name}", f"source {name}", f"record {name}",
                 f"output {name}; get", f"output {name}; expect files 1", f"source {tmp_path / 'x.getsh'} --junit "
                 f"{name}/r.xml"]:
        status, shown = shell.run(line)
        assert status is not ExitStatus.SUCCESS, line
        assert "internal error" not in shown and "error: " in shown, (line, shown)
    assert list(tmp_path.iterdir()) == []


def test_completion_over_a_long_typed_line_is_quick(shell: Shell) -> None:
    """Completion runs on every key press: a pasted value must not make each one crawl (it split the
    line with shlex, quadratic), and a line past the limit offers nothing."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from getsh.shell.completion import RegistryCompleter

    completer = RegistryCompleter(shell.ctx, registry.REGISTRY)
    near = "key PatientID=" + "D" * 60_000 + " Patient"
    clock = time.perf_counter()
    offered = [c.text for c in completer.get_completions(Document(near), CompleteEvent())]
    assert time.perf_counter() - clock < 5 and "PatientName" in offered
    assert list(completer.get_completions(Document("key " + "E" * MEGABYTE), CompleteEvent())) == []


def test_piped_input_refuses_a_line_past_the_limit_and_goes_on(shell: Shell) -> None:
    """A line of piped input is read at most 64 KiB at a time: a file with no newline piped in is
    refused by its length, and the lines after it still run."""
    import io

    piped = io.StringIO("aet FIRST\n" + "F" * (3 * MEGABYTE) + "\naet " + "G" * 16 + "\n" + "H" * 65_537)
    status = shell.runner.run_lines(piped)
    shown = shell.err.getvalue()
    assert status is ExitStatus.ERROR and shell.ctx.settings["aet"] == "G" * 16
    assert shown.splitlines() == [
        "error: the line is 3,145,728 characters long; a line holds at most 65,536 — a value that long is not an "
        "identifier: check what was pasted or piped in",
        "error: the line is 65,537 characters long; a line holds at most 65,536 — a value that long is not an "
        "identifier: check what was pasted or piped in"]
