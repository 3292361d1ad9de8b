"""The C-GET exchange on a socket borrowed from pynetdicom (see handover.py; reached through transport.py): one
thread reads the peer's PDUs, streams each object's data set to its sink, answers with a C-STORE-RSP, and returns
the final C-GET-RSP.

Why one thread: a C-GET is a ping-pong. The peer sends the next C-STORE only after our response, so every hand-off
between threads on that path is latency paid once per object. Here the bytes go from one ``recv_into`` a large
preallocated buffer, through a PDU/PDV header walk (``_walk``, ``_pdvs``, ``_pdv`` filling the ``Message`` being
received, message.py), to one ``writev`` per buffer-full; the C-STORE-RSP is encoded by ``wire`` and sent on the
same thread. Nothing else changes hands: the sink decides what a stored object is, the caller what a pending
response means. ``waits`` adds up the time spent waiting for the peer's next message (retrieve/waits.py: round
trips and the archive's own work, which only several associations overlap).

Endings other than the final response (the peer's A-ABORT or A-RELEASE-RQ, a closed connection, an invalid PDU or
message, silence past the DIMSE timeout, ``stop()``) return an ``Outcome`` that says which; the caller gives the
socket back and lets pynetdicom end the association.

Invalid is anything that does not belong to this request: a PDU longer than getsh announced, a PDV out of order or
on a context never accepted (both checked by net/pdu_bounds.py, as on pynetdicom's path), a message other than a
C-STORE-RQ or a C-GET-RSP, a response to another message ID. Bytes after the final response are handed to
pynetdicom when they are whole non-P-DATA PDUs (a release request); any other (a C-STORE after the final response,
a PDU cut short) are named in ``Outcome.after`` and the caller aborts: the association would be out of step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydicom import Dataset
from pynetdicom.dimse_messages import C_CANCEL_RQ
from pynetdicom.dimse_primitives import C_CANCEL

from getsh.dicom.net.pdu_bounds import ASSOCIATION_PDU_LIMIT, PdvOrder, header_problem, pdu_limit, pdv_items
from getsh.dicom.net.trace import Tracer
from getsh.dicom.retrieve.receive import traced, wire
from getsh.dicom.retrieve.receive.message import Message, Negotiated, ReceiveBuffer, Sink, StoreRequest
from getsh.dicom.retrieve.receive.transport import Transport
from getsh.dicom.retrieve.waits import Waits
from getsh.dicom.storage.outcomes import ObjectMeta

log = logging.getLogger("getsh.retrieve")

BUFFER_BYTES = 4 * 1024 * 1024  # larger than any PDU pdu_bounds allows: it never grows in practice
_PDU = wire.PDU_HEADER
_PDU_NAMES = {0x01: "A-ASSOCIATE-RQ", 0x02: "A-ASSOCIATE-AC", 0x03: "A-ASSOCIATE-RJ", 0x05: "A-RELEASE-RQ",
              0x06: "A-RELEASE-RP", 0x07: "A-ABORT"}


@dataclass
class Outcome:
    """How the exchange ended. ``ending``: final (``status``/``identifier`` set), closed, timeout, invalid
    (``detail`` names what), peer-pdu (handed to pynetdicom; ``detail``: what was wrong with it, if anything),
    stopped. ``after``: what the peer sent after its final response that leaves the association out of step."""

    ending: str
    status: Dataset | None = None
    identifier: Dataset | None = None
    detail: str = ""
    silence: float = 0.0
    after: str = ""


class _Invalid(Exception):
    """Protocol violation by the peer; the message is the diagnosis."""


class DirectGet:
    """Runs one C-GET over ``transport``. ``begin`` makes the sink for each C-STORE-RQ (it may refuse
    with a status: return an int), ``pending`` sees each pending C-GET-RSP's sub-operation counts."""

    def __init__(
        self, transport: Transport, *,
        negotiated: Negotiated,
        dimse_timeout: float | None,
        begin: Callable[[StoreRequest], Sink | int],
        pending: Callable[[int | None, int, int, int], None],
        foreign_pdu: Callable[[bytes], None],
        trace: Tracer | None = None,
        buffer_bytes: int = BUFFER_BYTES,
    ) -> None:
        self.transport = transport
        self.buffer_bytes = buffer_bytes
        self.get_context_id, self.get_syntax = negotiated.get_context
        self.storage = negotiated.storage
        self.accepted = negotiated.accepted
        self.peer_max_pdu = negotiated.peer_max_pdu
        self.max_pdu = negotiated.max_pdu
        self.buffer_limit = max(BUFFER_BYTES, 6 + pdu_limit(wire.P_DATA_TF, self.max_pdu), 6 + ASSOCIATION_PDU_LIMIT)
        self.dimse_timeout = dimse_timeout
        self.begin = begin
        self.pending = pending
        self.foreign_pdu = foreign_pdu
        self.trace = trace  # trace on: each message said as it goes (receive/traced.py); None when off
        self.last_heard = time.monotonic()
        self.bytes_read = 0  # everything the peer sent so far (a retrieve's no-progress limit counts data too)
        self.waits = Waits()  # the time spent waiting for the peer's next message (retrieve/waits.py)
        self._stopping = False
        self._info = False
        self._responses = 0
        self._request_lock = threading.Lock()
        self._message_id: int | None = None  # once the C-GET-RQ went out
        self._cancel_asked = False

    # --- other threads ----------------------------------------------------------------------

    def cancel(self) -> None:
        """Send C-CANCEL-RQ for the request (from the shell's thread; responses keep coming). Asked
        before the request went out, it follows the request."""
        with self._request_lock:
            message_id, self._cancel_asked = self._message_id, True
        if message_id is not None:
            self._send_cancel(message_id)

    def stop(self) -> None:
        """Make ``run`` return ``Outcome('stopped')`` soon (from any thread)."""
        self._stopping = True
        self.transport.wake()

    def _send_cancel(self, message_id: int) -> None:
        req = C_CANCEL()
        req.MessageIDBeingRespondedTo = message_id
        msg = C_CANCEL_RQ()
        msg.primitive_to_message(req)
        if self.trace is not None:
            self.trace.dimse("→", traced.cancel_request(message_id, self.get_context_id))
        self.transport.send(wire.encode_message(msg, self.get_context_id, self.peer_max_pdu))

    # --- the exchange -----------------------------------------------------------------------

    def run(self, identifier: Dataset, model_uid: str, message_id: int) -> Outcome:
        self._info = log.isEnabledFor(logging.INFO)  # -v: the lines pynetdicom's own path logs at info
        self._responses = 0
        if self._info:
            log.info("Sending Get Request: MsgID %d (getsh's direct receive path)", message_id)
        try:
            if self._stopping:  # stopped before it began: nothing was sent
                return Outcome("stopped")
            if self.trace is not None:
                self.trace.dimse("→", traced.get_request(identifier, model_uid, message_id, self.get_context_id))
            self.transport.send(wire.get_request(identifier, model_uid, message_id, self.get_context_id,
                                                 self.get_syntax, self.peer_max_pdu))
            self.waits.idle(time.monotonic())
            with self._request_lock:
                self._message_id, cancel = message_id, self._cancel_asked
            if cancel:
                self._send_cancel(message_id)
            return self._loop()
        except OSError as exc:  # sending failed: the connection is gone
            log.debug("C-GET: writing to the peer failed: %s", exc)
            return self._closed()

    def _loop(self) -> Outcome:
        """Fill the buffer, walk its complete PDUs handing each PDV to the message, write what the
        message holds, make room, then read (or wait for) what the peer sends next."""
        buffer = ReceiveBuffer(self.buffer_bytes)
        message = Message()
        order = PdvOrder(self.accepted)
        try:
            while not self._stopping:  # checked here too: a peer that never pauses never lets _wait see it
                outcome = self._walk(buffer, message, order)
                if outcome is not None:
                    if outcome.ending == "final":
                        outcome.after = outcome.after or self._after_final(buffer)
                    return outcome
                message.flush()  # the object's data so far goes to disk before the buffer is reused
                buffer.compact(self.buffer_limit)
                outcome = self._fill(buffer)
                if outcome is not None:
                    return outcome
            return Outcome("stopped")
        except _Invalid as exc:
            return Outcome("invalid", detail=str(exc))
        except wire.WireError as exc:
            return Outcome("invalid", detail=f"an invalid DIMSE message: {exc}")
        finally:
            message.abandon()
            buffer.release()

    def _walk(self, buffer: ReceiveBuffer, message: Message, order: PdvOrder) -> Outcome | None:
        """Every complete PDU in the buffer: a P-DATA-TF's PDVs go to the message; any other PDU ends the exchange.
        A header is checked once in: its length before its bytes are awaited, a type no peer may send at once."""
        data, view, start, end = buffer.data, buffer.view, buffer.start, buffer.end
        try:
            while end - start >= 6:
                pdu_type, length = _PDU.unpack_from(data, start)
                why = header_problem(pdu_type, length, self.max_pdu)
                if why:
                    raise _Invalid(why)
                stop = start + 6 + length
                if stop > end:
                    break
                if pdu_type != wire.P_DATA_TF:
                    return self._foreign(bytes(view[start:stop]), pdu_type)
                outcome = self._pdvs(message, order, data, view, start + 6, stop)
                start = stop
                if outcome is not None:
                    return outcome
            return None
        finally:
            buffer.start = start

    def _pdvs(self, message: Message, order: PdvOrder, data: bytearray, view: memoryview, pos: int,
              stop: int) -> Outcome | None:
        """The PDV items of one P-DATA-TF PDU (``data[pos:stop]``), each checked and handed to the message."""
        try:
            for context_id, control, first, last in pdv_items(data, pos, stop):
                why = order.check(context_id, control, last - first)
                if why:
                    raise _Invalid(why)
                outcome = self._pdv(message, context_id, control, view[first:last])
                if outcome is not None:
                    if last < stop:
                        outcome.after = wire.AFTER_FINAL
                    return outcome
        except ValueError as exc:  # a PDV that does not fit (WireError, _Invalid: raised as they are)
            if isinstance(exc, wire.WireError):
                raise
            raise _Invalid(str(exc)) from None
        return None

    def _after_final(self, buffer: ReceiveBuffer) -> str:
        """What came after the final response in the same read: whole PDUs other than P-DATA (a
        release request, an abort) go to pynetdicom; anything else is named (the caller aborts)."""
        data, start, end = buffer.data, buffer.start, buffer.end
        while start < end:
            if end - start < 6:
                return "a PDU cut short after its final C-GET-RSP"
            pdu_type, length = _PDU.unpack_from(data, start)
            stop = start + 6 + length
            if pdu_type == wire.P_DATA_TF:
                return wire.AFTER_FINAL
            if stop > end or pdu_type not in _PDU_NAMES:
                return f"a PDU of type 0x{pdu_type:02X} after its final C-GET-RSP"
            self.foreign_pdu(bytes(data[start:stop]))
            start = stop
        return ""

    def _pdv(self, message: Message, context_id: int, control: int, fragment: memoryview) -> Outcome | None:
        """One fragment: of a command set, of an object's data set, or of a C-GET-RSP's identifier."""
        if control & 0x01:  # command fragment
            if message.store is not None or message.response is not None:
                raise _Invalid("a command fragment before the data set it had announced")
            message.command += fragment
            return self._command(message, context_id) if control & 0x02 else None
        if message.store is not None:  # data fragment of the object (on its context: PdvOrder)
            message.chunks.append(fragment)
            if control & 0x02:
                self._stored(message)
            return None
        if message.response is not None:  # a C-GET-RSP's identifier
            message.identifier += fragment
            return self._identified(message) if control & 0x02 else None
        raise _Invalid("a data set fragment that no command had announced")

    def _fill(self, buffer: ReceiveBuffer) -> Outcome | None:
        """Read what the peer sent into the buffer, or wait until it sends (or stop, or time out)."""
        try:
            got = self.transport.read_into(buffer.free())
        except OSError as exc:  # reset by the peer
            log.debug("C-GET: reading from the peer failed: %s", exc)
            return self._closed()
        if got is None:
            return self._wait()
        if not got:
            return self._closed()
        buffer.end += got
        self.bytes_read += got
        self.last_heard = time.monotonic()  # the DIMSE timeout counts silence, not slow big objects
        self.waits.heard(self.last_heard)
        return None

    def _wait(self) -> Outcome | None:
        """Block until the peer sends, ``stop()`` is called, or the DIMSE timeout passes."""
        timeout = None
        if self.dimse_timeout is not None:
            timeout = self.last_heard + self.dimse_timeout - time.monotonic()
            if timeout <= 0:
                return Outcome("timeout", silence=time.monotonic() - self.last_heard)
        ready = self.transport.wait(timeout)
        if self._stopping:
            return Outcome("stopped")
        if not ready:
            return Outcome("timeout", silence=time.monotonic() - self.last_heard)
        return None

    def _closed(self) -> Outcome:
        return Outcome("closed", silence=time.monotonic() - self.last_heard)

    def _command(self, message: Message, context_id: int) -> Outcome | None:
        """A complete command set: a C-STORE-RQ to receive, or a C-GET-RSP."""
        fields = wire.parse_command(message.command)
        message.command.clear()
        self.last_heard = time.monotonic()
        field = wire.us(fields, wire.COMMAND_FIELD)
        has_data = wire.us(fields, wire.COMMAND_DATA_SET_TYPE) != wire.NO_DATA_SET
        if field == wire.C_STORE_RQ:
            self.waits.busy()  # in the same read as what came before it: no wait was for it
            self._store_request(message, fields, context_id, has_data)
            return None
        if field == wire.C_GET_RSP:
            responded_to = wire.us(fields, wire.MESSAGE_ID_BEING_RESPONDED_TO)
            if responded_to != self._message_id or context_id != self.get_context_id:
                raise _Invalid(wire.foreign_response("C-GET-RSP", responded_to, self._message_id, context_id,
                                                     self.get_context_id))
            self.waits.idle(self.last_heard)  # a pending one: the next C-STORE-RQ is still to come
            if has_data:
                message.response = fields
                return None
            return self._response(fields, b"")
        name = {0x0020: "C-FIND-RQ", 0x0021: "C-MOVE-RQ", 0x0030: "C-ECHO-RQ", 0x0010: "C-GET-RQ"}.get(field or 0)
        what = name or f"message (command field 0x{field or 0:04X})"
        raise _Invalid(f"an unexpected {what} in the middle of a C-GET")

    def _store_request(self, message: Message, fields: dict[int, bytes], context_id: int, has_data: bool) -> None:
        """A C-STORE-RQ: its sink waits for the data set (or, without one, it is answered now)."""
        message_id = wire.us(fields, wire.MESSAGE_ID) or 0
        sop_class = wire.uid(fields, wire.AFFECTED_SOP_CLASS_UID)
        sop_instance = wire.uid(fields, wire.AFFECTED_SOP_INSTANCE_UID)
        abstract, syntax = self.storage.get(context_id, ("", ""))
        store = StoreRequest(context_id, message_id, ObjectMeta(sop_class, sop_instance, syntax))
        if abstract != sop_class:  # what pynetdicom answers (its _c_store_scp): SOP class not supported
            sink: Sink | int = wire.SOP_CLASS_NOT_SUPPORTED
            log.warning("C-STORE-RQ for %s (%s) on presentation context %d, which is not accepted for storing it",
                        sop_instance, sop_class, context_id)
        else:
            sink = self.begin(store)
        if self._info:
            log.info("Received Store Request: MsgID %d, %s", message_id, sop_instance)
        if not has_data:  # nothing to store: answer now
            if not isinstance(sink, int):
                sink.abort()
                sink = 0xC000
            log.warning("C-STORE-RQ for %s came without a data set", sop_instance)
            if self.trace is not None:
                self.trace.dimse("←", traced.store_request(store, None))
            self._answer(store, sink)
            return
        message.store, message.sink = store, sink if self.trace is None else traced.TracedSink(self.trace, store, sink)

    def _stored(self, message: Message) -> None:
        """The object's last fragment arrived: store it, answer the C-STORE-RQ."""
        message.flush()
        store, sink = message.store, message.sink
        message.store = message.sink = None
        assert store is not None and sink is not None  # set together by _store_request
        status = sink if isinstance(sink, int) else sink.finish()
        self._answer(store, status)
        self.last_heard = self.waits.idle(time.monotonic())

    def _identified(self, message: Message) -> Outcome | None:
        """A C-GET-RSP's identifier arrived whole: the response is complete."""
        fields, message.response = message.response, None
        assert fields is not None
        outcome = self._response(fields, bytes(message.identifier))
        message.identifier.clear()
        self.last_heard = time.monotonic()
        return outcome

    def _response(self, fields: dict[int, bytes], identifier: bytes) -> Outcome | None:
        status = wire.us(fields, wire.STATUS)
        if status is None:
            raise _Invalid("an invalid DIMSE message: a C-GET-RSP without a Status")
        if self.trace is not None:
            self.trace.dimse("←", traced.get_response(fields, identifier, self.get_context_id))
        counts = (wire.us(fields, wire.REMAINING), wire.us(fields, wire.COMPLETED) or 0,
                  wire.us(fields, wire.FAILED) or 0, wire.us(fields, wire.WARNING) or 0)
        self._responses += 1
        if self._info:
            pending = 0xFF00 <= status <= 0xFF01
            what = f"Response: {self._responses} - 0x{status:04X} (Pending)" if pending else f"Result: 0x{status:04X}"
            log.info("Get SCP %s; Sub-Operations Remaining: %s, Completed: %d, Failed: %d, Warning: %d",
                     what, counts[0] if counts[0] is not None else "-", *counts[1:])
        if 0xFF00 <= status <= 0xFF01:  # pending: the common case, kept cheap
            self.pending(*counts)
            return None
        final, ident = wire.final_response(fields, identifier, self.get_syntax)
        return Outcome("final", status=final, identifier=ident)

    def _answer(self, store: StoreRequest, status: int) -> None:
        if self._info:
            log.info("Sending Store Response: MsgID %d, status 0x%04X", store.message_id, status)
        if self.trace is not None:
            self.trace.dimse("→", traced.store_response(store, status))
        command = wire.c_store_rsp(store.message_id, store.meta.sop_class_uid, store.meta.sop_instance_uid, status)
        self.transport.send(wire.p_data_pdus(store.context_id, command, command=True, max_pdu=self.peer_max_pdu))

    def _foreign(self, raw: bytes, pdu_type: int) -> Outcome:
        """A PDU that is not P-DATA: pynetdicom's to handle. An A-ABORT or A-RELEASE-RQ ends the association as
        the peer meant; any other is a protocol error pynetdicom answers with an A-ABORT (``detail`` says what)."""
        self.foreign_pdu(raw)
        name = _PDU_NAMES.get(pdu_type)
        detail = "" if pdu_type in (0x05, 0x07) else (
            f"an {name} PDU in the middle of a C-GET" if name else f"a PDU of unknown type 0x{pdu_type:02X}")
        return Outcome("peer-pdu", detail=detail, silence=time.monotonic() - self.last_heard)
