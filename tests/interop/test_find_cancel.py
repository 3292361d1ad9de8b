"""Ctrl-C during find: C-CANCEL, the matches that arrived kept, the association kept; a peer that
ignores the C-CANCEL is aborted after cancel-grace; a second Ctrl-C aborts at once (issue 13).

The slow archive is getsh's demo SCP waiting before each match (it checks for C-CANCEL between
matches, as the demo does); the one that ignores C-CANCEL is the same with the check taken out — a
real peer cannot be made to do that.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from getsh.dicom.demo.server import DemoServer
from getsh.dicom.events import Found
from getsh.exitstatus import ExitStatus
from tests.faults.fake_peers import wait_for
from tests.interop.test_cancel import ctrl_c, interrupt_when, until
from tests.repl.test_pty import start_terminal
from tests.shell_driver import Shell, ShellDriver

pytestmark = pytest.mark.interop

FIND = "level IMAGE; find"  # 39 instances in the demo archive


class SlowFind(DemoServer):
    """The demo archive, ``delay`` seconds before each C-FIND match; with ``deaf``, it does not stop
    at a C-CANCEL and ends with Success as if none came."""

    delay = 0.0
    deaf = False

    def _on_find(self, event: Any) -> Iterator[Any]:
        if not self.deaf:
            for item in super()._on_find(event):
                if item[0] == 0xFF00 and self.delay:
                    time.sleep(self.delay)
                yield item
            return
        for rsp, _ in self._index.search("IMAGE", event.identifier):  # type: ignore[union-attr]
            time.sleep(self.delay)
            yield 0xFF00, rsp
        yield 0x0000, None


@pytest.fixture
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlowFind]:
    server = SlowFind(host="127.0.0.1", port=0, data_dir=tmp_path_factory.mktemp("slow-find"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def interrupt_on(shell: Shell, *counts: int) -> None:
    """Ctrl-C while the shell draws the n-th match, for each n in counts."""
    interrupt_when(shell, Found, *counts)


def test_ctrl_c_cancels_keeps_the_matches_and_the_association(shell: Shell, slow: SlowFind, tmp_path: Path) -> None:
    slow.delay = 0.05
    shell.run(f"connect 127.0.0.1 {slow.port}; output {tmp_path}")
    interrupt_on(shell, 3)
    status, shown = shell.run(FIND)
    assert "C-CANCEL sent: waiting for the peer's final response (Ctrl-C again aborts the association)" in shown
    assert "C-FIND 0xFE00 Cancel:" in shown and "cancelled at your request" in shown, shown
    kept = len(shell.ctx.session.found.rows)  # type: ignore[union-attr]
    assert 3 <= kept < 39 and f"{kept} matches at IMAGE level" in shown
    assert status is ExitStatus.WARNING  # cancelled: not everything the keys match was listed
    del shell.runner.renderer.show
    status, shown = shell.run("get 1")  # the same association serves the next command
    assert status is ExitStatus.SUCCESS and "associated" not in shown, shown
    assert len(list(tmp_path.iterdir())) == 1  # row 1's object, where the output setting says


def test_a_peer_that_ignores_c_cancel_is_aborted_after_the_grace(shell: Shell, slow: SlowFind) -> None:
    slow.delay, slow.deaf = 0.2, True
    shell.run(f"connect 127.0.0.1 {slow.port}; set cancel-grace 1")
    interrupt_on(shell, 2)
    started = time.monotonic()
    status, shown = shell.run(FIND)
    assert time.monotonic() - started < 6  # 39 × 0.2 s had it run to the end
    assert "C-FIND aborted the peer had not ended the C-FIND 1 s after C-CANCEL (cancel-grace)" in shown, shown
    assert "matches that arrived are kept" in shown and status is ExitStatus.NETWORK
    assert len(shell.ctx.session.found.rows) >= 2  # type: ignore[union-attr]
    del shell.runner.renderer.show
    slow.deaf = False
    slow.delay = 0.0
    status, shown = shell.run("find")
    assert status is ExitStatus.SUCCESS and "associated" in shown  # a new association, said so


def test_second_ctrl_c_in_the_real_repl_aborts(slow: SlowFind) -> None:
    slow.delay, slow.deaf = 0.3, True
    with ShellDriver() as driver:
        driver.line(f"connect 127.0.0.1 {slow.port}; set cancel-grace unlimited; level IMAGE")
        before = driver.lines_run
        driver.type("find", "\r")
        wait_for(lambda: driver.ctx.session.found is None and "matches so far" not in driver.out.getvalue()
                 and "C-FIND patient root" in driver.out.getvalue(), 10, "the find to start")
        time.sleep(0.8)
        ctrl_c(driver)
        wait_for(lambda: "C-CANCEL sent" in driver.out.getvalue(), 10, "the C-CANCEL")
        time.sleep(0.5)
        ctrl_c(driver)
        driver.wait_idle(before, 10)
        shown = driver.out.getvalue() + driver.err.getvalue()
        assert "C-FIND aborted at your request (a second Ctrl-C)" in shown, shown
        assert driver.alive
        slow.deaf, slow.delay = False, 0.0
        shown = driver.line("find")
        assert "39 matches" in shown and "associated" in shown, shown


def test_ctrl_c_in_a_real_terminal_while_the_table_grows(slow: SlowFind, tmp_path: Path) -> None:
    """C-c in tmux: a real SIGINT while the live table grows; the find is cancelled, the table of what
    arrived stays on the screen, and the prompt comes back on the same association."""
    slow.delay = 0.3
    term = start_terminal(tmp_path, "")
    try:
        term.wait_for("getsh>", 20)
        term.keys(f"connect 127.0.0.1 {slow.port}", "Enter")
        term.wait_for("associated with", 10)
        term.keys("level IMAGE", "Enter", "find", "Enter")
        term.wait_for("matches so far", 10)
        term.keys("C-c")
        term.wait_for("cancelled at your request", 10)
        until(lambda: term.screen().rfind("getsh>") > term.screen().find("cancelled at your request"), "the prompt",
              term.screen, 10)
        shown = term.screen()
        assert "C-CANCEL sent" in shown and "C-FIND 0xFE00 Cancel" in shown and "SOP Instance UID" in shown
        assert "matches so far" not in shown  # the live table made way for the final one
        term.keys("echo", "Enter")
        term.wait_for("C-ECHO Success", 10)
        assert "re-associating" not in term.screen()
    finally:
        term.close()
