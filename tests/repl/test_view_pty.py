"""view in a real terminal (tmux, 24-bit colour) after a real get from the demo archive: the colours on the
screen, as capture-pane -e keeps them, and the shell going on after it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from tests.repl.test_pty import Terminal, start_terminal

pytestmark = pytest.mark.repl

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def coloured_screen(term: Terminal) -> str:
    return subprocess.run([*term.base, "capture-pane", "-p", "-e", "-t", "t"], capture_output=True, text=True).stdout


def test_view_draws_the_ct_slice_in_colour_in_the_terminal(tmp_path: Path, archive: list[ArchiveEntry]) -> None:
    uid = next(e.study_uid for e in archive if e.patient_id == "DEMO001" and e.modality == "CT")
    term = start_terminal(tmp_path, "--demo", width=160, height=50, env="COLORTERM=truecolor")
    try:
        term.wait_for("[open")
        term.keys(f"get StudyInstanceUID={uid}", "Enter")
        term.wait_for("C-GET Success")
        term.keys("clear", "Enter", "view 1", "Enter")
        screen = term.wait_for("1: CT Image Storage")
        picture = [line for line in screen.splitlines() if "▀" in line]
        assert 30 <= len(picture) <= 50 - 5  # fits the terminal (less the prompt and its toolbar): 2 pixels a line
        assert all(len(line.rstrip()) <= 160 for line in picture)
        codes = " ".join(SGR.findall(coloured_screen(term)))
        assert "38;2;255;255;255" in codes and "48;2;0;0;0" in codes  # the bone ring white, the air black
        assert re.search(r"38;2;(1[23][0-9]);\1;\1", codes)  # soft tissue: mid grey, at the window's centre
        term.keys("view 9", "Enter")
        screen = term.wait_for("Lungs are clear.")
        assert "9: Basic Text SR Storage" in screen
        term.keys("view 1 --frame 3", "Enter")
        term.wait_for("there is no frame 3")
        term.keys("echo", "Enter")
        term.wait_for("C-ECHO Success")  # the shell is alive and associated
    finally:
        term.close()
