"""Values the last find returned, for completion after ``Keyword=``, each with what it stands for.

``key StudyInstanceUID=<Tab>`` offers the studies of the last results, described by what their rows
hold (patient, date, description, modalities), rather than every UID of every kind that arrived: a
value comes from the rows that carry that keyword, a column or a unique key above the row's level
(a series row knows its study). Every description is peer text, made safe to show (literal.py).
"""

from __future__ import annotations

from getsh.dicom.events import FindDone, FoundRow
from getsh.dicom.keys import qr_keys
from getsh.dicom.net.syntaxes import uid_name
from getsh.literal import literal

__all__ = ["found_values"]

MAX_VALUES = 200

# What describes a value of a key of each level, when its row has it.
DESCRIBED_BY: dict[str, tuple[str, ...]] = {
    "PATIENT": ("PatientName", "PatientBirthDate", "PatientSex"),
    "STUDY": ("PatientName", "StudyDate", "StudyDescription", "ModalitiesInStudy", "AccessionNumber"),
    "SERIES": ("SeriesNumber", "Modality", "SeriesDescription", "SeriesDate"),
    "IMAGE": ("InstanceNumber", "SOPClassUID", "ContentDate"),
}
_UNIQUE_LEVEL = {"PatientID": "PATIENT", "StudyInstanceUID": "STUDY", "SeriesInstanceUID": "SERIES",
                 "SOPInstanceUID": "IMAGE"}
_NOUNS = {"PATIENT": ("patient", "patients"), "STUDY": ("study", "studies"), "SERIES": ("series", "series"),
          "IMAGE": ("instance", "instances")}


def found_values(keyword: str, found: FindDone | None) -> list[tuple[str, str]]:
    """(value, description) for each distinct value of ``keyword`` in the rows of ``found``, in row order."""
    if found is None:
        return []
    rows_of: dict[str, list[FoundRow]] = {}
    for row in found.rows:
        value = row.value(keyword)
        if value:
            rows_of.setdefault(value, []).append(row)
    level = _level_of(keyword, found.model)
    return [(value, _describe(keyword, level, rows)) for value, rows in list(rows_of.items())[:MAX_VALUES]]


def _level_of(keyword: str, model: str) -> str | None:
    if keyword in _UNIQUE_LEVEL:
        return _UNIQUE_LEVEL[keyword]
    return next((lvl for lvl, role in qr_keys.roles(keyword, model) if role is not None), None)


def _describe(keyword: str, level: str | None, rows: list[FoundRow]) -> str:
    first = rows[0]
    words = [_readable(k, first.value(k)) for k in DESCRIBED_BY.get(level or "", ()) if k != keyword and first.value(k)]
    if words:
        return literal(", ".join(words))
    if level is not None and first.level != level:  # a key above the rows' level: what it holds of them
        one, many = _NOUNS[first.level]
        return f"{_NOUNS[level][0]} of {len(rows)} found {one if len(rows) == 1 else many}"
    return f"found in {len(rows)} row{'s' if len(rows) != 1 else ''}"


def _readable(keyword: str, value: str) -> str:
    """A value as a person reads it: names as "FAMILY, Given", dates as 2024-01-31, classes by name."""
    if keyword == "PatientName":
        family, _, given = value.partition("=")[0].partition("^")
        return f"{family}, {given.replace('^', ' ').strip()}" if given.strip("^") else family
    if keyword.endswith("Date") and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if keyword == "SOPClassUID":
        return uid_name(value)
    if keyword == "SeriesNumber":
        return f"series {value}"
    if keyword == "InstanceNumber":
        return f"no. {value}"
    return value.replace("\\", "/")
