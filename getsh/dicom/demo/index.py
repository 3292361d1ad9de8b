"""What the demo archive matches a C-FIND or C-GET identifier against: an index of its objects.

PS3.4 C.6 matching, closely enough to stand in for a real archive: single values, wildcards
(``*``, ``?``), UID lists, date and time ranges, and the levels each information model allows.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from copy import deepcopy
from typing import Any

from pydicom import dcmread
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    PatientStudyOnlyQueryRetrieveInformationModelFind,
    PatientStudyOnlyQueryRetrieveInformationModelGet,
    PatientStudyOnlyQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from getsh.dicom.demo.data import ArchiveEntry

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
UNIQUE_KEYS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
MODEL_LEVELS: dict[str, tuple[str, ...]] = {
    PatientRootQueryRetrieveInformationModelFind: LEVELS,
    PatientRootQueryRetrieveInformationModelGet: LEVELS,
    StudyRootQueryRetrieveInformationModelFind: LEVELS[1:],
    StudyRootQueryRetrieveInformationModelGet: LEVELS[1:],
    PatientStudyOnlyQueryRetrieveInformationModelFind: LEVELS[:2],
    PatientStudyOnlyQueryRetrieveInformationModelGet: LEVELS[:2],
    PatientRootQueryRetrieveInformationModelMove: LEVELS,
    StudyRootQueryRetrieveInformationModelMove: LEVELS[1:],
    PatientStudyOnlyQueryRetrieveInformationModelMove: LEVELS[:2],
}
FIND_MODELS = (PatientRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelFind,
               PatientStudyOnlyQueryRetrieveInformationModelFind)
GET_MODELS = (PatientRootQueryRetrieveInformationModelGet, StudyRootQueryRetrieveInformationModelGet,
              PatientStudyOnlyQueryRetrieveInformationModelGet)

# Which level an attribute belongs to (index into LEVELS); anything unlisted is an IMAGE attribute.
_KEY_LEVEL: dict[str, int] = {
    **dict.fromkeys(("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
                     "PatientBirthTime", "PatientSex", "OtherPatientIDsSequence", "PatientComments",
                     "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries",
                     "NumberOfPatientRelatedInstances"), 0),
    **dict.fromkeys(("StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID",
                     "StudyDescription", "ReferringPhysicianName", "ModalitiesInStudy",
                     "SOPClassesInStudy", "NumberOfStudyRelatedSeries",
                     "NumberOfStudyRelatedInstances", "PatientAge", "PatientSize", "PatientWeight",
                     "NameOfPhysiciansReadingStudy"), 1),
    **dict.fromkeys(("SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
                     "SeriesDate", "SeriesTime", "BodyPartExamined", "ProtocolName",
                     "InstitutionName", "StationName", "Manufacturer", "ManufacturerModelName",
                     "NumberOfSeriesRelatedInstances"), 2),
    **dict.fromkeys(("QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle",
                     "InstanceAvailability"), -1),
}
_NUMERIC_VRS = {"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "UV", "SV"}


class QueryError(Exception):
    """A request we refuse, with the DIMSE status and comment to answer it with."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status

    def as_status(self) -> Dataset:
        ds = Dataset()
        ds.Status = self.status
        ds.ErrorComment = str(self)[:64]
        return ds


# ---- matching (PS3.4 C.2.2.2) ------------------------------------------------------------------

def strings(value: Any) -> list[str]:
    """An element value as a list of strings (multi-valued → several), empty → []."""
    if value is None or value == "":
        return []
    values = value if isinstance(value, (list, tuple, MultiValue)) else [value]
    return [str(v).strip() for v in values if v is not None and str(v).strip() != ""]


def _match_one(vr: str, wanted: str, have: str) -> bool:
    if wanted == "*":
        return True
    if vr in ("DA", "TM", "DT") and "-" in wanted:  # range, either end open
        lo, hi = (part.replace(":", "") for part in wanted.split("-", 1))
        have = have.replace(":", "")
        return (not lo or have[: len(lo)] >= lo) and (not hi or have[: len(hi)] <= hi)
    if vr in _NUMERIC_VRS:
        try:
            return float(wanted) == float(have)
        except ValueError:
            return False
    fold = vr == "PN"  # names: case-insensitive, as users type them
    if vr != "UI" and ("*" in wanted or "?" in wanted):
        pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wanted)
        return re.fullmatch(pattern, have, re.IGNORECASE if fold else 0) is not None
    return wanted.casefold() == have.casefold() if fold else wanted == have


def _matches(vr: str, wanted: list[str], have: list[str]) -> bool:
    """Single value, wildcard, range or list-of-values matching: any wanted against any held."""
    if "*" in wanted:  # universal, even where the record holds no value
        return True
    return any(_match_one(vr, w, h) for w in wanted for h in have)


# ---- the index ---------------------------------------------------------------------------------

_NOT_MATCHED = frozenset({"SpecificCharacterSet", "TimezoneOffsetFromUTC", "QueryRetrieveView"})


class ArchiveIndex:
    """ArchiveEntry rows plus lazily read headers; answers C-FIND and C-GET identifiers."""

    def __init__(self, entries: list[ArchiveEntry], ae_title: str) -> None:
        self.entries = entries
        self.ae_title = ae_title
        self._headers: dict[str, Dataset] = {}
        self._lock = threading.Lock()

    def header(self, entry: ArchiveEntry) -> Dataset:
        with self._lock:
            if entry.sop_instance_uid not in self._headers:
                self._headers[entry.sop_instance_uid] = dcmread(entry.path, stop_before_pixels=True)
            return self._headers[entry.sop_instance_uid]

    def groups(self, depth: int) -> list[list[ArchiveEntry]]:
        """Entries grouped into one record per entity at LEVELS[depth], in archive order."""
        out: dict[tuple[str, ...], list[ArchiveEntry]] = {}
        for e in self.entries:
            key = (e.patient_id, e.study_uid, e.series_uid, e.sop_instance_uid)[: depth + 1]
            out.setdefault(key, []).append(e)
        return list(out.values())

    def computed(self, keyword: str, members: list[ArchiveEntry]) -> Any:
        """Values that describe a record rather than any one instance (None: not computed)."""
        def count(attr: str) -> int:
            return len({getattr(e, attr) for e in members})

        def unique(values: list[str]) -> list[str]:
            return list(dict.fromkeys(values))

        table = {
            "NumberOfPatientRelatedStudies": lambda: count("study_uid"),
            "NumberOfPatientRelatedSeries": lambda: count("series_uid"),
            "NumberOfPatientRelatedInstances": lambda: len(members),
            "NumberOfStudyRelatedSeries": lambda: count("series_uid"),
            "NumberOfStudyRelatedInstances": lambda: len(members),
            "NumberOfSeriesRelatedInstances": lambda: len(members),
            "ModalitiesInStudy": lambda: unique([e.modality for e in members]),
            "SOPClassesInStudy": lambda: unique([e.sop_class_uid for e in members]),
            "AvailableTransferSyntaxUID": lambda: members[0].transfer_syntax_uid,
            "InstanceAvailability": lambda: "ONLINE",
            "RetrieveAETitle": lambda: self.ae_title,
        }
        return table[keyword]() if keyword in table else None

    def _element(self, elem: DataElement, depth: int, members: list[ArchiveEntry]) -> DataElement:
        """This record's value for a requested key; zero length if it has none at this level."""
        keyword = elem.keyword
        if keyword and _KEY_LEVEL.get(keyword, 3) <= depth:
            value = self.computed(keyword, members)
            if value is not None:
                return DataElement(elem.tag, dictionary_VR(elem.tag), value)
            header = self.header(members[0])
            if elem.tag in header:
                return deepcopy(header[elem.tag])
        return DataElement(elem.tag, elem.VR, [] if elem.VR == "SQ" else None)

    def search(self, level: str, identifier: Dataset) -> Iterator[tuple[Dataset, list[ArchiveEntry]]]:
        """Records at level matching every non-empty key, with their response identifiers."""
        depth = LEVELS.index(level)
        for members in self.groups(depth):
            rsp = Dataset()
            ok = True
            for elem in identifier:
                if elem.keyword == "QueryRetrieveLevel":
                    rsp.QueryRetrieveLevel = level
                    continue
                if elem.keyword in _NOT_MATCHED:  # they steer the request: never matched (PS3.4 C.4.1.1.3.1)
                    continue
                found = self._element(elem, depth, members)
                wanted = [] if elem.VR == "SQ" else strings(elem.value)
                if wanted and not _matches(elem.VR, wanted, strings(found.value)):
                    ok = False
                    break
                rsp[elem.tag] = found
            if ok:
                yield rsp, members


def query_level(identifier: Dataset, sop_class: str) -> str:
    """The identifier's Query/Retrieve Level, checked against the information model."""
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    allowed = MODEL_LEVELS.get(str(sop_class), LEVELS)
    if not level:
        raise QueryError(0xA900, "QueryRetrieveLevel (0008,0052) missing")
    if level not in allowed:
        raise QueryError(0xA900, f"level {level} not in this model: {'/'.join(allowed)}")
    return level
