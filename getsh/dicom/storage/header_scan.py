"""The few header values a table row shows, read from the start of a stored file in microseconds.

After a bit-preserving retrieve the table shows patient, modality and study/series for its last
rows, and ``received`` for every object; nothing was decoded while the objects arrived. pydicom's
``dcmread`` parses every element up to the pixel data (milliseconds for a CT header); this walks
the top-level elements of the first 64 KB and stops after (0020,000E), skipping sequences whole.
Only the values it returns are decoded (PatientName with the data set's character set, through
pydicom). A deflated file is inflated no further than the prefix (a deflate bomb stays a small
read). Anything it cannot walk (big endian, a header longer than the prefix) returns None and the
caller falls back to pydicom, through ``read_head``, which never inflates more than HEAD_LIMIT.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from getsh.dicom.events import Received
from getsh.dicom.storage.diskio import offset_in

if TYPE_CHECKING:
    from pydicom import Dataset

HEADER_KEYWORDS = ("PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID", "Modality")

PREFIX = 64 * 1024
_LAST = 0x0020000E
_WANTED = {
    0x00080005: "SpecificCharacterSet",
    0x00080060: "Modality",
    0x00100010: "PatientName",
    0x00100020: "PatientID",
    0x0020000D: "StudyInstanceUID",
    0x0020000E: "SeriesInstanceUID",
}
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_IMPLICIT_LE, _EXPLICIT_LE = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
_DEFLATED = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.1.98"}
_HEADER_TAGS: list[int | str] = [0x00080060, 0x00100010, 0x00100020, 0x0020000D, 0x0020000E]  # HEADER_KEYWORDS' tags
HEAD_LIMIT = 1024 * 1024  # inflated bytes read_head reads at most from a deflated file
_INFLATE_READ = 16 * 1024
_BIG_OR_DEFLATED = {"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.1.98"}
_U16, _U32, _TAG = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<HH")


class _Short(Exception):
    """The prefix ended before the walk did."""


def _tag(data: bytes, pos: int) -> int:
    if pos + 4 > len(data):
        raise _Short
    group, elem = _TAG.unpack_from(data, pos)
    return int(group) << 16 | int(elem)


def _skip_undefined(data: bytes, pos: int, implicit: bool) -> int:
    """Past a sequence (or item) of undefined length: nested items walked to their delimiter."""
    while True:
        tag = _tag(data, pos)
        if tag == 0xFFFEE0DD:  # sequence delimiter
            return pos + 8
        if tag != 0xFFFEE000:
            raise ValueError("not an item inside a sequence")
        length = _U32.unpack_from(data, pos + 4)[0]
        pos += 8
        if length != 0xFFFFFFFF:
            pos += length
            continue
        while True:  # an item of undefined length: its elements, up to the item delimiter
            if _tag(data, pos) == 0xFFFEE00D:
                pos += 8
                break
            pos = _element(data, pos, implicit)[2]


def _element(data: bytes, pos: int, implicit: bool) -> tuple[int, bytes | None, int]:
    """(tag, value or None when skipped whole, position after it)."""
    tag = _tag(data, pos)
    if implicit:
        if pos + 8 > len(data):
            raise _Short
        length, start = _U32.unpack_from(data, pos + 4)[0], pos + 8
    else:
        if pos + 8 > len(data):
            raise _Short
        vr = data[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                raise _Short
            length, start = _U32.unpack_from(data, pos + 8)[0], pos + 12
        else:
            length, start = _U16.unpack_from(data, pos + 6)[0], pos + 8
    if length == 0xFFFFFFFF:
        return tag, None, _skip_undefined(data, start, implicit)
    end = start + length
    if tag in _WANTED:
        if end > len(data):
            raise _Short
        return tag, data[start:end], end
    return tag, None, end


def scan(data: bytes, transfer_syntax: str, *, complete: bool = True) -> dict[str, str] | None:
    """The header values from a data set's first bytes (no File Meta), or None if they cannot be
    walked. ``complete``: ``data`` is the whole data set, not a prefix of it."""
    if transfer_syntax in _BIG_OR_DEFLATED:
        return None
    implicit = transfer_syntax == _IMPLICIT_LE
    raw: dict[str, bytes] = {}
    pos = 0
    try:
        while True:
            if pos >= len(data):
                if pos > len(data) or not complete:
                    return None
                break
            tag, value, pos = _element(data, pos, implicit)
            if value is not None:
                raw[_WANTED[tag]] = value
            if tag >= _LAST:
                break
    except (_Short, ValueError, struct.error, RecursionError):  # RecursionError: sequences nested past reason
        return None
    return _decode(raw)


def _decode(raw: dict[str, bytes]) -> dict[str, str]:
    def text(keyword: str) -> str:
        return raw.get(keyword, b"").rstrip(b"\0 ").decode("latin-1")

    out = {k: text(k) for k in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "Modality")}
    name = raw.get("PatientName", b"").rstrip(b"\0 ")
    charset = text("SpecificCharacterSet")
    if name and (charset or not name.isascii()):  # decoded as pydicom would: with the data set's character set
        from pydicom.charset import convert_encodings
        from pydicom.valuerep import PersonName

        terms = [t.strip() for t in charset.split("\\")] if charset else ["ISO_IR 6"]
        out["PatientName"] = str(PersonName(name, encodings=convert_encodings(terms)))
    else:
        out["PatientName"] = name.decode("ascii")
    return out


def read_header(path: str | Path, transfer_syntax: str) -> dict[str, str] | None:
    """``scan`` over a stored Part 10 file's data set (after its File Meta); a deflated one is inflated
    no further than the prefix."""
    with open(path, "rb") as fp:
        head = fp.read(PREFIX)
        try:
            start = offset_in(head)
        except ValueError:
            return None
        if not start:
            return None
        if transfer_syntax in _DEFLATED:
            fp.seek(start)
            data, whole = inflated_head(fp, PREFIX)
            return scan(data, _EXPLICIT_LE, complete=whole and len(data) < PREFIX)
    return scan(head[start:], transfer_syntax, complete=len(head) < PREFIX)


def inflated_head(fp: BinaryIO, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the raw deflate stream from ``fp``'s position: (the bytes, whether
    that was all of it). A deflate bomb costs ``limit`` bytes here, whatever it inflates to."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    parts, have = [], 0
    while have < limit and not inflater.eof:
        chunk = fp.read(_INFLATE_READ)
        if not chunk:
            break
        data = inflater.decompress(chunk, limit - have)
        parts.append(data)
        have += len(data)
    return b"".join(parts), inflater.eof


def read_head(path: str | Path, tags: list[int | str], *, force: bool = False) -> Dataset:
    """``dcmread(path, stop_before_pixels=True, specific_tags=tags)``, except that a deflated file is
    inflated no further than HEAD_LIMIT bytes (pydicom inflates all of it first): the attributes
    asked for, read from a stored file back."""
    from pydicom import dcmread
    from pydicom.filereader import read_dataset, read_file_meta_info
    from pydicom.tag import Tag

    if str(read_file_meta_info(path).get("TransferSyntaxUID", "")) not in _DEFLATED:
        return dcmread(path, stop_before_pixels=True, specific_tags=tags, force=force)  # type: ignore[arg-type]
    wanted = [Tag(t) for t in tags]
    last = max(wanted, default=0)
    with open(path, "rb") as fp:
        fp.seek(offset_in(fp.read(PREFIX)))
        data, _ = inflated_head(fp, HEAD_LIMIT)
    return read_dataset(io.BytesIO(data), False, True, stop_when=lambda tag, vr, length: tag > last,
                        specific_tags=wanted)  # type: ignore[arg-type]


def header_of(dataset: Dataset) -> dict[str, str]:
    return {k: str(dataset.get(k, "") or "") for k in HEADER_KEYWORDS}


def with_header(item: Received) -> Received:
    """``item`` with its patient/study/series words read from its file, if they are missing.

    In bit-preserving mode nothing is decoded while objects arrive (reading each header back
    cost ~10% of a retrieve); the table reads the few it shows afterwards, and ``received``
    the ones it lists.
    """
    if item.modality or item.study_uid or item.path is None:
        return item

    path = Path(item.output_dir) / item.path
    try:
        header = read_header(path, item.transfer_syntax) or header_of(read_head(path, _HEADER_TAGS))
    except Exception:  # a header we cannot read only costs the table its details
        return item
    return replace(item, patient_id=header["PatientID"], patient_name=header["PatientName"],
                   study_uid=header["StudyInstanceUID"], series_uid=header["SeriesInstanceUID"],
                   modality=header["Modality"])
