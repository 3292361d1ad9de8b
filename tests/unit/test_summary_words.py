"""The words and rates of a retrieve's summary and progress bar (issue 19: "received 1 objects",
"(0 objects/s …)" on a single large object)."""

from __future__ import annotations

import io

from rich.console import Console

from getsh.dicom.events import GetDone, Received
from getsh.dicom.status import decode
from getsh.shell.progress import objects_words, per_second, rates
from getsh.shell.tables import get_summary


def summary_of(sizes: list[int], seconds: float) -> str:
    received = tuple(Received(n, "1.2.840.10008.5.1.4.1.1.2", f"1.2.3.{n}", "1.2.840.10008.1.2.1", f"CT.{n}",
                              "written", size, output_dir="/out") for n, size in enumerate(sizes, 1))
    done = GetDone("keys", decode(0, "get"), len(sizes), 0, 0, 0, received, (), (), "", seconds, False)
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(get_summary(done, 300))
    return next(line for line in console.file.getvalue().splitlines() if line.startswith("received "))  # type: ignore[attr-defined]


def test_one_large_object_is_one_object_at_its_bytes_a_second() -> None:
    assert summary_of([1_570_000_000], 3.96) == "received 1 object, 1.6 GB in 3.96 s (396.5 MB/s) into /out"


def test_a_slow_rate_keeps_its_digits() -> None:
    assert summary_of([500_000_000] * 3, 12.0) == ("received 3 objects, 1.5 GB in 12.00 s (0.25 objects/s, "
                                                   "125.0 MB/s) into /out")
    assert summary_of([1000] * 10_000, 4.05) == ("received 10000 objects, 10.0 MB in 4.05 s (2469 objects/s, "
                                                 "2.5 MB/s) into /out")


def test_the_words() -> None:
    assert [per_second(r) for r in (2469.1, 12.4, 2.46, 0.25, 0.004, 0)] == ["2469", "12", "2.5", "0.25", "0.004", "0"]
    assert [objects_words(n) for n in (0, 1, 2)] == ["0 objects", "1 object", "2 objects"]
    assert rates(1, 2_000_000, 2.0) == ["1.0 MB/s"]
    assert rates(4, 2_000_000, 2.0, "obj/s") == ["2.0 obj/s", "1.0 MB/s"]
    assert rates(4, 10, 0.0) == []


def test_the_bar_has_a_rate_while_a_large_object_arrives() -> None:
    import time

    from getsh.dicom.events import GetProgress, GetStarted
    from getsh.shell.progress import RetrieveProgress

    bar = RetrieveProgress(Console(file=io.StringIO(), width=200, force_terminal=True))
    bar.start(GetStarted("keys", "patient", "PATIENT", ()))
    try:
        time.sleep(0.3)
        bar.update(GetProgress(1, 0, 0, 0, arrived=300_000_000))
        assert bar.progress is not None
        fields = bar.progress.tasks[0].fields
        assert fields["counts"] == "0 received, 1 remaining"
        assert fields["rate"].endswith(" MB/s") and "obj/s" not in fields["rate"], fields
    finally:
        bar.stop()
