"""A small, deterministic sample archive for the demo Q/R SCP, generated in code.

Generated rather than downloaded so the demo works offline and tests can compare exact bytes:
every UID is a hash of a fixed label and every pixel comes from integer arithmetic, so two
builds (on any machine, with the same pydicom) write identical files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_ROOT_UID,
    UID,
    BasicTextSRStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    RLELossless,
    generate_uid,
)

from getsh.dicom.demo.pixels import SIZE, brain, cine, phantom

__all__ = ["IMPLEMENTATION_CLASS_UID", "IMPLEMENTATION_VERSION_NAME", "ArchiveEntry", "build_archive"]

_SEED = "getsh-demo-archive-v1"


def _uid(*labels: object) -> UID:
    """A UID derived from fixed labels only, hence the same on every build."""
    return generate_uid(prefix=PYDICOM_ROOT_UID, entropy_srcs=[_SEED, *map(str, labels)])


IMPLEMENTATION_CLASS_UID = _uid("implementation")
IMPLEMENTATION_VERSION_NAME = "GETSH_DEMO_1"


@dataclass(frozen=True)
class ArchiveEntry:
    """One stored instance and the keys the Q/R SCP indexes it by."""

    path: Path
    patient_id: str
    patient_name: str
    study_uid: str
    series_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    modality: str
    transfer_syntax_uid: str


# ---- the catalogue: what the archive holds ----------------------------------------------------

@dataclass(frozen=True)
class _Patient:
    pid: str
    name: str
    birth_date: str
    sex: str


@dataclass(frozen=True)
class _Study:
    patient: _Patient
    key: str  # short label: UID seed and folder name
    date: str
    time: str
    description: str
    accession: str
    referring: str
    transfer_syntax: str = ExplicitVRLittleEndian

    @property
    def uid(self) -> UID:
        return _uid(self.patient.pid, self.key)


@dataclass(frozen=True)
class _Series:
    study: _Study
    number: int
    kind: str  # "CT" | "MR" | "SR" | "SC": picks the builder
    description: str
    count: int = 1  # instances (or frames, for the multi-frame object)
    body_part: str = ""

    @property
    def uid(self) -> UID:
        return _uid(self.study.patient.pid, self.study.key, self.number)


_DOE = _Patient("DEMO001", "DOE^JANE", "19700312", "F")
_SMITH = _Patient("DEMO002", "SMITH^JOHN^A", "19581105", "M")
_GARCIA = _Patient("DEMO003", "GARCIA^MARIA^ELENA", "19851230", "F")
_OBRIEN = _Patient("DEMO004", "O'BRIEN^PATRICK", "19450701", "M")

_CHEST = _Study(_DOE, "CTCHEST", "20240115", "093000", "CT CHEST W/O CONTRAST", "ACC1001", "HOUSE^GREGORY")
_BRAIN = _Study(_DOE, "MRBRAIN", "20240302", "141500", "MR BRAIN", "ACC1002", "HOUSE^GREGORY")
_ABDOMEN = _Study(_SMITH, "CTABD", "20231120", "110500", "CT ABDOMEN PELVIS W CONTRAST", "ACC2001",
                  "WILSON^JAMES", transfer_syntax=RLELossless)
_CINE = _Study(_GARCIA, "CINE", "20240510", "080000", "CARDIAC CINE CAPTURE", "ACC3001", "CUDDY^LISA")
_HEAD1 = _Study(_OBRIEN, "CTHEAD1", "20220808", "163000", "CT HEAD W/O CONTRAST", "ACC4001", "FOREMAN^ERIC")
_HEAD2 = _Study(_OBRIEN, "CTHEAD2", "20240808", "170000", "CT HEAD FOLLOW-UP", "ACC4002", "FOREMAN^ERIC")

_SERIES: tuple[_Series, ...] = (
    _Series(_CHEST, 1, "CT", "AXIAL 5MM", 8, "CHEST"),
    _Series(_CHEST, 2, "SR", "RADIOLOGY REPORT"),
    _Series(_BRAIN, 1, "MR", "T1 AXIAL", 4, "HEAD"),
    _Series(_BRAIN, 2, "MR", "T2 AXIAL", 4, "HEAD"),
    _Series(_ABDOMEN, 1, "CT", "ARTERIAL", 5, "ABDOMEN"),
    _Series(_ABDOMEN, 2, "CT", "PORTAL VENOUS", 5, "ABDOMEN"),
    _Series(_CINE, 1, "SC", "CINE LOOP", 10, "HEART"),
    _Series(_CINE, 2, "MR", "LOCALIZER", 3, "HEART"),
    _Series(_HEAD1, 1, "CT", "HEAD AXIAL", 4, "HEAD"),
    _Series(_HEAD2, 1, "CT", "HEAD AXIAL", 4, "HEAD"),
)


# ---- data set builders: shared modules, then one function per kind of object -----------------

def _base(series: _Series, sop_class: str, sop_uid: str, instance_number: int) -> Dataset:
    """Patient, General Study, General Series, General Equipment and SOP Common modules."""
    study, patient = series.study, series.study.patient
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate, ds.StudyTime = study.date, study.time
    ds.SeriesDate, ds.SeriesTime = study.date, study.time
    ds.ContentDate, ds.ContentTime = study.date, study.time
    ds.AccessionNumber = study.accession
    ds.Modality = {"SC": "OT"}.get(series.kind, series.kind)
    ds.Manufacturer = "GETSH"
    ds.InstitutionName = "GETSH DEMO HOSPITAL"
    ds.ReferringPhysicianName = study.referring
    ds.StationName = "DEMO01"
    ds.StudyDescription = study.description
    ds.SeriesDescription = series.description
    ds.ManufacturerModelName = "Demo Archive"
    ds.PatientName = patient.name
    ds.PatientID = patient.pid
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    if series.body_part:
        ds.BodyPartExamined = series.body_part
    ds.DeviceSerialNumber = "0001"
    ds.SoftwareVersions = IMPLEMENTATION_VERSION_NAME
    ds.StudyInstanceUID = study.uid
    ds.SeriesInstanceUID = series.uid
    ds.StudyID = study.accession[3:]
    ds.SeriesNumber = series.number
    ds.InstanceNumber = instance_number
    return ds


def _image_pixels(ds: Dataset, frames: list[bytes], bits_stored: int = 12) -> None:
    """Image Pixel module for unsigned 16-bit MONOCHROME2 data."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    ds.Rows = ds.Columns = SIZE
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = b"".join(frames)
    ds["PixelData"].VR = "OW"


def _plane(ds: Dataset, series: _Series, index: int, fov_mm: int, thickness: int) -> None:
    """Frame of Reference and Image Plane modules for an axial slice stack."""
    spacing = fov_mm / SIZE
    z = -index * thickness
    ds.FrameOfReferenceUID = _uid(series.study.patient.pid, series.study.key, "frame-of-reference")
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    ds.SliceThickness = thickness
    ds.ImagePositionPatient = [-fov_mm / 2 + spacing / 2, -fov_mm / 2 + spacing / 2, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = z
    ds.PixelSpacing = [spacing, spacing]


def _ct_image(series: _Series, index: int) -> Dataset:
    """One slice of CT Image Storage, with rescale to HU and a soft-tissue window."""
    ds = _base(series, CTImageStorage, _uid(series.uid, index), index + 1)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionDate, ds.AcquisitionTime = series.study.date, series.study.time
    ds.AcquisitionNumber = 1
    ds.KVP, ds.XRayTubeCurrent, ds.ExposureTime, ds.ConvolutionKernel = 120, 200, 500, "STANDARD"
    _plane(ds, series, index, fov_mm=350, thickness=5)
    _image_pixels(ds, [phantom(index, series.number)])
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    return ds


def _mr_image(series: _Series, index: int) -> Dataset:
    """One slice of MR Image Storage; the series number picks T1 or T2 contrast."""
    ds = _base(series, MRImageStorage, _uid(series.uid, index), index + 1)
    t2 = series.number == 2
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "SE", "NONE", "", "2D"
    ds.RepetitionTime = 4000 if t2 else 500
    ds.EchoTime = 100 if t2 else 15
    ds.EchoTrainLength = 16 if t2 else 1
    ds.ImagedNucleus = "1H"
    ds.MagneticFieldStrength = 1.5
    _plane(ds, series, index, fov_mm=240, thickness=5)
    _image_pixels(ds, [brain(index, 2 if t2 else 1)])
    ds.WindowCenter, ds.WindowWidth = 1000, 2000
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _sr_text(concept: Dataset, text: str) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "TEXT"
    item.ConceptNameCodeSequence = [concept]
    item.TextValue = text
    return item


def _sr_container(concept: Dataset, children: list[Dataset], relationship: str = "") -> Dataset:
    item = Dataset()
    if relationship:
        item.RelationshipType = relationship
    item.ValueType = "CONTAINER"
    item.ConceptNameCodeSequence = [concept]
    item.ContinuityOfContent = "SEPARATE"
    item.ContentSequence = children
    return item


def _text_report(series: _Series, evidence: list[Dataset]) -> Dataset:
    """Basic Text SR (no pixel data): a report with Findings and Impression, citing its images."""
    ds = _base(series, BasicTextSRStorage, _uid(series.uid, 0), 1)
    ds.update(_sr_container(_code("18748-4", "LN", "Diagnostic Imaging Report"), [
        _sr_container(_code("121070", "DCM", "Findings"), [
            _sr_text(_code("121071", "DCM", "Finding"),
                     "Lungs are clear. No pleural effusion. Heart size normal."),
        ], "CONTAINS"),
        _sr_container(_code("121072", "DCM", "Impression"), [
            _sr_text(_code("121073", "DCM", "Impression"), "No acute cardiopulmonary abnormality."),
        ], "CONTAINS"),
    ]))
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    by_series: dict[str, list[Dataset]] = {}
    for image in evidence:
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = image.SOPClassUID, image.SOPInstanceUID
        by_series.setdefault(image.SeriesInstanceUID, []).append(ref)
    if by_series:
        study_ref = Dataset()
        study_ref.StudyInstanceUID = series.study.uid
        study_ref.ReferencedSeriesSequence = []
        for series_uid, refs in by_series.items():
            item = Dataset()
            item.SeriesInstanceUID = series_uid
            item.ReferencedSOPSequence = refs
            study_ref.ReferencedSeriesSequence.append(item)
        ds.CurrentRequestedProcedureEvidenceSequence = [study_ref]
    return ds


def _multiframe_capture(series: _Series) -> Dataset:
    """Multi-frame Grayscale Word Secondary Capture: one object, series.count cine frames."""
    ds = _base(series, MultiFrameGrayscaleWordSecondaryCaptureImageStorage, _uid(series.uid, 0), 1)
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ConversionType = "SYN"
    ds.BurnedInAnnotation = "NO"
    ds.PatientOrientation = ""
    ds.FrameTime = 40
    ds.FrameIncrementPointer = 0x00181063  # (0018,1063) Frame Time
    _image_pixels(ds, [cine(i) for i in range(series.count)])
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.PresentationLUTShape = "IDENTITY"
    return ds


def _instances(series: _Series, previous: list[Dataset]) -> Iterator[Dataset]:
    """The data sets of one series; previous (the study's earlier instances) feeds SR evidence."""
    if series.kind == "CT":
        yield from (_ct_image(series, i) for i in range(series.count))
    elif series.kind == "MR":
        yield from (_mr_image(series, i) for i in range(series.count))
    elif series.kind == "SR":
        yield _text_report(series, [d for d in previous if d.StudyInstanceUID == series.study.uid])
    elif series.kind == "SC":
        yield _multiframe_capture(series)
    else:  # pragma: no cover - the catalogue above is fixed
        raise ValueError(f"unknown series kind {series.kind!r}")


# ---- writing ----------------------------------------------------------------------------------

def _write(ds: Dataset, path: Path, transfer_syntax: str) -> None:
    """Write a Part 10 file with our own (fixed) file meta, encoding RLE if asked."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if transfer_syntax == RLELossless:  # pydicom's own encoder: pure Python, no numpy
        ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    dcmwrite(path, ds, enforce_file_format=True)


def build_archive(directory: Path) -> list[ArchiveEntry]:
    """Write the sample archive into directory (created if missing) and return its entries.

    Deterministic: same UIDs and same bytes every call, on every machine.
    """
    directory = Path(directory)
    entries: list[ArchiveEntry] = []
    written: list[Dataset] = []
    for series in _SERIES:
        study = series.study
        folder = directory / study.patient.pid / study.key / f"SE{series.number:02d}"
        for ds in _instances(series, written):
            path = folder / f"IM{int(ds.InstanceNumber):04d}.dcm"
            _write(ds, path, study.transfer_syntax)
            written.append(ds)
            entries.append(ArchiveEntry(
                path=path,
                patient_id=study.patient.pid,
                patient_name=study.patient.name,
                study_uid=str(study.uid),
                series_uid=str(series.uid),
                sop_class_uid=str(ds.SOPClassUID),
                sop_instance_uid=str(ds.SOPInstanceUID),
                modality=ds.Modality,
                transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
            ))
    return entries
