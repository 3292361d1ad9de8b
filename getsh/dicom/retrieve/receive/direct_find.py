"""A C-FIND on a socket borrowed from pynetdicom (handover.py), read on the thread that asks: the
parallel retrieve's plan (sharing.py) lists thousands of instances this way.

Why: through pynetdicom each C-FIND-RSP goes from its reader thread through two queues to the
thread that asked, and its reader polls briskly meanwhile; measured here, 0.65 ms of CPU a match
(2,000 instances: 1.3 s, as much as retrieving them), taken from the lanes retrieving beside the plan
under one interpreter lock. Here one thread reads whole PDUs into a buffer, walks their PDVs with the
same bounds as every other path (net/pdu_bounds.py), reads each command set with ``wire`` and
decodes each identifier with pynetdicom's own codec, as the archive's answers come.

``matches`` yields each pending response's identifier; once it is exhausted ``outcome`` says how the
exchange ended (direct_get.Outcome: final with the status, closed, timeout, invalid, peer-pdu,
stopped), and the caller gives the socket back and acts on it (find_borrowed.py). A caller that stops iterating early
(the plan was cancelled, or a match it cannot use) leaves the association in step: the C-FIND is
cancelled and its remaining responses read to the final one, or the outcome says it could not be.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from io import BytesIO

from pydicom import Dataset
from pydicom.uid import UID
from pynetdicom.dimse_messages import C_CANCEL_RQ
from pynetdicom.dimse_primitives import C_CANCEL
from pynetdicom.dsutils import decode

from getsh.dicom.net.pdu_bounds import (
    ASSOCIATION_PDU_LIMIT,
    PDU_NAMES,
    PdvOrder,
    header_problem,
    pdu_limit,
    pdv_items,
)
from getsh.dicom.retrieve.receive import wire
from getsh.dicom.retrieve.receive.direct_get import Outcome
from getsh.dicom.retrieve.receive.message import ReceiveBuffer
from getsh.dicom.retrieve.receive.transport import Transport
from getsh.dicom.storage.outcomes import one_line

_PDU_NAMES = {kind: name for kind, name in PDU_NAMES.items() if kind != wire.P_DATA_TF}
BUFFER_BYTES = 256 * 1024  # C-FIND responses are small; a larger PDU grows it up to its bound
AFTER_FINAL = "another message after its final C-FIND-RSP"
DRAIN_LIMIT = 5.0  # seconds an abandoned C-FIND may take to reach its final response after its C-CANCEL


class _Invalid(Exception):
    """Protocol violation by the peer; the message is the diagnosis."""


class DirectFind:
    """One C-FIND over ``transport`` on the presentation context ``context`` (ID, transfer syntax)."""

    def __init__(self, transport: Transport, *, context: tuple[int, str], accepted: frozenset[int],
                 peer_max_pdu: int, max_pdu: int, dimse_timeout: float | None,
                 foreign_pdu: Callable[[bytes], None]) -> None:
        self.transport = transport
        self.context_id, syntax = context
        ts = UID(syntax)
        self._codec = (ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated)
        self.syntax = syntax
        self.accepted, self.peer_max_pdu, self.max_pdu = accepted, peer_max_pdu, max_pdu
        self.buffer_limit = max(BUFFER_BYTES, 6 + pdu_limit(wire.P_DATA_TF, max_pdu), 6 + ASSOCIATION_PDU_LIMIT)
        self.dimse_timeout = dimse_timeout
        self.foreign_pdu = foreign_pdu
        self.outcome: Outcome | None = None
        self.last_heard = time.monotonic()
        self._stopping = False
        self._lock = threading.Lock()
        self._message_id: int | None = None
        self._cancel_asked = False
        self._cancel_sent = False
        self._deadline: float | None = None  # an abandoned C-FIND's last moment to reach its final response
        self.request_sent = False

    # --- other threads ------------------------------------------------------------------------

    def cancel(self) -> None:
        """C-CANCEL-RQ for the request (any thread); asked before the request went out, it follows it."""
        with self._lock:
            message_id, self._cancel_asked = self._message_id, True
            if message_id is None or self._cancel_sent:
                return
            self._cancel_sent = True
        self._send_cancel(message_id)

    def stop(self) -> None:
        """End the exchange now (any thread): ``outcome`` becomes 'stopped'; the caller aborts."""
        self._stopping = True
        self.transport.wake()

    wake = stop  # what sharing.Planner.abort calls on a path after stopping it

    def _send_cancel(self, message_id: int) -> None:
        req = C_CANCEL()
        req.MessageIDBeingRespondedTo = message_id
        msg = C_CANCEL_RQ()
        msg.primitive_to_message(req)
        try:
            self.transport.send(wire.encode_message(msg, self.context_id, self.peer_max_pdu))
        except OSError:  # the connection is gone: the reader finds out
            pass

    # --- the exchange -------------------------------------------------------------------------

    def matches(self, identifier: Dataset, model_uid: str, message_id: int) -> Generator[Dataset, None, None]:
        """Each pending response's identifier, as it comes; ``outcome`` once exhausted."""
        if self._stopping:
            self.outcome = Outcome("stopped")
            return
        try:
            self.transport.send(wire.find_request(identifier, model_uid, message_id, self.context_id, self.syntax,
                                                  self.peer_max_pdu))
        except OSError:
            self.outcome = Outcome("closed")
            return
        self.request_sent = True
        self.last_heard = time.monotonic()
        with self._lock:
            self._message_id = message_id
            owed = self._cancel_asked and not self._cancel_sent
            self._cancel_sent = self._cancel_sent or owed
        if owed:
            self._send_cancel(message_id)
        responses = self._responses(message_id)
        for match in responses:  # not ``yield from``: closing this would close ``responses`` unread
            try:
                yield match
            except GeneratorExit:  # the caller stopped listening: the association must stay in step
                self._finish(responses)
                raise

    def _finish(self, responses: Iterator[Dataset]) -> None:
        """Cancel, and read what is left to the final response (DRAIN_LIMIT at most from now)."""
        if self.outcome is not None:
            return
        self.cancel()
        self.last_heard = time.monotonic()
        self._deadline = self.last_heard + DRAIN_LIMIT
        for _ in responses:
            pass

    def _responses(self, message_id: int) -> Iterator[Dataset]:
        buffer = ReceiveBuffer(BUFFER_BYTES)
        order = PdvOrder(self.accepted)
        state = _Assembly(message_id, self.context_id)
        try:
            while not self._stopping:
                if self._deadline is not None and time.monotonic() > self._deadline:
                    self.outcome = Outcome("timeout", silence=time.monotonic() - self.last_heard)
                    return
                done = False
                for item in self._walk(buffer, order, state):
                    if isinstance(item, Outcome):
                        self.outcome, done = item, True
                        break
                    yield item
                if done:
                    return
                buffer.compact(self.buffer_limit)
                outcome = self._fill(buffer)
                if outcome is not None:
                    self.outcome = outcome
                    return
            self.outcome = Outcome("stopped")
        except _Invalid as exc:
            self.outcome = Outcome("invalid", detail=str(exc))
        except wire.WireError as exc:
            self.outcome = Outcome("invalid", detail=f"an invalid DIMSE message: {exc}")
        finally:
            buffer.release()

    def _walk(self, buffer: ReceiveBuffer, order: PdvOrder, state: _Assembly) -> Iterator[Dataset | Outcome]:
        """The responses completed by the buffer's whole PDUs; an Outcome ends the exchange."""
        data, view = buffer.data, buffer.view
        while buffer.end - buffer.start >= 6:
            start = buffer.start
            pdu_type, length = wire.PDU_HEADER.unpack_from(data, start)
            why = header_problem(pdu_type, length, self.max_pdu)
            if why:
                raise _Invalid(why)
            stop = start + 6 + length
            if stop > buffer.end:
                return
            buffer.start = stop
            if pdu_type != wire.P_DATA_TF:
                yield self._foreign(bytes(view[start:stop]), pdu_type)
                return
            try:
                items = list(pdv_items(data, start + 6, stop))
            except ValueError as exc:
                raise _Invalid(str(exc)) from None
            for context_id, control, first, last in items:
                why = order.check(context_id, control, last - first)
                if why:
                    raise _Invalid(why)
                response = state.add(context_id, control, view[first:last])
                if response is None:
                    continue
                ended = self._response(*response)
                if isinstance(ended, Outcome):
                    ended.after = AFTER_FINAL if last < stop else self._after_final(buffer)
                    yield ended
                    return
                if ended is not None:
                    yield ended

    def _after_final(self, buffer: ReceiveBuffer) -> str:
        """Whole PDUs other than P-DATA after the final response (a release request, an abort) go to
        pynetdicom; anything else is named (the caller aborts: the association would be out of step)."""
        data, start, end = buffer.data, buffer.start, buffer.end
        while start < end:
            if end - start < 6:
                return "a PDU cut short after its final C-FIND-RSP"
            pdu_type, length = wire.PDU_HEADER.unpack_from(data, start)
            stop = start + 6 + length
            if pdu_type == wire.P_DATA_TF:
                return AFTER_FINAL
            if stop > end or pdu_type not in _PDU_NAMES:
                return f"a PDU of type 0x{pdu_type:02X} after its final C-FIND-RSP"
            self.foreign_pdu(bytes(data[start:stop]))
            start = stop
        buffer.start = start
        return ""

    def _response(self, fields: dict[int, bytes], identifier: bytes) -> Dataset | Outcome | None:
        self.last_heard = time.monotonic()
        status = wire.us(fields, wire.STATUS)
        if status is None:
            raise _Invalid("an invalid DIMSE message: a C-FIND-RSP without a Status")
        if 0xFF00 <= status <= 0xFF01:
            if not identifier:
                return None
            try:
                return decode(BytesIO(identifier), *self._codec)
            except Exception as exc:
                raise _Invalid(f"a C-FIND-RSP whose identifier cannot be decoded ({one_line(exc)})") from None
        final = Dataset()
        final.Status = status
        comment = wire.text(fields, 0x0902)
        if comment:
            final.ErrorComment = comment
        return Outcome("final", status=final)

    def _fill(self, buffer: ReceiveBuffer) -> Outcome | None:
        try:
            got = self.transport.read_into(buffer.free())
        except OSError:
            return Outcome("closed", silence=time.monotonic() - self.last_heard)
        if got is None:
            return self._wait()
        if not got:
            return Outcome("closed", silence=time.monotonic() - self.last_heard)
        buffer.end += got
        return None

    def _wait(self) -> Outcome | None:
        """Block until the peer sends, ``stop()``, the DIMSE timeout, or an abandoned C-FIND's deadline."""
        ends = [t for t in (self.last_heard + self.dimse_timeout if self.dimse_timeout is not None else None,
                            self._deadline) if t is not None]
        timeout = min(ends) - time.monotonic() if ends else None
        if timeout is not None and timeout <= 0:
            return Outcome("timeout", silence=time.monotonic() - self.last_heard)
        try:
            ready = self.transport.wait(timeout)
        except OSError:
            return Outcome("closed", silence=time.monotonic() - self.last_heard)
        if self._stopping:
            return Outcome("stopped")
        if not ready:
            return Outcome("timeout", silence=time.monotonic() - self.last_heard)
        return None

    def _foreign(self, raw: bytes, pdu_type: int) -> Outcome:
        """Not P-DATA: pynetdicom's to act on once it has the socket back (an A-ABORT, a release request)."""
        self.foreign_pdu(raw)
        name = _PDU_NAMES.get(pdu_type)
        detail = "" if pdu_type in (0x05, 0x07) else f"an {name} PDU in the middle of a C-FIND"
        return Outcome("peer-pdu", detail=detail, silence=time.monotonic() - self.last_heard)


class _Assembly:
    """The C-FIND-RSP being received, from its first command fragment to its identifier's last."""

    __slots__ = ("command", "context_id", "fields", "identifier", "message_id")

    def __init__(self, message_id: int, context_id: int) -> None:
        self.message_id, self.context_id = message_id, context_id
        self.command = bytearray()
        self.identifier = bytearray()
        self.fields: dict[int, bytes] | None = None  # a response whose identifier is arriving

    def add(self, context_id: int, control: int, fragment: memoryview) -> tuple[dict[int, bytes], bytes] | None:
        """One PDV; a response (its command fields and identifier bytes) when it completes one."""
        if control & 0x01:
            if self.fields is not None:
                raise _Invalid("a command fragment before the data set it had announced")
            self.command += fragment
            if not control & 0x02:
                return None
            fields = wire.parse_command(self.command)
            self.command.clear()
            field = wire.us(fields, wire.COMMAND_FIELD)
            if field != wire.C_FIND_RSP:
                name = {0x0001: "C-STORE-RQ", 0x0020: "C-FIND-RQ", 0x8010: "C-GET-RSP", 0x8021: "C-MOVE-RSP"}
                what = name.get(field or 0) or f"message (command field 0x{field or 0:04X})"
                raise _Invalid(f"an unexpected {what} in the middle of a C-FIND")
            responded_to = wire.us(fields, wire.MESSAGE_ID_BEING_RESPONDED_TO)
            if responded_to != self.message_id or context_id != self.context_id:
                raise _Invalid(wire.foreign_response("C-FIND-RSP", responded_to, self.message_id, context_id,
                                                     self.context_id))
            if wire.us(fields, wire.COMMAND_DATA_SET_TYPE) == wire.NO_DATA_SET:
                return fields, b""
            self.fields = fields
            return None
        if self.fields is None:
            raise _Invalid("a data set fragment that no command had announced")
        self.identifier += fragment
        if not control & 0x02:
            return None
        fields, self.fields = self.fields, None
        identifier = bytes(self.identifier)
        self.identifier.clear()
        return fields, identifier
