"""``explain STATUS``: a DIMSE status code in words, for every service pynetdicom's tables know.

The category and pynetdicom's words come from ``dicom/status.py`` (``decode``); what it means, what
usually causes it and what to try come from ``status_texts.py``. A code can mean different things to
different services (0xB000: a C-GET with failures, a C-STORE whose values were coerced; 0xC101: any
C-FIND failure, or an event not logged): each meaning is given with the services it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from pynetdicom import status as _status

from getsh.dicom.explain.status_texts import ADVICE, FAMILIES, SERVICES, Advice
from getsh.dicom.status import decode
from getsh.errors import UsageError

STATUS_FORMS = "a status is 4 hex digits, with or without 0x: A702, 0xB000, C211, FE00 (a range: A7xx, Cxxx)"
_CODE = re.compile(r"(?:0[xX])?([0-9A-Fa-f]{4})[hH]?")
_RANGE = re.compile(r"(?:0[xX])?([0-9A-Fa-f]{1,3})([xX]{1,3})")


@dataclass(frozen=True)
class StatusMeaning:
    """What a code means to some services: pynetdicom's words, and ours."""

    services: tuple[str, ...]  # as the user knows them: C-GET, C-MOVE …
    words: str  # the standard's words, as pynetdicom has them
    meaning: str
    cause: str
    remedy: str
    codes: str = ""  # the range this meaning covers ("0xC000-0xCFFF"), when it is one


@dataclass(frozen=True)
class StatusExplanation:
    code: int
    category: str  # Success, Pending, Cancel, Warning, Failure (Unknown for a code no table has)
    meanings: tuple[StatusMeaning, ...]
    known: bool  # in one of pynetdicom's tables


@lru_cache(maxsize=1)
def tables() -> dict[str, dict[int, tuple[str, str]]]:
    """Every status table of pynetdicom.status by its name (the per-service ones and the general one)."""
    return {name: value for name, value in vars(_status).items()
            if name.isupper() and isinstance(value, dict) and name.endswith("STATUS")}


def parse_code(word: str) -> int | None:
    """The code a word names (A702, 0xB000, b000h), or None when it is no status code."""
    match = _CODE.fullmatch(word.strip())
    return int(match.group(1), 16) if match else None


def parse_range(word: str) -> tuple[int, int] | None:
    """The codes a range names (A7xx, 0xCxxx), or None."""
    match = _RANGE.fullmatch(word.strip())
    if match is None or len(match.group(1)) + len(match.group(2)) != 4:
        return None
    width = len(match.group(2)) * 4
    first = int(match.group(1), 16) << width
    return first, first + (1 << width) - 1


def advice_for(code: int, service: str) -> Advice | None:
    """The written advice for ``code`` under ``service`` (a key of SERVICES), the narrowest that covers it."""
    found = [a for a in _by_service().get(service, ()) if a.first <= code <= a.last]
    return min(found, key=lambda a: a.span) if found else None


@lru_cache(maxsize=1)
def _by_service() -> dict[str, tuple[Advice, ...]]:
    services = {service for advice in ADVICE for service in advice.services}
    return {service: tuple(a for a in ADVICE if service in a.services) for service in services}


def _span(advice: Advice) -> str:
    return f"0x{advice.first:04X}-0x{advice.last:04X}" if advice.span else ""


@lru_cache(maxsize=8192)  # every code of every table: a test asks for them all
def explain_status(code: int) -> StatusExplanation:
    """Each meaning ``code`` has, with its services, Q/R services first."""
    by_meaning: dict[tuple[str, str, str, str], tuple[str, list[str]]] = {}
    general = _status.GENERAL_STATUS
    order = list(SERVICES)
    for name, table in sorted(tables().items(), key=lambda item: order.index(item[0]) if item[0] in order else 99):
        if code not in table:
            continue
        key, label = SERVICES.get(name, (name, name.replace("_SERVICE_CLASS_STATUS", "").replace("_", " ").lower()))
        if code in general and key != "general" and table[code] == general[code]:
            continue  # a general status every table repeats: said once, for every service
        words = table[code][1].strip().rstrip(".")
        advice = advice_for(code, key)
        if advice is not None:
            meaning = (advice.meaning, advice.cause, advice.remedy, _span(advice))
        elif key in FAMILIES:
            cause, remedy = FAMILIES[key]
            meaning = (f"{label}: {words[:1].lower()}{words[1:]}" if words else label, cause, remedy, "")
        else:
            continue
        by_meaning.setdefault(meaning, (words, []))[1].append(label)
    meanings = tuple(StatusMeaning(tuple(labels), words, *key) for key, (words, labels) in by_meaning.items())
    if not meanings:
        return _unknown(code)
    category = decode(code, "get").category if code in tables()["QR_GET_SERVICE_CLASS_STATUS"] else \
        _status.code_to_category(code)
    if category == "Unknown":
        category = next(table[code][0] for table in tables().values() if code in table)
    return StatusExplanation(code, category, meanings, True)


def _unknown(code: int) -> StatusExplanation:
    """A code no table has: what its range says (PS3.7 C.1), and where to look."""
    category = _status.code_to_category(code)
    ranges = {"Failure": "a failure by its range (0xA000-0xAFFF, 0xC000-0xCFFF)",
              "Warning": "a warning by its range (0xB000-0xBFFF, 0x0001, 0x0107, 0x0116)",
              "Pending": "pending", "Cancel": "cancel", "Success": "success"}
    meaning = ranges.get(category, "not in any range the standard assigns")
    return StatusExplanation(code, category, (StatusMeaning(
        (), "", f"not a status of any service pynetdicom knows; {meaning}",
        "a peer's own code, or a code of a service newer than pynetdicom's tables",
        "the peer's conformance statement and log say what it means"),), False)


def explain_range(first: int, last: int) -> list[StatusExplanation]:
    """The codes a range names that pynetdicom's tables hold, one explanation per distinct meaning."""
    seen: dict[tuple[StatusMeaning, ...], StatusExplanation] = {}
    for code in sorted({c for table in tables().values() for c in table if first <= c <= last}):
        explained = explain_status(code)
        seen.setdefault(explained.meanings, explained)
    return list(seen.values())


def status_words(text: str) -> Iterator[tuple[str, str]]:
    """(code, its words) for completing ``explain``: the codes the Q/R services use, one per meaning (ranges
    once: Cxxx), matching what was typed (with or without 0x)."""
    typed = text.upper().removeprefix("0X")
    return ((word, meta) for word, meta in _status_words() if word.upper().startswith(typed))


@lru_cache(maxsize=1)
def _status_words() -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for name in ("QR_GET_SERVICE_CLASS_STATUS", "QR_MOVE_SERVICE_CLASS_STATUS", "QR_FIND_SERVICE_CLASS_STATUS",
                 "STORAGE_SERVICE_CLASS_STATUS", "GENERAL_STATUS"):
        service = SERVICES[name][0]
        for code, (category, words) in tables()[name].items():
            advice = advice_for(code, service)
            word = f"{code:04X}"
            if advice is not None and advice.span:
                word = f"{advice.first >> 12:X}xxx" if advice.span >= 0xFFF else f"{advice.first >> 8:02X}xx"
            found.setdefault(word, f"{category}: {words.strip() or (advice.meaning if advice else '')}")
    return tuple(sorted(found.items()))


def status_of(word: str) -> list[StatusExplanation] | None:
    """The explanations a word asks for, or None when it is no status code or range."""
    code = parse_code(word)
    if code is not None:
        return [explain_status(code)]
    spanned = parse_range(word)
    if spanned is not None:
        found = explain_range(*spanned)
        if not found:
            raise UsageError(f"no status pynetdicom knows lies in {word}", STATUS_FORMS)
        return found
    return None
