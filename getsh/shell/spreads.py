"""The lines a parallel retrieve's summary adds: how it was spread, what each association did, and
anything that did not go as planned (an association refused or lost, shares retried smaller)."""

from __future__ import annotations

from rich.text import Text

from getsh.dicom.events import Spread
from getsh.literal import literal
from getsh.shell.progress import human_size

LEVEL_WORDS = {"IMAGE": "SOP instances", "STUDY": "studies", "SERIES": "series"}


def spread_lines(spread: Spread) -> list[Text]:
    """``spread over 4 associations: 2,000 SOP instances a C-FIND listed (0.91 s), 63 C-GETs`` and one
    entry per association; then its notes."""
    lanes = spread.lanes
    what = LEVEL_WORDS.get(spread.level, spread.level.lower())
    listed = f"a C-FIND listed ({spread.plan_seconds:.2f} s)" if spread.queried else "the request listed"
    head = Text(f"spread over {len(lanes)} association{'s' * (len(lanes) != 1)}: {spread.listed:,} {what} {listed}, "
                f"{spread.shares} C-GET{'s' * (spread.shares != 1)}; ", style="dim")
    head.append(", ".join(_lane(lane.number, lane.objects, lane.size, lane.shares, lane.ended) for lane in lanes),
                style="dim")
    lines = [head]
    lines += [Text(f"parallel: {literal(note)}", style="yellow") for note in spread.notes]
    if spread.incomplete:
        lines.append(Text(f"not all retrieved: {literal(spread.incomplete)} — get it again with set parallel 1",
                          style="bold red"))
    return lines


def _lane(number: int, objects: int, size: int, shares: int, ended: str) -> str:
    words = f"#{number} {objects} object{'s' * (objects != 1)}"
    words += f" ({human_size(size)}, {shares} C-GET{'s' * (shares != 1)})" if shares else " (no C-GET)"
    return words + (f" — ended: {literal(ended)}" if ended else "")
