"""A parallel retrieve against an archive whose C-FIND never answers (what no real peer here can be
made to do): the plan waits on it, and Ctrl-C must still end the get — the first press sends a
C-CANCEL the archive ignores, the second aborts the plan's C-FIND and the shell carries on, its next
command associating afresh."""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from tests.faults.fake_peers import SYNTAXES, FakeQR, sends, wait_for
from tests.faults.raw_peers import command, p_data, send_raw
from tests.interop.test_cancel import ctrl_c
from tests.shell_driver import ShellDriver

FindScript = Callable[["FindingFake", Any], Iterator[Any]]  # (the fake, pynetdicom's C-FIND event): the answers


class FindingFake(FakeQR):
    """A C-GET SCP whose C-FIND answers with ``find``, which the plan of a parallel get meets."""

    def __init__(self, find: FindScript) -> None:
        super().__init__(sends([]))
        self._ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind, SYNTAXES)
        self.find = find
        self.finds = 0

    def start(self) -> int:
        port = super().start()
        self._server.bind(evt.EVT_C_FIND, self._on_find)
        return port

    def _on_find(self, event: Any) -> Iterator[Any]:
        self.finds += 1
        yield from self.find(self, event)


def says_nothing(fake: FindingFake, event: Any) -> Iterator[Any]:
    """No response at all, whatever comes (C-CANCEL too), until the test ends."""
    fake.release.wait(30)
    yield 0xC000, None


@pytest.fixture
def silent() -> Iterator[FindingFake]:
    peer = FindingFake(says_nothing)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def test_two_ctrl_c_end_a_parallel_get_whose_plan_the_archive_never_answers(silent: FindingFake,
                                                                            tmp_path: Path) -> None:
    with ShellDriver(key_delay=0.05) as driver:
        driver.line(f"connect 127.0.0.1 {silent.port} --aec FAKE-QR")
        driver.line(f"output {tmp_path}; set model study; set parallel 4")
        count = driver.lines_run
        driver.type("get StudyInstanceUID=1.2.3", "\r")
        wait_for(lambda: silent.finds == 1, 10, "the plan's C-FIND")
        # The first press sends a C-CANCEL the archive ignores (or, landing while the plan's exchange is
        # half done, aborts it at once, as a serial get's Ctrl-C does); a second ends the get for sure.
        ctrl_c(driver)
        driver.wait_idle(count, timeout=1)
        if driver.lines_run == count:
            ctrl_c(driver)
            driver.wait_idle(count, timeout=10)
        assert driver.lines_run == count + 1, "two Ctrl-C did not end a get stalled in its plan"
        assert driver.alive
        def left() -> list[str]:
            return [t.name for t in threading.enumerate() if t.name.startswith(("getsh-plan", "getsh-lane"))]

        wait_for(lambda: not left(), 5, "the plan's and the lanes' threads to end")
        shown = driver.line("echo")  # the session's association was aborted: the next command re-associates
        assert "associated with FAKE-QR" in shown and "C-ECHO Success" in shown, shown
    assert not list(tmp_path.iterdir())


def strays(fake: FindingFake, event: Any) -> Iterator[Any]:
    """Two matches, then a response to a request getsh never sent (written raw on the socket), then nothing."""
    for n in range(2):
        match = Dataset()
        match.QueryRetrieveLevel = "IMAGE"
        match.StudyInstanceUID, match.SeriesInstanceUID, match.SOPInstanceUID = "1.2.3", "1.2.3.1", f"1.2.3.1.{n}"
        yield 0xFF00, match
    stray = command({0x0002: StudyRootQueryRetrieveInformationModelFind.encode(), 0x0100: struct.pack("<H", 0x8020),
                     0x0120: struct.pack("<H", 999), 0x0800: struct.pack("<H", 0x0101),
                     0x0900: struct.pack("<H", 0x0000)})
    send_raw(event.assoc, p_data(int(event.context.context_id), 0x03, stray))
    fake.release.wait(30)
    yield 0xC000, None


def test_a_plan_answered_out_of_turn_is_named_and_the_shell_carries_on(tmp_path: Path) -> None:
    """The plan's C-FIND (getsh's direct path) gets a C-FIND-RSP to another message: one line names it,
    the association is aborted at once (not after a timeout), and the next command associates afresh."""
    peer = FindingFake(strays)
    peer.start()
    try:
        with ShellDriver() as driver:
            driver.line(f"connect 127.0.0.1 {peer.port} --aec FAKE-QR")
            driver.line(f"output {tmp_path}; set model study; set parallel 2; set dimse-timeout 20")
            began = time.monotonic()
            shown = driver.line("get StudyInstanceUID=1.2.3")
            assert time.monotonic() - began < 10, "the peer's stray response was not seen at once"
            line = next((x for x in shown.splitlines() if "C-FIND-RSP to message 999" in x), "")
            assert "not to this request" in line and "the association was aborted" in line, shown
            assert driver.alive
            shown = driver.line("echo")
            assert "associated with FAKE-QR" in shown and "C-ECHO Success" in shown, shown
    finally:
        peer.stop()
    assert not list(tmp_path.iterdir())
