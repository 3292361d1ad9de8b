"""The get summary's line about a serial C-GET that mostly waited for the archive (issue 17): when it shows,
its words, and the estimate of what several associations would gain."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console

from getsh.dicom.events import GetDone, Received
from getsh.dicom.retrieve.waits import Waits, estimate, suggested_associations
from getsh.dicom.status import decode
from getsh.shell.render import Renderer
from getsh.shell.tables import get_summary
from getsh.shell.waiting import waiting_line


def done_of(objects: int, seconds: float, waited: float | None, service: str = "C-GET") -> GetDone:
    received = tuple(Received(n, "1.2.840.10008.5.1.4.1.1.2", f"1.2.3.{n}", "1.2.840.10008.1.2.1", f"CT.{n}",
                              "written", 1000, output_dir="/out") for n in range(1, objects + 1))
    return GetDone("keys", decode(0, "get"), objects, 0, 0, 0, received, (), (), "", seconds, False,
                   service=service, waited=waited)


def test_the_line_says_how_long_it_waited_and_what_parallel_would_likely_gain() -> None:
    assert waiting_line(done_of(2000, 2.0, 1.7)) == (
        "waiting for the archive took 1.7 s of 2.0 s (85 %, 0.8 ms an object: round trips and the archive's own "
        "work); 'set parallel 8' would likely make this about 3.9× faster (an estimate: 8 associations overlap "
        "their waits, if the archive accepts that many at once)")
    assert waiting_line(done_of(40, 1.36, 1.28)) == (
        "waiting for the archive took 1.3 s of 1.4 s (94 %, 32 ms an object: round trips and the archive's own "
        "work); 'set parallel 8' would likely make this about 5.7× faster (an estimate: 8 associations overlap "
        "their waits, if the archive accepts that many at once)")


def test_a_one_shot_get_is_told_the_option() -> None:
    assert "'--parallel 8' would likely make this" in waiting_line(done_of(2000, 2.0, 1.7), one_shot=True)


@pytest.mark.parametrize(("objects", "seconds", "waited"), [
    (19, 10.0, 9.0),  # too few objects, however long the waits
    (20, 2.0, 0.99),  # under half the time
    (20, 0.9, 0.49),  # under half a second in all
    (2000, 0.0, 0.0),  # no time at all
])
def test_the_line_shows_only_when_it_matters(objects: int, seconds: float, waited: float) -> None:
    assert waiting_line(done_of(objects, seconds, waited)) == ""


def test_at_the_thresholds_it_shows() -> None:
    assert waiting_line(done_of(20, 1.0, 0.5)).startswith("waiting for the archive took 0.5 s of 1.0 s (50 %, 25 ms ")


def test_not_measured_or_a_move_says_nothing() -> None:
    assert waiting_line(done_of(2000, 2.0, None)) == ""  # e.g. a get merged from several associations
    assert waiting_line(done_of(2000, 2.0, 1.9, service="C-MOVE")) == ""


def test_a_wait_longer_than_the_get_is_taken_as_the_whole_get() -> None:
    line = waiting_line(done_of(100, 1.0, 1.2))
    assert line.startswith("waiting for the archive took 1.0 s of 1.0 s (100 %, 10 ms an object"), line
    assert "about 8.0× faster" in line  # all waiting: the associations are the bound


def test_the_estimate_overlaps_the_waits_and_keeps_the_rest() -> None:
    assert estimate(2.0, 1.5, 4) == pytest.approx(0.5 + 1.5 / 4)
    assert estimate(2.0, 3.0, 2) == pytest.approx(1.0)  # never more waiting than the whole
    assert estimate(2.0, 1.0, 1) == pytest.approx(2.0)


@pytest.mark.parametrize(("share", "objects", "associations", "faster"), [
    (0.5, 1000, 2, 1.33),  # twice as many again would gain too little to ask for
    (0.7, 1000, 4, 2.11),
    (0.85, 1000, 8, 3.90),
    (0.95, 5, 4, 3.48),  # no more associations than objects
    (0.95, 2, 2, 1.90),
    (0.3, 1000, 0, 1.0),  # not worth a second association
    (0.95, 1, 0, 1.0),
])
def test_the_suggestion_is_the_most_associations_still_worth_doubling(share: float, objects: int, associations: int,
                                                                      faster: float) -> None:
    n, gain = suggested_associations(10.0, 10.0 * share, objects)
    assert (n, round(gain, 2)) == (associations, faster)


def test_waits_add_up_from_our_part_to_the_peers_next_bytes() -> None:
    waits = Waits()
    waits.heard(1.0)  # bytes before anything was sent: no wait ran
    waits.idle(2.0)  # C-GET-RQ sent
    waits.heard(2.5)
    waits.heard(2.7)  # more of the same message: still no wait
    waits.idle(3.0)  # C-STORE-RSP sent
    waits.heard(3.25)
    waits.idle(4.0)  # a pending C-GET-RSP taken; the next C-STORE-RQ already in the same read
    waits.busy()
    waits.heard(9.0)
    assert waits.total == pytest.approx(0.75) and waits.since is None


def drawn(done: GetDone, next_steps: bool = True) -> str:
    console = Console(file=io.StringIO(), width=400, color_system=None)
    Renderer(console, console, next_steps=next_steps).show(done)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_summary_holds_the_line_after_the_received_line() -> None:
    lines = drawn(done_of(40, 1.36, 1.28)).splitlines()
    received = next(n for n, line in enumerate(lines) if line.startswith("received 40 objects"))
    assert lines[received + 1].startswith("waiting for the archive took 1.3 s of 1.4 s (94 %, 32 ms an object")
    assert "'--parallel 8'" in drawn(done_of(40, 1.36, 1.28), next_steps=False)  # getsh get …: the option
    assert "waiting" not in drawn(replace(done_of(40, 1.36, 1.28), waited=None))
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(get_summary(done_of(40, 1.36, 0.2)))
    assert "waiting" not in console.file.getvalue()  # type: ignore[attr-defined]
