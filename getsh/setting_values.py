"""How a setting's words become its value and back: the parsers and formatters the rows of the
settings table (settings.py) name. Each parser raises ValueError with the words to show."""

from __future__ import annotations

import os
from collections.abc import Callable

UNLIMITED = ("unlimited", "none", "never")  # the words for "no limit", getscu's default for -to and -td


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise ValueError(f"{text!r} is not on or off")


def show_bool(value: bool) -> str:
    return "on" if value else "off"


def parse_seconds(text: str) -> float | None:
    """Seconds as a positive number, or ``unlimited``/``none`` (getscu's default for -to and -td)."""
    value = text.strip().lower()
    if value in UNLIMITED:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds (or 'unlimited')") from None
    if seconds <= 0:
        raise ValueError(f"{text!r}: a timeout must be more than 0 seconds (or 'unlimited')")
    return int(seconds) if seconds.is_integer() else seconds


def show_seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value}"


def one_or_more(what: str, see: str = "") -> Callable[[str], int]:
    """A command argument's converter: a whole number of ``what``, 1 or more (``see``: where the
    numbers are listed)."""
    where = f" (see: {see})" if see else ""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number of {what}{where}") from None
        if number < 1:
            raise ValueError(f"{number}: a number of {what} is 1 or more{where}")
        return number

    return parse


def parse_count(text: str) -> int | None:
    """A whole number of objects, 1 or more, or ``unlimited``."""
    value = text.strip().lower()
    if value in UNLIMITED:
        return None
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number (or 'unlimited')") from None
    if count < 1:
        raise ValueError(f"{text!r}: a limit must be 1 or more (or 'unlimited')")
    return count


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3,
               "t": 1024**4, "tb": 1024**4}


def parse_size(text: str) -> int | None:
    """Bytes, with K, M, G or T (×1024 each: 1.5G, 500MB), or ``unlimited``."""
    value = text.strip().lower()
    if value in UNLIMITED:
        return None
    number = value.rstrip("kmgtb ")
    unit = value[len(number):].strip()
    try:
        size = float(number) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        raise ValueError(f"{text!r} is not a size in bytes (e.g. 500M, 2G, or 'unlimited')") from None
    if size < 1:
        raise ValueError(f"{text!r}: a limit must be 1 byte or more (or 'unlimited')")
    return int(size)


def show_size(value: int | None) -> str:
    """A size as parse_size reads it back: 64M, 1G, 1536K, 100 (bytes), unlimited."""
    if value is None:
        return "unlimited"
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if value >= factor and value % factor == 0:
            return f"{value // factor}{unit}"
    return f"{value}"


def show_limit(value: int | None) -> str:
    return "unlimited" if value is None else f"{value}"


def int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range ({low}..{high})")
        return value

    return parse


NONE = ("none", "off", "")  # the words for "not set" of an optional value (a port, a Move Destination)


def parse_port(text: str) -> int | None:
    """A TCP port 1..65535 to listen on, or ``none`` (0 too, as movescu's --port 0)."""
    value = text.strip().lower()
    if value in (*NONE, "0"):
        return None
    if not value.isdigit() or not 0 < int(value) <= 65535:
        raise ValueError(f"{text!r} is not a port number (1..65535, or none)")
    return int(value)


def show_none(value: object) -> str:
    return "none" if value in (None, "") else str(value)


def parse_host(text: str) -> str:
    """An address to bind to: an IP address or a host name, one word."""
    host = text.strip()
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{text!r} is not an address (0.0.0.0 for every interface, 127.0.0.1 for this machine only)")
    return host


def parse_ae_or_none(text: str) -> str | None:
    from getsh.dicom.keys.aetitle import validate_ae_title

    return None if text.strip().lower() in NONE else validate_ae_title(text)


def parse_ae_list(text: str) -> tuple[str, ...]:
    """AE titles separated by commas or spaces, or ``any`` (none listed: every title is accepted)."""
    from getsh.dicom.keys.aetitle import validate_ae_title

    words = [w for w in text.replace(",", " ").split() if w]
    if not words or [w.lower() for w in words] == ["any"]:
        return ()
    return tuple(dict.fromkeys(validate_ae_title(w) for w in words))


def show_ae_list(value: tuple[str, ...]) -> str:
    return ",".join(value) if value else "any"

def parse_path(text: str) -> str:
    """A file or directory (``~`` expanded); ``none`` or nothing: none."""
    value = text.strip()
    return "" if value.lower() in ("", "none") else os.path.expanduser(value)


def show_path(value: str) -> str:
    return value or "none"


def parse_password_source(text: str) -> str:
    """Where a password is: ``none``, ``file:PATH`` or ``env:NAME``. The error never repeats ``text``: it
    may be the password itself, typed where its source belongs."""
    value = text.strip()
    kind, sep, rest = value.partition(":")
    if value.lower() == "none":
        return "none"
    if sep and kind == "file" and rest:
        return f"file:{os.path.expanduser(rest)}"
    if sep and kind == "env" and rest.isidentifier():
        return value
    raise ValueError("give where the password is, never the password itself: file:PATH, env:NAME or none")
