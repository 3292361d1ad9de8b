"""Rows of the last find chosen by number (``3``, ``2-5,8``, ``all``), and the identifier each stands for.

A row is retrieved by its unique keys, never by the non-unique keys of the query that found it: the
identifier is the row's level and the unique keys of that level and those above (return_keys.py).
C-FIND order is not stable between two runs, so what is recorded for a script is those keys, not the
row's number.
"""

from __future__ import annotations

import re

from pydicom import Dataset

from getsh.dicom.events import FindDone, FoundRow
from getsh.dicom.query.return_keys import retrieve_identifier
from getsh.errors import UsageError

ALL = "all"  # every row: a word, so that it cannot be taken for the wildcard *
_SELECTION = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")


def is_selection(word: str) -> bool:
    """Whether ``word`` reads as row numbers: ``3``, ``2-5,8``, ``all``."""
    return word == ALL or _SELECTION.fullmatch(word) is not None


def select(word: str, found: FindDone | None) -> list[FoundRow]:
    """The rows ``word`` names, in the order named (each once); UsageError when one does not exist."""
    if found is None:
        raise UsageError(f"{word!r} names rows of a find, and there are no results yet",
                         "find first (for example: find), then get N")
    count = len(found.rows)
    if count == 0:
        raise UsageError(f"{word!r} names rows, and the last find matched nothing", "find with other keys")
    return [found.rows[n - 1] for n in numbers(word, count)]


def numbers(word: str, count: int, noun: str = "row", having: str = "", see: str = "results") -> list[int]:
    """The 1-based numbers ``word`` names among ``count`` things (rows of a find, received objects), in the
    order named (each once); UsageError when one does not exist. ``having`` says how many there are."""
    if word == ALL:
        return list(range(1, count + 1))
    having = having or f"the last find has {count} {noun}{'s' if count != 1 else ''}"
    chosen: dict[int, None] = {}
    for part in word.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if low > high:
            raise UsageError(f"{noun} range {part} runs backwards", f"write it {high}-{low}")
        if low < 1 or high > count:
            bad = low if low < 1 else high
            raise UsageError(f"there is no {noun} {bad}: {having}", f"{noun}s are 1-{count} (see: {see})")
        chosen.update(dict.fromkeys(range(low, high + 1)))
    return list(chosen)


def row_identifier(found: FindDone, row: FoundRow) -> Dataset:
    """The identifier ``row`` stands for; UsageError if the peer left one of its unique keys empty."""
    unique = dict(row.unique)
    missing = [k for k, v in unique.items() if not v]
    if missing:
        raise UsageError(f"row {row.number} came without {', '.join(missing)}: the peer did not return "
                         "the unique key it needs", "retrieve it with its keys: get KEY=VALUE …")
    return retrieve_identifier(found.model, row.level, unique)
