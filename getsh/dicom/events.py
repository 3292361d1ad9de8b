"""What the protocol layer reports: frozen dataclasses that the shell decides how to draw.

Each may carry an ``exit_status``; the runner folds them into the command's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from getsh.dicom.status import DimseStatus
from getsh.exitstatus import ExitStatus


@dataclass(frozen=True)
class ContextInfo:
    """One proposed presentation context and what became of it."""

    context_id: int | None
    abstract_syntax: str
    result: str  # "accepted" or the rejection reason
    transfer_syntaxes: tuple[str, ...]  # the accepted one, or all those proposed when rejected
    scu_role: bool  # we may act as SCU on it
    scp_role: bool  # we may act as SCP on it (C-STORE sub-operations)
    offered: tuple[str, ...] = ()  # every transfer syntax we proposed in it, accepted or not


    @property
    def accepted(self) -> bool:
        return self.result == "accepted"


@dataclass(frozen=True)
class Associated:
    """An association was opened. ``reason`` says why it was (re)opened, if not asked for."""

    peer: str
    calling_ae: str
    called_ae: str
    accepted: int
    proposed: int
    reason: str = ""
    contexts: tuple[ContextInfo, ...] = ()
    show_contexts: bool = False
    dropped: int = 0  # storage classes that did not fit in the 128-context budget
    dropped_advice: str = ""  # which ones, and how to get them (net/negotiation.py)
    tls: str = ""  # over TLS: its version, cipher and the peer certificate's subject (net/tls.describe)
    identity: str = ""  # the user identity sent and what the peer answered (net/identity.py); '' when none


@dataclass(frozen=True)
class Released:
    peer: str
    aborted: bool


@dataclass(frozen=True)
class Notice:
    """A line of information that is neither a result nor an error."""

    text: str
    stderr: bool = False  # shown on stderr (a warning in getscu's words, where stdout is the result)


@dataclass(frozen=True)
class EchoResult:
    peer: str
    status: DimseStatus
    seconds: float

    @property
    def exit_status(self) -> ExitStatus:
        return self.status.exit_status


@dataclass(frozen=True)
class AssociationInfo:
    """A snapshot of the session's association for ``status``."""

    peer: str
    calling_ae: str
    called_ae: str
    state: str  # none / open / stale / closed
    state_reason: str
    age: float | None
    idle: float | None
    peer_max_pdu: int | None
    our_max_pdu: int | None
    implementation_class_uid: str
    implementation_version: str
    contexts: tuple[ContextInfo, ...]
    budget: int
    receiver: str = ""  # getsh's receiver for C-MOVE, where it listens ('' when it is not running)
    tls: str = ""  # over TLS: its version, cipher and the peer certificate's subject; '' over plain TCP
    identity: str = ""  # the user identity sent (or to be sent) and what the peer answered; '' when none
    kept: int = 0  # parallel N's other associations, kept open with this one (net/spares.py)


@dataclass(frozen=True)
class GetStarted:
    """A C-GET-RQ went out."""

    label: str  # what is being retrieved: "keys", a query file name, "2/3" for repeats
    model: str
    level: str
    keys: tuple[tuple[str, str], ...]  # (keyword, value) of the identifier, for the header line
    service: str = "C-GET"  # or C-MOVE
    destination: str = ""  # C-MOVE: the Move Destination AE title


@dataclass(frozen=True)
class Remark:
    """Something wrong with an object that was kept anyway: its UIDs are not UIDs or disagree with
    its C-STORE request, or (bit-preserving) its bytes are not a well-formed data set. ``kind`` is the
    short word a table shows (storage/checks.py names them), ``text`` the whole sentence."""

    kind: str
    text: str


@dataclass(frozen=True)
class Received:
    """One C-STORE sub-operation answered with success: the object and where it went."""

    index: int  # 1-based within the session
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    path: str | None  # relative to the output directory; None when ignored
    action: str  # written / overwritten / renamed / kept existing / ignored
    size: int
    patient_id: str = ""
    patient_name: str = ""
    study_uid: str = ""
    series_uid: str = ""
    modality: str = ""
    output_dir: str = ""
    remarks: tuple[Remark, ...] = ()  # what is wrong with it, though it was kept


@dataclass(frozen=True)
class StoreFailed:
    """A C-STORE sub-operation we had to refuse (we could not store it)."""

    sop_class_uid: str
    sop_instance_uid: str
    status: int
    reason: str


@dataclass(frozen=True)
class GetProgress:
    """The sub-operation counts of a pending C-GET response."""

    remaining: int | None
    completed: int
    failed: int
    warning: int
    arrived: int = 0  # bytes of the request received so far, objects whole or not: a rate while a large one arrives


@dataclass(frozen=True)
class LaneCount:
    """What one association of a parallel retrieve did."""

    number: int  # 1: the session's own association
    objects: int
    size: int
    shares: int  # C-GETs it sent
    ended: str = ""  # why it stopped before the work was done ('' when it did not)


@dataclass(frozen=True)
class Spread:
    """How a retrieve was spread over several associations (``parallel``)."""

    lanes: tuple[LaneCount, ...]
    shares: int  # C-GETs sent in all, retries included
    listed: int  # what the plan listed (SOP instances; studies under patient/study-only)
    level: str  # the level the shares list (IMAGE, or STUDY)
    plan_seconds: float  # the plan's C-FINDs, from the first to the last answer
    notes: tuple[str, ...] = ()  # shares retried smaller, associations lost or refused, counts that disagree
    incomplete: str = ""  # why part of the request was not retrieved (the plan failed half-way); '' when all was
    queried: bool = True  # the list came from C-FIND (False: the request listed the UIDs itself)


@dataclass(frozen=True)
class GetDone:
    """The final C-GET response, with what arrived and how long it took."""

    label: str
    status: DimseStatus
    completed: int
    failed: int
    warning: int
    remaining: int
    received: tuple[Received, ...]
    refused: tuple[StoreFailed, ...]
    failed_uids: tuple[str, ...]
    error_comment: str
    seconds: float
    cancelled: bool
    advice: str = ""
    part: str = ""  # "1 of 2" when this is one association of a retrieve split over several
    cancel_reason: str = ""  # why it was cancelled, following "cancelled": "at your request", a limit
    limit: bool = False  # cancelled at a limit getsh was set to keep (max-objects, retrieve-timeout …)
    disagreement: str = ""  # the peer's counts and getsh's do not add up: how (retrieve/counts.py)
    missing: int = 0  # objects the peer says it delivered that never arrived
    nothing_matched: bool = False  # the keys matched nothing (0 sub-operations; status.empty_match)
    service: str = "C-GET"  # or C-MOVE
    elsewhere: str = ""  # C-MOVE to a third party: the Move Destination the objects went to (none came here)
    superseded: bool = False  # retrieve auto: a C-GET the peer would not do; the C-MOVE that follows decides
    spread: Spread | None = None  # parallel: the associations it was spread over, and how each did
    # Seconds of ``seconds`` the C-GET spent waiting for the peer's next message, over its received and refused
    # objects (retrieve/waits.py). None: not measured — a C-MOVE, or a get merged from several associations.
    waited: float | None = None

    @property
    def bytes(self) -> int:
        return sum(r.size for r in self.received)

    @property
    def exit_status(self) -> ExitStatus:
        if self.limit:  # cancelled at a limit: partial, whatever else (a part of a split retrieve too)
            return ExitStatus.LIMIT
        if self.part or self.superseded:  # one part of a split retrieve, or a C-GET a C-MOVE replaces
            return ExitStatus.SUCCESS
        if self.spread is not None and self.spread.incomplete:
            return ExitStatus.FAILURE
        if self.elsewhere:  # sent to a third party: the peer's counts are all there is
            warned = self.failed and self.status.category in ("Success", "Warning")
            return ExitStatus.SUBOPS_FAILED if warned else self.status.exit_status
        if self.status.category == "Success" and not (self.refused or self.missing):  # kept with remarks: a warning
            return ExitStatus.WARNING if any(r.remarks for r in self.received) else ExitStatus.SUCCESS
        if self.status.category in ("Warning", "Success", "Cancel") and (self.failed or self.refused or self.missing):
            return ExitStatus.SUBOPS_FAILED
        return self.status.exit_status


@dataclass(frozen=True)
class SplitDone:
    """A retrieve split over several associations because its storage classes did not fit in one:
    an object failed only if no association brought it."""

    label: str
    associations: int
    matched: int  # objects the peer said the request matched
    received: int
    failed_uids: tuple[str, ...]
    failures: tuple[DimseStatus, ...]  # final statuses that were not about sub-operations

    @property
    def failed(self) -> int:
        return max(self.matched - self.received, len(self.failed_uids))

    @property
    def exit_status(self) -> ExitStatus:
        if self.failures:
            return ExitStatus.FAILURE
        return ExitStatus.SUBOPS_FAILED if self.failed else ExitStatus.SUCCESS


@dataclass(frozen=True)
class RetrieveStopped:
    """A retrieve ended early at the user's Ctrl-C: how far it got (requests × repeat C-GETs) and what
    it left on disk. A second Ctrl-C aborted the association (the next command re-associates)."""

    sent: int  # C-GETs sent, the one that was cancelled or aborted among them
    total: int  # C-GETs the retrieve would have sent
    received: int  # objects this retrieve stored
    size: int  # their bytes
    output_dir: str
    seconds: float
    aborted: bool = False
    service: str = "C-GET"  # or C-MOVE

    @property
    def exit_status(self) -> ExitStatus:
        return ExitStatus.NETWORK if self.aborted else ExitStatus.WARNING  # partial, as a cancelled C-GET


# --- C-FIND ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundRow:
    """One C-FIND match as the user sees it: its number, its values (DICOM text, decoded with the
    response's character set, multiple values joined by a backslash) and the unique keys it stands
    for (what ``get N`` and ``cd N`` send)."""

    number: int
    level: str
    values: tuple[tuple[str, str], ...]  # (column keyword, value) in column order
    unique: tuple[tuple[str, str], ...]  # the identifying keys of the level and those above it

    def value(self, keyword: str) -> str:
        return next((v for k, v in (*self.values, *self.unique) if k == keyword), "")


@dataclass(frozen=True)
class FindStarted:
    """A C-FIND-RQ went out."""

    model: str
    level: str
    keys: tuple[tuple[str, str], ...]  # (keyword, value) of the identifier, for the header line
    columns: tuple[str, ...]
    limit: int | None  # C-CANCEL after this many matches (None: all)


@dataclass(frozen=True)
class Found:
    """One pending C-FIND response with its match."""

    row: FoundRow


@dataclass(frozen=True)
class FindDone:
    """The final C-FIND response (or why there was none), with every match, in order."""

    model: str
    level: str
    columns: tuple[str, ...]
    rows: tuple[FoundRow, ...]
    status: DimseStatus | None  # None: no final response (the association failed; ``problem`` says how)
    seconds: float
    cancelled: str = ""  # why C-CANCEL was sent: "at your request", "after 10 matches (--limit 10)"
    aborted: str = ""  # why the association was aborted, if it was
    problem: str = ""  # what went wrong, when no final status says it
    hint: str = ""
    error_comment: str = ""
    limited: bool = False  # cancelled at the limit asked for: what was wanted arrived

    @property
    def exit_status(self) -> ExitStatus:
        if self.status is None:
            return ExitStatus.NETWORK
        if self.limited and self.status.category in ("Cancel", "Success"):
            return ExitStatus.SUCCESS
        return self.status.exit_status


@dataclass(frozen=True)
class CompletenessChecked:
    """After a retrieve: the SOP instances the archive lists under one request (an IMAGE-level C-FIND,
    query/completeness.py) against those that arrived, and the count its row carried, if any."""

    label: str  # the request: "row 3", "keys", a query file
    counted: int | None  # the instances its row counted (NumberOf…RelatedInstances); None: no count
    listed: tuple[str, ...] | None  # the SOP Instance UIDs the archive lists; None: no list (``why``)
    missing: tuple[str, ...]  # listed, and did not arrive, in the archive's order
    arrived: int | None  # of those listed, how many arrived (without a list: objects this get received, or None)
    why: str = ""  # why there is no list: patient/study-only has no IMAGE level, a C-FIND failed …
    failed: bool = False  # the check's C-FIND failed (the peer's words in ``why``)

    @property
    def stale_count(self) -> bool:
        """The row's count and the archive's own list disagree."""
        return self.counted is not None and self.listed is not None and self.counted != len(self.listed)

    @property
    def exit_status(self) -> ExitStatus:
        counted_more = self.counted is not None and self.arrived is not None and self.arrived < self.counted
        if self.missing or (self.listed is None and counted_more):
            return ExitStatus.SUBOPS_FAILED  # some of what the archive holds did not arrive
        return ExitStatus.WARNING if self.failed else ExitStatus.SUCCESS
