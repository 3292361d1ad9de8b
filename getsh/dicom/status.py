"""DIMSE status codes → category, words and advice. Decoded here once, for every command."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pynetdicom import status as _status

from getsh.exitstatus import ExitStatus

_TABLES = {
    "echo": _status.VERIFICATION_SERVICE_CLASS_STATUS,
    "get": _status.QR_GET_SERVICE_CLASS_STATUS,
    "find": _status.QR_FIND_SERVICE_CLASS_STATUS,
    "store": _status.STORAGE_SERVICE_CLASS_STATUS,
}


@dataclass(frozen=True)
class DimseStatus:
    code: int
    category: str  # Success, Warning, Failure, Cancel, Pending, Unknown
    words: str

    def __str__(self) -> str:
        text = f"0x{self.code:04X} {self.category}"
        return f"{text}: {self.words}" if self.words else text

    @property
    def exit_status(self) -> ExitStatus:
        return {
            "Success": ExitStatus.SUCCESS,
            "Pending": ExitStatus.SUCCESS,
            "Warning": ExitStatus.WARNING,
            "Cancel": ExitStatus.WARNING,
        }.get(self.category, ExitStatus.FAILURE)


# PS3.4 C.4.3.1.4's words where pynetdicom has none.
_CANCEL = {0xFE00: ("Cancel", "Sub-operations terminated due to Cancel indication")}

# Merged once: decode() runs for every pending response of a retrieve.
_MERGED = {service: {**_status.GENERAL_STATUS, **table, **(_CANCEL if service == "get" else {})}
           for service, table in _TABLES.items()}


@lru_cache(maxsize=512)
def decode(code: int, service: str = "echo") -> DimseStatus:
    """Category and words for ``code`` in the context of ``service`` (echo, get, find, store)."""
    table = _MERGED.get(service, _status.GENERAL_STATUS)
    category = _status.code_to_category(code)
    words = ""
    if code in table:
        category, words = table[code]
    return DimseStatus(code, category, words.strip().rstrip("."))
