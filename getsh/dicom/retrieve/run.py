"""C-GET and its C-STORE sub-operations, as a stream of events; C-CANCEL on Ctrl-C or a limit.

The request runs on a worker thread (Ctrl-C can only be caught on the main thread) that posts messages to a
mailbox; the generator here yields their events to the shell as they come. A KeyboardInterrupt thrown into the
generator (the runner does that) asks the cancel mechanism (cancellation.py) to send C-CANCEL-RQ and keep receiving
until the final response; a second one aborts. The limits of bounds.py (a cap reached, no progress, the retrieve's
deadline) ask the same mechanism to cancel, and a C-CANCEL left unanswered past the grace period makes it abort.

Two receive paths, one behaviour: getsh's direct path (direct_get.py on a socket borrowed from pynetdicom,
handover.py) by default, and pynetdicom's ``send_c_get`` for debug logging and ``receive pynetdicom``. When no final
response comes, the error says why in one line (result.py); pynetdicom's path needs two mends for that: a waiting
request is woken when our side aborts, and a half-received spool file is removed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import replace

from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.pdu import A_RELEASE_RQ
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT

from getsh.dicom.events import GetDone, GetProgress, GetStarted, Notice, Received, StoreFailed
from getsh.dicom.net.cancellation import Cancellation, PynetdicomPath
from getsh.dicom.net.failures import PeerAbort, pynetdicom_errors
from getsh.dicom.net.interrupts import CtrlC
from getsh.dicom.net.opening import settle
from getsh.dicom.net.pdu_bounds import abort_for
from getsh.dicom.net.trace import tracer_of
from getsh.dicom.retrieve.bounds import Bounds, Brakes, Watch
from getsh.dicom.retrieve.mailbox import End, Event, Failed, Mailbox, Message, Response
from getsh.dicom.retrieve.receive import handover
from getsh.dicom.retrieve.receive.direct_get import BUFFER_BYTES, DirectGet
from getsh.dicom.retrieve.receive.guard import RequestGuard, out_of_step
from getsh.dicom.retrieve.receive.handover import HandoverError, borrow_socket, brisk, direct_path
from getsh.dicom.retrieve.receive.sinks import make_sink, store_event
from getsh.dicom.retrieve.receive.transport import Transport, transport_for
from getsh.dicom.retrieve.result import Answer, Ending, Tally, done_of, no_response, progress_of
from getsh.dicom.retrieve.spool import chunked_receive, drop_spool, lenient_spool_meta
from getsh.dicom.retrieve.waits import PynetdicomWaits
from getsh.dicom.status import decode
from getsh.dicom.storage.header_scan import header_of
from getsh.dicom.storage.outcomes import ObjectMeta, StorageError, StoredFile, one_line
from getsh.dicom.storage.store import Storage
from getsh.errors import NetworkError

log = logging.getLogger("getsh.retrieve")


class GetRun:
    """One C-GET request on an open association (moving.MoveRun: a C-MOVE, through the same loop)."""

    service = "get"  # the status table it is decoded with (status.decode)

    def __init__(
        self,
        assoc: Association,
        identifier: Dataset,
        model_uid: str,
        storage: Storage,
        *,
        message_id: int,
        label: str,
        model: str,
        first_index: int = 1,
        on_received: Callable[[Received], None] | None = None,
        advise: Callable[[GetDone], GetDone] | None = None,
        receive: str = "auto",
        watch: Watch | None = None,
        buffer_bytes: int = BUFFER_BYTES,
    ) -> None:
        """``on_received`` sees each stored object and ``advise`` the final result, on the caller's thread, so a
        caller can ``yield from run()`` (which passes Ctrl-C through) and still keep books. ``receive`` is the setting
        of that name: ``auto`` (the direct path when it can be taken) or ``pynetdicom``. ``watch`` holds the
        retrieve's limits (bounds.py; by default only the grace period after a C-CANCEL)."""
        self.on_received = on_received
        self.advise = advise
        self.assoc = assoc
        self.identifier = identifier
        self.model_uid = model_uid
        self.storage = storage
        self.message_id = message_id
        self.label = label
        self.model = model
        self.tally = Tally(next_index=first_index)
        self._tally_lock = threading.Lock()
        self.ctrl_c = CtrlC()
        self.ending = Ending()
        self.events: Mailbox[Message] = Mailbox()
        self.cancellation = Cancellation(PynetdicomPath(assoc, message_id, model_uid))
        self.brakes = Brakes(self.cancellation, watch or Watch(Bounds(), started=time.monotonic()),
                             lambda: len(self.tally.received))
        self.last_heard = time.monotonic()  # when the peer last completed a message (worker thread)
        self.pdu_bytes = 0  # bytes of the PDUs pynetdicom received for this request (its reader thread)
        self.waits = PynetdicomWaits()  # pynetdicom's path: the time spent waiting for the peer (waits.py)
        self.direct: DirectGet | None = None  # while the direct path runs the request
        self.direct_reason = direct_path(assoc, receive)  # '' when the direct receive path can be used
        self.guard = RequestGuard(assoc, message_id, model_uid, self.ending)  # pynetdicom's path: what is ours
        self.buffer_bytes = buffer_bytes  # the direct path's receive buffer to begin with (it grows for a larger PDU)
        self.trace = tracer_of(assoc)  # trace on: its lines, yielded as they come (net/trace.py); None when off

    # --- worker thread ----------------------------------------------------------------------

    def _on_store(self, event: evt.Event) -> int:
        """EVT_C_STORE (pynetdicom's receive path): write the object as the direct path would; answer
        with the outcome."""
        return self._report(*store_event(self.storage, event))

    def _report(self, meta: ObjectMeta, outcome: StoredFile | Exception,
                header: dict[str, str] | Dataset | None) -> int:
        """A stored object, or why it was not, becomes an event; returns the C-STORE status to answer."""
        if isinstance(outcome, Exception):
            if isinstance(outcome, StorageError):
                status, why = outcome.dimse_status, outcome.message
            else:
                status, why = 0xC000, f"{type(outcome).__name__}: {one_line(outcome)}"
            log.info("C-STORE of %r refused (0x%04X): %s", meta.sop_instance_uid, status, why)
            failed = StoreFailed(meta.sop_class_uid, meta.sop_instance_uid, status, why)
            with self._tally_lock:
                self.tally.refused.append(failed)
            self.events.put(Event(failed))
            return status
        if isinstance(header, Dataset):
            header = header_of(header)
        header = header or {}
        with self._tally_lock:  # a C-MOVE's receiver may store on several associations (threads) at once
            index = self.tally.next_index
            self.tally.next_index += 1
        received = Received(
            index=index,
            sop_class_uid=meta.sop_class_uid,
            sop_instance_uid=meta.sop_instance_uid,
            transfer_syntax=meta.transfer_syntax,
            path=outcome.path,
            action=outcome.describe(),
            size=outcome.size,
            patient_id=header.get("PatientID", ""),
            patient_name=header.get("PatientName", ""),
            study_uid=header.get("StudyInstanceUID", ""),
            series_uid=header.get("SeriesInstanceUID", ""),
            modality=header.get("Modality", ""),
            output_dir=self.storage.root,
            remarks=outcome.remarks,
        )
        for remark in outcome.remarks:
            log.info("object %d (%s): %s", received.index, outcome.path, remark.text)
        with self._tally_lock:
            self.tally.received.append(received)
            self.events.put(Event(received))
            notice = self.brakes.object_done(outcome.size)  # on the worker: C-CANCEL before this C-STORE-RSP
        if notice is not None:
            self.events.put(Event(notice), urgent=True)
        return 0x0000

    def _on_store_answered(self, event: evt.Event) -> int:
        """Every C-STORE counts as the peer speaking, whatever we answered (DIMSE timeout is per message)."""
        if self.guard.answered:  # after the final response: belongs to no request (the guard aborts)
            return 0xC000
        try:
            return self._on_store(event)
        finally:
            self.last_heard = time.monotonic()

    def _on_acse(self, event: evt.Event) -> None:
        primitive = event.primitive  # type: ignore[attr-defined]
        if isinstance(primitive, (A_ABORT, A_P_ABORT)):
            self.ending.peer_abort = primitive

    def _on_pdu(self, event: evt.Event) -> None:
        """EVT_PDU_RECV: the peer's A-ABORT or A-RELEASE-RQ, seen as it is decoded (on the direct path
        too: it hands its PDUs to pynetdicom's decoder), before the association ends (failures.PeerAbort)."""
        self.ending.abort_pdu = PeerAbort.of(event.pdu) or self.ending.abort_pdu
        self.ending.released = self.ending.released or isinstance(event.pdu, A_RELEASE_RQ)

    def _on_close(self, event: evt.Event) -> None:
        self.ending.connection_closed = True

    def _on_data(self, event: evt.Event) -> None:
        self.pdu_bytes += len(event.data)

    def _work(self) -> None:
        try:
            self.last_heard = time.monotonic()
            self.brakes.watch.begin()
            if not (self.direct_reason == "" and self._work_direct()):
                self._work_pynetdicom()
        except Exception as error:  # the association is mid-request, in a state nobody can vouch for
            log.debug("%s: the receive loop failed", self.operation, exc_info=True)
            if self.assoc.is_established:
                self.assoc.abort()
            self.events.put(Failed(error), urgent=True)
        finally:
            self.events.put(End(), urgent=True)

    def _send(self) -> Iterator[tuple[Dataset, Dataset | None]]:
        return self.assoc.send_c_get(self.identifier, self.model_uid, msg_id=self.message_id)

    def _work_pynetdicom(self) -> None:
        for status, identifier in self.cancellation.sent(self._send()):  # sent at once: a C-CANCEL may follow
            if "Status" not in status:  # no valid response: timeout, abort or a bad message
                self.ending.silence = time.monotonic() - self.last_heard
            self.last_heard = time.monotonic()
            if self.guard.deliverable:  # else: a response to another request came; none counts now
                self.events.put(Response(status, identifier), urgent=status.get("Status", 0) not in (0xFF00, 0xFF01))
        notice, self.ending.waited = self.guard.conclude(), self.waits.total
        if notice is not None:
            self.events.put(Event(notice), urgent=True)

    def _work_direct(self) -> bool:
        """The C-GET on the borrowed socket (direct_get.py); False if it could not be borrowed."""
        assoc = self.assoc
        try:
            with borrow_socket(assoc) as sock, transport_for(sock) as transport:
                direct = self.direct = self._direct_get(transport)
                with self.cancellation.direct(direct):
                    outcome = direct.run(self.identifier, self.model_uid, self.message_id)
                if outcome.ending == "invalid":
                    abort_for(assoc, outcome.detail)  # pynetdicom's answer to it: A-ABORT
                if outcome.detail:
                    log.error("C-GET: the peer sent %s", outcome.detail)
                    self.ending.invalid = outcome.detail
        except HandoverError as why:
            log.debug("C-GET through pynetdicom's receive path: %s", why)
            return False
        self.ending.silence, self.ending.waited = outcome.silence, direct.waits.total
        if outcome.ending == "final":
            assert outcome.status is not None
            if outcome.after:  # the association is out of step: it must not serve another request
                abort_for(assoc, outcome.after)
                self.events.put(Event(out_of_step(outcome.after)), urgent=True)
            self.events.put(Response(outcome.status, outcome.identifier), urgent=True)
        elif outcome.ending in ("timeout", "stopped"):
            assoc.abort()
        elif outcome.ending == "closed":  # seen here first; pynetdicom's EVT_CONN_CLOSE follows
            self.ending.connection_closed = True
        return True

    def _direct_get(self, transport: Transport) -> DirectGet:
        assoc = self.assoc
        return DirectGet(
            transport, negotiated=handover.negotiated(assoc, self.model_uid), dimse_timeout=assoc.dimse_timeout,
            begin=lambda request: make_sink(self.storage, request.meta, self._report),
            pending=lambda *counts: self.events.put(Event(GetProgress(*counts))),
            foreign_pdu=lambda raw: handover.hand_pdu_to_pynetdicom(assoc, raw), trace=self.trace,
            buffer_bytes=self.buffer_bytes)

    # --- the caller's thread ----------------------------------------------------------------

    def run(self, dimse_timeout: float | None) -> Iterator[object]:
        """GetStarted, what arrives as it arrives, then the GetDone (through ``advise``); a
        NetworkError says why when no final response came."""
        started = time.monotonic()
        level = str(self.identifier.get("QueryRetrieveLevel", ""))
        keys = tuple((e.keyword or str(e.tag), "" if e.value is None else str(e.value)) for e in self.identifier
                     if e.keyword != "QueryRetrieveLevel")  # an empty key is shown bare, not as 'None'
        yield self._started(level, keys)
        answer = Answer()
        with self._listening():
            yield from self._converse(answer)
        yield from self._conclude(answer, dimse_timeout, time.monotonic() - started)

    @contextmanager
    def _listening(self) -> Iterator[None]:
        """pynetdicom's events bound to this request, and its reader polling briskly meanwhile."""
        lenient_spool_meta()
        handlers: list[tuple[evt.EventType, Callable[[evt.Event], object]]] = [
            (evt.EVT_C_STORE, self._on_store_answered), (evt.EVT_ACSE_RECV, self._on_acse),
            (evt.EVT_PDU_RECV, self._on_pdu), (evt.EVT_CONN_CLOSE, self._on_close),
            (evt.EVT_DIMSE_RECV, self.guard.on_dimse), (evt.EVT_DATA_RECV, self._on_data), *self.waits.handlers()]
        for event, handler in handlers:
            self.assoc.bind(event, handler)
        try:
            with brisk(self.assoc):  # its reader polls briskly while the request runs
                yield
        finally:
            for event, handler in handlers:
                self.assoc.unbind(event, handler)

    def _converse(self, answer: Answer) -> Iterator[object]:
        """The worker runs the request; its messages are taken in batches until it ends."""
        worker = threading.Thread(target=self._work, name=f"getsh-{self.operation.lower()}", daemon=True)
        try:
            with (chunked_receive(), pynetdicom_errors() as errors,
                  self.ctrl_c.counting()):
                answer.log = errors
                worker.start()
                yield from self._take_messages(answer)
                if not answer.final:
                    settle(self.assoc)  # the responses ended without a final one
                    drop_spool(self.assoc)
            self.brakes.interrupts += self.ctrl_c.take()  # pressed after the last pass: counted, too late to cancel
        finally:
            if not answer.ended and worker.is_alive():
                # Left while the C-GET runs (the shell stopped listening, or a bug): the association
                # is mid-request and cannot serve another one, so it must not outlive this.
                self.cancellation.abort("when the retrieve was left unfinished")
            worker.join(timeout=5)

    def _take_messages(self, answer: Answer) -> Iterator[object]:
        woken = False
        last_progress = GetProgress(None, 0, 0, 0)
        while not answer.ended:
            for line in self.trace.drain() if self.trace is not None else ():  # trace on: as it happens
                yield from self._emit(line)
            for _ in range(self.ctrl_c.take()):  # Ctrl-C pressed since the last pass (interrupts.py)
                yield from self._emit(self.brakes.interrupt())
            direct = self.direct
            arrived = self.pdu_bytes + (direct.bytes_read if direct is not None else 0)
            notice = self.brakes.check(arrived)
            if notice is not None:
                yield from self._emit(notice)
            try:
                batch = self.events.take(0.2)
            except KeyboardInterrupt:
                yield from self._emit(self.brakes.interrupt())
                continue
            if not batch and not woken and (not self.assoc.is_established or self.assoc.acse.is_aborted()
                                            or self.ending.released):  # pynetdicom answers it once the worker ends
                self.cancellation.wake()  # e.g. our side aborted on an invalid message: nobody tells the worker
                woken = True
            progress: GetProgress | None = None  # only the latest of a batch is worth drawing
            if any(isinstance(m, Event) and isinstance(m.item, Received) for m in batch):
                progress = last_progress  # a batch ends with the counts drawn, even if the peer sent none
            progress = yield from self._deliver(batch, answer, progress)
            if progress is None and arrived > last_progress.arrived:  # a large object on its way
                progress = last_progress
            if progress is not None:
                last_progress = progress = replace(progress, arrived=max(arrived, last_progress.arrived))
                yield from self._emit(progress)

    def _deliver(self, batch: list[Message], answer: Answer,
                 progress: GetProgress | None) -> Generator[object, None, GetProgress | None]:
        """Yield a batch's events; note its final response, error and end; return the progress to draw."""
        for message in batch:
            if isinstance(message, Event):
                item = message.item
                if isinstance(item, GetProgress):
                    progress = self.tally.announce(item)
                    continue
                if isinstance(item, Received) and self.on_received is not None:
                    self.on_received(item)
                yield from self._emit(item)
            elif isinstance(message, Response):
                status = message.status
                if "Status" in status and decode(int(status.Status), self.service).category == "Pending":
                    progress = self.tally.announce(progress_of(status))
                else:
                    answer.status, answer.identifier = status, message.identifier
            elif isinstance(message, Failed):
                answer.error = message.error
            else:
                answer.ended = True
        return progress

    def _conclude(self, answer: Answer, dimse_timeout: float | None, seconds: float) -> Iterator[object]:
        """The final response as a GetDone, or the error that says why none came."""
        self.ending.cancelled, self.ending.aborted = self.cancellation.cancelled, self.cancellation.aborted
        self.ending.limit = self.brakes.limit
        if answer.error is not None:
            error = answer.error
            raise NetworkError(f"{self.operation} failed: {type(error).__name__}: {error}; the association was aborted",
                               "the next command re-associates; run with -d for the protocol log")
        final = answer.status
        if final is None or not answer.final:
            raise no_response(self.tally, self.ending, dimse_timeout, seconds, answer.log, self.operation)
        got = len(self.tally.received)
        carried_on = got > self.brakes.at_cancel or not self.brakes.limit  # not: the last object reached a limit
        if self.ending.cancelled and decode(int(final.Status), self.service).category != "Cancel" and carried_on:
            yield Notice(f"C-CANCEL was sent, but the peer did not cancel: it carried on and sent {got} "
                         f"object{'s' * (got != 1)} in all (final status below)")
        done = done_of(self.label, self.tally, self.ending, final, answer.identifier, seconds, self.service)
        yield self.advise(done) if self.advise is not None else done

    @property
    def operation(self) -> str:
        return f"C-{self.service.upper()}"

    def _started(self, level: str, keys: tuple[tuple[str, str], ...]) -> GetStarted:
        return GetStarted(self.label, self.model, level, keys)

    def _emit(self, item: object) -> Iterator[object]:
        """Yield ``item``; a Ctrl-C thrown in while the shell draws it is handled like any other."""
        while True:
            try:
                yield item
                return
            except KeyboardInterrupt:
                item = self.brakes.interrupt()
