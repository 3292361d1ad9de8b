"""``explain UID``: what a UID is (pydicom's UID dictionary: SOP classes, transfer syntaxes, information
models, well-known frames and instances …) and what getsh does with it: which models propose it, whether
a get accepts objects of the class by default, which ``prefer``/``propose`` values choose a transfer syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from pydicom.uid import UID_dictionary

from getsh.dicom.net.modalities import UNKNOWN_PREFIX, modality_prefix
from getsh.dicom.net.presentation import FIND_MODELS, GET_MODELS, VERIFICATION
from getsh.dicom.net.sopclasses import ALL_STORAGE_CLASSES, classes_for
from getsh.dicom.net.syntaxes import PREFER, PROPOSE
from getsh.errors import UsageError, excerpt

_UID = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_UID_SHAPE = re.compile(r"[0-9.]+")
MODEL_NAMES = {"patient": "patient root", "study": "study root", "psonly": "patient/study only"}


@dataclass(frozen=True)
class UidExplanation:
    uid: str
    name: str  # pydicom's name, or "" for a UID no dictionary knows
    kind: str  # SOP Class, Transfer Syntax, Well-known frame of reference …; "" when unknown
    keyword: str
    info: str  # pydicom's note (e.g. "Default Transfer Syntax for DICOM")
    retired: bool
    uses: tuple[str, ...]  # what getsh does with it, one sentence each
    prefer: tuple[str, ...] = ()  # prefer values that accept it for incoming objects, first choice first
    propose: tuple[str, ...] = ()  # propose values that offer it for the Q/R request


@lru_cache(maxsize=1)
def _by_keyword() -> dict[str, str]:
    return {info[4].lower(): uid for uid, info in UID_dictionary.items() if info[4]}


def uid_of(word: str) -> str | None:
    """The UID a word names: a UID (dotted digits) or the keyword of one pydicom knows (CTImageStorage)."""
    text = word.strip()
    if _UID.fullmatch(text):
        return text
    return _by_keyword().get(text.lower())


def looks_like_uid(word: str) -> bool:
    """Digits and dots with a dot in them: meant as a UID, even a malformed one."""
    return "." in word and bool(_UID_SHAPE.fullmatch(word.strip()))


def check_uid(uid: str) -> None:
    """A UID's own rules (PS3.5 9.1): at most 64 characters, components without leading zeros."""
    problems = []
    if len(uid) > 64:
        problems.append(f"it is {len(uid)} characters long (at most 64)")
    if any(len(part) > 1 and part.startswith("0") for part in uid.split(".")):
        problems.append("a component has a leading zero")
    if not _UID.fullmatch(uid):
        problems.append("it is not digits separated by single dots")
    if problems:
        raise UsageError(f"{excerpt(uid)} is not a valid UID: {'; '.join(problems)}",
                         "a UID is digits and dots, e.g. 1.2.840.10008.1.2.1; a peer may refuse it (0x0106)")


def explain_uid(uid: str) -> UidExplanation:
    check_uid(uid)
    info = UID_dictionary.get(uid)
    if info is None:
        return UidExplanation(uid, "", "", "", "", False, (
            "not a UID of the standard that pydicom knows: a study, series or object's own UID, or a private one "
            "(an implementation class, a private SOP class)",))
    name, kind, note, retired, keyword = info
    explanation = UidExplanation(uid, name, kind, keyword, note, retired == "Retired", _uses(uid, kind, name))
    if kind == "Transfer Syntax":
        prefer = tuple(sorted((n for n, uids in PREFER.items() if uid in uids), key=lambda n: PREFER[n].index(uid)))
        propose = tuple(n for n, uids in PROPOSE.items() if uid in uids)
        return replace(explanation, prefer=prefer, propose=propose)
    return explanation


def _uses(uid: str, kind: str, name: str) -> tuple[str, ...]:
    if uid == VERIFICATION:
        return ("proposed on every association: echo sends C-ECHO on it",)
    for models, service in ((GET_MODELS, "C-GET"), (FIND_MODELS, "C-FIND")):
        for model, model_uid in models.items():
            if uid == model_uid:
                return (f"{service} goes on it under set model {model} ({MODEL_NAMES[model]}); each association "
                        "proposes the C-GET and C-FIND models of the model setting",)
    if "Move" in name and "Query/Retrieve" in name:
        return ("a C-MOVE model: the archive sends the objects on a new association to a destination AE title",)
    if kind == "Transfer Syntax":
        return _syntax_uses(uid)
    if uid in ALL_STORAGE_CLASSES:
        return _storage_uses(uid)
    if kind == "SOP Class":
        return ("not a storage class: getsh neither proposes it nor receives objects of it",)
    return ()


def _syntax_uses(uid: str) -> tuple[str, ...]:
    default_in, default_out = PREFER["uncompr"], PROPOSE["uncompr"]
    incoming = ("accepted for incoming objects by default (prefer uncompr)" if uid in default_in else
                "accepted for incoming objects only when a prefer setting names it")
    outgoing = ("proposed for the Q/R request by default (propose uncompr)" if uid in default_out else
                "proposed for the Q/R request only when a propose setting names it" if any(
                    uid in uids for uids in PROPOSE.values()) else "never proposed for the Q/R request itself")
    return incoming, outgoing


def _storage_uses(uid: str) -> tuple[str, ...]:
    prefix = modality_prefix(uid)
    word = f"; accept {prefix} names it with its kin" if prefix != UNKNOWN_PREFIX else ""
    if uid in classes_for("default"):
        accepted = "a storage class getsh accepts by default (accept default, getscu's list)"
    else:
        accepted = "a storage class getsh accepts only under accept all, accept auto (when the archive holds it) " \
                   "or accept CLASS"
    return (f"{accepted}{word}", f"received objects of it are named {prefix}.<SOP Instance UID> (layout getscu)")


def uid_words(text: str, limit: int = 60) -> Iterator[tuple[str, str]]:
    """(keyword, UID and name) of the UIDs pydicom knows whose keyword starts with ``text``, current first."""
    low = text.lower()
    if len(low) < 2:
        return
    found = sorted((info[3] == "Retired", info[4]) for uid, info in UID_dictionary.items()
                   if info[4] and info[4].lower().startswith(low))
    for _retired, keyword in found[:limit]:
        uid = _by_keyword()[keyword.lower()]
        yield keyword, f"{uid} {UID_dictionary[uid][1]}"
