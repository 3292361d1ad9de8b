"""``get`` against peers that never end a retrieve by themselves: pending responses for ever, a data
set trickling in under the DIMSE timeout, C-STOREs without end, a peer that ignores C-CANCEL.
The bounds of a retrieve (no-progress-timeout, retrieve-timeout, max-objects, max-bytes) cancel it
and cancel-grace aborts a C-CANCEL left unanswered, on both receive paths.

Each test asserts the line shown, the exit status, the files on disk (whole, nothing partial) and
that the shell carries on (the next get re-associates when the association was aborted). Limits
are short here (seconds) and the durations asserted generous.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from getsh.dicom.events import Received
from getsh.dicom.storage.outcomes import StorageError
from getsh.dicom.storage.store import Storage
from getsh.exitstatus import ExitStatus
from tests.faults.endless_peers import (
    endless_object,
    miscounts,
    pending_forever,
    sends_slowly,
    stores_without_end,
    trickles,
)
from tests.faults.fake_peers import FakeQR, make_objects, sends
from tests.faults.raw_peers import final_response, send_raw, then_raw
from tests.faults.test_get_faults import GET, assert_complete, connect, error_lines, everything, start
from tests.shell_driver import Shell, run_getsh

SHORT = ("set no-progress-timeout 2", "set cancel-grace 1")


@pytest.fixture(autouse=True, params=["direct", "pynetdicom"])
def receive_path(request: pytest.FixtureRequest, shell: Shell) -> str:
    """Every case on both receive paths: getsh's direct one (``receive auto``) and pynetdicom's own."""
    shell.ctx.settings.set("receive", "pynetdicom" if request.param == "pynetdicom" else "auto")
    return str(request.param)


def still_works(shell: Shell, peer: FakeQR, tmp_path: Path, *, reassociates: bool) -> None:
    """The next get works, on a new association if the last one was aborted."""
    objects = make_objects(2, tag="7")
    peer.script = sends(objects)
    again = tmp_path / "again"
    again.mkdir()
    status, shown = shell.run(f"output {again}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert ("associated with FAKE-QR" in shown) is reassociates, shown
    assert_complete(again, objects)


# --- item 7: the peer keeps the retrieve going without progress -----------------------------------

def test_pending_for_ever_is_cancelled_then_aborted(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """Pending responses keep the association busy (no DIMSE timeout fires); no object comes. After
    no-progress-timeout getsh sends C-CANCEL, which this peer ignores: after cancel-grace it aborts."""
    peer = start(fake, FakeQR(pending_forever(0.3)))
    connect(shell, peer, tmp_path, "set dimse-timeout 3", *SHORT)
    assoc = shell.ctx.session.link.assoc
    began = time.monotonic()
    status, shown = shell.run(GET)
    took = time.monotonic() - began

    assert status is ExitStatus.NETWORK, shown
    assert 2.5 < took < 15, shown
    assert peer.cancels == 1
    assert ("C-CANCEL sent because no object completed in 2 s (no-progress-timeout 2): waiting for the "
            "peer's final response up to 1 s (cancel-grace)") in shown
    (line,) = error_lines(shown)
    assert re.fullmatch(r"error: C-GET cancelled because no object completed in 2 s \(no-progress-timeout 2\) "
                        r"and aborted when the peer had not ended the "
                        r"retrieve 1 s after the C-CANCEL \(cancel-grace 1\), after \d+\.\d s — the next command "
                        "re-associates", line), line
    assert everything(tmp_path) == []
    assert assoc is not None and not assoc.is_established
    still_works(shell, peer, tmp_path, reassociates=True)


@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
def test_a_trickle_under_the_dimse_timeout_is_no_progress(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                          storage: str) -> None:
    """One byte a second under a 5 s DIMSE timeout: the per-message timer never fires, no-progress does.
    The objects before it are kept whole; the one that trickled leaves nothing behind."""
    objects = make_objects(3)
    peer = start(fake, FakeQR(trickles(objects[:2], objects[2], interval=0.7)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, "set dimse-timeout 5", f"storage {storage}", *SHORT)
    began = time.monotonic()
    status, shown = shell.run(GET)
    took = time.monotonic() - began

    assert status is ExitStatus.NETWORK, shown
    assert took < 15, shown
    (line,) = error_lines(shown)
    assert line.startswith("error: C-GET cancelled because no object completed in 2 s (no-progress-timeout 2) "
                           "and aborted when the peer had not ended the "
                           "retrieve 1 s after the C-CANCEL (cancel-grace 1), after "), line
    assert line.endswith("; 2 objects received before that were kept — the next command re-associates"), line
    assert_complete(out, objects[:2])
    still_works(shell, peer, tmp_path, reassociates=True)


def test_a_slow_steady_peer_is_progress(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """An object every 0.4 s under a 1 s no-progress-timeout: each object is progress; nothing is cut."""
    objects = make_objects(8)
    peer = start(fake, FakeQR(sends(objects, delay=0.4)))
    connect(shell, peer, tmp_path, "set no-progress-timeout 1", "set cancel-grace 1")
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    assert peer.cancels == 0 and "C-CANCEL" not in shown
    assert "sub-operations: 8 completed, 0 failed, 0 warning (the peer's counts); getsh received 8" in shown
    assert_complete(tmp_path, objects)


def test_a_big_object_on_a_slow_link_is_progress(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """A 4 MB object at about 1.3 MB/s takes longer than a 2 s no-progress-timeout; each MiB of it
    is progress, so it is not cut (a 1.5 GB object on a slow link must not be, by default)."""
    (big,) = make_objects(1, pixels=4096)
    big.Rows, big.PixelData = 1024, bytes(range(256)) * 4096 * 4
    peer = start(fake, FakeQR(sends_slowly(big, per_second=1_300_000)))
    connect(shell, peer, tmp_path, "set max-pdu 16384", *SHORT)
    began = time.monotonic()
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    assert time.monotonic() - began > 2.2, "the object came too fast to test anything"
    assert peer.cancels == 0 and "C-CANCEL" not in shown
    assert_complete(tmp_path, [big])
    shell.close()  # the fake sent a raw final response: pynetdicom's own is still due on this association


# --- item 7: caps and the retrieve's deadline ------------------------------------------------------

@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
def test_c_stores_without_end_stop_at_max_objects(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                  storage: str) -> None:
    """The cap is exact: the C-CANCEL goes out before the capping object's C-STORE-RSP, the peer
    stops there, the association stays open for the next command."""
    peer = start(fake, FakeQR(stores_without_end()))
    connect(shell, peer, tmp_path, "set max-objects 5", f"storage {storage}")
    assoc = shell.ctx.session.link.assoc
    status, shown = shell.run(GET)

    assert status is ExitStatus.LIMIT, shown
    assert peer.cancels == 1
    assert "C-CANCEL sent at 5 objects (max-objects 5): waiting for the peer's final response" in shown
    assert ("C-GET Cancel: Sub-operations terminated due to Cancel indication (0xFE00) — cancelled at 5 objects "
            "(max-objects 5)") in shown
    assert "getsh received 5" in shown and "counts do not add up" not in shown, shown
    sent = [endless_object(n) for n in range(1, 6)]
    assert_complete(tmp_path, sent)
    assert [r.sop_instance_uid for r in shell.ctx.session.received] == [ds.SOPInstanceUID for ds in sent]
    assert shell.ctx.session.link.assoc is assoc and assoc is not None and assoc.is_established
    shell.run("set max-objects unlimited")
    still_works(shell, peer, tmp_path, reassociates=False)


def test_max_bytes_cancels_after_the_object_that_reaches_it(shell: Shell, fake: list[FakeQR],
                                                            tmp_path: Path) -> None:
    peer = start(fake, FakeQR(stores_without_end(pixels=4096)))
    connect(shell, peer, tmp_path, "set max-bytes 10K")
    status, shown = shell.run(GET)
    assert status is ExitStatus.LIMIT, shown
    sizes = [r.size for r in shell.ctx.session.received]
    assert sum(sizes) >= 10240 and sum(sizes[:-1]) < 10240, sizes  # the object that reached it is kept whole
    assert f"— cancelled at {sum(sizes) / 1024:.1f} KB received (max-bytes 10240)" in shown, shown
    assert len(list(tmp_path.iterdir())) == len(sizes)


def test_retrieve_timeout_cancels_a_retrieve_that_goes_on(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    peer = start(fake, FakeQR(stores_without_end(delay=0.2)))
    connect(shell, peer, tmp_path, "set retrieve-timeout 1.5", "set no-progress-timeout unlimited")
    began = time.monotonic()
    status, shown = shell.run(GET)
    assert status is ExitStatus.LIMIT, shown
    assert time.monotonic() - began < 10
    assert "— cancelled because the retrieve took 1.5 s (retrieve-timeout 1.5)" in shown, shown
    got = len(shell.ctx.session.received)
    assert 2 <= got < 30 and len(list(tmp_path.iterdir())) == got


def test_a_cap_against_a_peer_that_ignores_c_cancel(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """The C-CANCEL at the cap is ignored: cancel-grace later the association is aborted; what came
    meanwhile is kept whole."""
    peer = start(fake, FakeQR(stores_without_end(delay=0.1, honour_cancel=False)))
    connect(shell, peer, tmp_path, "set max-objects 3", "set cancel-grace 1")
    began = time.monotonic()
    status, shown = shell.run(GET)
    assert status is ExitStatus.NETWORK, shown
    assert time.monotonic() - began < 10
    got = len(shell.ctx.session.received)
    assert 3 <= got < 40
    (line,) = error_lines(shown)
    assert re.fullmatch(r"error: C-GET cancelled at 3 objects \(max-objects 3\) and aborted when the peer had "
                        r"not ended the retrieve 1 s after the C-CANCEL \(cancel-grace 1\), after \d+\.\d s; "
                        rf"{got} objects received before that were kept — the next command re-associates", line), line
    assert len(list(tmp_path.iterdir())) == got
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    still_works(shell, peer, tmp_path, reassociates=True)


# --- also cover: Ctrl-C against a peer that ignores C-CANCEL ------------------------------------------

def test_ctrl_c_is_followed_by_an_abort_after_the_grace(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """One Ctrl-C is enough: a peer that ignores the C-CANCEL is aborted cancel-grace seconds later."""
    objects = make_objects(60)
    peer = start(fake, FakeQR(sends(objects, delay=0.1, honour_cancel=False)))
    connect(shell, peer, tmp_path, "set cancel-grace 1")
    show = shell.runner.renderer.show
    seen = [0]

    def drawing(obj: object) -> None:  # Ctrl-C while the third object is drawn
        show(obj)
        if isinstance(obj, Received):
            seen[0] += 1
            if seen[0] == 3:
                raise KeyboardInterrupt

    shell.runner.renderer.show = drawing  # type: ignore[method-assign]
    began = time.monotonic()
    status, shown = shell.run(GET)
    took = time.monotonic() - began
    del shell.runner.renderer.show

    assert status is ExitStatus.NETWORK, shown
    assert peer.cancels == 1 and took < 5, (took, shown)
    got = len(shell.ctx.session.received)
    assert 3 <= got < 40
    assert ("C-CANCEL sent: waiting for the peer's final response (Ctrl-C again aborts the association), up to "
            "1 s (cancel-grace)") in shown
    (line,) = error_lines(shown)
    assert re.fullmatch(r"error: C-GET cancelled at your request and aborted when the peer had not ended the "
                        r"retrieve 1 s after the C-CANCEL \(cancel-grace 1\), after \d+\.\d s; "
                        rf"{got} objects received before that were kept — the next command re-associates", line), line
    assert_complete(tmp_path, objects[:got])
    still_works(shell, peer, tmp_path, reassociates=True)


# --- the mode default: on in the shell, off in getsh get ------------------------------------------

def test_one_shot_get_has_no_no_progress_timeout_unless_asked(fake: list[FakeQR], tmp_path: Path,
                                                               receive_path: str) -> None:
    """getscu has no such limit, so 'getsh get' has none by default; --no-progress-timeout sets one."""
    peer = start(fake, FakeQR(pending_forever(0.3)))
    receive = [] if receive_path == "direct" else ["-d"]  # -d: pynetdicom's own receive path
    args = ["get", *receive, "-aec", "FAKE-QR", "-od", str(tmp_path), "--no-progress-timeout", "1.5",
            "--cancel-grace", "1", "127.0.0.1", str(peer.port), "-k", "QueryRetrieveLevel=PATIENT",
            "-k", "PatientID=FAKE001"]
    done = run_getsh(args, timeout=60)
    assert done.returncode == ExitStatus.NETWORK, done.stdout + done.stderr
    assert "no object completed in 1.5 s (no-progress-timeout 1.5)" in (
        done.stdout + done.stderr)

    from getsh.settings import Settings
    assert Settings.for_mode("get")["no-progress-timeout"] is None
    assert Settings.for_mode("shell")["no-progress-timeout"] == 300
    assert Settings.for_mode("run")["no-progress-timeout"] == 300


# --- item 8: counts that do not add up ------------------------------------------------------------

@pytest.mark.parametrize(("status", "completed", "failed", "exit_status", "line"), [
    (0xB000, 7, 9, ExitStatus.SUBOPS_FAILED, "the peer reports 7 completed + 9 failed, getsh received 1; it had "
                                              "announced 1 sub-operation"),
    (0x0000, 5, 0, ExitStatus.SUBOPS_FAILED, "the peer reports 5 completed + 0 failed, getsh received 1; it had "
                                              "announced 1 sub-operation"),
])
def test_counts_that_do_not_add_up_are_flagged(shell: Shell, fake: list[FakeQR], tmp_path: Path, status: int,
                                               completed: int, failed: int, exit_status: ExitStatus,
                                               line: str) -> None:
    """The peer's final counts claim objects that never arrived: one line says so, and a Success
    that lost objects is not a success."""
    objects = make_objects(1)
    peer = start(fake, FakeQR(miscounts(objects, status=status, completed=completed, failed=failed)))
    connect(shell, peer, tmp_path)
    got, shown = shell.run(GET)
    assert got is exit_status, shown
    assert f"counts do not add up: {line}" in shown, shown
    assert (f"sub-operations: {completed} completed, {failed} failed, 0 warning (the peer's counts); "
            "getsh received 1") in shown
    assert_complete(tmp_path, objects)


def test_objects_getsh_refused_are_counted_beside_the_peers(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """getsh refuses the second object itself; the summary says so beside the peer's counts, which
    (the peer counting our refusal as failed) add up."""
    objects = make_objects(3)
    store = Storage.store_dataset

    def refusing(self: Storage, dataset: Any, meta: Any, *more: Any) -> Any:
        if str(meta.sop_instance_uid) == str(objects[1].SOPInstanceUID):
            raise StorageError("no room for it", dimse_status=0xA700)
        return store(self, dataset, meta, *more)

    monkeypatch.setattr(Storage, "store_dataset", refusing)
    peer = start(fake, FakeQR(sends(objects)))
    connect(shell, peer, tmp_path)
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUBOPS_FAILED, shown
    assert "sub-operations: 2 completed, 1 failed, 0 warning (the peer's counts); getsh received 3, refused 1" in shown
    assert "counts do not add up" not in shown
    assert_complete(tmp_path, [objects[0], objects[2]])


def test_the_object_in_flight_at_a_cancel_is_counted_beside_the_peers(shell: Shell, fake: list[FakeQR],
                                                                       tmp_path: Path) -> None:
    """Issue 19: the C-CANCEL at max-objects goes out before the capping object's C-STORE-RSP; a peer
    that honours it may count that object as not started though it sent it (Orthanc does). getsh kept
    it: both counts are shown, and the line says which object it is."""
    objects = make_objects(5)
    peer = start(fake, FakeQR(then_raw(objects, lambda event, _: send_raw(
        event.assoc, final_response(event, 0xFE00, completed=4, remaining=2)), stall=False)))
    connect(shell, peer, tmp_path, "set max-objects 5")
    status, shown = shell.run(GET)
    assert status is ExitStatus.LIMIT, shown
    assert peer.cancels == 1
    assert ("sub-operations: 4 completed, 0 failed, 0 warning, 2 not started (the peer's counts); "
            "getsh received 5\n") in shown, shown
    assert ("counts do not add up: the peer reports 4 completed + 0 failed + 2 not started, getsh received 5: "
            "the object in flight at the C-CANCEL arrived whole and was kept; the peer does not count it\n"
            ) in shown, shown
    assert_complete(tmp_path, objects)
    shell.close()  # the fake's own final response is still due on this association


def test_a_large_object_on_its_way_shows_its_bytes_arriving(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """Issue 19: the progress bar learns the bytes of an object still arriving (``GetProgress.arrived``),
    so a single large object has a rate before it completes instead of "0 obj/s"."""
    from getsh.dicom.events import GetProgress

    (big,) = make_objects(1, pixels=4096)
    big.Rows, big.PixelData = 512, bytes(range(256)) * 4096 * 2
    peer = start(fake, FakeQR(sends_slowly(big, per_second=2_000_000)))
    connect(shell, peer, tmp_path, "set max-pdu 16384")
    seen: list[object] = []
    show = shell.runner.renderer.show

    def watching(obj: object) -> None:
        seen.append(obj)
        show(obj)

    shell.runner.renderer.show = watching  # type: ignore[method-assign]
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    first = next(n for n, item in enumerate(seen) if isinstance(item, Received))
    arriving = [item.arrived for item in seen[:first] if isinstance(item, GetProgress)]
    assert len(arriving) >= 2 and arriving == sorted(arriving) and 0 < arriving[0] < arriving[-1] < 2_200_000, arriving
    assert_complete(tmp_path, [big])
    shell.close()  # the fake sent a raw final response: pynetdicom's own is still due on this association
