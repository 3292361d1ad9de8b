"""DCMTK's command files: an ``@file`` argument stands for the words in that file.

Whitespace separates words, quotes group them (and go); a command file cannot contain
another (an ``@word`` inside one stays a plain word), as in DCMTK's OFCommandLine.
"""

from __future__ import annotations

from collections.abc import Sequence

from getsh.dicom.portable import open_regular
from getsh.errors import UsageError

MAX_COMMAND_FILE = 1024 * 1024  # bytes of arguments: far more than any command line


def split_command_file(text: str) -> list[str]:
    """A command file's words, as DCMTK splits them: whitespace separates, quotes group (and go)."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    started = False
    for char in text:
        if quote:
            if char == quote:
                quote = ""
            else:
                current.append(char)
        elif char in "\"'":
            quote, started = char, True
        elif char.isspace():
            if started:
                words.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
    if quote:
        raise UsageError(f"command file: unbalanced {quote} quote", "close the quotation")
    if started:
        words.append("".join(current))
    return words


def expand_command_files(args: Sequence[str]) -> list[str]:
    """Replace each ``@file`` argument by the file's words; a command file cannot contain another."""
    expanded: list[str] = []
    for word in args:
        if word.startswith("@") and len(word) > 1:
            name = word[1:]
            try:
                data = open_regular(name, MAX_COMMAND_FILE)  # a FIFO or a terminal is refused, not waited on
                text = data.decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                why = f": {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else ""
                raise UsageError(f"cannot open command file {name!r}{why}",
                                 "@FILE names a readable text file") from None
            if len(data) > MAX_COMMAND_FILE:
                raise UsageError(f"command file {name!r} is over {MAX_COMMAND_FILE // 1024} KiB",
                                 "@FILE holds command-line arguments")
            expanded += split_command_file(text)  # an @word inside stays a plain word, as in DCMTK
        else:
            expanded.append(word)
    return expanded
