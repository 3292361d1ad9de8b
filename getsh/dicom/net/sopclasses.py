"""The storage SOP classes we can accept, and the words users name them by.

``accept`` takes ``default`` (getscu's list), ``all`` (every storage class pynetdicom knows,
as many as fit), ``auto`` (ask the peer first, see dicom/query.py), or names: a UID, a pydicom
keyword (``CTImageStorage``), or a modality word (``CT`` is every class whose DCMTK file
prefix starts with CT: CT, Enhanced CT, Legacy Converted Enhanced CT).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from pydicom.uid import UID
from pynetdicom import AllStoragePresentationContexts

from getsh.dicom.net.modalities import modality_prefix
from getsh.dicom.net.presentation import DEFAULT_STORAGE_CLASSES

MODES = ("default", "all", "auto")

# Every storage class pynetdicom knows: the current ones, then getscu's retired ones.
ALL_STORAGE_CLASSES: tuple[str, ...] = tuple(dict.fromkeys(
    [str(cx.abstract_syntax) for cx in AllStoragePresentationContexts] + list(DEFAULT_STORAGE_CLASSES)
))


def name(uid: str) -> str:
    text = UID(uid).name
    return text if text and text != uid else uid


def _keyword(uid: str) -> str:
    return UID(uid).keyword or ""


def _modality_words() -> dict[str, tuple[str, ...]]:
    """'CT' → the classes whose file prefix starts with CT (case-insensitive)."""
    words: dict[str, list[str]] = {}
    for uid in ALL_STORAGE_CLASSES:
        prefix = modality_prefix(uid)
        for end in range(2, len(prefix) + 1):
            words.setdefault(prefix[:end].upper(), []).append(uid)
    return {word: tuple(uids) for word, uids in words.items()}


_WORDS = _modality_words()
_BY_KEYWORD = {_keyword(uid).lower(): uid for uid in ALL_STORAGE_CLASSES if _keyword(uid)}


def resolve_word(word: str) -> tuple[str, ...]:
    """The storage classes a word names; ValueError with the closest words when none."""
    text = word.strip()
    if text in ALL_STORAGE_CLASSES:
        return (text,)
    if text.lower() in _BY_KEYWORD:
        return (_BY_KEYWORD[text.lower()],)
    if text.upper() in _WORDS:
        return _WORDS[text.upper()]
    if text.replace(".", "").isdigit():
        raise ValueError(f"{text} is not a storage SOP class UID that getsh knows")
    close = difflib.get_close_matches(text.upper(), list(_WORDS), n=3) or difflib.get_close_matches(
        text.lower(), list(_BY_KEYWORD), n=3)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise ValueError(f"{text!r} names no storage SOP class{hint}")


def parse_accept(text: str) -> str:
    """The ``accept`` setting as typed → its canonical text (a mode, or the words, checked)."""
    words = text.replace(",", " ").split()
    if not words:
        raise ValueError("say default, all, auto, or the classes (e.g. CT MR SR)")
    if len(words) == 1 and words[0].lower() in MODES:
        return words[0].lower()
    for word in words:
        if word.lower() in MODES:
            raise ValueError(f"{word} cannot be mixed with class names")
        resolve_word(word)
    return " ".join(words)


def classes_for(accept: str) -> tuple[str, ...]:
    """The storage classes to propose for a (non-auto) ``accept`` value, in order."""
    if accept in ("default", "auto"):
        return DEFAULT_STORAGE_CLASSES
    if accept == "all":
        return ALL_STORAGE_CLASSES
    uids: dict[str, None] = {}
    for word in accept.split():
        uids.update(dict.fromkeys(resolve_word(word)))
    return tuple(uids)


def suggestions(text: str) -> Iterator[tuple[str, str]]:
    """(word, meaning) pairs for completing ``accept``: modes, modality words, keywords."""
    low = text.lower()
    meanings = {"default": "getscu's list of storage classes", "all": "every storage class, as many as fit",
                "auto": "ask the peer with C-FIND which classes the objects have, then propose exactly those"}
    for mode in MODES:
        if mode.startswith(low):
            yield mode, meanings[mode]
    for word, uids in sorted(_WORDS.items()):
        if word.lower().startswith(low) and len(word) <= 3:
            yield word, ", ".join(name(u) for u in uids[:3]) + (" …" if len(uids) > 3 else "")
    if len(low) >= 3:
        for keyword, uid in sorted(_BY_KEYWORD.items()):
            if keyword.startswith(low):
                yield _keyword(uid), uid
