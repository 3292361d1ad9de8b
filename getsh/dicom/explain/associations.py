"""``explain reject`` and ``explain abort``: A-ASSOCIATE-RJ results, sources and reasons and A-ABORT
sources and reasons (PS3.8 9.3.4, 9.3.8) in words, with what to try. The words are those getsh prints
when it happens (``dicom/net/failures.py``); here each gets a name to ask for and its cause at a PACS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from getsh.dicom.net.failures import (
    ABORT_SOURCES,
    PROVIDER_REASONS,
    REJECT_HINTS,
    REJECT_REASONS,
    REJECT_RESULTS,
    REJECT_SOURCES,
    TRANSIENT_HINT,
)
from getsh.errors import UsageError, excerpt


@dataclass(frozen=True)
class Ending:
    """One way an association is refused or ended: its name, its numbers, words, cause and what to try."""

    name: str  # what to type: explain reject called-ae
    pdu: str  # A-ASSOCIATE-RJ or A-ABORT
    numbers: str  # "source 1, reason 7" as the PDU carries them
    words: str  # as getsh says it when it happens
    cause: str
    remedy: str


# (source, reason) → (name, what usually causes it at a PACS)
_REJECTS = {
    (1, 1): ("no-reason", "the archive refused without saying why: most often it does not know the calling AE "
                          "title, or not from this host (AE titles are tied to addresses in many PACS)"),
    (1, 2): ("application-context", "the peer is not a DICOM service, or speaks a private protocol on that port"),
    (1, 3): ("calling-ae", "the archive keeps a list of AE titles (and often hosts) allowed to associate; "
                           "getsh's aet is not on it"),
    (1, 7): ("called-ae", "the aec getsh calls is not the archive's AE title (DCMTK's dcmqrscp also says this "
                          "when it does not know the calling AE title)"),
    (2, 1): ("provider-no-reason", "the peer's DICOM protocol layer refused without a reason"),
    (2, 2): ("protocol-version", "the peer does not speak DICOM's protocol version 1: not a DICOM port"),
    (3, 1): ("congestion", "the archive is overloaded for the moment"),
    (3, 2): ("local-limit", "the archive allows no more associations now: its maximum, or one per calling "
                            "AE title, is reached (an association another getsh or a crashed client left open)"),
}
_RESULT_OF = {(1, 1): 1, (1, 2): 1, (1, 3): 1, (1, 7): 1, (2, 1): 1, (2, 2): 1, (3, 1): 2, (3, 2): 2}

_ABORT_CAUSES = {
    0: ("unspecified", "the peer's DICOM layer ended the association without a reason: a timeout of its own, "
                       "a shutdown, or a request it could not handle"),
    1: ("unrecognised-pdu", "the peer received bytes it does not recognise as a PDU: a protocol error on one side"),
    2: ("unexpected-pdu", "a PDU came at the wrong moment (data before the association was accepted)"),
    4: ("unrecognised-parameter", "a PDU held an item the peer does not know"),
    5: ("unexpected-parameter", "a PDU held an item in the wrong place"),
    6: ("invalid-parameter", "a PDU held an item with a value the peer refuses (a PDU longer than the "
                             "max-pdu announced is one)"),
}


def endings() -> list[Ending]:
    """Every reject and abort, in PS3.8's order."""
    found = []
    for (source, reason), (name, cause) in _REJECTS.items():
        result = _RESULT_OF[(source, reason)]
        remedy = REJECT_HINTS.get((source, reason), "")
        if result == 2 and "later" not in remedy:
            remedy = f"{remedy}; {TRANSIENT_HINT}" if remedy else TRANSIENT_HINT
        words = (f"association rejected {REJECT_RESULTS[result]} by {REJECT_SOURCES[source]}: "
                 f"{REJECT_REASONS[(source, reason)]}")
        found.append(Ending(name, "A-ASSOCIATE-RJ", f"result {result}, source {source}, reason {reason}", words,
                            cause, remedy))
    found.append(Ending("user", "A-ABORT", "source 0", f"aborted by {ABORT_SOURCES[0]}",
                        "the peer's application chose to abort: it found the request wrong, or was stopped; "
                        "getsh itself aborts on Ctrl-C twice or when a peer goes out of step",
                        "the peer's log says why; try the request again (the next command re-associates)"))
    for reason, (name, cause) in _ABORT_CAUSES.items():
        found.append(Ending(f"provider-{name}", "A-ABORT", f"source 2, reason {reason}",
                            f"aborted by the peer's DICOM provider: {PROVIDER_REASONS[reason]}", cause,
                            "run with -d (log-level debug) for the protocol log, and compare with the peer's log"))
    return found


def ending_names() -> Iterator[tuple[str, str]]:
    for ending in endings():
        yield ending.name, ending.words


def explain_endings(which: str, name: str = "") -> list[Ending]:
    """``which`` is reject or abort; ``name`` picks one of them (or gives all)."""
    pdu = "A-ASSOCIATE-RJ" if which == "reject" else "A-ABORT"
    found = [e for e in endings() if e.pdu == pdu]
    if not name:
        return found
    picked = [e for e in found if e.name == name.strip().lower() or e.numbers.endswith(f"reason {name.strip()}")]
    if not picked:
        names = ", ".join(e.name for e in found)
        raise UsageError(f"explain {which}: no {which} reason called {excerpt(name)}", f"reasons: {names}")
    return picked
