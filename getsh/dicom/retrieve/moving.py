"""C-MOVE: one request on an open association, its objects arriving on getsh's own receiver.

``MoveRun`` is a ``GetRun`` (run.py) that sends C-MOVE-RQ instead of C-GET-RQ, always on pynetdicom's
receive path (the move association carries responses only): the same worker, mailbox, Ctrl-C and
limits (C-CANCEL on the move association, cancellation.py), the same events and summary. While it
runs, the receiver (receiver.py) accepts associations from the peer's address and hands each C-STORE
to ``GetRun``'s own handler, which stores it through ``sinks.store_event`` exactly as C-GET's
pynetdicom path does, and counts it: the summary reconciles what arrived with the C-MOVE-RSP's counts
(counts.py). With a Move Destination other than getsh's own AE title (a third party, as movescu
-aem), nothing arrives here and the summary says where the objects went.

When the archive does not know the Move Destination (0xA801 from dcmqrscp; Orthanc answers 0xC000,
its comment says why) the lines to add to the common archives' configuration are printed, with our
AE title, host and port filled in (``destination_lines``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from pydicom import Dataset

from getsh.dicom.events import GetDone, GetStarted, Notice
from getsh.dicom.retrieve.mailbox import Event
from getsh.dicom.retrieve.receiver import Expected, Receiver
from getsh.dicom.retrieve.run import GetRun
from getsh.dicom.status import SUB_OPERATION_STATUSES
from getsh.errors import UsageError

MOVE_DESTINATION_UNKNOWN = 0xA801
# Final C-GET statuses that say the peer will not do C-GET at all (retrieve auto then uses C-MOVE):
# SOP class not supported, not authorised, unrecognised operation.
FALL_BACK = frozenset({0x0122, 0x0124, 0x0211})
# Words in a peer's ErrorComment that blame the Move Destination (Orthanc answers 0xC000 with one)
_UNKNOWN_WORDS = ("unknown", "destination", "modality", "aet", "move target")


# getsh's receiver made ready for a C-MOVE (started if need be), who may send to it, and lines to show
Prepare = Callable[[], tuple[Receiver, Expected, list[str]]]


@dataclass(frozen=True)
class MoveOptions:
    """Where a C-MOVE sends the objects and how they are received here."""

    destination: str  # the Move Destination AE title
    prepare: Prepare | None  # None: a third party receives them (nothing comes here); called when a C-MOVE starts

    @property
    def third_party(self) -> bool:
        return self.prepare is None


class MoveRun(GetRun):
    """One C-MOVE request on an open association; its objects on ``move.receiver``."""

    service = "move"

    def __init__(self, assoc: Any, identifier: Dataset, model_uid: str, storage: Any, *, move: MoveOptions | None,
                 **kwargs: Any) -> None:
        if move is None:
            raise UsageError("a C-MOVE needs a Move Destination", "set retrieve move, or use: move KEYS")
        super().__init__(assoc, identifier, model_uid, storage, **kwargs)
        self.move = move
        self.direct_reason = "C-MOVE: the objects arrive on the receiver"
        self.teaching: list[str] = []  # lines shown after the summary (the archive's configuration)
        self.receiver: Receiver | None = None  # while it runs
        outer = self.advise

        def advise(done: GetDone) -> GetDone:
            return self._moved(outer(done) if outer is not None else done)

        self.advise = advise

    def _send(self) -> Iterator[tuple[Dataset, Dataset | None]]:
        return self.assoc.send_c_move(self.identifier, self.move.destination, self.model_uid,
                                      msg_id=self.message_id)

    def _started(self, level: str, keys: tuple[tuple[str, str], ...]) -> GetStarted:
        keys = (*keys, ("MoveDestination", self.move.destination))  # the header says where they go
        return GetStarted(self.label, self.model, level, keys, service="C-MOVE", destination=self.move.destination)

    def run(self, dimse_timeout: float | None) -> Iterator[object]:
        if self.move.prepare is None:
            yield from super().run(dimse_timeout)
        else:
            receiver, expected, lines = self.move.prepare()
            self.receiver = receiver
            yield from [Notice(line) for line in lines]
            with receiver.serving(expected, self._on_store_answered, self._refused):
                yield from super().run(dimse_timeout)
        for line in self.teaching:
            yield Notice(line)

    def _conclude(self, answer: Any, dimse_timeout: float | None, seconds: float) -> Iterator[object]:
        """A TLS handshake the receiver refused is reported just after OpenSSL sent its alert, so as the
        archive gives up and answers: wait for it, and show its line, before the final response."""
        if self.receiver is not None:
            self.receiver.settle()
            for message in self.events.take(0):
                if isinstance(message, Event) and isinstance(message.item, Notice):
                    yield message.item
        yield from super()._conclude(answer, dimse_timeout, seconds)

    def _refused(self, line: str) -> None:
        """A refusal on the receiver's thread: one line, among the move's events."""
        self.events.put(Event(Notice(line)), urgent=True)
        self.last_heard = time.monotonic()

    def _moved(self, done: GetDone) -> GetDone:
        """The final response, for a C-MOVE: where a third party's objects went; why none came."""
        if self.move.third_party:
            done = replace(done, elsewhere=self.move.destination, disagreement="", missing=0)
        reached = self.receiver is not None and self.receiver.calls > 0  # the archive did call us
        how = "" if reached else unknown_destination(done)
        if how:
            host, port = self._our_address()
            self.teaching = destination_lines(self.move.destination, host, port, done,
                                              third_party=self.move.third_party, sure=how == "sure")
            return replace(done, advice="", nothing_matched=False) if how == "sure" else done
        refusals = self.receiver.refusals if self.receiver is not None else []
        if refusals and not done.received and not done.refused:  # it called, and getsh's receiver said no
            many = f"{len(refusals)} associations" if len(refusals) > 1 else "association"
            return replace(done, advice=f"nothing arrived: getsh's receiver refused the archive's {many}: "
                                        f"{refusals[-1]}")
        if done.failed and not done.refused and done.status.code in SUB_OPERATION_STATUSES and not done.advice:
            where = self.move.destination if self.move.third_party else "getsh's receiver"
            done = replace(done, advice=f"the archive could not send them to {where}: a SOP class or transfer "
                                        "syntax the destination does not accept is the usual cause (accept, "
                                        "prefer; the archive's log says which)")
        return done

    def _our_address(self) -> tuple[str, int]:
        """The host the archive should reach us at: the listen address, or when that is every
        interface, our end of the association with it (the interface that reaches it)."""
        receiver = self.receiver
        host, port = (receiver.host, receiver.port) if receiver is not None else ("", 0)
        if host in ("", "0.0.0.0", "::"):
            transport: Any = self.assoc.dul.socket
            try:
                host = str(transport.socket.getsockname()[0])
            except (AttributeError, OSError):
                host = host or "THIS-HOST"
        return host, port


def unknown_destination(done: GetDone) -> str:
    """Whether the archive refused the C-MOVE because it does not know the Move Destination: 'sure' for
    dcmqrscp's 0xA801 or a failure whose comment blames the destination; 'maybe' for a bare 0xC000
    without sub-operations (Orthanc 1.10's answer, no comment: the caller knows whether the archive
    called the receiver at all); '' otherwise."""
    if done.status.code == MOVE_DESTINATION_UNKNOWN:
        return "sure"
    subops = done.completed + done.failed + done.warning + done.remaining
    if done.status.category != "Failure" or subops or done.received:
        return ""
    if any(word in done.error_comment.lower() for word in _UNKNOWN_WORDS):
        return "sure"
    return "maybe" if done.status.code == 0xC000 and not done.error_comment else ""


def destination_lines(aet: str, host: str, port: int, done: GetDone, *, third_party: bool = False,
                      sure: bool = True) -> list[str]:
    """What to tell the archive: our AE title → host:port, in the words of the common archives. Not
    ``sure``: the archive's failure did not say why, and no association reached the receiver."""
    said = f"0x{done.status.code:04X}" + (f", {done.error_comment!r}" if done.error_comment else "")
    lead = f"the archive does not know {{}} ({said}):" if sure else (
        f"the archive failed the C-MOVE without a reason ({said}) and never called the receiver: if it does not "
        "know {} (Orthanc answers so),")
    if third_party:
        return [f"{lead.format(f'the Move Destination {aet}')} its configuration must give {aet} a host and port "
                "(dcmqrscp: HostTable in dcmqrscp.cfg; Orthanc: DicomModalities)"]
    return [
        f"{lead.format(f'getsh AE title {aet} as a Move Destination')} it must be told that {aet} listens at "
        f"{host}:{port}. Add, and restart or reload the archive:",
        f"  dcmqrscp (dcmqrscp.cfg, between HostTable BEGIN and HostTable END): getsh = ({aet}, {host}, {port})",
        "    (and if its AETable line lists peers instead of ANY, add getsh to them)",
        f"  Orthanc (orthanc.json, \"DicomModalities\"): \"getsh\" : [ \"{aet}\", \"{host}\", {port} ]",
        f"  another archive: a DICOM node (modality, destination) with AE title {aet}, host {host}, port {port}",
    ]


def arrived_between(receiver: Receiver | None) -> list[Notice]:
    """What the receiver noted while no command listened (listen on): refusals, stray objects."""
    return [Notice(line) for line in receiver.take_notes()] if receiver is not None else []

