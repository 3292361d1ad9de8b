"""What a header claims about its pixels, checked against what the file holds, before anything is decoded.

Nothing is allocated from a peer's claimed dimensions without a bound: a frame may have at most
``MAX_FRAME_PIXELS`` pixels; native pixel data must hold every byte Rows × Columns × Samples × Bits
× Frames asks for; encapsulated pixel data must hold at least one fragment a frame, and each JPEG,
JPEG-LS or JPEG 2000 codestream met must say the size the header says (a decoder allocates what
the codestream says, not what the header says).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from getsh.dicom.image.source import UNDEFINED, NotViewable, Source

MAX_FRAME_PIXELS = 8192 * 8192  # pixels in one frame; a frame past it is refused, never decoded
PHOTOMETRIC = ("MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR",
               "YBR_RCT", "YBR_ICT", "YBR_PARTIAL_420")
_CODESTREAM_PEEK = 64 * 1024  # bytes of a fragment read to find its codestream's size


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    frames: int
    photometric: str
    signed: bool

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame as stored natively (YBR_FULL_422 keeps two samples a pixel)."""
        samples = 2 if self.photometric == "YBR_FULL_422" else self.samples
        return self.rows * self.columns * samples * self.bits_allocated // 8

    def native_bytes(self) -> int:
        if self.bits_allocated == 1:
            return (self.rows * self.columns * self.samples * self.frames + 7) // 8
        return self.frame_bytes * self.frames


def geometry(source: Source, what: str) -> Geometry:
    """The pixel attributes, present, sane and bounded; NotViewable (naming ``what``) when they are not."""
    ds = source.header
    missing = [k for k in ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "PhotometricInterpretation")
               if ds.get(k) in (None, "")]
    if missing:
        raise NotViewable(f"{what} has pixel data but no {', '.join(missing)}: it cannot be drawn",
                          "the object is malformed (see: show N)")
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
        shape = Geometry(int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel), int(ds.BitsAllocated),
                         int(ds.get("BitsStored") or ds.BitsAllocated), frames,
                         str(ds.PhotometricInterpretation).strip().upper(),
                         int(ds.get("PixelRepresentation") or 0) == 1)
    except (TypeError, ValueError) as error:
        raise NotViewable(f"{what} has a pixel attribute that is not a number: {error}",
                          "the object is malformed (see: show N)") from None
    problem = _problem(shape)
    if problem:
        raise NotViewable(f"{what} {problem}: it is not drawn", "the object is malformed (see: show N)")
    return shape


def _problem(g: Geometry) -> str:
    if g.rows < 1 or g.columns < 1:
        return f"claims {g.rows}×{g.columns} pixels"
    if g.rows * g.columns > MAX_FRAME_PIXELS:
        return f"claims {g.rows}×{g.columns} pixels a frame, more than the {MAX_FRAME_PIXELS:,} view draws"
    if g.frames < 1:
        return f"claims {g.frames} frames"
    if g.samples not in (1, 3):
        return f"claims {g.samples} samples a pixel (1 or 3 are drawn)"
    if g.bits_allocated not in (1, 8, 16, 32, 64) or not 1 <= g.bits_stored <= g.bits_allocated:
        return f"claims {g.bits_stored} bits stored in {g.bits_allocated} allocated"
    if g.photometric not in PHOTOMETRIC:
        return f"has the photometric interpretation {g.photometric!r}, which view does not draw"
    return ""


def check_sizes(source: Source, shape: Geometry, what: str) -> None:
    """What the header claims, against what the pixel data element holds (module docstring)."""
    element = source.pixels
    assert element is not None
    available = source.size - element.start
    if not _encapsulated(source):
        if element.length == UNDEFINED:
            raise NotViewable(f"{what} has pixel data of undefined length in a native transfer syntax",
                              "the object is malformed (see: show N)")
        need = shape.native_bytes()
        held = min(element.length, available)
        if held < need:
            raise NotViewable(f"{what} claims {_claim(shape)}, {need:,} bytes of pixel data, and holds {held:,}: "
                              "it is not drawn", "the object is malformed or truncated (see: show N)")
        return
    if element.length != UNDEFINED:
        raise NotViewable(f"{what} has encapsulated pixel data of defined length (it must be undefined)",
                          "the object is malformed (see: show N)")
    fragments = _walk_fragments(source.stream, element.start, source.size, shape, what)
    if fragments < shape.frames:
        raise NotViewable(f"{what} claims {_claim(shape)} and its pixel data holds {fragments} fragment"
                          f"{'s' if fragments != 1 else ''}: it is not drawn",
                          "the object is malformed or truncated (see: show N)")


def _encapsulated(source: Source) -> bool:
    from pydicom.uid import UID

    return UID(source.transfer_syntax).is_encapsulated


def _claim(g: Geometry) -> str:
    frames = f" × {g.frames:,} frames" if g.frames > 1 else ""
    return f"{g.rows}×{g.columns}×{g.samples} samples × {g.bits_allocated} bits{frames}"


def _walk_fragments(stream: BinaryIO, start: int, size: int, shape: Geometry, what: str) -> int:
    """Fragments after the offset table, counted up to one a frame (no further: the count is the bound
    asked for), each item's header checked against the end of the file, each codestream's size
    against the header's."""
    stream.seek(start)
    position, fragments, first = start, 0, True
    while fragments < shape.frames:
        head = stream.read(8)
        if len(head) < 8:
            raise NotViewable(f"{what} has encapsulated pixel data that ends without a sequence delimiter",
                              "the object is truncated (see: show N)")
        group, element, length = struct.unpack("<HHI", head)
        if (group, element) == (0xFFFE, 0xE0DD):
            break
        if (group, element) != (0xFFFE, 0xE000) or position + 8 + length > size:
            raise NotViewable(f"{what} has encapsulated pixel data that is malformed at byte {position:,}",
                              "the object is malformed or truncated (see: show N)")
        if not first:
            fragments += 1
            _check_codestream(stream.read(min(length, _CODESTREAM_PEEK)), shape, what)
        first = False
        position += 8 + length
        stream.seek(position)
    return fragments


def _check_codestream(data: bytes, shape: Geometry, what: str) -> None:
    size = codestream_size(data)
    if size is not None and size != (shape.rows, shape.columns):
        raise NotViewable(f"{what} says {shape.rows}×{shape.columns} pixels in its header and {size[0]}×{size[1]} in "
                          "its compressed frame: it is not decoded", "the object is malformed (see: show N)")


def codestream_size(data: bytes) -> tuple[int, int] | None:
    """(rows, columns) a JPEG, JPEG-LS or JPEG 2000 codestream declares in its frame header, if ``data``
    starts one and holds that header; else None (a fragment that continues a frame, say)."""
    if data[:4] == b"\xff\x4f\xff\x51" and len(data) >= 16:  # JPEG 2000: SOC, then SIZ
        xsiz, ysiz, xosiz, yosiz = struct.unpack(">IIII", data[8:24]) if len(data) >= 24 else (0, 0, 0, 0)
        return ysiz - yosiz, xsiz - xosiz
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7):
            if pos + 9 > len(data):
                return None
            rows, columns = struct.unpack(">HH", data[pos + 5:pos + 9])
            return rows, columns
        pos += 2 + length
    return None
