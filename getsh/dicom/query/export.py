"""A find's rows as JSON and CSV, for other tools: the values as the peer sent them (decoded text).

Both are data, not screen text, but they still reach terminals and spreadsheets: JSON writes every
character that is not printable (controls, C1, bidi and other format characters) as a \\u escape, and a CSV cell
that a spreadsheet would run as a formula (``=``, ``+``, ``@``, a tab or carriage return first) is
written with a leading apostrophe, as OWASP advises.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from getsh.dicom.events import FindDone


def as_records(done: FindDone) -> list[dict[str, object]]:
    """One mapping a row: its number, every column, then the unique keys it stands for."""
    records: list[dict[str, object]] = []
    for row in done.rows:
        record: dict[str, object] = {"#": row.number}
        record.update(dict(row.values))
        record.update({k: v for k, v in row.unique if k not in record})
        records.append(record)
    return records


def as_json(done: FindDone) -> str:
    status = done.status
    document = {
        "model": done.model,
        "level": done.level,
        "status": None if status is None else {"code": f"0x{status.code:04X}", "category": status.category,
                                               "words": status.words},
        "cancelled": done.cancelled or None,
        "columns": list(done.columns),
        "rows": as_records(done),
    }
    text = json.dumps(document, ensure_ascii=False, indent=2)  # indent's line feeds are the only raw ones
    return "\n".join("".join(ch if ch.isprintable() else json.dumps(ch)[1:-1] for ch in line)
                     for line in text.split("\n"))


_FORMULA = ("=", "+", "@", "\t", "\r")


def _cell(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value


def as_csv(done: FindDone) -> str:
    records = as_records(done)
    header = ["#", *done.columns, *(k for k, _ in (done.rows[0].unique if done.rows else ()) if k not in done.columns)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for record in records:
        writer.writerow([_cell(record.get(column, "")) for column in header])
    return out.getvalue()


def write_atomically(path: str, text: str) -> None:
    """``text`` to ``path`` through a temporary file beside it: a reader never sees half of it."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
