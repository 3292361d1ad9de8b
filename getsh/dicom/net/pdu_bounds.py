"""What a peer's PDU may be: how long (against the max-pdu getsh announced) and how its PDVs follow
one another. Both receive paths ask here, so the same bytes get the same diagnosis; and this is the
one place getsh extends pynetdicom's DUL (``bound_pdu_reads``).

Why: a PDU header declares its length in 4 bytes, and pynetdicom's DUL reads whatever it declares
(0xFFFFFFF0 bytes: gigabytes, 4 KB at a time into one growing bytearray); a PDV may name a
presentation context that was never accepted (its chunked receive then fails inside the DUL
thread) or interleave two messages. A peer that does any of that is not speaking DICOM with us:
getsh aborts the association and says what the peer sent.

The bound on a P-DATA-TF PDU: PS3.8 9.3.1/D.1 says the PDU length never exceeds the maximum length
the receiver announced. Some implementations take that maximum as the PDV's data, so the PDU may
be one PDV header (6 bytes) longer; that much is allowed, nothing more. An association PDU (RQ/AC)
is bounded by what 128 presentation contexts, their roles and extended negotiation can take
(1 MiB); the 4-byte PDUs (A-ASSOCIATE-RJ, A-RELEASE-RQ/RP, A-ABORT) by 1 KiB.

The DUL extension replaces ``DULServiceProvider._read_pdu_data`` on one association's DUL (an
instance attribute, installed from the EVT_CONN_OPEN handler before any PDU is read; pynetdicom's
``_is_transport_event`` calls it): it does what pynetdicom's does (read the 6-byte header, then the
body, decode, queue the event) but checks the declared length before reading the body and the
PDVs before handing them on; on a fault it records the diagnosis, queues Evt19 (pynetdicom's state
machine then sends A-ABORT: AA-8) and from then on reads and discards what the peer still sends, in
bounded chunks. Pinned by ``pynetdicom<3.1``; ``bound_pdu_reads`` leaves a DUL without the method alone.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Collection, Iterator
from typing import Any

log = logging.getLogger("getsh.net")

P_DATA_TF = 0x04
PDV_OVERHEAD = 6  # one PDV item header: item length (4), presentation context ID, message control header
ASSOCIATION_PDU_LIMIT = 1 << 20
SMALL_PDU_LIMIT = 1024
COMMAND_LIMIT = 64 * 1024  # a command set is a few hundred bytes; its fragments are gathered in memory
PDU_NAMES = {0x01: "A-ASSOCIATE-RQ", 0x02: "A-ASSOCIATE-AC", 0x03: "A-ASSOCIATE-RJ", 0x04: "P-DATA-TF",
             0x05: "A-RELEASE-RQ", 0x06: "A-RELEASE-RP", 0x07: "A-ABORT"}
_HEADER = struct.Struct(">BxI")
_PDV = struct.Struct(">IBB")
_DISCARD = 64 * 1024

# where a message is, between its PDVs (PdvOrder)
_IDLE, _COMMAND, _COMMANDED, _DATA = range(4)


def pdu_limit(pdu_type: int, max_pdu: int) -> int:
    """The largest PDU length (the header's length field) accepted for ``pdu_type`` (0: an unknown type)."""
    if pdu_type == P_DATA_TF:
        return max_pdu + PDV_OVERHEAD if max_pdu > 0 else ASSOCIATION_PDU_LIMIT
    if pdu_type in (0x01, 0x02):
        return ASSOCIATION_PDU_LIMIT
    return SMALL_PDU_LIMIT if pdu_type in PDU_NAMES else 0


def too_long(pdu_type: int, length: int, max_pdu: int) -> str:
    """'' when a PDU of ``length`` (its length field) is within bounds, else what the peer sent, in words."""
    limit = pdu_limit(pdu_type, max_pdu)
    if length <= limit or pdu_type not in PDU_NAMES:
        return ""
    name = PDU_NAMES[pdu_type]
    if pdu_type == P_DATA_TF:
        return (f"a {name} PDU of {length} bytes, more than the {max_pdu} getsh announced (max-pdu) "
                f"plus {PDV_OVERHEAD} bytes of PDV header")
    return f"an {name} PDU of {length} bytes, more than the {limit} getsh accepts for one"


def header_problem(pdu_type: int, length: int, max_pdu: int) -> str:
    """'' when a PDU header a direct receive path read is one a peer may send now, else what is wrong,
    in words: a type no peer sends, or a length past its bound (``too_long``)."""
    if pdu_type not in PDU_NAMES:
        return f"a PDU of unknown type 0x{pdu_type:02X}"
    return too_long(pdu_type, length, max_pdu)


def pdv_items(data: bytes | bytearray | memoryview, pos: int, stop: int) -> Iterator[tuple[int, int, int, int]]:
    """(context ID, message control header, data start, data end) of each PDV item in ``data[pos:stop]``
    (a P-DATA-TF PDU's variable field); ValueError names what does not fit."""
    while pos < stop:
        if stop - pos < PDV_OVERHEAD:
            raise ValueError("an invalid P-DATA-TF PDU: it ends inside a PDV item header")
        item, context_id, control = _PDV.unpack_from(data, pos)
        end = pos + 4 + item
        if item < 2 or end > stop:
            raise ValueError(f"an invalid P-DATA-TF PDU: a PDV item's length ({item}) does not fit in it")
        yield context_id, control, pos + PDV_OVERHEAD, end
        pos = end


class PdvOrder:
    """Checks that PDVs follow PS3.8 E.2 / PS3.7 6.3.1: each on an accepted presentation context, a
    message's fragments all on one context, its command set whole (and at most COMMAND_LIMIT bytes)
    before its data set, and no other message's fragment in between. ``check`` returns '' or what is
    wrong, in words."""

    __slots__ = ("accepted", "command_bytes", "context", "state")

    def __init__(self, accepted: Collection[int]) -> None:
        self.accepted = frozenset(accepted)
        self.context = 0
        self.state = _IDLE
        self.command_bytes = 0

    def check(self, context_id: int, control: int, size: int) -> str:
        """One PDV: its context ID, message control header and data length."""
        command, last = control & 0x01, control & 0x02
        state, context = self.state, self.context
        if context_id not in self.accepted:
            return f"a PDV on presentation context {context_id}, which was never accepted"
        if state in (_COMMAND, _DATA) and context_id != context:
            return f"a PDV on presentation context {context_id} in the middle of a message on context {context}"
        if state == _COMMAND and not command:
            return "a data set fragment before its command set was complete"
        if state == _DATA and command:
            return "a command fragment in the middle of a data set"
        if not command and state == _COMMANDED and context_id != context:
            return f"a data set on presentation context {context_id} for a command on context {context}"
        if not command and state == _IDLE:
            return "a data set fragment that no command had announced"
        if command:
            self.command_bytes = (self.command_bytes if state == _COMMAND else 0) + size
            if self.command_bytes > COMMAND_LIMIT:
                return f"a command set of more than {COMMAND_LIMIT} bytes"
            self.state, self.context = (_COMMANDED if last else _COMMAND), context_id
        else:
            self.state = _IDLE if last else _DATA
        return ""


class BoundedPduReader:
    """Stands in for one DUL's ``_read_pdu_data`` (see the module docstring); ``diagnosis`` says what
    made it abort ('' while all is well)."""

    def __init__(self, dul: Any, max_pdu: int) -> None:
        self.dul = dul
        self.max_pdu = max_pdu
        self.diagnosis = ""
        self._order: PdvOrder | None = None  # made once the association is established

    def __call__(self) -> None:
        dul = self.dul
        sock = dul.socket
        if self.diagnosis:  # aborting: take what still comes, keep none of it
            self._discard(sock)
            return
        header = self._recv(sock, 6)
        if header is None or len(header) < 6:
            dul.event_queue.put("Evt17")  # transport connection closed (as pynetdicom: READ_PDU_EXC_B)
            return
        pdu_type, length = _HEADER.unpack(bytes(header))
        if pdu_type not in PDU_NAMES:
            logging.getLogger("pynetdicom").error(f"Unknown PDU type received '0x{pdu_type:02X}'")
            dul.event_queue.put("Evt19")
            return
        why = too_long(pdu_type, length, self.max_pdu)
        if why:
            self.fault(why)
            return
        body = self._recv(sock, length) if length else bytearray()
        if body is None or len(body) != length:
            dul.event_queue.put("Evt17")
            return
        raw = header + body
        if pdu_type == P_DATA_TF:
            why = self._check_pdvs(raw)
            if why:
                self.fault(why)
                return
        try:
            pdu, event = dul._decode_pdu(raw)
        except Exception as exc:  # as pynetdicom: READ_PDU_EXC_F
            logging.getLogger("pynetdicom").error(f"Unable to decode the received PDU data: {exc}")
            dul.event_queue.put("Evt19")
            return
        why = _reject_problem(pdu) if pdu_type == 0x03 else ""
        if why:  # pynetdicom's state machine would raise on it in its reader thread and go silent
            self.fault(why)
            return
        dul.event_queue.put(event)
        dul._recv_pdu.put(pdu)

    def _check_pdvs(self, raw: bytearray) -> str:
        if self._order is None:
            contexts = self.dul.assoc.accepted_contexts
            self._order = PdvOrder([int(cx.context_id) for cx in contexts if cx.context_id is not None])
        order = self._order
        try:
            for context_id, control, first, last in pdv_items(raw, 6, len(raw)):
                why = order.check(context_id, control, last - first)
                if why:
                    return why
        except ValueError as exc:
            return str(exc)
        return ""

    def fault(self, why: str) -> None:
        """Abort for ``why``: record it, have pynetdicom send A-ABORT, discard what follows."""
        self.diagnosis = why
        log.error("the peer sent %s: aborting the association", why)
        self.dul.event_queue.put("Evt19")  # invalid PDU: pynetdicom sends A-ABORT and closes

    @staticmethod
    def _recv(sock: Any, count: int) -> bytearray | None:
        try:
            return sock.recv(count)  # pynetdicom's: 4 KB reads until count or EOF
        except (OSError, TimeoutError) as exc:
            log.debug("reading a PDU failed: %s", exc)
            return None

    def _discard(self, sock: Any) -> None:
        raw = getattr(sock, "socket", None)
        try:
            got = raw.recv(_DISCARD) if raw is not None else b""
        except (OSError, ValueError):
            got = b""
        if not got:
            self.dul.event_queue.put("Evt17")


def _reject_problem(pdu: Any) -> str:
    """'' for an A-ASSOCIATE-RJ pynetdicom can take in; else its result, source and reason in words.

    A reason outside PS3.8 table 9-21 (source 1 reason 5, say) makes pynetdicom's ``to_primitive``
    raise inside its reader thread, which dies: the request would then wait out the ACSE timeout and
    be reported as silence. Checked here, it is an abort with the peer's answer named at once."""
    to_primitive = getattr(pdu, "to_primitive", None)
    try:
        if to_primitive is not None:
            to_primitive()
    except ValueError:
        return (f"an A-ASSOCIATE-RJ that refuses the association for a reason outside the standard "
                f"(result {pdu.result}, source {pdu.source}, reason {pdu.reason_diagnostic})")
    return ""


def bound_pdu_reads(assoc: Any, max_pdu: int) -> BoundedPduReader | None:
    """Make ``assoc``'s DUL read PDUs through a BoundedPduReader (call from EVT_CONN_OPEN, before
    any PDU is read). None when this pynetdicom's DUL has no ``_read_pdu_data`` to replace."""
    dul = assoc.dul
    if not callable(getattr(type(dul), "_read_pdu_data", None)):
        return None
    reader = BoundedPduReader(dul, max_pdu)
    dul._read_pdu_data = reader
    return reader


def abort_for(assoc: Any, why: str) -> None:
    """Have pynetdicom abort ``assoc`` (Evt19: A-ABORT) because of ``why``, found by getsh's direct
    receive path; its DUL then discards whatever the peer still sends instead of parsing it."""
    reader = _reader(assoc)
    if reader is None:
        assoc.dul.event_queue.put("Evt19")
    elif not reader.diagnosis:  # else: aborting already
        reader.fault(why)


def _reader(assoc: Any) -> BoundedPduReader | None:
    reader = getattr(assoc.dul, "__dict__", {}).get("_read_pdu_data") if assoc is not None else None
    return reader if isinstance(reader, BoundedPduReader) else None


def diagnosis(assoc: Any) -> str:
    """What the BoundedPduReader on ``assoc`` aborted for ('' if nothing, or if it has none)."""
    reader = _reader(assoc)
    return reader.diagnosis if reader is not None else ""
