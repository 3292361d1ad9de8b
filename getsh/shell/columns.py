"""Tables that fit the terminal: columns kept by priority, long values cut (UIDs and file names in
the middle, where a root and a tail both matter), and what a wide terminal has room for given back.

Used by the find table (shell/found.py), the received table (shell/tables.py) and the presentation
contexts of ``status`` (shell/render.py). Each row stays on one line: a value that does not fit is
cut, never wrapped, and the full value is one command away (``results --raw``, ``received --raw``,
``show N``, ``status``'s words say which).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text


def elide(text: str, width: int) -> str:
    """``text`` cut in the middle to ``width`` characters (a UID's root and its tail both matter)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[-(width - 1 - head):]


def fitting(columns: Sequence[str], widths: dict[str, int], ranked: Sequence[str], room: int) -> list[str]:
    """The columns that fit in ``room`` characters, most important first (``ranked``; columns not in it
    come before all ranked ones), in their own order. The first column is kept whatever its width."""
    order = sorted(columns, key=lambda c: (c in ranked, ranked.index(c) if c in ranked else 0))
    kept: set[str] = set()
    used = 0
    for column in order:
        need = widths[column] + 3  # a cell's padding and its border
        if used + need <= room or not kept:
            kept.add(column)
            used += need
    return [c for c in columns if c in kept]


@dataclass(frozen=True)
class Column:
    """One column of a fitted table. ``cap``: the width it gets when room is short (None: its widest
    value); ``full``: whether it grows back to its widest value when the terminal has the room;
    ``fill``: whether it takes whatever room is left, up to its widest value (a description);
    ``middle``: cut in the middle (UIDs, file names) rather than at the end."""

    key: str
    header: str
    cap: int | None = None
    full: bool = False
    fill: bool = False
    middle: bool = False
    right: bool = False
    style: str = ""


@dataclass(frozen=True)
class Fitted:
    """Which columns a table shows and how wide each is."""

    shown: list[Column]
    widths: dict[str, int]
    hidden: list[Column]


def fit(columns: Sequence[Column], rows: Sequence[dict[str, str]], ranked: Sequence[str], room: int) -> Fitted:
    """Columns by priority within ``room`` (the terminal's width less the table's own frame): each at
    its cap first; then the room left over given back, by priority, to columns that may grow whole."""
    natural = {c.key: max([cell_len(c.header), *(cell_len(r.get(c.key, "")) for r in rows)]) for c in columns}
    widths = {c.key: min(natural[c.key], c.cap) if c.cap else natural[c.key] for c in columns}
    keys = fitting([c.key for c in columns], widths, ranked, room)
    left = room - sum(widths[k] + 3 for k in keys)
    for key in sorted(keys, key=lambda k: ranked.index(k) if k in ranked else -1):
        column = next(c for c in columns if c.key == key)
        grow = natural[key] - widths[key]
        if column.fill:
            grow = min(grow, left)
        if (column.full or column.fill) and 0 < grow <= left:
            widths[key] += grow
            left -= grow
    shown = [c for c in columns if c.key in keys]
    return Fitted(shown, widths, [c for c in columns if c.key not in keys])


def cut(column: Column, value: str, width: int) -> str:
    """A cell's value within its column's width: in the middle for a UID or a file name, else at the end."""
    if cell_len(value) <= width:
        return value
    if column.middle:
        return elide(value, width)
    return value  # rich cuts it at the end, with an ellipsis, by cells


def fitted_table(fitted: Fitted, rows: Sequence[dict[str, Text | str]], **table: object) -> Table:
    """A rich Table of ``fitted``'s columns: no wrapping, each row on one line."""
    out = Table(**table)  # type: ignore[arg-type]
    for column in fitted.shown:
        width = fitted.widths[column.key]
        out.add_column(column.header, justify="right" if column.right else "left", no_wrap=True,
                       overflow="ellipsis", max_width=width, min_width=min(width, cell_len(column.header)),
                       style=column.style)
    for row in rows:
        cells = []
        for column in fitted.shown:
            value = row.get(column.key, "")
            if isinstance(value, Text):
                cells.append(value if not column.middle else Text(cut(column, value.plain, fitted.widths[column.key]),
                                                                   style=value.style))
            else:
                cells.append(Text(cut(column, value, fitted.widths[column.key])))
        out.add_row(*cells)
    return out
