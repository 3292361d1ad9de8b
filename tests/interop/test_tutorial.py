"""docs/tutorial.md is this test's input: every command in it is typed into the real REPL against the
embedded demo archive, and what the tutorial says getsh shows must be what it shows (issue 16,
acceptance 4). The tutorial cannot rot: a change that alters what a student sees fails here.

The format, so the doc stays readable as a doc:
- A ```text block whose first line is a prompt (``getsh> ``, ``getsh DOE^JANE> `` …) is a session.
  Each prompt line is typed as it stands; the lines under it, up to the next prompt, are what getsh
  shows. Each must appear in the output, in that order (lines the doc leaves out may come between);
  ``…`` stands for any text (a port, a time, a path, an elided row), trailing blanks do not count.
- A prompt line ending in ``⇥`` types the text and presses Tab; the lines under it are entries of the
  completion menu (the first word must be offered, with the rest as the note beside it); the line is
  then cleared, not run.
- Other blocks (```sh, or text that does not start with a prompt) are shown, not run.

Before the first block the test does what ``scripts/demo`` does: start the demo archive (which checks
the called AE title, as ``getsh --demo``'s does) and connect to it, with the output in a temporary
directory. Set GETSH_TUTORIAL_TRANSCRIPT=FILE to keep what was typed and shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.interop

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
PROMPT = re.compile(r"^getsh(?: [^>]*)?> ?(.*)$")
TAB = "⇥"
WIDTH = 100  # the width the tutorial's tables are drawn at


@dataclass
class Step:
    """One typed line and what the tutorial says it shows."""

    line: str
    expected: list[str] = field(default_factory=list)
    where: int = 0  # line number in the tutorial, for the failure message

    @property
    def completes(self) -> bool:
        return self.line.endswith(TAB)


def blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """Fenced ```text blocks: (line number of the first line, its lines)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```text":
            start, body = i + 2, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            yield start, body
        i += 1


def steps(text: str) -> list[Step]:
    found: list[Step] = []
    for start, body in blocks(text):
        if not body or not PROMPT.match(body[0]):
            continue  # shown, not run
        for offset, raw in enumerate(body):
            prompt = PROMPT.match(raw)
            if prompt:
                found.append(Step(prompt.group(1), where=start + offset))
            elif raw.strip():
                found[-1].expected.append(raw.rstrip())
    return found


def pattern(expected: str) -> re.Pattern[str]:
    return re.compile("^" + ".*?".join(re.escape(part) for part in expected.split("…")) + r"\s*$")


def missing(expected: list[str], shown: str) -> str | None:
    """The first expected line not found (in order) in what was shown, or None."""
    lines = shown.splitlines()
    at = 0
    for want in expected:
        rx = pattern(want)
        while at < len(lines) and not rx.match(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


@pytest.fixture
def tutorial_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from getsh.dicom.demo.server import DemoServer

    server = DemoServer(port=0, require_called_ae=True, data_dir=tmp_path_factory.mktemp("tutorial-demo"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_tutorial_parses() -> None:
    """The harness sees the tutorial's sessions (a format slip would silently skip them)."""
    found = steps(TUTORIAL.read_text(encoding="utf-8"))
    assert len(found) >= 25
    assert all(s.expected or s.completes or s.line.startswith(("output", "set ", "trace off")) for s in found), \
        [s.line for s in found if not s.expected]


def test_every_command_of_the_tutorial_shows_what_it_says(tutorial_demo: object, tmp_path: Path) -> None:
    port = tutorial_demo.port  # type: ignore[attr-defined]
    transcript: list[str] = []
    (tmp_path / "received").mkdir()  # the demo's own output directory exists too
    with ShellDriver(home=tmp_path / "home", width=WIDTH) as shell:
        shown = shell.line(f"connect 127.0.0.1 {port} --aec GETSH-DEMO; output {tmp_path / 'received'}")
        assert "associated with GETSH-DEMO" in shown, shown
        for step in steps(TUTORIAL.read_text(encoding="utf-8")):
            if step.completes:
                shell.type(step.line[: -len(TAB)], "\t")
                offered = shell.completions()
                shell.type("\x15")  # Ctrl-U: the line was for its menu only
                transcript += [f"getsh> {step.line}", *(f"  {text}  {note}" for text, note in offered.items())]
                for want in step.expected:
                    word, _, note = want.strip().partition(" ")
                    assert word in offered, f"tutorial.md:{step.where}: {step.line!r} does not offer {word}"
                    assert pattern(note.strip()).match(offered[word]), \
                        f"tutorial.md:{step.where}: {word} is offered with {offered[word]!r}, not {note.strip()!r}"
                continue
            shown = shell.line(step.line, timeout=60)
            transcript += [f"getsh> {step.line}", *shown.rstrip("\n").splitlines()]
            lost = missing(step.expected, shown)
            assert lost is None, f"tutorial.md:{step.where}: {step.line!r} did not show\n  {lost}\nbut:\n{shown}"
            assert shell.alive, f"tutorial.md:{step.where}: the shell ended at {step.line!r}"
    if os.environ.get("GETSH_TUTORIAL_TRANSCRIPT"):
        Path(os.environ["GETSH_TUTORIAL_TRANSCRIPT"]).write_text("\n".join(transcript) + "\n", encoding="utf-8")
