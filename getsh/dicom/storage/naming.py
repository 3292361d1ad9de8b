"""File names for received objects: getscu's scheme, layout templates, and sanitising.

Every value a peer sends is untrusted. A SOP Instance UID of ``../../etc/passwd`` or a Patient ID
of ``..`` must still become one harmless name component inside the output directory, so each value
is cleaned before it is put into a name, and each assembled component is cleaned again.
store.py adds the last guard: the resolved directory must lie inside the output directory.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, cast

from pydicom.datadict import dictionary_VR, keyword_dict
from pydicom.multival import MultiValue
from pydicom.uid import UID

from getsh.dicom.net.modalities import modality_prefix
from getsh.errors import UsageError

UNKNOWN = "unknown"  # stands in for a missing or empty value

# getscu names a received object <modality prefix>.<SOP Instance UID> (DcmSCU::createStorageFilename).
DEFAULT_LAYOUT = "{prefix}.{SOPInstanceUID}"

# Answered from the C-STORE request (command set and accepted context), never from the data set:
# known before a byte of the data set arrives, and what the request is actually about.
META_KEYWORDS = ("SOPClassUID", "SOPInstanceUID", "TransferSyntaxUID")
COMPUTED_FIELDS = {
    "prefix": "getscu's modality prefix of the SOP class (CT, MR, SRt, … UNKNOWN)",
    "sop_class": "the SOP class name (CT Image Storage), or its UID when unknown",
}

# --- sanitising --------------------------------------------------------------------------------

# Separators, NUL, C0/C1 controls, characters Windows forbids, and lone surrogates (undecodable bytes).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\<>:"|?*\ud800-\udfff]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
# NAME_MAX is 255 bytes; keep room for a rename suffix (_9999) so a numbered name still fits.
MAX_COMPONENT_BYTES = 200


def clean_value(text: str) -> str:
    """A field value with every character that could split or escape a path replaced by ``_``."""
    return _UNSAFE.sub("_", text)


def clean_component(name: str) -> str:
    """One safe path component: no separators, not ``.``/``..``/hidden, not a Windows device name,
    not empty, at most MAX_COMPONENT_BYTES (a long name is cut and keeps a hash of the whole)."""
    name = clean_value(name)
    if not name:
        return UNKNOWN
    body = name.lstrip(".")  # leading dots: '..' and hidden names; also keeps clear of our partial files
    name = "_" * (len(name) - len(body)) + body
    body = name.rstrip(". ")  # Windows drops trailing dots and spaces
    name = body + "_" * (len(name) - len(body))
    if name.split(".")[0].rstrip(" ").upper() in _RESERVED:
        name = "_" + name
    return _shorten(name)


def split_ext(name: str) -> tuple[str, str]:
    """``1.2.3.dcm`` → (``1.2.3``, ``.dcm``); ``CT.1.2.3`` → (``CT.1.2.3``, ``""``): a UID's last
    component is digits, never an extension."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext or ext.isdigit() or len(ext) > 16:
        return name, ""
    return stem, "." + ext


def numbered(name: str, n: int) -> str:
    """The n-th alternative for a taken name: ``CT.1.2.3_1``, ``1.2.3_2.dcm``. ``_`` never occurs
    in a UID, so a numbered name cannot be mistaken for another object's UID."""
    stem, ext = split_ext(name)
    return f"{stem}_{n}{ext}"


def _shorten(name: str) -> str:
    raw = name.encode("utf-8")
    if len(raw) <= MAX_COMPONENT_BYTES:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:12]
    stem, ext = split_ext(name)
    budget = MAX_COMPONENT_BYTES - len(ext.encode("utf-8")) - len(digest) - 1
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return f"{stem}~{digest}{ext}"


# --- layout templates --------------------------------------------------------------------------

_NO_NAME_VRS = {"SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN"}
_INT_VRS = {"IS", "SS", "US", "SL", "UL", "SV", "UV", "AT"}
_FLOAT_VRS = {"DS", "FL", "FD"}
_EXAMPLE = "e.g. layout {PatientID}/{StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm"


class LayoutError(UsageError):
    """A layout template that cannot work; raised before a retrieve starts."""


@dataclass(frozen=True)
class _Field:
    name: str
    spec: str
    kind: str  # "int", "float" or "str": how a format spec is applied


Part = str | _Field


class Layout:
    """A validated file-name template: ``/`` separates directories, ``{Keyword}`` or
    ``{Keyword:spec}`` is a DICOM attribute of the object, ``{prefix}``/``{sop_class}`` are computed."""

    def __init__(self, template: str = DEFAULT_LAYOUT) -> None:
        self.template = template
        self.segments: tuple[tuple[Part, ...], ...] = _parse(template)
        fields = {p.name for seg in self.segments for p in seg if isinstance(p, _Field)}
        self.dataset_keywords = frozenset(fields - set(META_KEYWORDS) - set(COMPUTED_FIELDS))

    @property
    def needs_dataset(self) -> bool:
        """True when naming must read attributes of the data set (not just the C-STORE request)."""
        return bool(self.dataset_keywords)

    def __repr__(self) -> str:
        return f"Layout({self.template!r})"

    def render(self, meta: Mapping[str, str], lookup: Callable[[str], object] | None = None) -> PurePosixPath:
        """The relative path for one object. ``meta`` maps META_KEYWORDS to the request's values;
        ``lookup(keyword)`` returns a data set value or None. Always relative, never empty, no '..'."""
        parts = []
        for segment in self.segments:
            text = "".join(p if isinstance(p, str) else clean_value(self._value(p, meta, lookup)) for p in segment)
            parts.append(clean_component(text))
        return PurePosixPath(*parts)

    @staticmethod
    def _value(field: _Field, meta: Mapping[str, str], lookup: Callable[[str], object] | None) -> str:
        if field.name == "prefix":
            return modality_prefix(meta.get("SOPClassUID", ""))
        if field.name == "sop_class":
            uid = UID(str(meta.get("SOPClassUID", "")).rstrip("\0 "))
            return uid.name if uid else UNKNOWN
        if field.name in META_KEYWORDS:
            value: object = meta.get(field.name)
        else:
            try:
                value = lookup(field.name) if lookup else None
            except Exception:  # a malformed value of a hostile peer: name it 'unknown', store it anyway
                value = None
        return _text(value, field)


def _text(value: object, field: _Field) -> str:
    if isinstance(value, MultiValue | list | tuple):
        items = [_text(v, field) for v in value if v not in (None, "")]
        return "_".join(items) if items else UNKNOWN
    if value is None or isinstance(value, bytes):
        return UNKNOWN
    if field.spec:
        try:
            numeric = cast(Any, value)  # pydicom's IS/DS or text converts; anything else raises TypeError
            number = int(numeric) if field.kind == "int" else float(numeric) if field.kind == "float" else value
            return format(number, field.spec)
        except (TypeError, ValueError):
            pass  # e.g. IS 'abc' with :04d: fall back to the text
    text = str(value).strip("\0 ")
    return text or UNKNOWN


def _parse(template: str) -> tuple[tuple[Part, ...], ...]:
    if not template.strip():
        raise LayoutError("empty layout", _EXAMPLE)
    if template.startswith("/"):
        raise LayoutError(f"layout {template!r} is absolute: it must be relative to the output directory", _EXAMPLE)
    if "\\" in template:
        raise LayoutError(f"layout {template!r} contains '\\'", "separate directories with /")
    segments = []
    for segment in template.split("/"):
        if segment in ("", ".", ".."):
            raise LayoutError(f"layout {template!r} has an empty, '.' or '..' directory", _EXAMPLE)
        if segment.startswith("."):
            raise LayoutError(f"layout {template!r}: names starting with '.' are reserved for partial files", _EXAMPLE)
        segments.append(tuple(_parse_segment(template, segment)))
    return tuple(segments)


def _parse_segment(template: str, segment: str) -> list[Part]:
    parts: list[Part] = []
    try:
        parsed = list(string.Formatter().parse(segment))
    except ValueError as exc:
        raise LayoutError(
            f"layout {template!r} is not a valid template: {exc}",
            "fields look like {Keyword} or {Keyword:04d}; write {{ or }} for a literal brace",
        ) from None
    for literal, name, spec, conversion in parsed:
        if _UNSAFE.search(literal):
            raise LayoutError(f'layout {template!r} contains control or reserved characters (<>:"|?*)', _EXAMPLE)
        if literal:
            parts.append(literal)
        if name is None:
            continue
        if conversion:
            raise LayoutError(f"layout field {{{name}!{conversion}}}: conversions are not supported", _EXAMPLE)
        parts.append(_field(name, spec or ""))
    return parts


def _field(name: str, spec: str) -> _Field:
    if not name or not name.isidentifier():
        raise LayoutError(f"layout field {{{name}}} is not an attribute keyword", f"use plain keywords, {_EXAMPLE}")
    if name in COMPUTED_FIELDS:
        kind = "str"
    elif name in META_KEYWORDS or name in keyword_dict:
        vr = dictionary_VR(keyword_dict[name])  # may be "OB or OW", "US or SS"
        if set(vr.split(" or ")) & _NO_NAME_VRS:
            raise LayoutError(f"{name} is {vr} (binary or a sequence): it cannot be part of a file name", _EXAMPLE)
        first = vr.split(" or ")[0]
        kind = "int" if first in _INT_VRS else "float" if first in _FLOAT_VRS else "str"
    else:
        choices = [*COMPUTED_FIELDS, *keyword_dict]
        close = difflib.get_close_matches(name, choices, n=3, cutoff=0.75)
        hint = f"did you mean {', '.join(close)}?" if close else "use DICOM keywords such as PatientID, SeriesNumber"
        computed = ", ".join(f"{{{c}}}" for c in COMPUTED_FIELDS)
        raise LayoutError(f"unknown attribute {name!r} in layout", f"{hint} (computed fields: {computed})")
    field = _Field(name, spec, kind)
    if spec:
        sample: object = 1 if kind == "int" else 1.0 if kind == "float" else "x"
        try:
            format(sample, spec)
        except ValueError:
            raise LayoutError(f"bad format {{{name}:{spec}}} in layout", "e.g. {InstanceNumber:04d}") from None
    return field
