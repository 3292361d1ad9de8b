"""Specific Character Set (0008,0005): the defined terms pydicom knows, the ``charset`` setting's
values, and the check that what the user typed can be sent in the character set of the identifier.

pydicom encodes an identifier's text (PN, LO, SH, ST, LT, UT, UC) in its SpecificCharacterSet when
pynetdicom sends it; a character that set cannot hold becomes ``?`` with only a warning, and with no
SpecificCharacterSet at all pydicom writes Latin-1 bytes that the default repertoire (ASCII) does not
have — dcmqrscp then matches nothing, without a word. So a value is checked before it is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydicom import Dataset
from pydicom.charset import convert_encodings, default_encoding, python_encoding

from getsh.errors import UsageError, excerpt

KEYWORD = "SpecificCharacterSet"
TEXT_VRS = frozenset({"PN", "LO", "SH", "ST", "LT", "UT", "UC"})  # the VRs a character set applies to
DEFAULT = ("", "ISO_IR 6", "ISO 2022 IR 6")  # the default repertoire: ASCII
MULTI_BYTE = ("ISO 2022 IR 87", "ISO 2022 IR 159", "ISO 2022 IR 149", "ISO 2022 IR 58")  # only after a G0 set
NONE_WORDS = ("none", "default", "off")

_STANDARD = re.compile(r"ISO_IR \d+|ISO 2022 IR \d+|GB18030|GBK")  # pydicom also knows a few misspellings
_SETS = {
    "6": "ASCII (the default repertoire)",
    "100": "Latin alphabet No. 1: Western European (ä, é, ñ, ü)",
    "101": "Latin alphabet No. 2: Central European",
    "109": "Latin alphabet No. 3: South European",
    "110": "Latin alphabet No. 4: North European",
    "126": "Greek",
    "127": "Arabic",
    "138": "Hebrew",
    "144": "Cyrillic",
    "148": "Latin alphabet No. 5: Turkish",
    "166": "Thai",
    "13": "Japanese katakana, half-width (JIS X 0201)",
    "87": "Japanese kanji, hiragana, katakana (JIS X 0208)",
    "159": "Japanese supplementary kanji (JIS X 0212)",
    "149": "Korean (KS X 1001)",
    "58": "Simplified Chinese (GB 2312)",
    "192": "Unicode in UTF-8: every character",
}
_NAMED = {"GB18030": "Chinese (GB 18030): every character", "GBK": "Chinese (GBK)"}
COMBINATIONS = (  # an empty first value is ISO 2022 IR 6, as in PS3.5's examples (and as Orthanc reads it)
    ("\\ISO 2022 IR 87", "ASCII and Japanese kanji (the usual Japanese form)"),
    ("ISO 2022 IR 13\\ISO 2022 IR 87", "Japanese half-width katakana and kanji"),
    ("\\ISO 2022 IR 149", "ASCII and Korean"),
    ("\\ISO 2022 IR 58", "ASCII and Simplified Chinese"),
)


def meaning(term: str) -> str:
    """What a defined term holds, in words; the Python codec pydicom uses for an unlisted one."""
    if term in _NAMED:
        return _NAMED[term]
    words = _SETS.get(term.rsplit(" ", 1)[-1], f"codec {python_encoding.get(term, '?')}")
    return words + (", with code extensions" if term.startswith("ISO 2022") else "")


def defined_terms() -> list[tuple[str, str]]:
    """(term, meaning) for each DICOM defined term pydicom can encode and decode."""
    return [(term, meaning(term)) for term in python_encoding if _STANDARD.fullmatch(term)]


def _normal(text: str) -> str:
    return re.sub(r"[\s_-]", "", text).upper()


def charset_words(text: str) -> Iterator[tuple[str, str]]:
    """Completion of the ``charset`` setting: terms starting with what was typed (spaces and
    underscores not counted), or whose meaning has it (``utf``, ``latin``, ``japan``)."""
    typed, lower = _normal(text), text.strip().lower()
    for term, words in [("none", "no SpecificCharacterSet: the default repertoire, ASCII"),
                        *defined_terms(), *COMBINATIONS]:
        if _normal(term).startswith(typed) or (len(lower) >= 3 and lower in words.lower()):
            yield term, words


def parse_charset(text: str) -> str | None:
    """A ``charset`` value: None for none, else its defined terms as DICOM writes them (``\\`` between
    several); a multi-byte ISO 2022 set alone gets an empty first value (ASCII) before it, as DICOM
    requires: Orthanc reads ``\\ISO 2022 IR 87`` as Japanese, not ``ISO 2022 IR 6\\ISO 2022 IR 87``."""
    if text.strip().lower() in ("", *NONE_WORDS):
        return None
    known = {_normal(term): term for term, _ in defined_terms()}
    terms = []
    for index, part in enumerate(text.split("\\")):
        if not part.strip() and index == 0 and "\\" in text:
            terms.append("")  # an empty first value: ISO 2022 IR 6
            continue
        term = known.get(_normal(part))
        if term is None:
            raise ValueError(f"{part.strip()!r} is not a character set pydicom knows (for example ISO_IR 100, "
                             "ISO_IR 192, \\ISO 2022 IR 87; Tab lists them, or none)")
        terms.append(term)
    if len(terms) > 1 and not all(t.startswith("ISO 2022") for t in terms if t):
        raise ValueError("several character sets are code extensions: write each as ISO 2022 IR n "
                         "(for example ISO 2022 IR 13\\ISO 2022 IR 87)")
    if len(terms) == 1 and terms[0] in MULTI_BYTE:
        terms.insert(0, "")
    return "\\".join(terms)


def terms_of(identifier: Dataset) -> list[str]:
    """The identifier's SpecificCharacterSet as a list of terms ([] when it has none)."""
    value = identifier[KEYWORD].value if KEYWORD in identifier else None
    if not value:
        return []
    return [str(v).strip() for v in ([value] if isinstance(value, str) else value)]


def encodings_of(response: Dataset) -> list[str]:
    """The Python codecs of a received data set's text: its SpecificCharacterSet's (pydicom warns,
    through its logger, of a term it does not know), or the default repertoire when it has none."""
    terms = terms_of(response)
    return convert_encodings(terms) if terms else [default_encoding]


def _encodes(char: str, codec: str) -> bool:
    try:
        encoded = char.encode(codec)
    except (UnicodeError, LookupError):
        return False
    return codec != "shift_jis" or len(encoded) == 1  # ISO_IR 13 is JIS X 0201: one byte a character


def _texts(dataset: Dataset) -> Iterator[tuple[str, str]]:
    """(keyword, value) of every text element the character set applies to, items included."""
    for elem in dataset:
        if elem.VR == "SQ":
            for item in elem.value or ():
                yield from _texts(item)
        elif elem.VR in TEXT_VRS and elem.value:
            values = [elem.value] if isinstance(elem.value, str) or elem.VM == 1 else list(elem.value)
            for value in values:
                if not isinstance(value, (bytes, bytearray)):
                    yield elem.keyword or str(elem.tag), str(value)


def with_charset(identifier: Dataset, charset: str | None) -> Dataset:
    """``identifier`` (changed in place) with SpecificCharacterSet set from the ``charset`` setting
    unless the user set that key; a UsageError, before anything is sent, when a typed value has a
    character its character set cannot hold. A SpecificCharacterSet pydicom does not know is the
    user's experiment: sent as typed, unchecked."""
    own = bool(terms_of(identifier))  # an empty SpecificCharacterSet is the default: not the user's choice
    if charset and not own:
        identifier.SpecificCharacterSet = charset.split("\\") if "\\" in charset else charset
    terms = terms_of(identifier)
    if any(t not in python_encoding for t in terms):
        return identifier
    codecs = [python_encoding[t] for t in terms if t not in DEFAULT]
    for keyword, value in _texts(identifier):
        for char in value:
            if ord(char) > 0x7F and not any(_encodes(char, codec) for codec in codecs):
                raise _unencodable(keyword, value, char, "\\".join(terms), own)
    return identifier


def _unencodable(keyword: str, value: str, char: str, terms: str, own: bool) -> UsageError:
    problem = f"{keyword} value {excerpt(value)}: {char!r} (U+{ord(char):04X}) cannot be sent in "
    if not terms:
        return UsageError(problem + "the default character set (ASCII: no charset is set)",
                          "say which character set the value is in: set charset ISO_IR 100 (Latin-1) or "
                          "set charset ISO_IR 192 (UTF-8); on getsh's command line -k 'SpecificCharacterSet=ISO_IR "
                          "100', as getscu and findscu need")
    if own:
        return UsageError(problem + f"SpecificCharacterSet {terms}",
                          "change the key (e.g. key 'SpecificCharacterSet=ISO_IR 192') or the value")
    return UsageError(problem + f"charset {terms} ({meaning(terms.split(chr(92))[-1])})",
                      "choose a character set that has it (set charset ISO_IR 192: UTF-8 has every one) "
                      "or change the value")
