"""What a C-FIND asks for, and the unique keys a found row stands for.

A bare ``find`` must be useful at every level, so each level has return keys a PACS engineer looks
at first. They are chosen from the keys PS3.4 C.6 puts at that level of that model (qr_keys): under
patient root a STUDY-level request carries no patient name (it is a PATIENT-level key there, and
strict archives refuse non-unique keys of a level above the request's), under study root it does.

Every request also returns the unique keys of its level and the levels above it, whether the user
asked or not: they are what ``get 3`` and ``cd 3`` build an identifier from (PS3.4 C.4.3.1.3: a
C-GET identifier holds the level and those unique keys, never the non-unique keys of the query).
"""

from __future__ import annotations

from pydicom import Dataset

from getsh.dicom.keys.qr_keys import levels, role, unique_key

# Shown first, in this order, when present at the level (filtered through the model's key tables).
DEFAULTS: dict[str, tuple[str, ...]] = {
    "PATIENT": ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "NumberOfPatientRelatedStudies"),
    "STUDY": ("PatientName", "PatientID", "StudyDate", "StudyTime", "AccessionNumber", "StudyDescription",
              "ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "StudyInstanceUID"),
    "SERIES": ("SeriesNumber", "Modality", "SeriesDescription", "SeriesDate", "BodyPartExamined",
               "NumberOfSeriesRelatedInstances", "SeriesInstanceUID"),
    "IMAGE": ("InstanceNumber", "SOPClassUID", "ContentDate", "Rows", "Columns", "NumberOfFrames", "SOPInstanceUID"),
}

# The count a row carries of the instances below it (what a completeness check compares with).
INSTANCE_COUNTS: dict[str, str] = {
    "PATIENT": "NumberOfPatientRelatedInstances",
    "STUDY": "NumberOfStudyRelatedInstances",
    "SERIES": "NumberOfSeriesRelatedInstances",
}

# Keys that steer a request rather than describe a match: never a column.
NOT_COLUMNS = frozenset({"QueryRetrieveLevel", "SpecificCharacterSet", "TimezoneOffsetFromUTC", "QueryRetrieveView"})


def default_return_keys(model: str, level: str) -> tuple[str, ...]:
    """The level's default return keys that are keys of that level in ``model``."""
    return tuple(k for k in DEFAULTS.get(level, ()) if role(k, model, level) is not None)


def identifying_keys(model: str, level: str) -> tuple[str, ...]:
    """The unique keys of ``level`` and every level above it in ``model``, top down."""
    path = levels(model)
    return tuple(unique_key(model, lvl) for lvl in path[: path.index(level) + 1])


def find_identifier(base: Dataset, model: str, level: str) -> Dataset:
    """``base`` (the user's keys, which win) with the level, the identifying keys and the level's
    default return keys added as empty return keys where absent."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for elem in base:
        if elem.keyword != "QueryRetrieveLevel":
            identifier[elem.tag] = elem
    for keyword in (*identifying_keys(model, level), *default_return_keys(model, level)):
        if keyword not in identifier:
            setattr(identifier, keyword, None)
    return identifier


def columns_of(identifier: Dataset, model: str, level: str) -> tuple[str, ...]:
    """The columns of a find's table: every key asked — the levels above first (a unique key of theirs
    only when the user gave it a value: otherwise it is kept in the row, not shown), then the level's
    defaults in their order, then the others as asked — except the control keys."""
    above = set(identifying_keys(model, level)[:-1])
    order = {k: i for i, k in enumerate(default_return_keys(model, level))}
    keys = [elem.keyword or f"({elem.tag.group:04X},{elem.tag.element:04X})" for elem in identifier
            if elem.VR != "SQ"]
    shown = [k for k in keys if k not in NOT_COLUMNS and (k not in above or _has_value(identifier, k))]
    return tuple(sorted(shown, key=lambda k: (k not in above, order.get(k, len(order)), keys.index(k))))


def _has_value(identifier: Dataset, keyword: str) -> bool:
    value = identifier.get(keyword)
    return value not in (None, "") and not (hasattr(value, "__len__") and len(value) == 0)


def above_level_warnings(identifier: Dataset, model: str, level: str) -> list[str]:
    """Matching keys that belong to a level above the request's and are not its unique key: many peers
    ignore them there (dcmqrscp does, Orthanc filters), so the matches may not be narrowed by them."""
    path = levels(model)
    above = path[: path.index(level)]
    unique = set(identifying_keys(model, level))
    warnings = []
    for elem in identifier:
        keyword = elem.keyword
        if keyword in unique or keyword in NOT_COLUMNS or not _has_value(identifier, keyword):
            continue
        if role(keyword, model, level) is None and (owner := next((a for a in above if role(keyword, model, a)),
                                                                  None)):
            warnings.append(f"warning: {keyword} is a {owner}-level key: in a {level}-level find some peers ignore "
                            f"it (DCMTK's dcmqrscp does) — narrow by {unique_key(model, owner)}, or find at "
                            f"{owner} level first")
    return warnings


def retrieve_identifier(model: str, level: str, unique: dict[str, str]) -> Dataset:
    """The C-GET (or C-FIND one level down) identifier of a found row: its level and unique keys only."""
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level
    for keyword in identifying_keys(model, level):
        setattr(identifier, keyword, unique.get(keyword, ""))
    return identifier
