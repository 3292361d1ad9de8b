"""A find's matches on screen: the table (values formatted for reading, or raw), the summary line,
and the table growing live while matches arrive on a terminal.

Formatting is for reading only: names as "FAMILY, Given", dates as 2024-01-31, times as 10:15:30,
SOP classes by name, long UIDs elided in the middle. ``results --raw`` shows what the peer sent,
and ``results --json`` gives it to other programs. Every value is peer data: shown literally.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from functools import lru_cache

from rich.cells import cell_len
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from getsh.dicom.events import FindDone, FindStarted, FoundRow
from getsh.dicom.keys.qr_keys import levels
from getsh.dicom.net.syntaxes import uid_name
from getsh.dicom.query.return_keys import NOT_COLUMNS
from getsh.literal import literal
from getsh.shell.columns import elide, fitting

MODEL_NAMES = {"patient": "patient root", "study": "study root", "psonly": "patient/study only"}

LABELS = {
    "PatientName": "patient", "PatientID": "patient ID", "PatientBirthDate": "born", "PatientSex": "sex",
    "NumberOfPatientRelatedStudies": "studies", "NumberOfPatientRelatedSeries": "series",
    "NumberOfPatientRelatedInstances": "instances", "StudyDate": "date", "StudyTime": "time",
    "AccessionNumber": "accession", "StudyDescription": "description", "ModalitiesInStudy": "modalities",
    "NumberOfStudyRelatedSeries": "series", "NumberOfStudyRelatedInstances": "instances",
    "StudyInstanceUID": "Study Instance UID", "SeriesNumber": "no.", "Modality": "mod",
    "SeriesDescription": "description", "SeriesDate": "date", "BodyPartExamined": "body part",
    "NumberOfSeriesRelatedInstances": "instances", "SeriesInstanceUID": "Series Instance UID",
    "InstanceNumber": "no.", "SOPClassUID": "SOP class", "ContentDate": "date", "Rows": "rows",
    "Columns": "cols", "NumberOfFrames": "frames", "SOPInstanceUID": "SOP Instance UID",
}
WIDE = 200  # from this many columns, UIDs are shown whole
UID_WIDTH = 26  # elsewhere, at most this many characters of a UID: its start and its tail
LIVE_EVERY = 0.1  # seconds between redraws of the live table


@lru_cache(maxsize=256)
def vr_of(keyword: str) -> str:
    """The VR of a column's key ('' for a private tag, an unknown word, or anything pydicom cannot read)."""
    from pydicom.datadict import dictionary_VR

    try:
        return str(dictionary_VR(keyword))
    except (KeyError, ValueError, TypeError, OverflowError):
        return ""


_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME = re.compile(r"(\d{2})(\d{2})?(\d{2})?(\.\d+)?")


def _date(text: str) -> str:
    m = _DATE.fullmatch(text.strip())
    return f"{m[1]}-{m[2]}-{m[3]}" if m else text


def _time(text: str) -> str:
    m = _TIME.fullmatch(text.strip())
    if not m:
        return text
    return ":".join(p for p in (m[1], m[2], m[3]) if p)


def _range(text: str, one: Callable[[str], str]) -> str:
    """A single value, or a range as a C-FIND sends it (``20240101-``, ``-20241231``)."""
    if text.count("-") == 1:
        start, _, end = text.partition("-")
        return f"{one(start) if start else '…'} – {one(end) if end else '…'}"
    return one(text)


def _person(text: str) -> str:
    shown = []
    for group in text.split("="):
        parts = [p.strip() for p in group.split("^")]
        if not any(parts):
            continue
        family, given = parts[0], " ".join(p for p in parts[1:3] if p)
        name = f"{family}, {given}" if family and given else family or given
        extra = " ".join(p for p in parts[3:5] if p)
        shown.append(f"{name} ({extra})" if extra else name)
    return " = ".join(shown)


def readable(keyword: str, value: str) -> str:
    """One value formatted for reading (each of several values alike, joined by a comma)."""
    if not value:
        return ""
    vr = vr_of(keyword)
    if vr == "PN":
        return "; ".join(_person(v) for v in value.split("\\"))
    if vr == "DA":
        return ", ".join(_range(v, _date) for v in value.split("\\"))
    if vr == "TM":
        return ", ".join(_range(v, _time) for v in value.split("\\"))
    if vr == "DT":
        return ", ".join(_date(v[:8]) + (" " + _time(v[8:].split("+")[0].split("-")[0]) if len(v) > 8 else "")
                         for v in value.split("\\"))
    if vr == "UI" and keyword in ("SOPClassUID", "SOPClassesInStudy", "AffectedSOPClassUID"):
        return ", ".join(uid_name(v).replace(" Storage", "") for v in value.split("\\"))
    if "\\" in value:
        return ", ".join(value.split("\\"))
    return value


def cell(keyword: str, value: str, width: int, raw: bool) -> str:
    if raw:
        return value
    text = readable(keyword, value)
    if vr_of(keyword) == "UI" and width < WIDE:
        text = elide(text, UID_WIDTH)
    return text


# Which columns stay when the terminal is narrow, most important first (keys the user asked that are
# not defaults come before all of these); the table keeps the order they were asked in.
PRIORITY: dict[str, tuple[str, ...]] = {
    "PATIENT": ("PatientName", "PatientID", "PatientBirthDate", "NumberOfPatientRelatedStudies", "PatientSex"),
    "STUDY": ("PatientName", "PatientID", "StudyDate", "StudyDescription", "ModalitiesInStudy",
              "NumberOfStudyRelatedInstances", "AccessionNumber", "StudyTime", "NumberOfStudyRelatedSeries",
              "StudyInstanceUID"),
    "SERIES": ("SeriesNumber", "Modality", "SeriesDescription", "NumberOfSeriesRelatedInstances", "SeriesDate",
               "BodyPartExamined", "SeriesInstanceUID"),
    "IMAGE": ("InstanceNumber", "SOPClassUID", "Rows", "Columns", "NumberOfFrames", "ContentDate", "SOPInstanceUID"),
}
MAX_CELL = 40  # a description wider than this is cut with an ellipsis, not given the whole line
NAME_CELL = 60  # a person name may be wider: its groups (Yamada, Tarou = 山田, 太郎 = やまだ, たろう) read together


def found_table(columns: Sequence[str], rows: Sequence[FoundRow], width: int, raw: bool = False,
                title: str = "", level: str = "") -> Table:
    """The matches, one row each; on a narrow terminal the columns that matter least are left out
    (and the caption says which), rather than every column cut to a few characters."""
    labels = {c: c if raw else LABELS.get(c, c) for c in columns}
    cells = [{c: literal(cell(c, dict(r.values).get(c, ""), width, raw)) for c in columns} for r in rows]
    caps = {c: None if raw or (vr_of(c) == "UI" and width >= WIDE) else NAME_CELL if vr_of(c) == "PN" else MAX_CELL
            for c in columns}
    widths = {c: min(caps[c] or 1 << 16, max([cell_len(labels[c]), *(cell_len(x[c]) for x in cells)]))
              for c in columns}  # in terminal cells: a CJK character takes two
    numbers = max((len(str(r.number)) for r in rows), default=1)
    shown = fitting(columns, widths, PRIORITY.get(level, ()), width - numbers - 4)
    hidden = [labels[c] for c in columns if c not in shown]
    caption = f"not shown at this width: {', '.join(hidden)} (results --json has them)" if hidden else None
    table = Table(title=title or None, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("#", justify="right", no_wrap=True, min_width=numbers)
    for column in shown:
        counts = column.startswith("NumberOf") or vr_of(column) in ("IS", "US", "UL")
        table.add_column(literal(labels[column]), justify="right" if counts else "left", no_wrap=True,
                         overflow="ellipsis", max_width=caps[column])
    for row, values in zip(rows, cells, strict=True):
        table.add_row(str(row.number), *(Text(values[c]) for c in shown))
    return table


def find_header(started: FindStarted) -> Text:
    """The model, the level and the matching keys (those with a value); return keys only counted."""
    matching = [f"{k}={v}" for k, v in started.keys if v and k not in NOT_COLUMNS]
    returned = sum(1 for k, v in started.keys if not v and k not in NOT_COLUMNS)
    charset = next((v for k, v in started.keys if k == "SpecificCharacterSet" and v), "")
    header = Text("C-FIND ", style="bold")
    header.append(f"{MODEL_NAMES.get(started.model, started.model)}, {started.level} level  ")
    header.append(literal("  ".join(matching)) if matching else "every match")
    extras = [f"{returned} return keys", *([f"in {literal(charset)}"] if charset else []),
              *([f"at most {started.limit}"] if started.limit else [])]
    header.append(f"  ({', '.join(extras)})", style="dim")
    return header


def find_summary(done: FindDone, *, next_steps: bool = True) -> Text:
    """The last line of a find: how many matches, how it ended (in words), and what to do next."""
    n = len(done.rows)
    matches = f"{n} match" + ("" if n == 1 else "es")
    line = Text()
    if done.status is None:
        line.append(f"C-FIND failed: {literal(done.problem)}", style="red")
        if done.hint:
            line.append(f" — {literal(done.hint)}", style="dim")
        return line
    status = done.status
    ok = status.category in ("Success", "Cancel") and not done.aborted
    style = "green" if ok and status.category == "Success" else "yellow" if ok else "red"
    words = f"0x{status.code:04X} {status.category}" + (f": {status.words}" if status.words and
                                                          status.category not in ("Success", "Cancel") else "")
    line.append(f"C-FIND {words}: ", style=style)
    line.append(f"{matches} at {done.level} level in {done.seconds:.2f} s")
    if done.cancelled:
        line.append(f"; cancelled {literal(done.cancelled)}", style="yellow")
    if done.error_comment:
        line.append(f" (the peer says: {literal(done.error_comment)})")
    if done.hint:
        line.append(f" — {literal(done.hint)}", style="dim")
    elif n == 0 and status.category == "Success":
        line.append(" — nothing matched these keys (see: keys; a * matches any value)", style="dim")
    elif n and next_steps:
        into = "; cd N goes into it" if done.level != levels(done.model)[-1] else ""  # not into an instance
        line.append(f" — get N retrieves a row (get 2-5,8 several, get all every one){into}", style="dim")
    return line


class LiveMatches:
    """The table growing while matches arrive (a terminal only; pipes and scripts get it at the end).
    It shows the last rows that fit, redrawn at most every LIVE_EVERY seconds, and goes away when the
    find ends: the whole table is printed then."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self.started: FindStarted | None = None
        self.rows: list[FoundRow] = []
        self._drawn = 0.0

    def start(self, started: FindStarted) -> None:
        self.stop()
        self.started, self.rows, self._drawn = started, [], 0.0
        if self.console.is_terminal:
            self.live = Live(console=self.console, transient=True, auto_refresh=False)
            self.live.start()

    def add(self, row: FoundRow) -> None:
        if self.live is None or self.started is None:
            return
        self.rows.append(row)
        now = time.monotonic()
        if now - self._drawn >= LIVE_EVERY:
            self._drawn = now
            fit = max(1, self.console.height - 6)
            title = f"{len(self.rows)} matches so far (Ctrl-C: C-CANCEL, keeps them)"
            self.live.update(found_table(self.started.columns, self.rows[-fit:], self.console.width,
                                         title=title, level=self.started.level), refresh=True)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        self.rows = []
