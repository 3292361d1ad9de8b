"""DIMSE status codes → category, words and advice. Decoded here once, for every command; every piece
of advice a DIMSE status earns is written here too, beside the decoding. What each status means to
each service, its usual cause and what to try, for ``explain``: dicom/explain/statuses.py, on ``decode``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pynetdicom import status as _status

from getsh.exitstatus import ExitStatus

_TABLES = {
    "echo": _status.VERIFICATION_SERVICE_CLASS_STATUS,
    "get": _status.QR_GET_SERVICE_CLASS_STATUS,
    "move": _status.QR_MOVE_SERVICE_CLASS_STATUS,
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
_MERGED = {service: {**_status.GENERAL_STATUS, **table, **(_CANCEL if service in ("get", "move") else {})}
           for service, table in _TABLES.items()}


@lru_cache(maxsize=512)
def decode(code: int, service: str = "echo") -> DimseStatus:
    """Category and words for ``code`` in the context of ``service`` (echo, get, move, find, store)."""
    table = _MERGED.get(service, _status.GENERAL_STATUS)
    category = _status.code_to_category(code)
    words = ""
    if code in table:
        category, words = table[code]
    return DimseStatus(code, category, words.strip().rstrip("."))


# --- advice: what a status means for the next step, when we can tell more than its words -----------

# Final C-GET statuses that are about the sub-operations (PS3.4 C.4.3.1.4): the counts and the
# Failed SOP Instance UID List say what went wrong, not the words.
SUB_OPERATION_STATUSES = frozenset({0xB000, 0xA702})

FAILURE_HINTS = {
    "find": "the peer may not support C-FIND on this model",
}


def failure_hint(service: str) -> str:
    """The fix to suggest when ``service``'s request ends with a failure status ('' if none)."""
    return FAILURE_HINTS.get(service, "")


def retrieve_advice(status: DimseStatus, failed: int, received: int, refused: Sequence[str] = (),
                    negotiated: str = "") -> str:
    """Why a retrieve's sub-operations failed, when we can tell ('' when the status says it all).

    ``refused`` holds why we refused objects ourselves (we could not store them): that comes first.
    ``negotiated`` is what the association's presentation contexts say about the failures
    (net/negotiation.py): when there is one, it replaces the general words.
    """
    if refused:
        return f"we refused {len(refused)}: {refused[0]}"
    if status.code not in SUB_OPERATION_STATUSES:  # not about sub-operations: the status says it
        return ""
    if failed and negotiated:
        return negotiated
    if failed and not received:
        return ("the peer could not send them on this association: it may hold them in a transfer syntax we did not "
                "accept (try: prefer rle, prefer lossless, …), or a SOP class we did not propose or it did not take "
                "getsh as SCP for (see: status)")
    if failed:
        return ("some could not be sent: a SOP class or transfer syntax we did not accept is the usual cause "
                "(see: status; try another prefer setting)")
    return ""


# --- a C-GET that matched nothing ------------------------------------------------------------------

FIND_SHOWS = "'find' shows what the archive holds"


def empty_match(status: DimseStatus, sub_operations: int, arrived: int, cancelled: bool) -> str:
    """Whether a C-GET's keys matched nothing. 'yes': the peer answered success (or a warning) with no
    sub-operation and nothing arrived (dcmqrscp and the demo archive answer an unknown UID so). 'ask': it
    answered a failure with none — Orthanc answers an unknown UID with 0xC000 (Unable to Process), a
    generic failure, so a C-FIND of the same keys must tell. '': something matched, or we cannot say."""
    if cancelled or sub_operations or arrived:
        return ""
    if status.category in ("Success", "Warning"):
        return "yes"
    if status.category == "Failure" and status.code not in SUB_OPERATION_STATUSES:
        return "ask"
    return ""


def nothing_matched_advice(confirmed: bool, model: str = "", level: str = "", missing_above: Sequence[str] = ()) -> str:
    """The line a C-GET that matched nothing earns. ``confirmed``: a C-FIND of the same keys matched nothing
    too (the peer's status was a failure). ``missing_above``: unique keys of the levels above ``level`` that
    the keys do not give — an archive that matches hierarchically (dcmqrscp) then matches nothing."""
    how = "0 sub-operations"
    if confirmed:
        how += "; a C-FIND of the same keys matched nothing either"
    if missing_above:
        fix = f"key {missing_above[0]}=…"
        if model == "patient" and "PatientID" in missing_above:
            fix += ", or model study"
        how += f"; no {', '.join(missing_above)} above the {level} level, which some archives need: {fix}"
    return f"nothing matched these keys ({how}) — {FIND_SHOWS}"


FIND_MATCHES = ("a C-FIND of the same keys matches, so it is not that nothing matched: the peer could not or "
                "would not retrieve them (its log says why)")
