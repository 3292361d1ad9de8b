"""Normal storage without a second copy (storage/bulk.py, normal.py): the file written from the bytes
in place, bulk copied, is the file decoding everything gave (byte for byte), from memory and from a
spool file; copies are counted with tracemalloc; deflated data sets inflate in a stream, with a cap."""

from __future__ import annotations

import io
import struct
import threading
import tracemalloc
import zlib
from pathlib import Path

import pytest
from pydicom import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
)
from pynetdicom.dsutils import decode

from getsh.dicom.net.syntaxes import syntax_encoding
from getsh.dicom.storage.bulk import Source
from getsh.dicom.storage.outcomes import StorageError
from getsh.dicom.storage.store import Storage
from tests.unit.test_storage import encode, make_ds, meta_of

DOCUMENT = "1.2.840.10008.5.1.4.1.1.104.1"  # Encapsulated PDF Storage


def cases() -> list[tuple[str, Dataset, str]]:
    pdf = Dataset()
    pdf.SOPClassUID, pdf.SOPInstanceUID, pdf.PatientID, pdf.Modality = DOCUMENT, "1.2.3.5", "PAT1", "DOC"
    pdf.MIMETypeOfEncapsulatedDocument = "application/pdf"
    pdf.EncapsulatedDocument = b"%PDF-1.4 " * 1001 + b"x"  # even
    pdf.add_new(0x00420012, "LO", "application/pdf")
    floats = make_ds("1.2.3.6", FloatPixelData=b"\0\0\x80?" * 64)
    del floats.PixelData
    rle = make_ds("1.2.3.8", pixels=encapsulate([b"\x00\x01" * 50, b"\x02\x03" * 20]))
    out = [(f"ct {ts.name}", make_ds(), str(ts)) for ts in
           (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian)]
    out += [("pdf", pdf, str(ExplicitVRLittleEndian)), ("pdf implicit", pdf, str(ImplicitVRLittleEndian)),
            ("float", floats, str(ExplicitVRLittleEndian)),
            ("rle", rle, str(RLELossless)), ("pdf deflated", pdf, str(DeflatedExplicitVRLittleEndian)),
            ("charset", make_ds("1.2.3.9", SpecificCharacterSet="ISO_IR 100", PatientName="Müller^Jö"),
             str(ExplicitVRLittleEndian))]
    blob = make_ds("1.2.3.10")  # large elements that are not pixel data: copied as they came too
    blob.add_new(0x00090010, "LO", "GETSH TEST")
    blob.add_new(0x00091010, "OB", b"\x07" * ((1 << 20) + 2))
    items = []
    for n in range(300):
        item = Dataset()
        item.ReferencedSOPInstanceUID, item.TextValue = f"1.2.3.{n}", "x" * 4000
        items.append(item)
    blob.ContentSequence = items
    blob["ContentSequence"].is_undefined_length = True
    defined = make_ds("1.2.3.11", ContentSequence=items)
    out += [(f"blob {ts.name}", blob, str(ts)) for ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                                                        ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian)]
    out += [("sequence defined", defined, str(ExplicitVRLittleEndian))]
    return out


def as_before(out: Path, raw: bytes, ts: str, ds: Dataset) -> bytes:
    """What normal mode wrote before: everything decoded (pynetdicom's decode), then store_dataset."""
    implicit, little, deflated = syntax_encoding(ts)
    dataset = decode(io.BytesIO(raw), implicit, little, deflated)
    dataset.set_original_encoding(implicit, little)
    stored = Storage(out, "normal", existing="overwrite").store_dataset(dataset, meta_of(ds, ts))
    return (out / str(stored.path)).read_bytes()


@pytest.mark.parametrize("name", [c[0] for c in cases()])
@pytest.mark.parametrize("stream_above", [1 << 30, 0])
def test_written_file_is_byte_identical_to_decoding_everything(tmp_path: Path, name: str, stream_above: int) -> None:
    _, ds, ts = next(c for c in cases() if c[0] == name)
    raw = encode(ds, ts)
    before = as_before(tmp_path / "before", raw, ts, ds) if (tmp_path / "before").mkdir() is None else b""
    (tmp_path / "now").mkdir()
    storage = Storage(tmp_path / "now", "normal", stream_above=stream_above)
    spool = tmp_path / "received"
    spool.write_bytes(raw)
    source = Source(io.BytesIO(raw), len(raw)) if stream_above else Source.of_file(str(spool), 0)
    stored, header = storage.store_received(source, meta_of(ds, ts))
    assert (tmp_path / "now" / str(stored.path)).read_bytes() == before
    assert (header.get("PatientID") if isinstance(header, dict) else header.PatientID) == "PAT1"
    assert sorted(p.name for p in (tmp_path / "now").iterdir()) == [stored.path]  # no spool left behind


def test_an_odd_length_bulk_element_is_decoded_as_before(tmp_path: Path) -> None:
    """pydicom pads odd Pixel Data when it writes it: that element is not copied as it came."""
    ds = make_ds("1.2.3.7")
    del ds.PixelData
    raw = encode(ds, ExplicitVRLittleEndian) + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 3) + b"\1\2\3"
    ts = str(ExplicitVRLittleEndian)
    before = as_before(tmp_path, raw, ts, ds)
    stored, _ = Storage(tmp_path, "normal", existing="overwrite").store_received(Source(io.BytesIO(raw), len(raw)),
                                                                                 meta_of(ds, ts))
    assert (tmp_path / str(stored.path)).read_bytes() == before and before.endswith(b"\1\2\3\0")


def test_a_large_object_is_not_held_twice(tmp_path: Path) -> None:
    """32 MB of pixel data and a 16 MB private element in memory: storing them allocates far less
    than one more copy (it was ~2)."""
    ds = make_ds(pixels=b"\x01\x02" * (16 << 20))
    ds.add_new(0x00090010, "LO", "GETSH TEST")
    ds.add_new(0x00091010, "OB", b"\x07" * (16 << 20))
    raw = encode(ds, ExplicitVRLittleEndian)
    del ds
    memory = io.BytesIO(raw)
    del raw
    storage = Storage(tmp_path, "normal")
    tracemalloc.start()
    try:
        storage.store_received(Source(memory, memory.getbuffer().nbytes), meta_of(make_ds()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak:,} bytes allocated while storing a 48 MB object"


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def test_a_deflate_bomb_is_refused_past_max_inflated(tmp_path: Path) -> None:
    ds = make_ds(pixels=b"\0" * (64 << 20))
    raw = deflate(encode(ds, ExplicitVRLittleEndian))
    assert len(raw) < 1 << 20
    storage = Storage(tmp_path, "normal", max_inflated=16 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(StorageError) as refused:
            storage.store_received(Source(io.BytesIO(raw), len(raw)), meta_of(ds, DeflatedExplicitVRLittleEndian))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.dimse_status == 0xA700
    assert "inflates past 16,777,216 bytes (max-inflated)" in str(refused.value)
    assert peak < 24 << 20
    assert list(tmp_path.iterdir()) == []
    stored, _ = Storage(tmp_path, "normal", stream_above=8 << 20).store_received(
        Source(io.BytesIO(raw), len(raw)), meta_of(ds, DeflatedExplicitVRLittleEndian))  # under the default cap
    assert (tmp_path / str(stored.path)).stat().st_size < 1 << 20
    assert [p.name for p in tmp_path.iterdir()] == [stored.path]



def test_bytes_after_the_deflate_stream_end_it(tmp_path: Path) -> None:
    """A pad byte (or more) after the deflate stream, with the stream's end falling on a 1 MiB output
    boundary: inflated once, the rest ignored (it looped for ever once)."""
    from getsh.dicom.storage.bulk import inflate

    ds = make_ds(pixels=b"\0" * (4 << 20))
    plain = encode(ds, ExplicitVRLittleEndian)
    def inflated(raw: bytes, got: list[bytes]) -> None:
        source = inflate(Source(io.BytesIO(raw), len(raw)), str(tmp_path), 1 << 30, None, "1.2.3")
        got.append(source.read(0, source.size))

    for tail in (b"\0", b"\0" * 7):
        got: list[bytes] = []
        worker = threading.Thread(target=inflated, args=(deflate(plain) + tail, got), daemon=True)
        worker.start()
        worker.join(20)  # a loop that never ends fails here, it does not hang the run
        assert got == [plain], "inflate did not end"


def test_bit_preserving_header_reads_of_a_deflate_bomb_are_bounded(tmp_path: Path) -> None:
    """A deflated object kept as sent: the layout's names, the table's header and `expect`'s reads take
    its first bytes only (pydicom's dcmread inflated the whole file first: 64 MB here)."""
    from getsh.dicom.storage.header_scan import read_head, read_header

    ds = make_ds(pixels=b"\0" * (64 << 20))
    raw = deflate(encode(ds, ExplicitVRLittleEndian))
    meta = meta_of(ds, DeflatedExplicitVRLittleEndian)
    tracemalloc.start()
    try:
        with Storage(tmp_path, "bit-preserving", "{PatientID}/{SOPInstanceUID}").open_object(meta) as writer:
            writer.write(raw)
            stored = writer.commit()
        header = read_header(tmp_path / str(stored.path), str(DeflatedExplicitVRLittleEndian))
        head = read_head(tmp_path / str(stored.path), ["PatientName", 0x00200013])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stored.path == "PAT1/1.2.3.4"
    assert header is not None and header["PatientID"] == "PAT1" and header["Modality"] == "CT"
    assert str(head.PatientName) == "Doe^Jane" and head.InstanceNumber == 7 and "PixelData" not in head
    assert peak < 8 << 20, f"{peak:,} bytes allocated"
