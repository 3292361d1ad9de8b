"""A stored object opened for drawing: its header read without the pixel data, and where the pixel data is.

``open_stored`` reads the data set up to the pixel data (pydicom's ``read_dataset`` with a stop at the
first top-level pixel data element) and leaves the file there, so that nothing of the pixel data is
read before ``checks.py`` has compared what the header claims with what the file holds. A deflated
file is inflated first, at most ``MAX_INFLATED`` bytes (a deflate bomb is refused, not inflated).
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from getsh.dicom.storage.diskio import offset_in
from getsh.dicom.storage.header_scan import inflated_head
from getsh.errors import GetshError

if TYPE_CHECKING:
    from pydicom import Dataset

PIXEL_TAGS = {0x7FE00008: "FloatPixelData", 0x7FE00009: "DoubleFloatPixelData", 0x7FE00010: "PixelData"}
UNDEFINED = 0xFFFFFFFF
DEFER = 1024 * 1024  # a larger value (an encapsulated document, say) is skipped, never read: its length is kept
MAX_INFLATED = 512 * 1024 * 1024  # a deflated object is drawn only if it inflates to at most this
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.1.98")
_EXPLICIT_LE = "1.2.840.10008.1.2.1"


class NotViewable(GetshError):
    """An object that cannot be drawn, and why: one line, and what to do."""


@dataclass
class PixelElement:
    """The top-level pixel data element: its keyword, VR, declared length, and where its value starts."""

    keyword: str
    vr: str
    length: int  # UNDEFINED for encapsulated pixel data
    start: int  # the value's offset in the stream


@dataclass
class Source:
    """An opened stored object: the header (no pixel data), the stream positioned anywhere, and its size."""

    header: Dataset
    stream: BinaryIO
    size: int  # bytes in the stream (inflated, for a deflated file)
    transfer_syntax: str  # as the stream is encoded (a deflated file's is Explicit VR Little Endian once inflated)
    stored_syntax: str  # as the file says
    pixels: PixelElement | None

    def close(self) -> None:
        self.stream.close()


def open_stored(path: Path) -> Source:
    """The object stored at ``path``, opened (see the module docstring); NotViewable when it cannot be read."""
    from pydicom.filereader import read_dataset, read_file_meta_info

    try:
        meta = read_file_meta_info(path)
        syntax = str(meta.get("TransferSyntaxUID", "") or "")
        stream: BinaryIO = open(path, "rb")  # closed by Source.close
    except Exception as error:
        raise NotViewable(f"cannot read {path}: {first_line(error)}", "was the file moved or deleted?") from None
    try:
        start = offset_in(stream.read(144 + 64 * 1024))
        stream.seek(start)
        encoding = syntax
        if syntax in _DEFLATED:
            stream = _inflated(stream, path)
            encoding = _EXPLICIT_LE
        if not encoding:
            raise NotViewable(f"{path} has no transfer syntax in its File Meta Information",
                              "it is not a Part 10 file getsh can read")
        implicit, little = encoding == "1.2.840.10008.1.2", encoding != "1.2.840.10008.1.2.2"
        header = read_dataset(stream, implicit, little, stop_when=lambda tag, vr, length: tag in PIXEL_TAGS,
                              defer_size=DEFER)
        header.file_meta = meta
        pixels = _pixel_element(stream, implicit, little)
        size = stream.seek(0, os.SEEK_END)
    except NotViewable:
        stream.close()
        raise
    except Exception as error:
        stream.close()
        raise NotViewable(f"cannot read {path}: {first_line(error)}", "it is not a data set pydicom can read") from None
    return Source(header, stream, size, encoding, syntax, pixels)


def _inflated(stream: BinaryIO, path: Path) -> BinaryIO:
    data, whole = inflated_head(stream, MAX_INFLATED)
    stream.close()
    if not whole:
        raise NotViewable(f"{path} is deflated and inflates past {MAX_INFLATED // 1024**2} MB: it is not drawn",
                          "a deflate bomb, or an object too large to view here")
    return io.BytesIO(data)


def _pixel_element(stream: BinaryIO, implicit: bool, little: bool) -> PixelElement | None:
    """The element the stream stands at (read_dataset stopped there), or None at the end of the data set."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    order = "<" if little else ">"
    group, element = struct.unpack(order + "HH", head[:4])
    keyword = PIXEL_TAGS.get(group << 16 | element)
    if keyword is None:
        return None
    if implicit:
        vr, length = "OW", struct.unpack(order + "I", head[4:])[0]
    else:
        vr = head[4:6].decode("ascii", "replace")
        length = struct.unpack(order + "I", stream.read(4))[0]
    return PixelElement(keyword, vr, length, stream.tell())


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
