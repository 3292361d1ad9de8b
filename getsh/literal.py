"""Untrusted text made safe to show: what a peer or a file said, character for character, with
nothing a terminal would act on.

Values from a peer (Patient Name, a reject reason, an AE title), from a received file or from a
script can hold escape sequences (``ESC [2J`` clears the screen, ``ESC ] 52`` writes the clipboard),
C1 controls, which some terminals obey as escapes, and bidirectional overrides that make a line read
backwards. ``literal`` shows each such character as Python writes it in a string literal:
``\\t``, ``\\n``, ``\\r``, ``\\x1b`` (every other C0 control, DEL and C1 control as ``\\xNN``),
``\\u202e`` (Unicode format characters, line and paragraph separators, lone surrogates), and
``\\U000e0041`` beyond the BMP. A backslash is left as it is: it is DICOM's value separator, and
``ORIGINAL\\PRIMARY`` must read as it always has (so the text ``\\x1b`` and the control character
look alike on the screen; neither does anything to the terminal).

Rich markup is the renderer's business, not this module's: the consoles do not read markup at
all (``env.py``), and ``shell/render.py`` builds ``Text`` from data.
"""

from __future__ import annotations

import unicodedata

NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # controls, format, surrogates, separators


def visible(char: str) -> str:
    """One character as it is shown: itself, or its escape if a terminal would act on it."""
    if char in NAMED:
        return NAMED[char]
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if code < 0xA0 or unicodedata.category(char) not in HIDDEN_CATEGORIES:
        return char
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def literal(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control, escape, format and bidi character made visible (module docstring).

    ``newlines=True`` keeps line feeds as line breaks, for multi-line text getsh composed itself
    (an error with a traceback, a log record); a value from a peer is one line and shows ``\\n``.
    """
    if text.isprintable():  # the common case, fast: no control, format or separator character at all
        return text
    if newlines and "\n" in text:
        return "\n".join(literal(line) for line in text.split("\n"))
    return "".join(visible(char) for char in text)

