"""Query/Retrieve key roles per information model and level (PS3.4 C.6), and C-GET identifier checks.

getscu sends whatever identifier it is given; peers then reject it or, worse, match more than
was meant. These tables let getsh say *before sending* which key is the unique key of a level,
which are required or optional (C-FIND matters), and what a C-GET identifier should hold:
the QueryRetrieveLevel and the unique keys of that level and the levels above (C.4.3.1.3).
The tables hold the common keys of C.6.1.1 (patient root), C.6.2.1 (study root) and C.6.3.1
(patient/study only), keyed by pydicom keyword; they are data, not a parser of the standard.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary

from getsh.errors import UsageError

Role = str  # "unique" | "required" | "optional"

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
MODELS: dict[str, tuple[str, ...]] = {
    "patient": ("PATIENT", "STUDY", "SERIES", "IMAGE"),
    "study": ("STUDY", "SERIES", "IMAGE"),
    "psonly": ("PATIENT", "STUDY"),
}
# Keys that are not matched but steer the request; they belong in any identifier.
CONTROL_KEYS: dict[str, str] = {
    "QueryRetrieveLevel": "names the level of the request; every identifier holds it",
    "SpecificCharacterSet": "the character set of the identifier's values",
    "TimezoneOffsetFromUTC": "the time zone of dates and times in the identifier",
    "QueryRetrieveView": "asks for the classic or enhanced view of multi-frame objects",
}

_U, _R, _O = "unique", "required", "optional"


def _table(unique: str, required: Iterable[str], optional: Iterable[str]) -> dict[str, Role]:
    table: dict[str, Role] = {unique: _U}
    table.update({k: _R for k in required})
    table.update({k: _O for k in optional if k not in table})
    return table


_PATIENT_OPTIONAL = (
    "IssuerOfPatientID", "IssuerOfPatientIDQualifiersSequence", "TypeOfPatientID", "OtherPatientIDsSequence",
    "OtherPatientNames", "PatientBirthDate", "PatientBirthTime", "PatientSex", "EthnicGroup", "PatientComments",
    "PatientBirthName", "PatientMotherBirthName", "PatientSpeciesDescription", "PatientBreedDescription",
    "ResponsiblePerson", "ResponsibleOrganization", "PatientSexNeutered", "PatientIdentityRemoved",
    "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances",
)  # fmt: skip
_STUDY_OPTIONAL = (
    "IssuerOfAccessionNumberSequence", "ReferringPhysicianName", "StudyDescription", "ProcedureCodeSequence",
    "NameOfPhysiciansReadingStudy", "AdmittingDiagnosesDescription", "ReferencedStudySequence",
    "ReferencedPatientSequence", "PatientAge", "PatientSize", "PatientWeight", "Occupation",
    "AdditionalPatientHistory", "OtherStudyNumbers", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
    "ModalitiesInStudy", "SOPClassesInStudy", "AnatomicRegionsInStudyCodeSequence", "StudyUpdateDateTime",
    "ReasonForPerformedProcedureCodeSequence", "InterpretationAuthor", "StudyComments",
)  # fmt: skip
_SERIES_OPTIONAL = (
    "NumberOfSeriesRelatedInstances", "SeriesDescription", "SeriesDate", "SeriesTime", "BodyPartExamined",
    "Laterality", "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime", "PerformedProcedureStepID",
    "RequestAttributesSequence", "ProtocolName", "OperatorsName", "StationName", "InstitutionName",
)  # fmt: skip
_IMAGE_OPTIONAL = (
    "SOPClassUID", "AvailableTransferSyntaxUID", "AlternateRepresentationSequence", "RelatedGeneralSOPClassUID",
    "ConceptNameCodeSequence", "ContentTemplateSequence", "ContentDate", "ContentTime", "AcquisitionDate",
    "AcquisitionTime", "AcquisitionNumber", "ImageType", "NumberOfFrames", "Rows", "Columns", "BitsAllocated",
    "CompletionFlag", "VerificationFlag", "ObservationDateTime", "DocumentTitle", "MIMETypeOfEncapsulatedDocument",
    "ContentLabel", "ContentDescription", "PresentationCreationDate", "ContentCreatorName", "ImageComments",
)  # fmt: skip

_PATIENT = _table("PatientID", ("PatientName",), _PATIENT_OPTIONAL)
_STUDY = _table("StudyInstanceUID", ("StudyDate", "StudyTime", "AccessionNumber", "StudyID"), _STUDY_OPTIONAL)
_SERIES = _table("SeriesInstanceUID", ("Modality", "SeriesNumber"), _SERIES_OPTIONAL)
_IMAGE = _table("SOPInstanceUID", ("InstanceNumber",), _IMAGE_OPTIONAL)
# Study root has no patient level: the patient's keys move to the study level (C.6.2.1.2).
_STUDY_WITH_PATIENT = {**_STUDY, "PatientName": _R, "PatientID": _R, **{k: _O for k in _PATIENT_OPTIONAL}}

TABLES: dict[tuple[str, str], dict[str, Role]] = {
    ("patient", "PATIENT"): _PATIENT,
    ("patient", "STUDY"): _STUDY,
    ("patient", "SERIES"): _SERIES,
    ("patient", "IMAGE"): _IMAGE,
    ("study", "STUDY"): _STUDY_WITH_PATIENT,
    ("study", "SERIES"): _SERIES,
    ("study", "IMAGE"): _IMAGE,
    ("psonly", "PATIENT"): _PATIENT,
    ("psonly", "STUDY"): _STUDY,
}


def levels(model: str) -> tuple[str, ...]:
    """The levels a model allows, top down; an unknown model is a usage error."""
    try:
        return MODELS[model]
    except KeyError:
        raise UsageError(f"unknown information model {model!r}", "models: patient, study, psonly") from None


def level_of(model: str, level: str) -> str:
    """``level`` upper-cased and checked against the model."""
    name = level.strip().upper()
    if name not in levels(model):
        allowed = ", ".join(levels(model))
        raise UsageError(f"the {model} model has no {name or 'empty'} level", f"levels of {model}: {allowed}")
    return name


def role(keyword: str, model: str, level: str) -> Role | None:
    """The key's role at one level of one model (None: not a key there)."""
    return TABLES.get((model, level.upper()), {}).get(keyword)


def unique_key(model: str, level: str) -> str:
    return next(k for k, r in TABLES[(model, level_of(model, level))].items() if r == _U)


def roles(keyword: str, model: str) -> list[tuple[str, Role | None]]:
    """The key's role at each level of the model, top down (for ``dict WORD``)."""
    return [(lvl, role(keyword, model, lvl)) for lvl in levels(model)]


@lru_cache(maxsize=64)
def relevance(model: str | None, level: str | None) -> dict[str, int]:
    """Completion rank per keyword, lower first: the level's unique key, the unique keys above it
    (a C-GET needs them), required keys, optional keys, control keys. Without a model or level,
    the best rank the key has anywhere."""
    pairs = [
        (m, lvl)
        for m, lvls in MODELS.items()
        if model in (None, m)
        for lvl in lvls
        if level in (None, lvl) or (level and level.upper() == lvl)
    ]
    ranks: dict[str, int] = {k: 4 for k in CONTROL_KEYS}
    for m, lvl in pairs:
        for key, key_role in TABLES[(m, lvl)].items():
            rank = {"unique": 0, "required": 2, "optional": 3}[key_role]
            ranks[key] = min(ranks.get(key, 9), rank)
        if level is not None:
            for above in MODELS[m][: MODELS[m].index(lvl)]:
                key = unique_key(m, above)
                ranks[key] = min(ranks.get(key, 9), 1)
    return ranks


# ---- enumerated values (PS3.3 defined terms that matter in Q/R) ---------------------------------
_MODALITIES = (
    ("CT", "Computed Tomography"), ("MR", "Magnetic Resonance"), ("US", "Ultrasound"),
    ("CR", "Computed Radiography"), ("DX", "Digital Radiography"), ("MG", "Mammography"),
    ("NM", "Nuclear Medicine"), ("PT", "Positron emission tomography (PET)"), ("XA", "X-Ray Angiography"),
    ("RF", "Radio Fluoroscopy"), ("IO", "Intra-oral Radiography"), ("PX", "Panoramic X-Ray"),
    ("OP", "Ophthalmic Photography"), ("OPT", "Ophthalmic Tomography"), ("ES", "Endoscopy"),
    ("XC", "External-camera Photography"), ("SM", "Slide Microscopy"), ("ECG", "Electrocardiography"),
    ("SR", "SR Document"), ("SEG", "Segmentation"), ("REG", "Registration"), ("RTSTRUCT", "Radiotherapy Structure Set"),
    ("RTPLAN", "Radiotherapy Plan"), ("RTDOSE", "Radiotherapy Dose"), ("RTIMAGE", "RT Image"),
    ("RTRECORD", "RT Treatment Record"), ("PR", "Presentation State"), ("KO", "Key Object Selection"),
    ("DOC", "Document"), ("OT", "Other"), ("SC", "Secondary Capture (retired term, still common)"),
    ("AU", "Audio"), ("HD", "Hemodynamic Waveform"), ("BI", "Biomagnetic imaging"), ("BDUS", "Bone Densitometry (US)"),
    ("DG", "Diaphanography"), ("GM", "General Microscopy"), ("IVUS", "Intravascular Ultrasound"),
    ("IVOCT", "Intravascular OCT"), ("LS", "Laser surface scan"), ("M3D", "Model for 3D Manufacturing"),
    ("PLAN", "Plan"), ("RESP", "Respiratory Waveform"), ("RWV", "Real World Value Map"), ("TG", "Thermography"),
    ("XAPS", "X-Ray Angiography Presentation State"),
)  # fmt: skip
_LEVEL_MEANINGS = (
    ("PATIENT", "all of a patient's studies"), ("STUDY", "whole studies"),
    ("SERIES", "whole series"), ("IMAGE", "single instances (composite objects)"),
)  # fmt: skip
ENUMERATED: dict[str, tuple[tuple[str, str], ...]] = {
    "QueryRetrieveLevel": _LEVEL_MEANINGS,
    "Modality": _MODALITIES,
    "ModalitiesInStudy": _MODALITIES,
    "PatientSex": (("M", "male"), ("F", "female"), ("O", "other")),
    "PatientSexNeutered": (("ALTERED", "altered/neutered"), ("UNALTERED", "unaltered/intact")),
    "Laterality": (("R", "right"), ("L", "left")),
    "QueryRetrieveView": (("CLASSIC", "classic view"), ("ENHANCED", "enhanced multi-frame view")),
    "InstanceAvailability": (
        ("ONLINE", "immediately"), ("NEARLINE", "after a delay"),
        ("OFFLINE", "needs operator action"), ("UNAVAILABLE", "cannot be retrieved"),
    ),
    "SpecificCharacterSet": (
        ("ISO_IR 192", "Unicode UTF-8"), ("ISO_IR 100", "Latin-1"), ("ISO_IR 101", "Latin-2"),
        ("ISO_IR 144", "Cyrillic"), ("ISO_IR 127", "Arabic"), ("ISO_IR 126", "Greek"), ("ISO_IR 138", "Hebrew"),
        ("ISO_IR 13", "Japanese katakana"), ("GB18030", "Chinese"), ("ISO 2022 IR 6", "ASCII with extensions"),
    ),
    "CompletionFlag": (("PARTIAL", "partial content"), ("COMPLETE", "complete content")),
    "VerificationFlag": (("UNVERIFIED", "not attested"), ("VERIFIED", "attested")),
    "BodyPartExamined": tuple(
        (part, "")
        for part in "HEAD BRAIN NECK CHEST ABDOMEN PELVIS SPINE CSPINE TSPINE LSPINE HEART BREAST KNEE SHOULDER "
        "HIP HAND FOOT EXTREMITY WHOLEBODY".split()
    ),
}


# Enumerated Values (a closed set) as opposed to Defined Terms (Modality, BodyPartExamined: open).
CLOSED = frozenset(
    {"QueryRetrieveLevel", "PatientSex", "PatientSexNeutered", "Laterality", "QueryRetrieveView",
     "InstanceAvailability", "CompletionFlag", "VerificationFlag"}
)  # fmt: skip


@lru_cache(maxsize=4)
def _uids(kind: str) -> tuple[tuple[str, str], ...]:
    found = [
        (uid, info[0])
        for uid, info in UID_dictionary.items()
        if info[1] == kind and not info[3] and (kind != "SOP Class" or "Storage" in info[0])
    ]
    return tuple(sorted(found, key=lambda pair: pair[1]))


def enumerated_values(keyword: str) -> tuple[tuple[str, str], ...]:
    """(value, meaning) pairs for completion; storage SOP classes and transfer syntaxes by UID."""
    if keyword in ("SOPClassUID", "SOPClassesInStudy", "ReferencedSOPClassUID", "RelatedGeneralSOPClassUID"):
        return _uids("SOP Class")
    if keyword in ("AvailableTransferSyntaxUID", "TransferSyntaxUID"):
        return _uids("Transfer Syntax")
    return ENUMERATED.get(keyword, ())


# ---- C-GET identifier checks ---------------------------------------------------------------------
def check(dataset: Dataset, model: str) -> list[str]:
    """Warnings for a C-GET identifier: what getscu would send silently but a peer may refuse or
    over-match. A C-GET identifier holds the level and the unique keys of it and the levels above."""
    warnings: list[str] = []
    lvls = levels(model)
    raw = dataset.get("QueryRetrieveLevel")
    level = str(raw or "").strip().upper()
    path: tuple[str, ...] = ()
    if not level:
        warnings.append("no QueryRetrieveLevel: the peer cannot tell what to retrieve (set it with: level STUDY)")
    elif level not in LEVELS:
        warnings.append(f"QueryRetrieveLevel {level!r} is not a level ({', '.join(LEVELS)})")
    elif level not in lvls:
        warnings.append(f"the {model} model has no {level} level (it has {', '.join(lvls)}): the peer will refuse "
                        f"(type: level {lvls[0]})")
    else:
        path = lvls[: lvls.index(level) + 1]
    for lvl in path:
        key = unique_key(model, lvl)
        value = dataset.get(key)
        where = "its unique key" if lvl == level else f"the {lvl} unique key above it"
        if key not in dataset:
            fix = f"key {key}=…" + (", or model study, which needs none" if model == "patient"
                                    and lvl == "PATIENT" != level else "")
            warnings.append(f"{level} level: {where} {key} is missing ({fix})")
        elif value in (None, "") or (hasattr(value, "__len__") and len(value) == 0):
            warnings.append(f"{key} is empty: an empty unique key matches everything (or is refused)")
        elif lvl != level and not isinstance(value, str) and len(value) > 1:
            warnings.append(f"{key} holds several values above the retrieve level; only the {level} key may")
    unique_above = {unique_key(model, lvl) for lvl in path}
    extra: list[str] = []
    below: list[str] = []
    foreign: list[str] = []
    for elem in dataset:
        name = elem.keyword or f"({elem.tag.group:04X},{elem.tag.element:04X})"
        if name in CONTROL_KEYS or name in unique_above:
            continue
        found = [(lvl, role(name, model, lvl)) for lvl in lvls if role(name, model, lvl)]
        if not found:
            foreign.append(name)
        elif path and all(lvl not in path for lvl, _ in found):
            below.append(name)
        else:
            extra.append(name)
    if extra:
        warnings.append(
            f"non-unique keys in a C-GET identifier: {', '.join(extra)} (peers may reject or ignore them; "
            "C-GET matches on unique keys only)"
        )
    if below:
        warnings.append(f"keys of a level below {level}: {', '.join(below)} (they do not narrow a {level} retrieve)")
    if foreign:
        warnings.append(f"not keys of the {model} model: {', '.join(foreign)}")
    return warnings


# ---- what a request's keys say beyond its level -------------------------------------------------
WILDCARDS = ("*", "?")


def _values(dataset: Dataset, keyword: str) -> list[str] | None:
    """A key's values as text (None: the key is absent; [] or ['']: present and empty)."""
    if keyword not in dataset:
        return None
    value = dataset.get(keyword)
    if value is None:
        return []
    return [str(v) for v in ([value] if isinstance(value, str) else value)]


def _level_path(dataset: Dataset, model: str) -> tuple[str, tuple[str, ...]]:
    """The identifier's level and the model's levels down to it (none when the level is not the model's)."""
    lvls = levels(model)
    level = str(dataset.get("QueryRetrieveLevel") or "").strip().upper()
    return level, (lvls[: lvls.index(level) + 1] if level in lvls else ())


def open_unique_keys(dataset: Dataset, model: str) -> list[str]:
    """What in a C-GET identifier may select far more than was meant, in words: a unique key holding a
    wildcard (``PatientID=*``), or the level's own unique key empty or missing.
    PS3.4 (C.4.3.1.3) allows neither for retrieval; some peers refuse them, others send everything
    they match (dcmqrscp sends the whole archive for ``PatientID=*`` or no PatientID)."""
    level, path = _level_path(dataset, model)
    found: list[str] = []
    for lvl in path:
        key = unique_key(model, lvl)
        values = _values(dataset, key)
        if values is None or not any(values):
            if lvl == level:
                found.append(f"no {key} at {level} level" if values is None else f"an empty {key}")
        elif any(w in v for v in values for w in WILDCARDS):
            found.append(f"{key}=" + "\\".join(values))
    return found


def implied_level(dataset: Dataset, model: str) -> tuple[str, str] | None:
    """(level, key) when the identifier holds a unique key of a level below its QueryRetrieveLevel (or
    it has no usable level): the deepest such level of the model and its key. None: the level stands."""
    lvls = levels(model)
    _level, path = _level_path(dataset, model)
    for lvl in reversed(lvls[len(path):]):
        key = unique_key(model, lvl)
        values = _values(dataset, key)
        if values and any(values):
            return lvl, key
    return None


def missing_above(dataset: Dataset, model: str) -> list[str]:
    """The unique keys of the levels above the identifier's level that it does not give (or gives empty)."""
    _level, path = _level_path(dataset, model)
    return [key for key in (unique_key(model, lvl) for lvl in path[:-1]) if not any(_values(dataset, key) or ())]
