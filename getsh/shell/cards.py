"""``explain``'s cards drawn: a bold title, then each section's heading and its rows, labels in a column,
text wrapped beside them no wider than prose is read."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from getsh.literal import literal
from getsh.results import Card


def card(item: Card, width: int) -> RenderableType:
    parts: list[RenderableType] = [Text(literal(item.title), style="bold")]
    for section in item.sections:
        if section.heading:
            parts.append(Text(literal(section.heading), style="bold cyan"))
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2), width=width)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold", ratio=1)
        for label, text in section.rows:
            table.add_row(Text(literal(label)), Text(literal(text)))
        parts.append(table)
    return Group(*parts)
