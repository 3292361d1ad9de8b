"""What ``accept auto`` learns with C-FIND: the storage SOP classes a retrieve will bring.

Archives answer differently (see the field notes): Orthanc returns SOPClassesInStudy at STUDY
level and SOPClassUID at IMAGE level; dcmqrscp returns neither. So we ask at STUDY level
first, walk down to IMAGE level (hierarchically: each level's unique key given) when that
says nothing, and report when the peer cannot tell — the caller then proposes the default
list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.query.find import find
from getsh.errors import PeerFailure

HIERARCHY = (("PATIENT", "PatientID"), ("STUDY", "StudyInstanceUID"), ("SERIES", "SeriesInstanceUID"),
             ("IMAGE", "SOPInstanceUID"))
MAX_QUERIES = 200  # past this, walking the archive costs more than proposing the default list


@dataclass(frozen=True)
class Discovery:
    classes: tuple[str, ...]  # empty: the peer did not say
    how: str  # where the answer came from, or why there is none


def _query(level: str, known: dict[str, str], wanted: tuple[str, ...]) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword, value in known.items():
        setattr(ds, keyword, value)
    for keyword in wanted:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def _values(match: Dataset, keyword: str) -> list[str]:
    value = match.get(keyword)
    if value in (None, ""):
        return []
    return [str(v) for v in (value if not isinstance(value, str) else [value]) if str(v)]


def discover_classes(assoc: Association, identifier: Dataset, model: str,
                     message_ids: Callable[[], int] = lambda: 1) -> Discovery:
    """The storage SOP classes of the objects ``identifier`` selects, if the peer will say."""
    level = str(identifier.get("QueryRetrieveLevel", "") or "").upper()
    chain = HIERARCHY[1:] if model == "study" else HIERARCHY
    names = [name for name, _ in chain]
    if level not in names:
        return Discovery((), f"no usable QueryRetrieveLevel ({level or 'none'})")
    known = {key: str(identifier.get(key)) for _, key in chain if identifier.get(key)}
    budget = [MAX_QUERIES]

    def ask(q_level: str, keys: dict[str, str], wanted: tuple[str, ...]) -> list[Dataset]:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooMany
        return list(find(assoc, _query(q_level, keys, wanted), model, message_ids()))

    try:
        if level in ("PATIENT", "STUDY"):
            studies = ask("STUDY", known, ("StudyInstanceUID", "SOPClassesInStudy"))
            found = [_values(m, "SOPClassesInStudy") for m in studies]
            if studies and all(found):
                return Discovery(tuple(sorted({c for f in found for c in f})), "SOP Classes in Study (C-FIND)")
            if model == "psonly":
                return Discovery((), "the peer did not return SOP Classes in Study")
            series_keys = [{**known, "StudyInstanceUID": s} for m in studies for s in _values(m, "StudyInstanceUID")]
        else:
            series_keys = [known]
        if level in ("PATIENT", "STUDY", "SERIES"):
            images_keys = []
            for keys in series_keys:
                if level == "SERIES":
                    images_keys.append(keys)
                    continue
                for m in ask("SERIES", keys, ("SeriesInstanceUID",)):
                    images_keys += [{**keys, "SeriesInstanceUID": s} for s in _values(m, "SeriesInstanceUID")]
        else:
            images_keys = [known]
        classes: set[str] = set()
        for keys in images_keys:
            for m in ask("IMAGE", {k: v for k, v in keys.items() if k != "SOPInstanceUID" or level == "IMAGE"},
                         ("SOPInstanceUID", "SOPClassUID")):
                found_classes = _values(m, "SOPClassUID")
                if not found_classes:
                    return Discovery((), "the peer's C-FIND responses hold no SOPClassUID")
                classes.update(found_classes)
    except _TooMany:
        return Discovery((), f"more than {MAX_QUERIES} C-FIND requests would be needed")
    except PeerFailure as failure:
        return Discovery((), failure.message)
    return Discovery(tuple(sorted(classes)), "SOPClassUID at IMAGE level (C-FIND)")


class _TooMany(Exception):
    pass
