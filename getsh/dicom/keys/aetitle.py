"""AE title validation (PS3.5 6.2: AE VR, at most 16 characters, no backslash or controls)."""

from __future__ import annotations


def validate_ae_title(value: str) -> str:
    """Return ``value`` stripped of surrounding spaces, or raise ValueError saying what is wrong.

    Leading and trailing spaces are not significant in an AE title, so they are dropped;
    what remains must be 1–16 characters of the default character repertoire, without
    backslash or control characters.
    """
    title = value.strip(" ")
    if not title:
        raise ValueError("an AE title needs 1 to 16 characters")
    if len(title) > 16:
        raise ValueError(f"AE title {title!r} is {len(title)} characters long; the maximum is 16")
    for char in title:
        if char == "\\":
            raise ValueError(f"AE title {title!r} contains a backslash, which DICOM does not allow")
        if ord(char) < 0x20 or ord(char) == 0x7F:
            raise ValueError(f"AE title {title!r} contains a control character")
        if ord(char) > 0x7E:
            raise ValueError(f"AE title {title!r} contains {char!r}; only ASCII is allowed")
    return title
