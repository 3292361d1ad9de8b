"""Progress of a retrieve's sub-operations: a live rich bar on a terminal, nothing elsewhere.

Scripts, pipes and ``-c`` stay quiet: the table and summary at the end say it all.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from getsh.dicom.events import GetProgress, GetStarted, Received
from getsh.literal import literal


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def per_second(rate: float) -> str:
    """A rate with the digits that matter: 1234, 12, 2.5, 0.25 (never a bare 0 for a slow one)."""
    return f"{rate:.0f}" if rate >= 10 or rate == 0 else f"{rate:.1f}" if rate >= 1 else f"{rate:.2g}"


def objects_words(count: int) -> str:
    return f"{count} object{'s' * (count != 1)}"


def rates(objects: int, nbytes: float, seconds: float, unit: str = "objects/s") -> list[str]:
    """["12 objects/s", "1.2 MB/s"]; for one object (or none yet) only its bytes a second: an object
    rate of one object says nothing, and "0 objects/s" while a large one arrives reads wrong."""
    if seconds <= 0:
        return []
    words = [f"{per_second(objects / seconds)} {unit}"] if objects > 1 else []
    return [*words, f"{human_size(nbytes / seconds)}/s"]


UPDATE_EVERY = 0.05  # seconds


class RetrieveProgress:
    """One bar per running C-GET: completed / failed / warning / remaining, objects/s and MB/s."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.received = 0
        self.bytes = 0
        self.counts = GetProgress(None, 0, 0, 0)
        self._updated = 0.0

    def start(self, started: GetStarted) -> None:
        self.stop()
        self.received, self.bytes, self._updated = 0, 0, 0.0
        self.counts = GetProgress(None, 0, 0, 0)
        if not self.console.is_terminal:
            return
        self.progress = Progress(
            TextColumn(started.service, style="bold", markup=False),
            TextColumn("{task.description}", markup=False),  # a query file's name: data, not markup
            BarColumn(),
            TextColumn("{task.fields[counts]}", markup=False),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]}", markup=False),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task(literal(started.label), total=None, counts="", rate="")
        self.progress.start()

    def received_one(self, item: Received) -> None:
        self.received += 1
        self.bytes += item.size
        self._update()

    def update(self, counts: GetProgress) -> None:
        """The peer's counts (at the end of each batch of events: always drawn)."""
        self.counts = counts
        self._update(force=True)

    def _update(self, force: bool = False) -> None:
        """The bar's fields, at most every UPDATE_EVERY seconds unless forced: it is redrawn 10
        times a second anyway, and objects can arrive thousands a second."""
        if self.progress is None or self.task is None:
            return
        now = time.monotonic()
        if not force and now - self._updated < UPDATE_EVERY:
            return
        self._updated = now
        c = self.counts
        done = max(c.completed + c.failed + c.warning, self.received)
        total = done + c.remaining if c.remaining is not None else None
        elapsed = self.progress.tasks[0].elapsed or 0.0
        nbytes = max(self.bytes, c.arrived)  # what arrived, the object on its way included
        rate = " ".join(rates(self.received, nbytes, elapsed, "obj/s")) if elapsed > 0.2 and nbytes else ""
        counts = f"{self.received} received"
        if c.failed or c.warning:
            counts += f", {c.failed} failed, {c.warning} warning"
        if c.remaining is not None:
            counts += f", {c.remaining} remaining"
        self.progress.update(self.task, completed=done, total=total, counts=counts, rate=rate)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        self.progress = None
        self.task = None
