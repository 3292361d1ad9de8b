"""Normal storage without a second copy: the received data set stays where it arrived (a BytesIO,
or a spool file past ``stream-above``), only its non-bulk elements are decoded, and the bulk values
(Pixel Data, Float/Double Float Pixel Data, Encapsulated Document, top-level Waveform Data, and any
other top-level element of LARGE bytes or more: a private blob, a huge sequence) are copied from
there into the written file (in-kernel from a file), never held as values.

Why the written file is the one decoding everything would give: pydicom writes a raw element as
its bytes, and Pixel Data (made a DataElement by store.py) as its bytes padded to even; a bulk
element is streamed only when those two agree (even length; a length form matching what store.py
would give it), with the header pydicom writes for it. Anything else is decoded as before.

Deflated data sets (normal mode) are inflated in a stream into the same kind of source, at most
``max-inflated`` bytes (past it the object is refused, 0xA700), and written deflated again through
one streaming compressor, which gives the bytes pydicom's one-shot compress gives.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from pydicom import Dataset
from pydicom.charset import default_encoding
from pydicom.filebase import DicomFileLike
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_data_element

from getsh.dicom.storage import diskio
from getsh.dicom.storage.outcomes import STATUS_OUT_OF_RESOURCES, StorageError

BULK_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010, 0x00420011, 0x54001010})
PIXEL_DATA = 0x7FE00010
DEFAULT_STREAM_ABOVE = 32 * 1024 * 1024
DEFAULT_MAX_INFLATED = 1024 * 1024 * 1024
LARGE = 1024 * 1024  # any other top-level element this long is bulk too: copied as it came
_PIXEL_VRS = frozenset({b"OB", b"OW", b"OF", b"OD", b"OL", b"OV"})
_LENGTH_32 = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Element:
    """A top-level bulk element as the checks' walk found it: where its header starts, where its
    value starts and how long it is (the items of an undefined length, without their delimiter)."""

    tag: int
    vr: bytes  # b"" in implicit VR
    header: int
    start: int
    length: int
    undefined: bool
    end: int  # past the element (and its delimiter)


class Source:
    """A received data set: ``size`` bytes from ``offset`` of ``fp`` (a BytesIO, or a file of ours)."""

    def __init__(self, fp: BinaryIO, size: int, offset: int = 0, path: str = "") -> None:
        self.fp, self.size, self.offset, self.path = fp, size, offset, path

    @classmethod
    def of_file(cls, path: str, offset: int) -> Source:
        fp = open(path, "rb")
        return cls(fp, os.fstat(fp.fileno()).st_size - offset, offset, path)

    def read(self, start: int, count: int) -> bytes:
        self.fp.seek(self.offset + start)
        return self.fp.read(max(0, min(count, self.size - start)))

    def memory(self) -> memoryview | None:
        """The bytes themselves when they are in memory (no copy), else None."""
        if isinstance(self.fp, io.BytesIO):
            return self.fp.getbuffer()[self.offset : self.offset + self.size]
        return None

    def chunks(self, start: int, count: int) -> Iterator[bytes | memoryview]:
        """The bytes ``start`` … ``start + count``, 1 MiB at a time."""
        view = self.memory()
        end = start + count
        while start < end:
            n = min(_CHUNK, end - start)
            yield view[start : start + n] if view is not None else self.read(start, n)
            start += n

    def close(self) -> None:
        if not isinstance(self.fp, io.BytesIO):  # memory goes with its last reference (views may hold it)
            self.fp.close()


@dataclass(frozen=True)
class Streamed:
    """Bulk elements to copy from their source into the written file, in place of decoded values."""

    source: Source
    elements: tuple[Element, ...]


class Spool:
    """Where a data set too large for memory is gathered: a hidden partial file in the output directory."""

    def __init__(self, root: str) -> None:
        self.fd, self.path = diskio.new_partial(root)
        self.size = 0

    def write_many(self, chunks: list[memoryview] | list[bytes]) -> None:
        self.size += diskio.writev_all(self.fd, chunks)

    def source(self) -> Source:
        os.close(self.fd)
        self.fd = -1
        return Source.of_file(self.path, 0)

    def drop(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        diskio.remove(self.path)


def streamable(elements: tuple[Element, ...], implicit: bool, compressed: bool | None) -> tuple[Element, ...]:
    """The bulk elements that can be copied as they are into what normal mode writes (see the docstring):
    pydicom writes every element raw, as it came, but Pixel Data, which store.py makes a DataElement
    (its VR resolved, its value padded to even, its length form the syntax's)."""
    out = []
    for e in elements:
        if e.tag != PIXEL_DATA:
            if implicit or e.vr in _LENGTH_32:
                out.append(e)
            continue
        if not implicit and e.vr not in _PIXEL_VRS:
            continue
        if not e.undefined and e.length % 2:
            continue
        if compressed is not None and e.undefined != compressed:
            continue
        out.append(e)
    return tuple(out)


def decode_rest(source: Source, bulk: tuple[Element, ...], implicit: bool, little: bool) -> Dataset:
    """The data set without its streamed bulk elements, decoded as pynetdicom decodes one (read_dataset),
    part by part from where it is: the values read are the only copy of them."""
    runs, pos = [], 0
    for e in bulk:
        runs.append((pos, e.header))
        pos = e.end
    runs.append((pos, source.size))
    dataset: Dataset | None = None
    for start, end in runs:
        if end <= start:
            continue
        source.fp.seek(source.offset + start)
        part = read_dataset(source.fp, implicit, little, bytelength=end - start)
        if dataset is None:
            dataset = part
        else:
            for elem in part.elements():
                dataset[elem.tag] = elem  # raw, as read
    return dataset if dataset is not None else Dataset()


def element_header(e: Element, implicit: bool, little: bool) -> bytes:
    """The header pydicom writes for a bulk element: tag, VR (explicit), length (0xFFFFFFFF: undefined)."""
    order = "<" if little else ">"
    length = 0xFFFFFFFF if e.undefined else e.length
    tag = struct.pack(order + "HH", e.tag >> 16, e.tag & 0xFFFF)
    if implicit:
        return tag + struct.pack(order + "I", length)
    return tag + e.vr + b"\0\0" + struct.pack(order + "I", length)


def delimiter(little: bool) -> bytes:
    return struct.pack("<HHI" if little else ">HHI", 0xFFFE, 0xE0DD, 0)


class Deflating(io.RawIOBase):
    """A write-only file that deflates what is written to it into ``out`` (as pydicom's dcmwrite does,
    in one stream: zlib gives the same bytes however the input is cut)."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self.out, self.count = out, 0
        self.compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        view = memoryview(data)  # type: ignore[arg-type]
        self._emit(self.compressor.compress(view))
        return len(view)

    def finish(self) -> None:
        self._emit(self.compressor.flush())
        if self.count % 2:
            self._emit(b"\0")

    def _emit(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.count += len(data)


class Target(Protocol):
    """The object a streamed data set is written into (``writer.ObjectWriter``)."""

    @property
    def file(self) -> BinaryIO: ...

    def copy_range(self, source: Source, start: int, count: int) -> None: ...


def write_streamed(target: Target, dataset: Dataset, bulk: Streamed, deflated: bool, implicit: bool,
                   little: bool) -> None:
    """pydicom's write_dataset loop (tag order, no retired group lengths, the data set's character set),
    with the bulk elements copied from their source: through one compressor when deflated."""
    out: Any = Deflating(target.file) if deflated else target.file
    fp = DicomFileLike(out)
    fp.is_implicit_VR, fp.is_little_endian = (False, True) if deflated else (implicit, little)
    encoding = dataset.get("SpecificCharacterSet", default_encoding)
    by_tag = {e.tag: e for e in bulk.elements}
    for tag in sorted({*dataset.keys(), *by_tag}):
        element = by_tag.get(tag)
        if element is None:
            if not (tag & 0xFFFF == 0 and tag >> 16 > 6):
                write_data_element(fp, dataset.get_item(tag), encoding)
            continue
        fp.write(element_header(element, fp.is_implicit_VR, fp.is_little_endian))
        if deflated:
            for chunk in bulk.source.chunks(element.start, element.length):
                fp.write(chunk)
        else:
            target.copy_range(bulk.source, element.start, element.length)
        if element.undefined:
            fp.write(delimiter(fp.is_little_endian))
    if deflated:
        out.finish()


def inflate(source: Source, root: str, stream_above: int, max_inflated: int | None, uid: str) -> Source:
    """A deflated data set inflated in a stream into a new source (memory, or a spool file past
    ``stream_above``); StorageError 0xA700 past ``max_inflated`` bytes, or for bytes that do not inflate."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    memory: io.BytesIO | None = io.BytesIO()
    spool: Spool | None = None
    size = 0
    limit = max_inflated if max_inflated is not None else 1 << 62

    def put(data: bytes) -> None:
        nonlocal memory, spool, size
        size += len(data)
        if size > limit:
            raise StorageError(f"{uid} inflates past {limit:,} bytes (max-inflated): refused as a deflate bomb",
                               "if such objects are expected: set max-inflated to a larger size",
                               dimse_status=STATUS_OUT_OF_RESOURCES)
        if spool is None and memory is not None and size > stream_above:
            spool = Spool(root)
            spool.write_many([memory.getbuffer()])
            memory = None
        if spool is not None:
            spool.write_many([data])
        elif memory is not None:
            memory.write(data)

    try:
        for chunk in source.chunks(0, source.size):
            data = bytes(chunk)
            while data and not inflater.eof:  # past the stream's end: a pad byte, ignored (as pydicom does)
                put(inflater.decompress(data, _CHUNK))
                data = inflater.unconsumed_tail
            if inflater.eof:
                break
        if not inflater.eof:
            put(inflater.flush())
    except zlib.error as exc:
        if spool is not None:
            spool.drop()
        raise StorageError(f"cannot inflate the data set of {uid}: {exc}", dimse_status=0xC210) from exc
    except BaseException:
        if spool is not None:
            spool.drop()
        raise
    if spool is not None:
        inflated = spool.source()
        os.unlink(spool.path)  # open: read from the descriptor, gone from the directory already
        return inflated
    assert memory is not None
    return Source(memory, size)
