"""How a setting's words become its value and back: the parsers and formatters the rows of the
settings table (settings.py) name. Each parser raises ValueError with the words to show."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

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


MAX_PARALLEL = 16


def parse_parallel(text: str) -> int:
    """Associations one get may be spread over: 1 (one, as getscu) … 16, or ``auto`` (0)."""
    value = text.strip().lower()
    if value == "auto":
        return 0
    if value in ("off", "no"):
        return 1
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of associations (1..{MAX_PARALLEL}) or auto") from None
    if not 1 <= count <= MAX_PARALLEL:
        raise ValueError(f"{count} associations is out of range (1..{MAX_PARALLEL}, or auto)")
    return count


def show_parallel(value: int) -> str:
    return "auto" if value == 0 else f"{value}"


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

# --- user identity: the user name, and where the secret is (never the secret itself) ----------------


USER_TYPES = (  # user-type's values and what each sends (PS3.7 D.3.3.7)
    ("auto", "a user name alone when user is set, and a password with it when user-secret is set"),
    ("off", "no user identity negotiation, whatever user and user-secret say"),
    ("username", "type 1: the user name alone"),
    ("password", "type 2: the user name and a password (user-secret)"),
    ("kerberos", "type 3: a Kerberos service ticket (user-secret; -kt FILE)"),
    ("saml", "type 4: a SAML assertion (user-secret; --saml FILE)"),
    ("jwt", "type 5: a JSON Web Token (user-secret; --jwt FILE)"),
)


def parse_user(text: str) -> str | None:
    """A user name for user identity negotiation, or ``none``."""
    value = text.strip()
    if value.lower() == "none" or not value:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("a user name holds no control characters")
    if len(value.encode("utf-8")) > 65535:
        raise ValueError("a user name is at most 65535 bytes long")
    return value


def parse_secret_source(text: str) -> str | None:
    """``env:VAR`` or ``file:PATH`` (or ``none``); the ValueError's words never repeat the value."""
    from getsh.dicom.net.identity import SourceError, parse_source
    from getsh.errors import UsageError

    if text.strip().lower() == "none":
        return None
    try:
        return str(parse_source(text))
    except SourceError as exc:  # its own hint: the line is kept out of the history (shell/prompting.py)
        raise UsageError(f"user-secret {exc}", "e.g. set user-secret env:PACS_PASSWORD (exported before getsh "
                         "started) or file:~/.pacs-password; a line like this one is kept out of the history "
                         "and recordings") from None


def looks_secret(text: str) -> bool:
    """A value typed where a secret's source belongs that is no source: it may be the secret, so it is
    masked wherever the line would be kept (the history, recordings)."""
    from getsh.dicom.net.identity import is_source

    return bool(text.strip()) and text.strip().lower() != "none" and not is_source(text)


def secret_source_words(text: str) -> Iterator[tuple[str, str]]:
    """``env:`` and ``file:``, then the environment's variable names (never their values) or files."""
    from getsh.completion.paths import path_words

    kind, sep, rest = text.partition(":")
    if not sep:
        for word, meaning in (("env:", "the secret is in an environment variable"),
                              ("file:", "the secret is in a file"), ("none", "no secret")):
            if word.startswith(text.lower()):
                yield word, meaning
    elif kind.lower() == "env":
        for name in sorted(os.environ):
            if name.startswith(rest):
                yield f"env:{name}", "environment variable"
    elif kind.lower() == "file":
        for path, what in path_words(rest):
            yield f"file:{path}", what


def check_secret_source(text: str) -> None:
    """A command line's -pwd (or -kt, --saml, --jwt): a source, that holds something, before anything is sent."""
    from getsh.dicom.net.identity import SourceError, parse_source
    from getsh.errors import UsageError

    if text.strip().lower() == "none":
        return
    try:
        source = parse_source(text)
    except SourceError as exc:
        raise UsageError(f"-pwd, --password (user-secret) {exc}",
                         "unlike storescu, getsh takes no password on its command line, where ps shows it to "
                         "every user: -pwd env:VAR or -pwd file:PATH") from None
    source.read()
