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

from pydicom.datadict import dictionary_VR, keyword_dict
from pydicom.multival import MultiValue
from pydicom.uid import UID

from getsh.errors import UsageError

UNKNOWN = "unknown"  # stands in for a missing or empty value
UNKNOWN_PREFIX = "UNKNOWN"  # getscu's prefix for a SOP class it has no modality for

# getscu names a received object <modality prefix>.<SOP Instance UID> (DcmSCU::createStorageFilename).
DEFAULT_LAYOUT = "{prefix}.{SOPInstanceUID}"

# Answered from the C-STORE request (command set and accepted context), never from the data set:
# known before a byte of the data set arrives, and what the request is actually about.
META_KEYWORDS = ("SOPClassUID", "SOPInstanceUID", "TransferSyntaxUID")
COMPUTED_FIELDS = {
    "prefix": "getscu's modality prefix of the SOP class (CT, MR, SRt, … UNKNOWN)",
    "sop_class": "the SOP class name (CT Image Storage), or its UID when unknown",
}

# DCMTK 3.6.7 dcmSOPClassUIDToModality() (dcmdata/libsrc/dcuid.cc, table `modalities`), read from
# the installed libdcmdata.so.17 for every UID pydicom knows; "=X" abbreviates 1.2.840.10008.5.1.4.1.1.X.
# tests/unit/test_storage.py checks this table against the library when it is installed.
_STORAGE_ROOT = "1.2.840.10008.5.1.4.1.1."
_PREFIX_TABLE = """
1.2.840.10008.5.1.1.27 SP  1.2.840.10008.5.1.1.29 HG  1.2.840.10008.5.1.1.30 HC  =1 CR  =1.1 DX  =1.1.1 DP  =1.2
DXm  =1.2.1 DPm  =1.3 DXo  =1.3.1 DPo  =2 CT  =2.1 CTe  =2.2 CTl  =3 USf  =3.1 USm  =4 MR  =4.1 MRe  =4.2 MRs
=4.3 MRc  =4.4 MRl  =5 NMr  =6 USr  =6.1 US  =6.2 USe  =7 SC  =7.1 SCs  =7.2 SCb  =7.3 SCw  =7.4 SCc  =8 OV  =9
CV  =9.1 WV_d  =9.1.1 TLE  =9.1.2 ECG  =9.1.3 ECA  =9.2.1 WVh  =9.3.1 WVc  =9.4.1 AUV  =9.4.2 AUG  =9.5.1 WVa
=9.6.1 WVr  =9.6.2 WVm  =9.7.1 EEG  =9.7.2 EMG  =9.7.3 EOG  =9.7.4 WVs  =9.8.1 WVb  =10 ML  =11 VO  =11.1 PSg
=11.2 PSc  =11.3 PSp  =11.4 PSb  =11.5 PSx  =11.6 VPg  =11.7 VPc  =11.8 PSa  =11.9 VPv  =11.10 VPs  =11.11 VPm
=12.1 XA  =12.1.1 XAe  =12.2 RF  =12.2.1 RFe  =12.3 XB  =13.1.1 XA3  =13.1.2 XC3  =13.1.3 BT  =13.1.4 BX
=13.1.5 BP  =14.1 OCt  =14.2 OCp  =20 NM  =30 PM  =66 RAW  =66.1 RGs  =66.2 FID  =66.3 RGd  =66.4 SG  =66.5 SGs
=66.6 TR  =67 RWM  =68.1 SSm  =68.2 SSp  =77.1 VLr  =77.1.1 VLe  =77.1.1.1 VVe  =77.1.2 VLm  =77.1.2.1 VVm
=77.1.3 VLs  =77.1.4 VLp  =77.1.4.1 VVp  =77.1.5.1 OPb  =77.1.5.2 OPw  =77.1.5.3 OPr  =77.1.5.4 OPt  =77.1.5.5
OWs  =77.1.5.6 OW3  =77.1.5.7 OCe  =77.1.5.8 OCb  =77.1.6 VLw  =77.1.7 VLd  =77.2 VMr  =78.1 OPl  =78.2 OPa
=78.3 OPk  =78.4 OPs  =78.5 OPv  =78.6 SRs  =78.7 OPx  =78.8 OPc  =79.1 SRg  =80.1 OPp  =81.1 OPm  =82.1 CM
=88.1 SR_t  =88.2 SR_a  =88.3 SR_d  =88.4 SR_c  =88.11 SRt  =88.22 SRe  =88.33 SRc  =88.34 SR3  =88.35 SRx
=88.40 SRp  =88.50 SRm  =88.59 KO  =88.65 SRh  =88.67 SRd  =88.68 SRr  =88.69 SRo  =88.70 SRi  =88.71 SRa
=88.72 SRu  =88.73 SRq  =88.74 SRj  =88.75 SRi  =88.76 SRde  =90.1 AS  =91.1 MAs  =104.1 PDF  =104.2 CDA  =104.3
STL  =104.4 OBJ  =104.5 MTL  =128 PI  =128.1 PIl  =129 PC  =130 PIe  =131 SD  =200.1 PPcd  =200.2 PPcp  =200.3
PA  =200.7 PPxd  =200.8 PPxp  =481.1 RI  =481.2 RD  =481.3 RS  =481.4 RTb  =481.5 RP  =481.6 RTr  =481.7 RTs
=481.8 RPi  =481.9 RTi  =481.10 RIp  =481.11 RAs  =481.12 RSe  =481.13 Rca  =481.14 Rto  =481.15 Rra  =481.16
RSr  =481.17 RRs  =481.18 RRt  =481.19 RRc  =481.20 RRr  =481.21 RSd  =481.22 RTp  =501.1 CTs  =501.2.1 DXs
=501.2.2 DPs  =501.3 TDR  =501.4 AI2  =501.5 AI3  =501.6 QR  =601.1 EC  =601.2 ECm  1.2.840.10008.5.1.4.34.1
RB_d  1.2.840.10008.5.1.4.34.7 RTd  1.2.840.10008.5.1.4.34.10 RTa  1.2.840.10008.5.1.4.38.1 HP
1.2.840.10008.5.1.4.39.1 CP  1.2.840.10008.5.1.4.43.1 IT  1.2.840.10008.5.1.4.44.1 ITa  1.2.840.10008.5.1.4.45.1
ITg
"""
_TOKENS = _PREFIX_TABLE.split()
MODALITY_PREFIXES: dict[str, str] = {
    (_STORAGE_ROOT + key[1:] if key.startswith("=") else key): prefix
    for key, prefix in zip(_TOKENS[::2], _TOKENS[1::2], strict=True)
}


def modality_prefix(sop_class_uid: str) -> str:
    """getscu's file-name prefix for a SOP class: ``CT`` for CT Image Storage, ``UNKNOWN`` if none."""
    return MODALITY_PREFIXES.get(str(sop_class_uid).rstrip("\0 "), UNKNOWN_PREFIX)


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
            number = int(value) if field.kind == "int" else float(value) if field.kind == "float" else value  # type: ignore[arg-type]
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
