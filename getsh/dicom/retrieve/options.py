"""What a retrieve is asked to do: its requests, the settings as plain values, and the session as callables;
and what a parallel retrieve is given by the retrieve around it, and gives back.

Kept apart from retrieval.py so that the commands, the C-MOVE receiver and a parallel retrieve can
name them without the retrieve's machinery.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.events import Associated, GetDone, Received
from getsh.dicom.keys import identifier as ident
from getsh.dicom.retrieve.bounds import Bounds
from getsh.dicom.retrieve.moving import MoveOptions
from getsh.dicom.retrieve.plan import ClassGroup
from getsh.dicom.retrieve.run import GetRun
from getsh.dicom.storage.naming import DEFAULT_LAYOUT
from getsh.dicom.storage.store import Storage


@dataclass(frozen=True)
class Request:
    """One identifier to retrieve, and what to call it: "keys", or the query file's name."""

    label: str
    identifier: Dataset


@dataclass(frozen=True, kw_only=True)
class RetrieveOptions:
    """What the settings say about a retrieve, as plain values (their defaults live in the settings)."""

    model: str  # patient / study / psonly
    propose: str  # transfer syntaxes proposed for the request itself
    prefer: str  # transfer syntaxes accepted for the objects
    accept: tuple[str, ...]  # storage classes to accept; with discover, those proposed when the peer does not say
    discover: bool  # accept auto: ask the peer with C-FIND which classes the objects have
    repeat: int  # rounds per request
    dimse_timeout: float | None
    output: str  # directory
    storage: str  # normal / bit-preserving / ignore
    layout: str  # a template of {Keyword} fields, or "getscu" for getscu's names
    existing: str  # what to do when a file name is taken
    table_rows: int  # the table shows the last this many objects: they get their header words
    receive: str  # auto (getsh's direct receive path when it can) or pynetdicom (pynetdicom's own)
    malformed: str = "flag"  # bit-preserving: flag or refuse bytes that are not a well-formed data set
    stream_above: int | None = 32 * 1024**2  # normal: a data set past this is spooled to disk (None: never)
    max_inflated: int | None = 1024**3  # normal: a deflated data set inflating past this is refused (None: never)
    bounds: Bounds = field(default_factory=Bounds)  # how long and how much the retrieve may take (bounds.py)
    retrieve: str = "get"  # get, move (C-MOVE to the receiver) or auto (C-GET, C-MOVE when the peer has no C-GET)
    move: MoveOptions | None = None  # where a C-MOVE sends the objects (needed for move and auto)
    parallel: int = 1  # associations one C-GET may be spread over (parallel.py); 0: auto, as the link's round trip says

    def make_storage(self) -> Storage:
        """The storage these options describe, checked (output directory, layout) as it is made."""
        layout = DEFAULT_LAYOUT if self.layout == "getscu" else self.layout
        return Storage(os.path.expanduser(self.output), self.storage, layout, self.existing, malformed=self.malformed,
                       stream_above=self.stream_above if self.stream_above is not None else 1 << 62,
                       max_inflated=self.max_inflated)


@dataclass(frozen=True)
class SessionHooks:
    """How a retrieval reaches whoever owns the association and keeps the books (the shell's session)."""

    # An open association proposing the group's storage classes (None: the session's own), and the
    # event to show if one had to be opened for it.
    associate: Callable[[ClassGroup | None], tuple[Association, Associated | None]]
    forget: Callable[[], object]  # the association ended under a request, and its end was reported
    learned: Callable[[tuple[str, ...]], None]  # accept auto: the classes the peer named (empty: it did not say)
    next_message_id: Callable[[], int]
    on_received: Callable[[Received], None]  # each stored object, on the caller's thread
    associate_move: Callable[[], tuple[Association, Associated | None]] | None = None  # one with C-MOVE's context
    # Another association like the session's, for a parallel retrieve (its caller releases it or keeps it).
    associate_another: Callable[[], Association] | None = None
    # Up to N extra associations kept from the last parallel retrieve, with their last Message IDs.
    kept: Callable[[int], list[tuple[Association, int]]] = lambda count: []
    keep: Callable[[Association, int], None] | None = None  # hand one back, in step, for the next retrieve


def requests_for(identifier: Dataset, files: Sequence[str], keys: Sequence[ident.KeyAssignment]) -> list[Request]:
    """One request per query file (getscu's dcmfile-in), else one for ``identifier``; ``keys`` on top."""
    base = [(f"{path}", ident.load_query(path)) for path in files] or [("keys", identifier)]
    requests = []
    for label, dataset in base:
        request = copy.deepcopy(dataset)
        for key in keys:
            ident.apply(request, key)
        requests.append(Request(label, request))
    return requests


@dataclass(frozen=True)
class Spreading:
    """What a parallel retrieve needs from the retrieve around it, as values and callables."""

    width: int  # N; 0: auto
    model: str
    label: str
    dimse_timeout: float | None
    main: Association  # the session's association, open
    open_more: Callable[[], Association]  # another association like it (NetworkError, Rejected)
    make_run: Callable[[Association, Dataset, int], GetRun]  # a C-GET of one share
    next_message_id: Callable[[], int]  # the session's
    kept: Callable[[int], list[tuple[Association, int]]] = lambda count: []  # SessionHooks.kept
    keep: Callable[[Association, int], None] | None = None  # SessionHooks.keep (None: release at the end)
    receive: str = "auto"  # the receive setting: the plan's C-FINDs take the direct path as C-GETs do


@dataclass
class Spun:
    """How a parallel retrieve ended: its merged result (None: it was left to the serial retrieve,
    ``note`` says why when that is worth saying), what arrived in the table's order, Ctrl-Cs, limit."""

    done: GetDone | None = None
    received: tuple[Received, ...] = ()
    presses: int = 0
    limit: str = ""
    note: str = ""
    lost_main: bool = False  # the session's association ended under it
