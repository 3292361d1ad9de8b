"""Completion for keys as they are typed: paths, item numbers, and values after ``Keyword=``.

Suggestions are whole words (the shell replaces the word being typed), UI-free, and cheap:
each call is one dictionary search (see scripts/bench_completion.py) plus a little parsing.
Inside sequence items any keyword is allowed; those that usually fill such an item
(ReferencedSOPInstanceUID in a Referenced…Sequence, CodeValue in a …CodeSequence) come first.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset

from getsh.completion.found import found_values
from getsh.dicom.events import FindDone
from getsh.dicom.keys import qr_keys
from getsh.dicom.keys.dictionary import Entry, enumerated, lookup, search, validate
from getsh.dicom.keys.identifier import Step, parse_path
from getsh.errors import UsageError
from getsh.registry import Suggestion

__all__ = ["complete_key", "complete_path", "complete_value"]

_ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "OtherPatientIDsSequence": ("PatientID", "IssuerOfPatientID", "TypeOfPatientID"),
    "ReferencedSeriesSequence": ("SeriesInstanceUID", "ReferencedInstanceSequence"),
    "RequestAttributesSequence": ("RequestedProcedureID", "ScheduledProcedureStepID", "AccessionNumber"),
}
_CODE_KEYS = ("CodeValue", "CodingSchemeDesignator", "CodeMeaning", "CodingSchemeVersion", "LongCodeValue")
_ISSUER_KEYS = ("LocalNamespaceEntityID", "UniversalEntityID", "UniversalEntityIDType")
_REFERENCE_KEYS = ("ReferencedSOPClassUID", "ReferencedSOPInstanceUID")


def _item_keys(sequence: Entry) -> tuple[str, ...]:
    """Keywords that usually fill an item of this sequence, offered first."""
    keyword = sequence.keyword
    if keyword in _ITEM_KEYS:
        return _ITEM_KEYS[keyword]
    if keyword.endswith("CodeSequence"):
        return _CODE_KEYS
    if keyword.startswith("IssuerOf"):
        return _ISSUER_KEYS
    return _REFERENCE_KEYS if keyword.startswith(("Referenced", "Alternate")) else ()


def _meta(entry: Entry, model: str | None, level: str | None) -> str:
    role = qr_keys.role(entry.keyword, model, level) if model and level else None
    retired = " (retired)" if entry.retired else ""
    return f"{entry.tag_text} {entry.vr}  {entry.name}{retired}" + (f" · {role}" if role else "")


def complete_path(
    text: str, model: str | None = None, level: str | None = None, dataset: Dataset | None = None
) -> list[Suggestion]:
    """Whole-word suggestions for a path being typed: keywords or tags at the current depth,
    and after ``Sequence[`` the item numbers (those in ``dataset``, then the next new one)."""
    dot = text.rfind("].")
    head, tail = (text[: dot + 2], text[dot + 2 :]) if dot >= 0 else ("", text)
    parent: Entry | None = None
    items: Dataset | None = dataset
    if head:
        try:
            steps = parse_path(head[:-1], need_vr=False)
        except UsageError:
            return []
        parent = steps[-1].entry
        items = _walk(dataset, steps)
    node, bracket, typed = tail.partition("[")
    if bracket:
        return _complete_items(head + node, node, typed, items)
    prefer = _item_keys(parent) if parent else ()
    entries = search(tail, None if parent else level, None if parent else model, prefer=prefer)
    paren = tail.startswith("(")
    return [
        Suggestion(head + (e.keyword if e.keyword and not tail[:1].isdigit() and not paren else _tag(e, paren)),
                   _meta(e, model, level))
        for e in entries
    ]  # fmt: skip


def _tag(entry: Entry, paren: bool) -> str:
    text = f"{entry.tag >> 16:04X},{entry.tag & 0xFFFF:04X}"
    return f"({text})" if paren else text


def _walk(dataset: Dataset | None, steps: tuple[Step, ...]) -> Dataset | None:
    """The item a path leads to in ``dataset``, if it exists (for counting its items)."""
    current = dataset
    for step in steps:
        if current is None or step.entry.tag not in current or step.item is None:
            return None
        items = current[step.entry.tag].value
        current = items[step.item] if step.item < len(items) else None
    return current


def _complete_items(word: str, node: str, typed: str, current: Dataset | None) -> list[Suggestion]:
    try:
        entry = lookup(node)
    except UsageError:
        return []
    if entry.write_vr != "SQ":
        return []
    have = len(current[entry.tag].value) if current is not None and entry.tag in current else 0
    number = typed.rstrip("]")
    return [
        Suggestion(f"{word}[{i}].", f"item {i}" + (" (new)" if i == have else ""))
        for i in range(have + 1)
        if str(i).startswith(number)
    ] or ([Suggestion(f"{word}[{number}].", f"item {number} (new)")] if number.isdigit() else [])


def complete_value(keyword: str, text: str, seen: Iterable[str] = (),
                   found: Iterable[tuple[str, str]] = ()) -> list[Suggestion]:
    """Values after ``Keyword=``: the standard's enumerated values, then those the last find returned
    (``found``: value and description), then values seen this session; those found and seen only when
    they fit the VR. With ``\\`` the last value is completed (multi-valued keys)."""
    try:
        entry = lookup(keyword)
    except UsageError:
        return []
    before, sep, current = text.rpartition("\\")
    lead = before + sep
    wanted = current.upper() if entry.write_vr in ("CS", "AE") else current
    out: dict[str, str] = {}
    for value, meaning in enumerated(entry):
        if value.upper().startswith(wanted.upper()):
            out.setdefault(lead + value, meaning)
    offered = [*found, *((value, "seen") for value in list(dict.fromkeys(seen))[:200])]
    for value, meaning in offered:
        if value.startswith(current) and lead + value not in out:
            try:
                validate(entry, value)
            except UsageError:
                continue
            out[lead + value] = meaning
    return [Suggestion(value, meaning) for value, meaning in out.items()]


def complete_key(
    text: str, model: str | None, level: str | None, seen: Iterable[str] = (), dataset: Dataset | None = None,
    found: FindDone | None = None,
) -> list[Suggestion]:
    """The word after ``key``: a path, or after ``=`` a value (suggestions are whole words): the last
    find's values of that key first, with what they stand for, then those seen (complete_value)."""
    key, sep, value = text.partition("=")
    if not sep:
        return complete_path(text, model, level, dataset)
    try:
        entry = parse_path(key.strip())[-1].entry
    except UsageError:
        return []
    keyword = entry.keyword or entry.label
    offered = complete_value(keyword, value, seen, found_values(keyword, found))
    return [Suggestion(f"{key}={s.text}", s.meta) for s in offered]
