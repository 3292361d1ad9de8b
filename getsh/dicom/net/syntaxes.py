"""Transfer-syntax preferences with getscu's names and meanings (its ``+x…`` and ``-x…`` options).

``PREFER`` is what we accept for incoming C-STORE sub-operations; ``PROPOSE`` is what we
offer for the Query/Retrieve context itself. The order of each list is the order of
preference, exactly as getscu builds it.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydicom is imported when a name or UID is first asked for: settings.py (and
    from pydicom.uid import UID  # with it the command line) must not wait for it

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
RLE = "1.2.840.10008.1.2.5"

_LOCAL = EXPLICIT_LE if sys.byteorder == "little" else EXPLICIT_BE
_OPPOSITE = EXPLICIT_BE if _LOCAL == EXPLICIT_LE else EXPLICIT_LE
_UNCOMPRESSED = (_LOCAL, _OPPOSITE, IMPLICIT)


@lru_cache(maxsize=64)
def syntax_uid(uid: str) -> UID:
    """pydicom's UID for a transfer syntax, made once: UID() validates with a regex (~20 µs),
    and the receive path asks for the same few syntaxes for every object."""
    from pydicom.uid import UID

    return UID(uid)


@lru_cache(maxsize=64)
def syntax_encoding(uid: str) -> tuple[bool, bool, bool]:
    """(implicit VR, little endian, deflated) for a transfer syntax; pydicom's UID properties look
    them up on every access."""
    ts = syntax_uid(uid)
    return bool(ts.is_implicit_VR), bool(ts.is_little_endian), bool(ts.is_deflated)


def _then_uncompressed(uid: str) -> tuple[str, ...]:
    """A compressed preference still accepts the uncompressed syntaxes, after it."""
    return (uid, EXPLICIT_LE, EXPLICIT_BE, IMPLICIT)


# name -> (transfer syntaxes in order of preference)
PREFER: dict[str, tuple[str, ...]] = {
    "uncompr": _UNCOMPRESSED,
    "little": (EXPLICIT_LE, EXPLICIT_BE, IMPLICIT),
    "big": (EXPLICIT_BE, EXPLICIT_LE, IMPLICIT),
    "lossless": _then_uncompressed("1.2.840.10008.1.2.4.70"),
    "jpeg8": _then_uncompressed("1.2.840.10008.1.2.4.50"),
    "jpeg12": _then_uncompressed("1.2.840.10008.1.2.4.51"),
    "j2k-lossless": _then_uncompressed("1.2.840.10008.1.2.4.90"),
    "j2k-lossy": _then_uncompressed("1.2.840.10008.1.2.4.91"),
    "jls-lossless": _then_uncompressed("1.2.840.10008.1.2.4.80"),
    "jls-lossy": _then_uncompressed("1.2.840.10008.1.2.4.81"),
    "mpeg2": _then_uncompressed("1.2.840.10008.1.2.4.100"),
    "mpeg2-high": _then_uncompressed("1.2.840.10008.1.2.4.101"),
    "mpeg4": _then_uncompressed("1.2.840.10008.1.2.4.102"),
    "mpeg4-bd": _then_uncompressed("1.2.840.10008.1.2.4.103"),
    "mpeg4-2-2d": _then_uncompressed("1.2.840.10008.1.2.4.104"),
    "mpeg4-2-3d": _then_uncompressed("1.2.840.10008.1.2.4.105"),
    "mpeg4-2-st": _then_uncompressed("1.2.840.10008.1.2.4.106"),
    "hevc": _then_uncompressed("1.2.840.10008.1.2.4.107"),
    "hevc10": _then_uncompressed("1.2.840.10008.1.2.4.108"),
    "rle": _then_uncompressed(RLE),
    "deflated": _then_uncompressed(DEFLATED),
    "implicit": (IMPLICIT,),
}

PROPOSE: dict[str, tuple[str, ...]] = {
    "uncompr": _UNCOMPRESSED,
    "little": (EXPLICIT_LE, EXPLICIT_BE, IMPLICIT),
    "big": (EXPLICIT_BE, EXPLICIT_LE, IMPLICIT),
    "deflated": (DEFLATED, EXPLICIT_LE, EXPLICIT_BE, IMPLICIT),
    "implicit": (IMPLICIT,),
}


def syntax_name(uid: str) -> str:
    """The transfer syntax's name from pydicom's dictionary, or the UID itself."""
    name = syntax_uid(uid).name
    return name if name and name != uid else uid


def uid_name(uid: str) -> str:
    """Any UID's name from pydicom's dictionary (SOP classes, transfer syntaxes, models), or the UID itself."""
    from pydicom.uid import UID

    name = UID(uid).name
    return name if name and name != uid else uid


def describe(choice: dict[str, tuple[str, ...]], name: str) -> str:
    """``First Syntax (uid), then …`` for help texts."""
    uids = choice[name]
    first = f"{syntax_name(uids[0])} ({uids[0]})"
    return first if len(uids) == 1 else f"{first}, then {', '.join(syntax_name(u) for u in uids[1:])}"
