"""Objects for the view tests, built with pydicom in a test's directory, with pictures whose colours are known.

Each image object is 64×64 and split down the middle: a left half that its window makes black, a
right half it makes white, and a middle band (columns 28-35) at the window's centre (mid grey).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

from getsh.dicom.events import Received

SIZE = 64
CT = "1.2.840.10008.5.1.4.1.1.2"
SC = "1.2.840.10008.5.1.4.1.1.7"
MF_GREY = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word Secondary Capture
PDF = "1.2.840.10008.5.1.4.1.1.104.1"
ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"  # 12-lead ECG Waveform Storage
BASIC_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def base(sop_class: str, modality: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.Modality, ds.PatientID, ds.PatientName = modality, "VIEW1", "VIEW^TEST"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    return ds


def halves(left: int, right: int, middle: int, dtype: str = "<i2") -> np.ndarray:
    image = np.full((SIZE, SIZE), left, dtype=dtype)
    image[:, SIZE // 2:] = right
    image[:, 28:36] = middle
    return image


def grey(ds: Dataset, image: np.ndarray, signed: bool, bits: int = 16, photometric: str = "MONOCHROME2") -> Dataset:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.Rows, ds.Columns = image.shape[-2:]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
    ds.PixelRepresentation = int(signed)
    ds.PixelData = image.astype("<i2" if signed else "<u2").tobytes()
    return ds


def signed_ct(photometric: str = "MONOCHROME2") -> Dataset:
    """Signed pixels and a rescale that matter: stored -500 / 50 / 600 → HU -1100 / 0 / 1100, window 0/400.
    Read unsigned, -500 would be white; without the rescale, 50 would not be the window's centre."""
    ds = grey(base(CT, "CT"), halves(-500, 600, 50), signed=True, photometric=photometric)
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 2, -100, "HU"
    ds.WindowCenter, ds.WindowWidth = [0, 40], [401, 80]  # multi-valued: the first pair is used
    ds.PixelSpacing = [0.5, 0.5]
    return ds


def unsigned_ct() -> Dataset:
    """12-bit unsigned (what JPEG lossless keeps exactly): 24 / 1024 / 2024 with rescale -1024, window 0/401."""
    ds = grey(base(CT, "CT"), halves(24, 2024, 1024, "<u2"), signed=False, bits=12)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 0, 401
    return ds


def rgb() -> Dataset:
    """Top half red, bottom half blue."""
    ds = base(SC, "OT")
    image = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    image[: SIZE // 2, :, 0] = 255
    image[SIZE // 2:, :, 2] = 255
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.Rows = ds.Columns = SIZE
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = image.tobytes()
    return ds


def ybr_full() -> Dataset:
    from pydicom.pixels import convert_color_space

    ds = rgb()
    image = np.frombuffer(ds.PixelData, dtype=np.uint8).reshape(SIZE, SIZE, 3)
    ds.PixelData = convert_color_space(image, "RGB", "YBR_FULL").tobytes()
    ds.PhotometricInterpretation = "YBR_FULL"
    return ds


def palette() -> Dataset:
    """Indices 0 (left) and 1 (right) through a 16-bit palette: 0 green, 1 magenta."""
    ds = base(SC, "OT")
    image = halves(0, 1, 0, "u1")
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "PALETTE COLOR"
    ds.Rows = ds.Columns = SIZE
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    for colour, values in (("Red", (0, 65535)), ("Green", (65535, 0)), ("Blue", (0, 65535))):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        lut = np.zeros(256, dtype="<u2")
        lut[:2] = values
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut.tobytes())
    ds.PixelData = image.tobytes()
    return ds


def multiframe(frames: int = 3) -> Dataset:
    """Frame k is uniform: 0, then the window's centre, then white (window 2048/4096 over 0…4095)."""
    ds = base(MF_GREY, "OT")
    values = [0, 2048, 4095][:frames] + [4095] * max(0, frames - 3)
    stack = np.stack([np.full((SIZE, SIZE), v, dtype="<u2") for v in values])
    grey(ds, stack, signed=False, bits=12)
    ds.NumberOfFrames = frames
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    return ds


def report() -> Dataset:
    ds = base(BASIC_SR, "SR")
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    finding = Dataset()
    finding.RelationshipType, finding.ValueType, finding.TextValue = "CONTAINS", "TEXT", "Lungs are clear."
    finding.ConceptNameCodeSequence = [_code("121071", "DCM", "Finding")]
    size = Dataset()
    size.RelationshipType, size.ValueType = "CONTAINS", "NUM"
    size.ConceptNameCodeSequence = [_code("121206", "DCM", "Distance")]
    measured = Dataset()
    measured.NumericValue, measured.MeasurementUnitsCodeSequence = "12.5", [_code("mm", "UCUM", "mm")]
    size.MeasuredValueSequence = [measured]
    findings = Dataset()
    findings.RelationshipType, findings.ValueType = "CONTAINS", "CONTAINER"
    findings.ConceptNameCodeSequence = [_code("121070", "DCM", "Findings")]
    findings.ContentSequence = [finding, size]
    ds.ContentSequence = [findings]
    ds.CompletionFlag = "COMPLETE"
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def pdf(size: int = 3000) -> Dataset:
    ds = base(PDF, "DOC")
    ds.DocumentTitle, ds.MIMETypeOfEncapsulatedDocument = "Discharge letter", "application/pdf"
    ds.EncapsulatedDocument = (b"%PDF-1.4\n" + b"x" * size)[:size]
    return ds


def ecg() -> Dataset:
    ds = base(ECG, "ECG")
    group = Dataset()
    group.NumberOfWaveformChannels, group.NumberOfWaveformSamples, group.SamplingFrequency = 2, 100, 500
    group.ChannelDefinitionSequence = []
    for lead in ("Lead I", "Lead II"):
        channel = Dataset()
        channel.ChannelSourceSequence = [_code("0", "MDC", lead)]
        group.ChannelDefinitionSequence.append(channel)
    group.WaveformBitsAllocated, group.WaveformSampleInterpretation = 16, "SS"
    group.WaveformData = np.zeros(200, dtype="<i2").tobytes()
    ds.WaveformSequence = [group]
    return ds


def jpeg_like(frames_claimed: int = 1, codestream_rows: int = SIZE) -> Dataset:
    """Encapsulated 'JPEG Baseline' pixel data: one fragment holding a frame header only (SOI, SOF0), never
    meant to be decoded; the malformed cases of the refusal tests change its claims."""
    ds = grey(base(SC, "OT"), halves(0, 255, 128, "u1"), signed=False, bits=8)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    sof = b"\xff\xc0\x00\x0b\x08" + codestream_rows.to_bytes(2, "big") + SIZE.to_bytes(2, "big") + b"\x01\x01\x11\x00"
    ds.PixelData = encapsulate([b"\xff\xd8" + sof + b"\xff\xd9"])
    ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
    ds.NumberOfFrames = frames_claimed
    return ds


def write(ds: Dataset, path: Path, syntax: str = ExplicitVRLittleEndian, **compress: Any) -> Path:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if syntax == RLELossless:
        ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    elif syntax != ExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def received(path: Path, number: int) -> Received:
    """The row 'received' would hold for a file getsh wrote there."""
    ds = dcmread(path, stop_before_pixels=True)
    return Received(number, str(ds.SOPClassUID), str(ds.SOPInstanceUID), str(ds.file_meta.TransferSyntaxUID),
                    path.name, "written", path.stat().st_size, output_dir=str(path.parent),
                    modality=str(ds.get("Modality", "")))


def add(shell: Any, path: Path) -> int:
    """``path`` as the next object of the session's received table; its number."""
    number = len(shell.ctx.session.received) + 1
    shell.ctx.session.received.append(received(path, number))
    return number
