"""Values checked against their VR and VM before anything is sent (PS3.5 6.2, PS3.4 C.2.2.2).

getscu and dcmodify send whatever text they get (``StudyDate=notadate`` goes out as is), and
the peer then matches nothing or refuses. Here a value that cannot be right is a UsageError
naming the keyword, the VR and the fault; what is legal but probably not meant (a person name
without ``^``, non-ASCII text without a character set) is a warning.

The rules are those of a Q/R identifier, not of a stored object: empty values are return
keys; DA, TM and DT take ranges (``A-B``, ``-B``, ``A-``); ``*`` and ``?`` are wildcards where
C.2.2.2.4 allows them; UI keys take a list of UIDs whatever their VM (list of UID matching).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from typing import Protocol

from getsh.errors import EXCERPT, UsageError, excerpt


class Element(Protocol):
    """What a value is checked against: a dictionary entry (keys/dictionary.py) as far as VRs go."""

    @property
    def label(self) -> str: ...

    @property
    def write_vr(self) -> str: ...

    @property
    def vm(self) -> str: ...


TagOf = Callable[[str], int]  # a tag from its forms ((gggg,eeee), gggg,eeee, keyword): the dictionary's lookup

Scalar = str | int | float
Value = Scalar | list[Scalar] | None

VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)
_BINARY = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
_SINGLE_VALUED_TEXT = frozenset({"LT", "ST", "UT", "UR"})  # backslash is data, not a separator
# PS3.5 table 6.2-1: the longest value of each VR, in characters; DA, TM and DT as query ranges (A-B, C.2.2.2.5),
# a person name per component group (_person_name); UC, UR and UT as long as a value length can say.
_MAX_CHARS = {"AE": 16, "AS": 4, "CS": 16, "DA": 18, "DS": 16, "DT": 54, "IS": 12, "LO": 64, "LT": 10240,
              "PN": 3 * 64 + 2, "SH": 16, "ST": 1024, "TM": 28, "UC": 2**32 - 2, "UI": 64, "UR": 2**32 - 2,
              "UT": 2**32 - 2}
_INT_RANGES = {
    "US": (0, 0xFFFF),
    "SS": (-0x8000, 0x7FFF),
    "UL": (0, 0xFFFFFFFF),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
}
_CS = re.compile(r"[A-Z0-9 _*?]*")
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_TM = re.compile(r"(\d\d)(?:(\d\d)(?:(\d\d)(?:\.\d{1,6})?)?)?")
_DT = re.compile(r"(\d{4})(?:(\d\d)(?:(\d\d)(?:(\d\d)(?:(\d\d)(?:(\d\d)(?:\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?")
_AS = re.compile(r"\d{3}[DWMY]")
_IS = re.compile(r"[+-]?\d+")
_DS = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_CONTROL = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")  # ESC (1b) is allowed: ISO 2022 escapes


def validate(entry: Element, value: str | None, tag_of: TagOf, warnings: list[str] | None = None) -> Value:
    """The value as pydicom should hold it (str, int, float, a list of them, or None for a
    return key); raise UsageError when it cannot be right. Warnings go to ``warnings``.
    ``tag_of`` reads an AT value (the dictionary knows the tag forms)."""
    if value is None or value == "":
        return None
    name = entry.label
    vr = entry.write_vr
    notes = warnings if warnings is not None else []

    def fail(problem: str, hint: str = "") -> UsageError:
        return UsageError(f"{name} ({vr}): {problem}", hint or _HINTS.get(vr, ""))

    if vr == "SQ":
        raise UsageError(
            f"{name} is a sequence: it holds items, not a value",
            f"write {name} for an empty sequence, or {name}[0].Keyword=value",
        )
    if vr in _BINARY:
        raise fail("binary values cannot be typed; leave the value out to ask for it (a return key)")
    parts = [value] if vr in _SINGLE_VALUED_TEXT else value.split("\\")
    low, high = _vm_bounds(entry.vm)
    if vr != "UI" and len(parts) > high:
        raise fail(
            f"takes at most {high} value{'s' if high > 1 else ''} (VM {entry.vm}), got {len(parts)}: {excerpt(value)}",
            "\\ separates values; use it only where the VM allows several",
        )
    if 1 < len(parts) < low or (len(parts) > 1 and entry.vm.endswith("n") and len(parts) % low):
        notes.append(f"{name}: VM {entry.vm} but {len(parts)} values given")
    if "" in parts and len(parts) > 1:
        notes.append(f"{name}: an empty value between backslashes in {excerpt(value)}")
    if vr in ("LO", "SH", "PN", "LT", "ST", "UT", "UC") and not value.isascii():
        notes.append(
            f"{name}: non-ASCII text needs SpecificCharacterSet in the identifier "
            "(e.g. SpecificCharacterSet=ISO_IR 192)"
        )
    checked: list[Scalar] = []
    for part in parts:
        if not part:
            checked.append("")
            continue
        if ("*" in part or "?" in part) and vr not in _WILDCARD_VRS:
            raise fail(f"wildcards * and ? are not allowed in {vr} values ({excerpt(part)})")
        try:
            checked.append(_check(vr, part, notes, name, tag_of))
        except ValueError as exc:
            raise fail(str(exc)) from None
    return checked[0] if len(checked) == 1 else checked


_HINTS = {
    "DA": "dates are YYYYMMDD (20240131); ranges A-B, -B or A-",
    "TM": "times are HHMMSS[.FFFFFF] (093000); ranges A-B, -B or A-",
    "DT": "date-times are YYYYMMDDHHMMSS[.FFFFFF][+ZZZZ]; ranges A-B, -B or A-",
    "UI": "UIDs are digits and dots, at most 64 characters (1.2.840.10008.1.1)",
    "CS": "code strings are upper case A-Z, 0-9, space and _, at most 16 characters",
    "AE": "AE titles are at most 16 characters, without backslash",
    "AS": "ages are nnnD, nnnW, nnnM or nnnY (045Y)",
    "IS": "an integer string of at most 12 characters",
    "DS": "a decimal number of at most 16 characters (1.5, -2e3)",
    "US": "an unsigned 16-bit integer (0..65535)",
    "SS": "a signed 16-bit integer (-32768..32767)",
    "UL": "an unsigned 32-bit integer",
    "SL": "a signed 32-bit integer",
    "UV": "an unsigned 64-bit integer",
    "SV": "a signed 64-bit integer",
    "FL": "a floating point number",
    "FD": "a floating point number",
    "AT": "a tag: (gggg,eeee), gggg,eeee or a keyword",
}


def _vm_bounds(vm: str) -> tuple[int, float]:
    """(minimum, maximum) number of values a VM string allows ("1", "1-3", "2-2n", "1-n")."""
    low, _, high = vm.partition("-")
    low_n = int(low) if low.isdigit() else 1
    if not high:
        return low_n, low_n
    return low_n, math.inf if high.endswith("n") else int(high)


def _check(vr: str, part: str, notes: list[str], name: str, tag_of: TagOf) -> Scalar:
    """One value of a VR, or ValueError saying what is wrong."""
    if vr in _MAX_CHARS and len(part) > _MAX_CHARS[vr]:
        shown = repr(part) if len(part) <= EXCERPT else f"the value {part[:EXCERPT]!r}…"
        raise ValueError(f"{shown} is {len(part):,} characters long; the maximum is {_MAX_CHARS[vr]:,}")
    if vr in ("DA", "TM", "DT"):
        return _range(vr, part)
    if vr == "UI":
        if not _UID.fullmatch(part):
            raise ValueError(f"{excerpt(part)} is not a UID: digits and dots only, no leading zeros in a component")
        return part
    if vr == "CS":
        if not _CS.fullmatch(part):
            hint = f" (did you mean {part.upper()!r}?)" if _CS.fullmatch(part.upper()) else ""
            raise ValueError(f"{excerpt(part)} has characters a code string cannot hold{hint}")
        return part
    if vr == "AE":
        if _CONTROL.search(part):
            raise ValueError(f"{excerpt(part)} contains a control character")
        return part
    if vr == "AS":
        if not _AS.fullmatch(part):
            raise ValueError(f"{excerpt(part)} is not an age")
        return part
    if vr == "IS":
        if not _IS.fullmatch(part.strip()) or not -(2**31) <= int(part) < 2**31:
            raise ValueError(f"{excerpt(part)} is not a 32-bit integer")
        return part.strip()
    if vr == "DS":
        if not _DS.fullmatch(part.strip()):
            raise ValueError(f"{excerpt(part)} is not a decimal number")
        return part.strip()
    if vr in _INT_RANGES:
        lo, hi = _INT_RANGES[vr]
        try:
            number = int(part, 10)
        except ValueError:
            raise ValueError(f"{excerpt(part)} is not a number") from None
        if not lo <= number <= hi:
            raise ValueError(f"{number} is out of range {lo}..{hi}")
        return number
    if vr in ("FL", "FD"):
        try:
            real = float(part)
        except ValueError:
            raise ValueError(f"{excerpt(part)} is not a number") from None
        if not math.isfinite(real) or (vr == "FL" and abs(real) > 3.4028235e38):
            raise ValueError(f"{excerpt(part)} is out of range for {vr}")
        return real
    if vr == "AT":
        return tag_of(part)
    if vr == "PN":
        return _person_name(part, notes, name)
    if _CONTROL.search(part) and vr not in ("LT", "ST", "UT"):
        raise ValueError(f"{excerpt(part)} contains a control character")
    return part


def _person_name(part: str, notes: list[str], name: str) -> str:
    groups = part.split("=")
    if len(groups) > 3:
        raise ValueError(f"{excerpt(part)} has {len(groups)} component groups; a person name has at most 3 (=)")
    for group in groups:
        if len(group) > 64:
            raise ValueError(f"a component group of {excerpt(part)} is {len(group)} characters; the maximum is 64")
        if group.count("^") > 4:
            raise ValueError(f"{excerpt(group)} has more than 5 components (^)")
    if " " in part.strip() and "^" not in part and "*" not in part:
        notes.append(f"{name}: DICOM names are Family^Given; {excerpt(part)} will not match 'Family^Given' names")
    return part


def _range(vr: str, part: str) -> str:
    """A DA/TM/DT value or range (A-B, -B, A-); DT offsets like -0500 are not range dashes."""
    single = {"DA": _date, "TM": _time, "DT": _datetime}[vr]
    candidates = [i for i, char in enumerate(part) if char == "-"]
    if not candidates:
        single(part)
        return part
    if vr != "DT" and len(candidates) > 1:
        raise ValueError(f"{excerpt(part)} is not a {'date' if vr == 'DA' else 'time'} or a range")
    for dash in candidates:
        left, right = part[:dash], part[dash + 1 :]
        try:
            for side in (left, right):
                if side:
                    single(side)
        except ValueError:
            if len(candidates) == 1 or vr != "DT":
                raise
            continue
        if not left and not right:
            raise ValueError("a range needs at least one end")
        if left and right and left > right and vr != "DT":
            raise ValueError(f"range {excerpt(part)} ends before it starts")
        return part
    raise ValueError(f"{excerpt(part)} is not a date-time or a range")


def _date(text: str) -> None:
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"{excerpt(text)} is not a date")
    try:
        datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise ValueError(f"{excerpt(text)} is not a date: {exc}") from None


def _time(text: str) -> None:
    match = _TM.fullmatch(text)
    if not match:
        raise ValueError(f"{excerpt(text)} is not a time")
    hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"{excerpt(text)} is not a time of day")


def _datetime(text: str) -> None:
    match = _DT.fullmatch(text)
    if not match:
        raise ValueError(f"{excerpt(text)} is not a date-time")
    year, month, day, hour, minute, second, _offset = match.groups()
    try:
        datetime.date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise ValueError(f"{excerpt(text)} is not a date-time: {exc}") from None
    if int(hour or 0) > 23 or int(minute or 0) > 59 or int(second or 0) > 60:
        raise ValueError(f"{excerpt(text)} is not a date-time: bad time of day")
