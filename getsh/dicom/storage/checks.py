"""Is what arrived a data set, and are its UIDs UIDs? Cheap checks on every received object.

``walk`` goes over a data set's top-level elements reading only their headers (tag, VR, length)
and skipping each value by its length, the way a reader seeks; sequences and encapsulated pixel
data of undefined length are walked item by item, headers only. A 1.5 GB object costs a few
hundred small reads, whatever its size, so bit-preserving storage can check every object it keeps.
It tells three faults apart, because they mean different things to whoever reads the file:

- *not a data set*: the first element is not an element (random bytes, a wrong transfer syntax);
- *truncated*: an element declares more bytes than remain (the data set was cut short);
- *trailing garbage*: well-formed elements, then bytes that are no element (wrong VR, tags that
  go backwards, an item outside a sequence).

Values are not decoded, except the SOP Class and Instance UIDs (0008,0016/0018), which are compared
with the C-STORE request's. UIDs are checked against PS3.5 9.1: digits and dots, at most 64
characters, no empty component, no leading zero in a component ("0" itself is one).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from getsh.dicom import portable
from getsh.dicom.events import Remark
from getsh.dicom.storage.bulk import BULK_TAGS, LARGE, Element, Source

NOT_A_DATA_SET, TRUNCATED, TRAILING_GARBAGE = "not a data set", "truncated", "trailing garbage"
UID_NOT_VALID, UID_MISMATCH = "not a UID", "UIDs differ"  # kinds of Remark, as a table shows them
NO_PIXELS = "no pixel data"  # an image whose data set ends before its pixels: cut at an element boundary?

_SOP_CLASS, _SOP_INSTANCE = 0x00080016, 0x00080018
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})  # Float, Double Float and Pixel Data
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
def _codes(names: str) -> frozenset[int]:
    """VRs as the 16-bit numbers their two bytes make (compared without slicing a byte string)."""
    return frozenset(int.from_bytes(vr.encode(), "big") for vr in names.split())


_VR_CODES = _codes("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US "
                   "UT UV")
_LONG_VR_CODES = _codes("OB OD OF OL OV OW SQ SV UC UN UR UT UV")
_UNDEFINED_OK = _codes("SQ UN OB OW")
_IMPLICIT_LE, _EXPLICIT_BE = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
_DEFLATED = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.1.98"})
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_WINDOW = 64 * 1024
_MAX_DEPTH = 64  # nested undefined-length sequences deeper than this are not a data set anyone wrote


@dataclass(frozen=True)
class Structure:
    """What the walk found: ``problem`` is '' for a well-formed data set, else '<kind>: <detail>'
    (kind one of the three above); the data set's own SOP Class/Instance UIDs when it holds them."""

    problem: str = ""
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    checked: bool = True  # False: a deflated data set is not walked
    pixels: bool = False  # a top-level pixel data element was found
    bulk: tuple[Element, ...] = ()  # the top-level bulk elements (bulk.py), where they are

    @property
    def kind(self) -> str:
        return self.problem.split(":", 1)[0]


class _Fault(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _vr(code: int) -> str:
    return chr(code >> 8) + chr(code & 0xFF)


class _Walk:
    """One walk over a ``size``-byte data set. ``fill(pos)`` gives the bytes from ``pos`` on, as many as
    are at hand (all of them in memory; a 64 KB window of a file): headers are parsed in place."""

    def __init__(self, fill: Callable[[int], bytes | memoryview], size: int, syntax: str) -> None:
        self.fill, self.size = fill, size
        self.buf: bytes | memoryview = b""
        self.base = 0  # the data set offset of buf[0]
        self.implicit = syntax == _IMPLICIT_LE
        order = ">" if syntax == _EXPLICIT_BE else "<"
        self.tag_s, self.u16 = struct.Struct(order + "HH"), struct.Struct(order + "H")
        self.u32 = struct.Struct(order + "I")
        self.elements = 0  # top-level elements walked so far
        self.uids: dict[int, str] = {}
        self.pixels = False
        self.bulk: list[Element] = []

    def _at(self, pos: int, count: int) -> int:
        """Where ``pos`` is in ``buf``, with ``count`` bytes after it if the data set has them."""
        i = pos - self.base
        if i < 0 or i + count > len(self.buf):
            self.buf, self.base, i = self.fill(pos), pos, 0
        return i

    def _header(self, pos: int) -> tuple[int, int, int, int]:
        """(tag, VR as a 16-bit code or 0, value length, where the value starts) of the element at ``pos``."""
        i = self._at(pos, 12)
        buf = self.buf
        have = min(len(buf) - i, self.size - pos)
        if have < 8:
            raise _Fault(TRUNCATED, f"it ends inside an element header at byte {pos:,}")
        group, elem = self.tag_s.unpack_from(buf, i)
        tag = group << 16 | elem
        if self.implicit or group == 0xFFFE:
            return tag, 0, self.u32.unpack_from(buf, i + 4)[0], pos + 8
        vr = buf[i + 4] << 8 | buf[i + 5]
        if vr not in _VR_CODES:
            raise _Fault(TRAILING_GARBAGE, f"{_tag_text(tag)} at byte {pos:,} has no valid VR")
        if vr in _LONG_VR_CODES:
            if have < 12:
                raise _Fault(TRUNCATED, f"it ends inside the header of {_tag_text(tag)}")
            return tag, vr, self.u32.unpack_from(buf, i + 8)[0], pos + 12
        return tag, vr, self.u16.unpack_from(buf, i + 6)[0], pos + 8

    def _past(self, tag: int, start: int, length: int) -> int:
        end = start + length
        if end > self.size:
            raise _Fault(TRUNCATED, f"{_tag_text(tag)} declares {length:,} bytes, {max(self.size - start, 0):,} remain")
        return end

    def data_set(self) -> None:
        pos, last = 0, -1
        while pos < self.size:
            try:
                last_pos = pos
                tag, vr, length, start = self._header(pos)
                if tag <= last or tag >> 16 == 0xFFFE:
                    raise _Fault(TRAILING_GARBAGE, f"{_tag_text(tag)} at byte {pos:,} is out of order")
                undefined = length == _UNDEFINED
                if undefined:
                    if vr and vr not in _UNDEFINED_OK:
                        raise _Fault(TRAILING_GARBAGE, f"{_vr(vr)} {_tag_text(tag)} has an undefined length")
                    pos = self._items(start, 0)
                    length = pos - 8 - start  # the items, without the sequence delimiter
                else:
                    pos = self._past(tag, start, length)
                    if tag in (_SOP_CLASS, _SOP_INSTANCE) and length <= 128:
                        i = self._at(start, length)
                        value = bytes(self.buf[i : i + length])
                        self.uids[tag] = value.rstrip(b"\0 ").decode("latin-1")
                if tag in BULK_TAGS or length >= LARGE:
                    self.bulk.append(Element(tag, _vr(vr).encode() if vr else b"", last_pos, start, length,
                                             undefined, pos))
            except _Fault as fault:
                if self.elements == 0:  # nothing here was ever an element
                    raise _Fault(NOT_A_DATA_SET, str(fault).split(": ", 1)[1]) from None
                raise
            last = tag
            self.elements += 1
            self.pixels = self.pixels or tag in _PIXEL_TAGS

    def _items(self, pos: int, depth: int) -> int:
        """Past a sequence (or encapsulated pixel data) of undefined length: after its delimiter."""
        if depth > _MAX_DEPTH:
            raise _Fault(TRAILING_GARBAGE, f"sequences nested over {_MAX_DEPTH} deep")
        while True:
            tag, _, length, start = self._header(pos)
            if tag == _SEQUENCE_END:
                return start
            if tag != _ITEM:
                raise _Fault(TRAILING_GARBAGE, f"{_tag_text(tag)} at byte {pos:,} inside a sequence is not an item")
            if length != _UNDEFINED:
                pos = self._past(tag, start, length)
                continue
            pos = start
            while True:  # an item of undefined length: its elements, headers only, to the item delimiter
                tag, _, length, start = self._header(pos)
                if tag == _ITEM_END:
                    pos = start
                    break
                if length == _UNDEFINED:
                    pos = self._items(start, depth + 1)
                else:
                    pos = self._past(tag, start, length)


def walk(fill: Callable[[int], bytes | memoryview], size: int, transfer_syntax: str) -> Structure:
    """The structure of the ``size``-byte data set whose bytes from ``pos`` on ``fill(pos)`` gives."""
    if transfer_syntax in _DEFLATED:
        return Structure(checked=False)
    state = _Walk(fill, size, transfer_syntax)
    problem = ""
    if size == 0:
        problem = f"{NOT_A_DATA_SET}: it is empty"
    else:
        try:
            state.data_set()
        except _Fault as fault:
            problem = str(fault)
        except (struct.error, ValueError) as exc:
            problem = f"{TRAILING_GARBAGE}: {exc}"
    return Structure(problem, state.uids.get(_SOP_CLASS), state.uids.get(_SOP_INSTANCE), pixels=state.pixels,
                     bulk=tuple(state.bulk))


def check_bytes(data: bytes | bytearray | memoryview, transfer_syntax: str) -> Structure:
    view = memoryview(data)
    return walk(lambda pos: view[pos:], len(view), transfer_syntax)


def check_file(path: str | os.PathLike[str], offset: int, transfer_syntax: str) -> Structure:
    """``walk`` over a file's data set from ``offset``: headers read through a 64 KB window that moves
    only when a header falls outside it (one read for a whole CT header, one per value that reaches
    past the window), values never read. portable.pread_into, on a descriptor of our own."""
    window = bytearray(_WINDOW)

    def fill(pos: int) -> memoryview:
        view = memoryview(window)
        return view[: portable.pread_into(fd, view, offset + pos)]

    with open(path, "rb") as fp:
        fd = fp.fileno()
        return walk(fill, max(os.fstat(fd).st_size - offset, 0), transfer_syntax)


def check_descriptor(fd: int, offset: int, size: int, transfer_syntax: str) -> Structure:
    """``check_file`` on a descriptor open for reading whose file is ``size`` bytes long: a file just
    written, walked before it is closed (no open, stat or close of its own)."""
    window = bytearray(_WINDOW)

    def fill(pos: int) -> memoryview:
        view = memoryview(window)
        return view[: portable.pread_into(fd, view, offset + pos)]

    return walk(fill, max(size - offset, 0), transfer_syntax)


def check_source(source: Source, transfer_syntax: str) -> Structure:
    """``walk`` over a received data set wherever it is: in memory, or in a file through a window."""
    view = source.memory()
    if view is not None:
        return check_bytes(view, transfer_syntax)
    window = bytearray(_WINDOW)
    fd = source.fp.fileno()

    def fill(pos: int) -> memoryview:
        buf = memoryview(window)
        return buf[: portable.pread_into(fd, buf, source.offset + pos)]

    return walk(fill, source.size, transfer_syntax)


def uid_problem(uid: str) -> str:
    """Why ``uid`` is not a UID (PS3.5 9.1), or '' when it is one."""
    if not uid:
        return "it is empty"
    if len(uid) > 64:
        return f"{len(uid)} characters, over 64"
    if _UID.fullmatch(uid):
        return ""
    if re.fullmatch(r"[0-9.]+", uid):
        return "an empty component or one with a leading zero"
    return "not digits and dots"


def _named(uid: str) -> str:
    from getsh.dicom.net.syntaxes import uid_name  # pydicom's UID dictionary: loaded when a remark is made

    name = uid_name(uid)
    return f"{uid!r}" + (f" ({name})" if name and name != uid else "")


def remarks(request_class: str, request_instance: str, structure: Structure, *,
            flag_structure: bool) -> tuple[Remark, ...]:
    """What to tell about an object that is being kept: its request's UIDs that are not UIDs, the data
    set's UIDs that differ from the request's, and (``flag_structure``) a data set that is not well formed."""
    out = []
    request_class, request_instance = str(request_class), str(request_instance)  # a caller's MultiValue, say
    for what, uid in (("SOP Instance UID", request_instance), ("SOP Class UID", request_class)):
        why = uid_problem(uid)
        if why:
            out.append(Remark(UID_NOT_VALID, f"the request's {what} {uid!r} is not a valid UID ({why})"))
    for what, ours, theirs in (("SOP Instance UID", request_instance, structure.sop_instance_uid),
                               ("SOP Class UID", request_class, structure.sop_class_uid)):
        if theirs is not None and theirs != ours:
            out.append(Remark(UID_MISMATCH, f"the data set's {what} {_named(theirs)} differs from the request's "
                                            f"{_named(ours)} (which names the file and its File Meta)"))
    if flag_structure and structure.problem:
        out.append(Remark(structure.kind, f"kept as received, but {structure.problem}"))
    elif structure.checked and not structure.problem and not structure.pixels and _is_image(request_class):
        out.append(Remark(NO_PIXELS, f"an image ({_class_name(request_class)}) whose data set ends without "
                                     "pixel data (7FE0,0010): cut short by the peer?"))
    return tuple(out)


def _class_name(sop_class: str) -> str:
    from getsh.dicom.net.syntaxes import uid_name  # pydicom's UID dictionary: loaded when a remark is made

    return uid_name(sop_class)


def _is_image(sop_class: str) -> bool:
    """An image storage class, whose IOD makes pixel data Type 1 (every '… Image Storage' class)."""
    return "Image Storage" in _class_name(sop_class)
