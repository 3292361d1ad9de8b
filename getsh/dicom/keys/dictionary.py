"""The DICOM data dictionary for people: lookup, as-you-type search, and the meaning of a key in Q/R.

Words name an attribute the ways getscu's ``-k`` does — a keyword (``PatientID``), ``gggg,eeee``
or ``(gggg,eeee)`` with 1–4 hex digits each — plus ``ggggeeee``; getsh matches keywords without
regard to case (DCMTK does not) and always writes them back in the dictionary's spelling.

Private tags (odd group) are not in any dictionary, and DCMTK then sends the value as UN bytes
parsed from hex (``-k "(0009,1001)=abc"`` goes out as ``bc\\00``). So a private data element needs
its VR spelled out as a third field: ``(0009,1001,LO)`` or ``0009,1001,LO``; the same form
gives a VR to any other tag the dictionary lacks. Private creators ``(gggg,00xx)`` are LO.

Value checks (VR and VM, Q/R matching rules) live in :mod:`getsh.dicom.keys.vr`; Q/R roles in
:mod:`getsh.dicom.keys.qr_keys`. The search index is built once, on first use, so that a keystroke
costs a bisect plus a scan of ~5,000 short strings (see scripts/bench_completion.py).
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

from pydicom.datadict import DicomDictionary, get_entry, keyword_dict

from getsh.dicom.keys import qr_keys, vr
from getsh.dicom.keys.vr import VRS, Value
from getsh.errors import UsageError, excerpt

__all__ = [
    "Entry",
    "Explanation",
    "Value",
    "enumerated",
    "explain",
    "levels",
    "lookup",
    "role",
    "search",
    "unique_key",
    "validate",
]

FORMS_HINT = (
    "write a keyword (PatientID), a tag as (0010,0020), 0010,0020 or 00100020, "
    "or a private tag with its VR: (0009,1001,LO)"
)
_PAREN = re.compile(r"\(([0-9A-Fa-f]{1,4}),([0-9A-Fa-f]{1,4})(?:,([A-Za-z]{2}))?\)")
_BARE = re.compile(r"([0-9A-Fa-f]{1,4}),([0-9A-Fa-f]{1,4})(?:,([A-Za-z]{2}))?")
_PACKED = re.compile(r"([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})")
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Longer than any keyword of the standard (the longest has 64 letters): nothing to suggest or complete, and
# fuzzy matching a pasted megabyte against every keyword would take seconds.
LONGEST_KEYWORD = 80
_TAG_PREFIX = re.compile(r"\(?([0-9A-Fa-f]{0,4})(?:(,)([0-9A-Fa-f]{0,4})\)?)?")


@dataclass(frozen=True)
class Entry:
    """One data dictionary entry; ``vr`` may list alternatives ("US or SS")."""

    tag: int
    keyword: str
    name: str
    vr: str
    vm: str
    retired: bool = False

    @property
    def vrs(self) -> tuple[str, ...]:
        return tuple(self.vr.split(" or "))

    @property
    def write_vr(self) -> str:
        """The VR an element gets when getsh creates it: the first alternative."""
        return self.vrs[0]

    @property
    def private(self) -> bool:
        return bool((self.tag >> 16) & 1)

    @property
    def tag_text(self) -> str:
        return f"({self.tag >> 16:04X},{self.tag & 0xFFFF:04X})"

    @property
    def label(self) -> str:
        """The keyword, or for a tag without one the tag (with its VR when that must be given)."""
        if self.keyword:
            return self.keyword
        if self.private and (self.tag & 0xFFFF) >= 0x100:
            return f"({self.tag >> 16:04X},{self.tag & 0xFFFF:04X},{self.vr})"
        return self.tag_text


def _entry(tag: int, info: tuple[str, str, str, str, str]) -> Entry:
    vr, vm, name, retired, keyword = info
    return Entry(tag, keyword, name, vr, vm, retired == "Retired")


class _Pool:
    """Keywords sorted for bisect, with letter masks that let a fuzzy scan skip most of them."""

    def __init__(self, entries: list[Entry]) -> None:
        entries.sort(key=lambda e: e.keyword.lower())
        self.keys = [(e.keyword.lower(), e) for e in entries]
        self.masks = [_mask(k) for k, _ in self.keys]


@dataclass
class _Index:
    """Everything a keystroke needs, precomputed once."""

    by_keyword: dict[str, Entry] = field(default_factory=dict)  # lower-case keyword -> entry
    current: _Pool = field(default_factory=lambda: _Pool([]))
    retired: _Pool = field(default_factory=lambda: _Pool([]))
    tags: list[tuple[str, Entry]] = field(default_factory=list)  # sorted by 8-digit hex tag


@lru_cache(maxsize=1)
def _index() -> _Index:
    index = _Index()
    current: list[Entry] = []
    retired: list[Entry] = []
    for tag, info in DicomDictionary.items():
        entry = _entry(tag, info)
        if not entry.keyword:
            continue
        index.by_keyword[entry.keyword.lower()] = entry
        (retired if entry.retired else current).append(entry)
        index.tags.append((f"{tag:08X}", entry))
    index.current, index.retired = _Pool(current), _Pool(retired)
    index.tags.sort(key=lambda pair: pair[0])
    return index


def _mask(text: str) -> int:
    """A bit per character (mod 64): a keyword lacking one of the query's letters cannot match."""
    bits = 0
    for char in text:
        bits |= 1 << (ord(char) & 63)
    return bits


# ---- lookup -------------------------------------------------------------------------------------
def lookup(word: str) -> Entry:
    """The entry a keyword or tag names; raise UsageError saying what is wrong and how to write it."""
    text = word.strip()
    exact = keyword_dict.get(text)  # the usual spelling: no need to build the case-blind index
    if exact is not None and exact in DicomDictionary:
        return _entry(exact, DicomDictionary[exact])
    entry = _index().by_keyword.get(text.lower()) if _KEYWORD.fullmatch(text) else None
    if entry is not None:
        return entry
    for pattern in (_PAREN, _BARE, _PACKED):
        match = pattern.fullmatch(text)
        if match:
            vr = match.group(3).upper() if pattern is not _PACKED and match.group(3) else None
            return _tag_entry(int(match.group(1), 16) << 16 | int(match.group(2), 16), vr, text)
    if _KEYWORD.fullmatch(text):
        close = _close_keywords(text) if len(text) <= LONGEST_KEYWORD else []
        hint = f"did you mean {' or '.join(close)}?" if close else "type part of it and press Tab, or give the tag"
        raise UsageError(f"unknown keyword {excerpt(text)}", hint)
    raise UsageError(f"cannot read {excerpt(word)} as a keyword or tag", FORMS_HINT)


def _close_keywords(text: str) -> list[str]:
    """Up to three keywords a typo probably meant: similar ones (difflib) and ones holding the
    letters in order (``PatID`` → PatientID); Q/R keys first among the similar."""
    index = _index()
    low = text.lower()
    near = difflib.get_close_matches(low, index.by_keyword, n=5, cutoff=0.6)
    found = {e.keyword for e in search(text, limit=3)}
    candidates = found | {index.by_keyword[k].keyword for k in near}
    ranks = qr_keys.relevance(None, None)

    def score(keyword: str) -> tuple[int, float]:
        ratio = difflib.SequenceMatcher(None, low, keyword.lower()).ratio()
        tier = 0 if keyword in found or ratio >= 0.7 else 10
        return (tier + ranks.get(keyword, 9), -ratio)

    return sorted(candidates, key=score)[:3]


def _tag_entry(tag: int, vr: str | None, text: str) -> Entry:
    group, element = tag >> 16, tag & 0xFFFF
    if vr is not None and vr not in VRS:
        raise UsageError(f"{text}: {vr} is not a DICOM VR", f"VRs: {' '.join(sorted(VRS))}")
    if group in (0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF):
        raise UsageError(f"{text}: group {group:04X} is reserved and cannot be used", FORMS_HINT)
    if group & 1:
        if element == 0:
            raise UsageError(f"{text}: group length elements are not set by hand", FORMS_HINT)
        if element < 0x10:
            raise UsageError(f"{text}: (gggg,0001)-(gggg,000F) are not valid private tags", FORMS_HINT)
        if element < 0x100:
            if vr not in (None, "LO"):
                raise UsageError(f"{text}: a private creator is LO, not {vr}", "write it without a VR")
            return Entry(tag, "", "Private Creator", "LO", "1")
        if vr is None:
            raise UsageError(
                f"private tag {text} needs its VR: no dictionary knows it",
                f"write it as ({group:04X},{element:04X},LO) — with the real VR — then =value",
            )
        return Entry(tag, "", "Private tag", vr, "1-n")
    try:
        known = _entry(tag, get_entry(tag))
    except KeyError:
        if vr is None:
            raise UsageError(
                f"{text} is not in the data dictionary", f"give its VR: ({group:04X},{element:04X},LO)"
            ) from None
        return Entry(tag, "", "Unknown tag", vr, "1-n")
    if vr is not None and vr not in known.vrs:
        raise UsageError(f"{text}: {known.keyword or 'this tag'} is {known.vr}, not {vr}", "leave the VR out")
    return Entry(tag, known.keyword, known.name, vr, known.vm, known.retired) if vr else known


# ---- search -------------------------------------------------------------------------------------
def search(
    text: str,
    level: str | None = None,
    model: str | None = None,
    limit: int = 40,
    prefer: Collection[str] = (),
) -> list[Entry]:
    """Entries for completion, best first: keyword prefix matches, then substring, then letters
    in order (``studyuid`` → StudyInstanceUID). Within each, keys of the model and level (and
    ``prefer``) come first. Text that looks like a tag (``0010,``) matches tags by prefix.
    Retired entries appear only when nothing current matches."""
    ranks = qr_keys.relevance(model, level.upper() if level else None)
    if prefer:
        ranks = {**ranks, **{k: i - len(prefer) for i, k in enumerate(prefer)}}  # first, in the order given
    index = _index()
    text = text.strip()
    if len(text) > LONGEST_KEYWORD:
        return []
    if not text:
        keys = sorted((r, k) for k, r in ranks.items() if r < 9 and k.lower() in index.by_keyword)
        return [index.by_keyword[k.lower()] for _, k in keys[:limit]]
    if text[0].isdigit() or text[0] == "(":
        return _search_tags(text, limit)
    for pool in (index.current, index.retired):
        found = _search_pool(text.lower(), pool, ranks, limit)
        if found:
            return found
    return []


def _search_pool(low: str, pool: _Pool, ranks: dict[str, int], limit: int) -> list[Entry]:
    start = bisect.bisect_left(pool.keys, (low,))
    prefix: list[tuple[int, int, str, Entry]] = []
    for key, entry in pool.keys[start:]:
        if not key.startswith(low):
            break
        prefix.append((ranks.get(entry.keyword, 9), len(key), key, entry))
    prefix.sort(key=lambda item: item[:3])
    found = [item[3] for item in prefix]
    if len(found) >= limit:
        return found[:limit]
    if len(low) > 1:  # one letter inside a keyword matches most of the dictionary
        inner = [
            (ranks.get(entry.keyword, 9), key.find(low), len(key), key, entry)
            for key, entry in pool.keys
            if low in key and not key.startswith(low)
        ]
        inner.sort(key=lambda item: item[:4])
        found += [item[4] for item in inner]
    if len(found) >= limit or len(low) < 4:  # three letters in order match half the dictionary
        return found[:limit]
    seen = {entry.tag for entry in found}
    wanted = _mask(low)
    pattern = _fuzzy_pattern(low)
    fuzzy = []
    for (_, entry), mask in zip(pool.keys, pool.masks, strict=True):
        if mask & wanted != wanted or entry.tag in seen:
            continue
        match = pattern.match(entry.keyword)
        if match:
            fuzzy.append((ranks.get(entry.keyword, 9), match.end(), len(entry.keyword), entry.keyword, entry))
    fuzzy.sort(key=lambda item: item[:4])
    found += [item[4] for item in fuzzy]
    return found[:limit]


@lru_cache(maxsize=256)
def _fuzzy_pattern(low: str) -> re.Pattern[str]:
    """Letters in order, the first at the start of a word (the keyword's start or a capital):
    ``studyuid`` → StudyInstanceUID, ``instuid`` → SOPInstanceUID. Each later letter is found
    by a negated class, so a keyword is scanned once, without backtracking blow-ups."""
    first = re.escape(low[0])
    parts = [f"(?:[{first}{first.upper()}]|.*?{first.upper()})"]
    for char in low[1:]:
        both = re.escape(char) + re.escape(char.upper())
        parts.append(f"[^{both}]*[{both}]")
    return re.compile("".join(parts))


def _search_tags(text: str, limit: int) -> list[Entry]:
    match = _TAG_PREFIX.fullmatch(text.strip())
    if not match:
        return []
    group, comma, element = match.groups()
    prefix = (group.zfill(4) + (element or "") if comma else group).upper()
    index = _index()
    start = bisect.bisect_left(index.tags, (prefix,))
    current: list[Entry] = []
    retired: list[Entry] = []
    for key, entry in index.tags[start:]:
        if not key.startswith(prefix):
            break
        (retired if entry.retired else current).append(entry)
        if len(current) >= limit:
            break
    return (current or retired)[:limit]


def validate(entry: Entry, value: str | None, warnings: list[str] | None = None) -> Value:
    """The value checked against VR and VM (:func:`getsh.dicom.keys.vr.validate`) and, where the
    standard lists Enumerated Values (QueryRetrieveLevel, PatientSex…), against that list."""
    checked = vr.validate(entry, value, _tag_of, warnings)
    if checked is not None and entry.keyword in qr_keys.CLOSED:
        allowed = [v for v, _ in qr_keys.enumerated_values(entry.keyword)]
        for one in checked if isinstance(checked, list) else [checked]:
            if one and one not in allowed and not any(c in str(one) for c in "*?"):
                raise UsageError(f"{entry.keyword}: {excerpt(str(one))} is not one of {', '.join(allowed)}",
                                 "press Tab after =")
    return checked


def _tag_of(text: str) -> int:
    return lookup(text).tag


# ---- Q/R meaning --------------------------------------------------------------------------------
def role(entry: Entry, model: str, level: str) -> str | None:
    """The key's role at a level (PS3.4 C.6): unique, required, optional, or None (not a key there)."""
    return qr_keys.role(entry.keyword, model, level)


def unique_key(model: str, level: str) -> Entry:
    return lookup(qr_keys.unique_key(model, level))


def levels(model: str) -> tuple[str, ...]:
    return qr_keys.levels(model)


def enumerated(entry: Entry) -> list[tuple[str, str]]:
    """(value, meaning) pairs the standard defines for this attribute, for completion."""
    return list(qr_keys.enumerated_values(entry.keyword))


@dataclass(frozen=True)
class Explanation:
    """What ``dict WORD`` shows: the entry, its role at each level of the model, and notes."""

    entry: Entry
    model: str
    roles: tuple[tuple[str, str | None], ...]
    enumerated: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def explain(word: str, model: str) -> Explanation:
    entry = lookup(word)
    roles = tuple(qr_keys.roles(entry.keyword, model)) if entry.keyword else ()
    notes: list[str] = []
    if entry.retired:
        notes.append("retired from the standard: peers may not match on it")
    if entry.private:
        notes.append("private: only the peer that defines it knows its meaning")
    if entry.keyword in qr_keys.CONTROL_KEYS:
        notes.append(qr_keys.CONTROL_KEYS[entry.keyword])
    lvls = qr_keys.levels(model)
    for lvl, key_role in roles:
        if key_role == "unique" and lvl != lvls[-1]:
            below = ", ".join(lvls[lvls.index(lvl) + 1 :])
            notes.append(f"a C-GET at {below} level needs it too (unique key of the level above)")
    if roles and not any(r for _, r in roles) and entry.keyword not in qr_keys.CONTROL_KEYS:
        notes.append(f"not a key of the {model} model (peers may ignore it)")
    return Explanation(entry, model, roles, tuple(enumerated(entry)), tuple(notes))
