"""``parallel N`` keeps its N associations with the session, as the shell keeps its one (net/spares.py).

What a user gets: ``connect`` with ``parallel N`` set opens all N and says so (and what the peer
refused); a get spreads over them at once and leaves them open; the next get uses the same ones;
a setting that needs renegotiation, or the peer closing one meanwhile, gets fresh ones without a
word of failure; and a peer that limits associations is named at ``connect``, not half-way through
a get. Counted at the archive: which associations served each C-GET.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pynetdicom import evt

from getsh.dicom.demo.server import DemoServer
from getsh.dicom.events import Received
from getsh.exitstatus import ExitStatus
from tests.interop.test_parallel import (  # noqa: F401
    Study,
    interrupt_once,
    same_as_source,
    session,
    shells,
    spread_counts,
    study,
)
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

GET = "get --exact QueryRetrieveLevel=PATIENT PatientID=DEMO001"


class CountingDemo(DemoServer):
    """The demo archive, noting which association served each C-GET."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.served: list[Any] = []  # the association of each C-GET, in order (held: their id()s stay unique)
        self.message_ids: dict[int, list[int]] = {}  # each association's C-GET Message IDs, in order
        self.lock = threading.Lock()

    def _on_get(self, event: Any) -> Iterator[Any]:
        with self.lock:
            self.served.append(event.assoc)
            self.message_ids.setdefault(id(event.assoc), []).append(int(event.request.MessageID))
        yield from super()._on_get(event)

    def since(self, mark: int) -> set[int]:
        """The associations that served the C-GETs from the mark-th on (their id()s)."""
        with self.lock:
            return {id(assoc) for assoc in self.served[mark:]}

    def open_associations(self) -> list[Any]:
        return [a for a in self._server.active_associations if a.is_established]


def _held(demo: DemoServer) -> dict[str, Path]:
    return {e.sop_instance_uid: e.path for e in demo.entries if e.patient_id == "DEMO001"}


def _settled(condition: Any, limit: float = 5.0) -> bool:
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return bool(condition())


def test_connect_opens_all_n_and_the_next_get_uses_the_same_ones(make_demo_server: Any, shells: list[Shell],  # noqa: F811
                                                                 tmp_path: Path) -> None:
    demo: CountingDemo = make_demo_server(CountingDemo)
    held = _held(demo)
    shell = Shell(width=1000)
    shells.append(shell)
    status, shown = shell.run(f"set parallel 3; connect 127.0.0.1 {demo.port} --aec {demo.ae_title}")
    assert status is ExitStatus.SUCCESS, shown
    assert "parallel 3: 2 more associations open for spreading a get" in " ".join(shown.split()), shown
    assert _settled(lambda: len(demo.open_associations()) == 3)
    status, shown = shell.run("status")
    assert "parallel 2 more associations open, kept for spreading a get" in " ".join(shown.split()), shown

    first_out, second_out = tmp_path / "first", tmp_path / "second"
    first_out.mkdir()
    second_out.mkdir()
    status, shown = shell.run(f"output {first_out}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(first_out, held)) == sorted(held)
    associations, counts = spread_counts(shown)
    assert associations == 3 and sum(counts) == len(held) and all(counts), shown
    first = demo.since(0)
    assert len(first) == 3, "each association served C-GETs"
    assert len(demo.open_associations()) == 3  # none released: kept for the next get

    mark = len(demo.served)
    status, shown = shell.run(f"output {second_out}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(second_out, held)) == sorted(held)
    assert demo.since(mark) == first, "the second get used the same three associations"

    # Timeouts are not negotiated: kept associations take the settings' as they are taken.
    status, shown = shell.run("set dimse-timeout 7")
    assert status is ExitStatus.SUCCESS, shown
    taken = shell.ctx.kept_associations(2)
    assert [assoc.dimse_timeout for assoc, _ in taken] == [7, 7]
    for assoc, message_id in taken:
        shell.ctx.keep_association(assoc, message_id)

    # parallel back to 1: the next command on the association lets the other two go.
    status, shown = shell.run("set parallel 1; echo")
    assert status is ExitStatus.SUCCESS, shown
    assert _settled(lambda: len(demo.open_associations()) == 1)
    status, shown = shell.run("status")
    assert "kept for spreading" not in shown, shown

    shell.run(f"set parallel 3; connect 127.0.0.1 {demo.port} --aec {demo.ae_title}")
    assert _settled(lambda: len(demo.open_associations()) == 3)
    shell.close()  # the end of the session releases them all
    assert _settled(lambda: not demo.open_associations())


def test_a_renegotiating_setting_or_a_peer_closing_one_gets_fresh_ones(make_demo_server: Any,
                                                                       shells: list[Shell],  # noqa: F811
                                                                       tmp_path: Path) -> None:
    demo: CountingDemo = make_demo_server(CountingDemo)
    held = _held(demo)
    shell = session(shells, f"connect 127.0.0.1 {demo.port} --aec {demo.ae_title}", tmp_path / "a", "set parallel 3")
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    first = demo.since(0)
    assert len(first) == 3 and _settled(lambda: len(demo.open_associations()) == 3)

    # The peer aborts one of the kept associations while the shell is idle: the next get opens another in
    # its place, and says nothing of it (no association ended under a share).
    kept = [a for a in demo.open_associations() if id(a) in first]
    kept[0].abort()
    (tmp_path / "b").mkdir()
    mark = len(demo.served)
    status, shown = shell.run(f"output {tmp_path / 'b'}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(tmp_path / "b", held)) == sorted(held)
    assert "ended" not in shown and "could not" not in shown, shown
    second = demo.since(mark)
    assert len(second) == 3 and len(second & first) == 2, "two kept, one new"

    # A setting that needs renegotiation: the session's association and the kept ones are all replaced.
    (tmp_path / "c").mkdir()
    mark = len(demo.served)
    status, shown = shell.run(f"set max-pdu 32768; output {tmp_path / 'c'}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(tmp_path / "c", held)) == sorted(held)
    third = demo.since(mark)
    assert len(third) == 3 and not third & second, "three fresh associations"
    assert _settled(lambda: len(demo.open_associations()) == 3), "the old ones were released"


def test_a_peer_that_allows_fewer_says_so_at_connect(make_dcmqrscp: Any, shells: list[Shell],  # noqa: F811
                                                     study: Study, tmp_path: Path) -> None:  # noqa: F811
    """dcmqrscp with MaxAssociations 2 and parallel 4: connect names the limit; the get spreads over
    what was opened and brings everything."""
    peer = make_dcmqrscp(study.files.values(), max_associations=2)
    out = tmp_path / "out"
    out.mkdir()
    shell = Shell(width=1000)
    shells.append(shell)
    status, shown = shell.run(f"set model study; set parallel 4; output {out}; "
                              f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title}")
    assert status is ExitStatus.SUCCESS, shown
    flat = " ".join(shown.split())
    assert re.search(r"parallel 4: 1 more association open for spreading a get; 2 could not be opened "
                     r"\(association rejected .{0,120}?local limit exceeded.{0,120}?\): a get spreads over 2 at most",
                     flat), shown
    status, shown = shell.run(study.get())
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(out, study.files)) == sorted(study.files)
    _, counts = spread_counts(shown)
    assert sum(counts) == len(study.files) and sum(1 for c in counts if c) == 2, shown  # the session's and the kept one


class SlowToAccept(CountingDemo):
    """The demo archive, answering the third association it is asked for half a second late, and noting
    when each C-GET came."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requested = 0
        self.accepted_late_at = 0.0
        self.get_times: list[float] = []

    def start(self) -> int:
        port = super().start()
        self._server.bind(evt.EVT_REQUESTED, self._on_requested)
        return port

    def _on_requested(self, event: Any) -> None:
        with self.lock:
            self.requested += 1
            late = self.requested == 3
        if late:
            time.sleep(0.5)
            self.accepted_late_at = time.monotonic()

    def _on_get(self, event: Any) -> Iterator[Any]:
        self.get_times.append(time.monotonic())
        yield from super()._on_get(event)


def test_no_association_retrieves_before_every_one_is_open(make_demo_server: Any, shells: list[Shell],  # noqa: F811
                                                           tmp_path: Path) -> None:
    """An archive may set up an association under a lock the running retrieves hold (dcmqrscp's index
    lock): a get whose associations open as it starts sends no C-GET until the slowest is open."""
    demo: SlowToAccept = make_demo_server(SlowToAccept)
    held = _held(demo)
    shell = session(shells, f"connect 127.0.0.1 {demo.port} --aec {demo.ae_title}", tmp_path / "out",
                    "set parallel 3")  # after connect: the get opens the two others
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(tmp_path / "out", held)) == sorted(held)
    assert demo.accepted_late_at and demo.get_times, shown
    assert min(demo.get_times) >= demo.accepted_late_at, "a C-GET went out before the third association was open"
    assert len(demo.since(0)) == 3, shown


class SlowShares(CountingDemo):
    """The demo archive, sending each object 0.1 s late: a get long enough to press Ctrl-C in."""

    def _on_get(self, event: Any) -> Iterator[Any]:
        for n, item in enumerate(super()._on_get(event)):
            if n:
                time.sleep(0.1)
            yield item


def test_after_ctrl_c_the_next_get_reuses_the_associations_with_new_message_ids(
        make_demo_server: Any, shells: list[Shell], tmp_path: Path) -> None:  # noqa: F811
    """Ctrl-C cancels every association's C-GET; those that ended in step are kept, and the next get runs
    on them, each association's Message IDs still rising."""
    demo: SlowShares = make_demo_server(SlowShares)
    held = _held(demo)
    shell = session(shells, f"set parallel 3; connect 127.0.0.1 {demo.port} --aec {demo.ae_title}",
                    tmp_path / "a")
    assert _settled(lambda: len(demo.open_associations()) == 3)
    interrupt_once(shell, Received, 4)
    status, shown = shell.run(GET)
    assert status is ExitStatus.WARNING, shown  # cancelled: not a complete retrieve
    assert "cancelled at your request" in " ".join(shown.split()), shown
    del shell.runner.renderer.show  # no more Ctrl-C
    first = demo.since(0)
    assert len(first) == 3, shown
    assert _settled(lambda: len(demo.open_associations()) == 3), "kept after the cancel"
    (tmp_path / "b").mkdir()
    mark = len(demo.served)
    status, shown = shell.run(f"output {tmp_path / 'b'}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(tmp_path / "b", held)) == sorted(held)
    assert demo.since(mark) == first, "the same three associations"
    for ids in demo.message_ids.values():
        assert ids == sorted(ids) and len(set(ids)) == len(ids), demo.message_ids  # rising, none reused
