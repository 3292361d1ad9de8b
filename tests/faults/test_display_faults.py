"""What a peer or a file says is shown as it is: never read as rich markup, never obeyed by the terminal.

A hostile peer sends values built to end the get with a MarkupError, colour or hyperlink the table,
clear the screen, write the clipboard (OSC 52), or reverse a line (bidi override). Each test asserts
the exact text the user sees, and that no character a terminal acts on reached the output: in the
table after a get, in ``received`` and ``show``, in the summary, in error lines and in log lines, on
both receive paths; and, through a real pseudo-terminal, in the bytes the program writes.

Also here: pydicom's warnings about values become one line per get (issue 14, item 10).
"""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from getsh.exitstatus import ExitStatus
from getsh.literal import literal
from tests.faults.fake_peers import FakeQR, make_objects, sends
from tests.faults.hostile_names import HOSTILE, STUDY_DESCRIPTION_SHOWN, hostile_objects, raw_controls
from tests.shell_driver import Shell, run_getsh

GET = "get QueryRetrieveLevel=PATIENT PatientID=FAKE001"
PATHS = ["direct", "pynetdicom"]
HOSTILE_UID = "1.2.3\x1b[2J\x1b]52;c;aGk=\x07"  # a UID with a screen clear and an OSC 52 in it
HOSTILE_UID_SHOWN = "1.2.3\\x1b[2J\\x1b]52;c;aGk=\\x07"
QUERY_NAME = "q[bold red]x\x1b]52;c;aGk\x07.dcm"  # no "=": that would make it a key


def receive_setting(path: str) -> str:
    return "pynetdicom" if path == "pynetdicom" else "auto"


def start(fakes: list[FakeQR], peer: FakeQR) -> FakeQR:
    fakes.append(peer)
    peer.start()
    return peer


def connect(shell: Shell, peer: FakeQR, out: Path, path: str) -> None:
    status, shown = shell.run(f"set receive {receive_setting(path)}; connect 127.0.0.1 {peer.port} "
                              f"--aec {peer.ae_title}; output {out}")
    assert status is ExitStatus.SUCCESS, shown


def table_rows(shown: str) -> dict[int, list[str]]:
    """The received table's rows: object number → its cells, stripped."""
    rows = {}
    for line in shown.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0].isdigit():
            rows[int(cells[0])] = cells
    return rows


def assert_nothing_raw(shown: str) -> None:
    assert raw_controls(shown) == [], f"raw control characters reached the output: {shown!r}"
    assert "MarkupError" not in shown and "internal error" not in shown, shown


# --- the literal convention itself ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("plain ORIGINAL\\PRIMARY", "plain ORIGINAL\\PRIMARY"),  # DICOM's value separator stays as it is
    ("\x1b[2J", "\\x1b[2J"),
    ("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07"),
    ("a\tb\nc\rd\x00\x7f", "a\\tb\\nc\\rd\\x00\\x7f"),
    ("\u0080\u0085\u009b\u009f", "\\x80\\x85\\x9b\\x9f"),
    ("abc\u202eevil\u2066\u200f", "abc\\u202eevil\\u2066\\u200f"),
    ("\u2028\ufeff\udc80\U000e0041", "\\u2028\\ufeff\\udc80\\U000e0041"),
    ("Müller^Ågot 山田", "Müller^Ågot 山田"),
])
def test_literal_makes_every_control_visible_and_leaves_text_alone(text: str, shown: str) -> None:
    assert literal(text) == shown
    assert literal(f"{text}\nnext", newlines=True) == literal(text, newlines=True) + "\nnext"
    assert literal(text, newlines=True) == shown.replace("\\n", "\n")  # getsh's own lines keep their breaks


# --- item 1: the table, received, show -----------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_hostile_values_are_shown_literally_in_the_table_received_and_show(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, path: str) -> None:
    objects = hostile_objects()
    peer = start(fake, FakeQR(sends(objects)))
    connect(shell, peer, tmp_path, path)

    status, shown = shell.run(GET)

    assert status is ExitStatus.SUCCESS, shown
    assert_nothing_raw(shown)
    rows = table_rows(shown)
    assert {n: cells[1] for n, cells in rows.items()} == {n: h.patient_cell for n, h in enumerate(HOSTILE, 1)}
    assert "C-GET Success (0x0000)" in shown and f"{len(objects)} completed" in shown
    assert len([p for p in tmp_path.iterdir() if p.is_file()]) == len(objects)

    status, shown = shell.run("received")
    assert status is ExitStatus.SUCCESS, shown
    assert_nothing_raw(shown)
    assert {n: cells[1] for n, cells in table_rows(shown).items()} == \
        {n: h.patient_cell for n, h in enumerate(HOSTILE, 1)}

    status, shown = shell.run("received [/]")  # the filter is the user's text, and data too
    assert status is ExitStatus.SUCCESS and "2 of 8 objects matching '[/]'" in shown, shown
    assert list(table_rows(shown)) == [1, 2]

    for number, hostile in enumerate(HOSTILE, 1):
        status, shown = shell.run(f"show {number}")
        assert status is ExitStatus.SUCCESS, shown
        assert_nothing_raw(shown)
        lines = shown.splitlines()
        assert f"├── (0008,1030) LO StudyDescription  {STUDY_DESCRIPTION_SHOWN}" in lines, shown
        assert f"├── (0010,0020) LO PatientID  {literal(hostile.patient_id)}" in lines, shown
        if hostile.patient_name:
            assert f"├── (0010,0010) PN PatientName  {literal(hostile.patient_name)}" in lines, shown


@pytest.mark.parametrize("path", PATHS)
def test_a_peers_comment_and_failed_uids_are_shown_literally(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, path: str) -> None:
    comment = "\x1b[2J[bold red]x[/]\x07\x7f"  # ASCII: a command set has no character set

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield 1
        status = Dataset()
        status.Status = 0xA702
        status.ErrorComment = comment
        failed = Dataset()
        failed.FailedSOPInstanceUIDList = ["1.2.3[/]", "4.5\x1b[31m6"]
        yield status, failed

    peer = start(fake, FakeQR(script, lenient_uids=True))
    connect(shell, peer, tmp_path, path)
    status, shown = shell.run(GET)
    assert status is not ExitStatus.SUCCESS, shown
    assert_nothing_raw(shown)
    lines = shown.splitlines()
    assert "peer's comment: \\x1b[2J[bold red]x[/]\\x07\\x7f" in lines, shown
    assert any(line.startswith("failed SOP instances: 1.2.3[/], 4.5\\x1b[31m6") for line in lines), shown
    status, shown = shell.run("echo")
    assert status is ExitStatus.SUCCESS, shown


@pytest.mark.filterwarnings("ignore:.*VR UI")
@pytest.mark.parametrize("path", PATHS)
def test_an_error_line_that_names_a_peers_value_shows_it_literally(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, path: str) -> None:
    """A UID over 64 characters with escapes in it: pynetdicom refuses the message and getsh ends the
    get with one error line naming the value; whatever words it uses, the value is shown, not obeyed."""
    objects = make_objects(2)
    objects[1].SOPInstanceUID = HOSTILE_UID + "." + "9" * 50
    peer = start(fake, FakeQR(sends(objects), lenient_uids=True))
    connect(shell, peer, tmp_path, path)
    status, shown = shell.run(GET)
    assert status is not ExitStatus.SUCCESS, shown
    assert_nothing_raw(shown)
    errors = [line for line in shown.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, shown
    assert HOSTILE_UID_SHOWN in errors[0] or "1.2.3\\x1b" in errors[0], errors[0]
    status, shown = shell.run("echo")
    assert status is ExitStatus.SUCCESS, shown


# --- item 1: log lines, and the bytes a real terminal gets -----------------------------------------

def getsh_c(peer: FakeQR, *args: str, lines: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return run_getsh([*args, "127.0.0.1", str(peer.port), "-aec", peer.ae_title, "-c", lines],
                     env={"COLUMNS": "200"}, timeout=timeout)


@pytest.mark.filterwarnings("ignore:.*VR UI")
@pytest.mark.parametrize("path", PATHS)
def test_log_lines_at_verbose_show_a_peers_value_literally(fake: list[FakeQR], tmp_path: Path, path: str) -> None:
    objects = make_objects(2)
    objects[1].SOPInstanceUID = HOSTILE_UID
    peer = start(fake, FakeQR(sends(objects), lenient_uids=True))
    result = getsh_c(peer, "-v", lines=f"set receive {receive_setting(path)}; output {tmp_path}; {GET}")
    assert raw_controls(result.stdout) == [] and raw_controls(result.stderr) == [], result.stderr
    logged = [line for line in result.stderr.splitlines() if HOSTILE_UID_SHOWN in line]
    assert logged and all(re.match(r"[DIWEF]: ", line) for line in logged), result.stderr
    assert "I: Requesting Association" in result.stderr  # -v is on: these are log lines


def read_pty(args: list[str], timeout: float = 60.0) -> bytes:
    """Everything ``python -m getsh args`` writes to a pseudo-terminal (stdout and stderr), as bytes."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "LINES": "50", "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "getsh", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the program has ended and the terminal is closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    return b"".join(chunks)


def test_a_real_terminal_gets_no_escape_from_the_peer(fake: list[FakeQR], tmp_path: Path) -> None:
    """Through a pseudo-terminal rich writes its own colours: everything else must be text. No screen
    clear, no OSC (52: clipboard, 8: hyperlink), no C1 control, no bidi override gets through."""
    peer = start(fake, FakeQR(sends(hostile_objects())))
    query = Dataset()  # a query file whose name is markup and OSC 52: the progress bar and header name it
    query.QueryRetrieveLevel, query.PatientID = "PATIENT", "FAKE001"
    query_file = tmp_path / QUERY_NAME
    query.save_as(query_file, implicit_vr=True, little_endian=True)
    out = tmp_path / "out"
    out.mkdir()
    written = read_pty([
        "127.0.0.1", str(peer.port), "-aec", peer.ae_title,
        "-c", f"output {out}; {GET}; received; show 5; show 6; show 7; get {shlex.quote(str(query_file))}",
    ])
    text = written.decode("utf-8", "replace")
    assert "C-GET Success" in re.sub(r"\x1b\[[0-9;]*m", "", text), text
    for forbidden in ("\x1b[2J", "\x1b]", "\x1bP", "\x07", "\u202e", "file:///etc/passwd\x1b"):
        assert forbidden not in text, (forbidden, text)
    assert not [c for c in text if 0x80 <= ord(c) <= 0x9F], text
    escapes = set(re.findall(r"\x1b[^\[]|\x1b\[[0-9;?]*[^0-9;?]", text))
    assert all(e.endswith("m") or e in ("\x1b[?25l", "\x1b[?25h", "\x1b[2K", "\x1b[1A", "\x1b[1G") for e in escapes), \
        escapes  # rich's colours and the progress bar's cursor moves, nothing else
    for hostile in HOSTILE:
        assert literal(hostile.patient_id) in text or hostile.patient_cell in text, hostile
    assert "\\x1b[2J\\x1b[31mRED" in text and "C1\\x80\\x9b2J" in text and "abc\\u202eevil\\x7f" in text
    assert "[link=file:///etc/passwd]a[/link]" in text
    assert f"C-GET {literal(str(query_file))}: " in re.sub(r"\x1b\[[0-9;]*m", "", text), text


# --- item 10: pydicom's warnings, one line ----------------------------------------------------------

NONCONFORMANT = (  # what a careless archive sends, raw: pydicom would refuse to write most of it
    (0x00080005, "CS", b"ISO_IR 999"),  # an unknown character set: every decoded text value warns
    (0x00100010, "PN", b"Bad^Name"),
    (0x00080020, "DA", b"notadate"),
    (0x00200011, "IS", b"x1"),
    (0x00200052, "UI", b"1.2." + b"3" * 70),  # Frame of Reference UID, too long (not a key element)
)


def nonconformant_objects(count: int) -> list[Dataset]:
    objects = make_objects(count, tag="77")
    for ds in objects:
        for tag, vr, value in NONCONFORMANT:
            ds[tag] = RawDataElement(Tag(tag), vr, len(value), value, 0, False, True)
    return objects


WARNED = re.compile(r"warning: (\d+) values? did not conform( \((\d+) warnings\))?: (.*) \((above|set log-level "
                    r"info, -v, to see each)\)")


@pytest.mark.filterwarnings("ignore::UserWarning")  # the fake's own pydicom, in this process
@pytest.mark.parametrize("path", PATHS)
def test_pydicoms_warnings_become_one_line_per_get(fake: list[FakeQR], tmp_path: Path, path: str) -> None:
    peer = start(fake, FakeQR(sends(nonconformant_objects(3)), lenient_uids=True))
    result = getsh_c(peer, lines=f"set receive {receive_setting(path)}; output {tmp_path}; {GET}; show 1")
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        assert "UserWarning" not in stream and "pydicom/" not in stream and "warn_and_log" not in stream, stream
        assert not [line for line in stream.splitlines() if line.startswith("W: ")], stream
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    warned = [m for m in map(WARNED.fullmatch, lines) if m]
    assert len(warned) == 2, result.stdout  # one after the get's summary, one after show
    summary = lines.index(next(line for line in lines if line.startswith("received 3 objects")))
    assert WARNED.fullmatch(lines[summary + 1]), lines[summary:]  # the get's: right after its summary
    get_line, show_line = warned
    assert "Unknown encoding 'ISO_IR 999'" in get_line[4] and get_line[5].startswith("set log-level")
    assert int(get_line[1]) == 1 and int(get_line[3] or 1) >= 3  # one value, in three objects at least
    # show decodes every value: each kind named, the count of distinct values first
    assert int(show_line[1]) == 3 and "Invalid value for VR IS: 'x1'" in show_line[4], show_line[0]
    assert "exceeds the maximum length of 64 allowed for VR UI" in show_line[4]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_at_verbose_each_warning_is_a_log_line_as_well(fake: list[FakeQR], tmp_path: Path) -> None:
    peer = start(fake, FakeQR(sends(nonconformant_objects(2)), lenient_uids=True))
    result = getsh_c(peer, "-v", lines=f"output {tmp_path}; {GET}; show 1")
    assert result.returncode == 0, result.stderr
    assert "UserWarning" not in result.stderr and "pydicom/" not in result.stderr
    details = [line for line in result.stderr.splitlines() if line.startswith("W: ")]
    assert "W: Invalid value for VR IS: 'x1'." in [line.split(" Please see")[0] for line in details], details
    assert any("Unknown encoding 'ISO_IR 999'" in line for line in details), details
    warned = [m for m in map(WARNED.fullmatch, result.stdout.splitlines()) if m]
    assert len(warned) == 2 and all(m[5] == "above" for m in warned), result.stdout


# --- item 10: a read-only output directory fails before anything is associated ----------------------

@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory getsh cannot write into: a read-only tmpfs as root (root ignores modes), else mode 555."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)], capture_output=True,
                         text=True)
    if run.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {run.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_one_shot_get_with_a_read_only_output_directory_never_associates(fake: list[FakeQR],
                                                                         read_only_dir: Path) -> None:
    peer = start(fake, FakeQR(sends(make_objects(1))))
    result = run_getsh(["get", "-od", str(read_only_dir), "-aec", peer.ae_title, "127.0.0.1", str(peer.port),
                        "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID=FAKE001"])
    assert result.returncode == ExitStatus.USAGE, result
    assert result.stderr == (f"getsh: specified output directory is not writeable: {read_only_dir} — "
                             "-od names a directory getsh may write into (as getscu)\n")
    assert peer.associations == 0 and peer.requests == 0


@pytest.mark.parametrize("path", PATHS)
def test_get_into_a_read_only_output_directory_sends_nothing(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                             read_only_dir: Path, path: str) -> None:
    """In the shell the association is open already: the get must fail before a C-GET-RQ, and before
    renegotiating when a setting changed (here: the proposed transfer syntaxes)."""
    peer = start(fake, FakeQR(sends(make_objects(1))))
    connect(shell, peer, tmp_path, path)
    assert peer.associations == 1
    status, shown = shell.run(f"output {read_only_dir}; set prefer rle; {GET}")
    errors = [line for line in shown.splitlines() if line.startswith("error:")]
    assert errors == [f"error: output directory {read_only_dir} is not writable — check its permissions or create "
                      f"it or choose another: output DIR (now {read_only_dir})"], shown
    assert status is not ExitStatus.SUCCESS
    assert peer.requests == 0 and peer.associations == 1
    status, shown = shell.run(f"output {tmp_path}; {GET}")
    assert status is ExitStatus.SUCCESS, shown


# --- item 1: every event and result the renderer draws, every text field hostile --------------------

HOSTILE_TEXT = "[/][bold red]X[link=file:///etc/passwd]\x1b[2J\x1b]52;c;aGk=\x07\x9b\u202e:warning:\n"
KNOWN_WORDS = {"model": "patient", "category": "Failure", "state": "open", "action": "renamed"}  # dict keys


def hostile_instance(cls: type) -> Any:
    """``cls`` (a dataclass) with every text field, however deep, set to HOSTILE_TEXT."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)

    def value(name: str, hint: Any) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is str:
            return KNOWN_WORDS.get(name, HOSTILE_TEXT)
        if origin in (typing.Union, __import__("types").UnionType):
            return value(name, next(a for a in args if a is not type(None)))
        if origin is tuple and args[-1] is Ellipsis and args[0] is Any:
            return tuple(hostile_nodes())
        if origin is tuple:
            return tuple(value(name, a) for a in (args[:1] if len(args) == 2 and args[1] is Ellipsis else args))
        if dataclasses.is_dataclass(hint):
            return hostile_instance(hint)  # type: ignore[arg-type]
        if hint is ExitStatus:
            return ExitStatus.FAILURE
        if hint in (int, float) or hint is bool:
            return hint(1)
        if origin is list or hint is Any:  # the nodes of a tree: a data set's, as 'show' and 'keys' draw them
            return hostile_nodes()
        raise TypeError(f"{cls.__name__}.{name}: cannot make a {hint!r}")

    return cls(**{f.name: value(f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init})


def hostile_views() -> list[tuple[Any, ...]]:
    """view's items, every text hostile: a picture alone, a description alone (an SR's tree), and a
    strip of all three kinds."""
    import numpy

    from getsh.dicom.image.views import Description, Picture, Unviewable

    h = HOSTILE_TEXT
    picture = Picture(1, numpy.zeros((4, 4, 3), dtype=numpy.uint8), 1.0, h, h, (h, h))
    words = Description(2, h, h, (h,), ((h, ((h, ()),)),))
    refused = Unviewable(3, h, h)
    return [(picture,), (words,), (picture, words, refused)]


def hostile_nodes() -> list[Any]:
    from pydicom.sequence import Sequence

    from getsh.dicom.keys.identifier import describe

    item = Dataset()
    item.CodeMeaning = HOSTILE_TEXT
    ds = Dataset()
    ds.PatientName, ds.StudyDescription = HOSTILE_TEXT, HOSTILE_TEXT
    ds.ProcedureCodeSequence = Sequence([item])
    return list(describe(ds))


def drawable_types() -> list[type]:
    import dataclasses

    import getsh.dicom.events as events
    import getsh.dicom.net.trace_items as trace_items
    import getsh.results as results

    found: list[type] = []  # explain's cards (results.Card) replaced dict's own drawing
    for module in (events, results, trace_items):
        found += [c for c in vars(module).values() if isinstance(c, type) and dataclasses.is_dataclass(c)
                  and c.__module__ == module.__name__ and c.__name__ not in NOT_DRAWN]
    return found


# parts of others, or never shown on their own
NOT_DRAWN = {"ContextInfo", "SettingRow", "Outcome", "RecordAs", "CardSection", "TraceItem", "TracedContext"}


@pytest.mark.parametrize("cls", drawable_types(), ids=lambda c: c.__name__)
def test_every_text_field_of_everything_drawn_is_shown_literally(shell: Shell, cls: type) -> None:
    """A field added tomorrow is held to the same rule: the renderer's per-field escaping or, if it
    forgets, the consoles' own net (shell/shown.py) keeps every control character off the screen."""
    from getsh.errors import GetshError

    item = hostile_instance(cls)
    if cls.__name__ == "ScriptProblems":
        item = cls(errors=(GetshError(HOSTILE_TEXT, HOSTILE_TEXT),))
    if cls.__name__ == "ImageView":  # its items are dicom.image's views, typed Any in results.py
        *alone, item = [cls(items=views, strip=len(views) > 1) for views in hostile_views()]
        for view in alone:
            shell.runner.renderer.show(view)
    shell.runner.renderer.show(item)
    shell.runner.renderer.error(GetshError(HOSTILE_TEXT, HOSTILE_TEXT))
    shown = shell.out.getvalue() + shell.err.getvalue()
    assert_nothing_raw(shown)
    assert "\\x1b" in shown, shown  # the hostile text was drawn, and made visible
    assert "error: [/][bold red]X[link=file:///etc/passwd]\\x1b[2J\\x1b]52;c;aGk=\\x07\\x9b\\u202e:warning:\\n — " \
        in shown, shown


def test_a_log_record_cannot_forge_a_line_or_drive_the_terminal() -> None:
    import io
    import logging

    from getsh.logs import LiteralFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LiteralFormatter())
    log = logging.getLogger("getsh.test.literal")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError("bad UID '1.2\x1b[2J'")
        except ValueError:
            log.warning("the peer's AE title %s\nE: forged", "AE\x1b]52;c;aGk=\x07", exc_info=True)
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "W: the peer's AE title AE\\x1b]52;c;aGk=\\x07\\nE: forged"
    assert lines[1] == "Traceback (most recent call last):" and lines[-1] == "ValueError: bad UID '1.2\\x1b[2J'"
    assert raw_controls(stream.getvalue()) == []
