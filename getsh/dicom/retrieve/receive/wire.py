"""DIMSE command sets and P-DATA-TF PDUs as bytes, for the direct C-GET receive path.

A command set is always Implicit VR Little Endian group 0000 (PS3.7 6.3.1, E.1), so the few
elements a C-GET exchanges can be read and written with ``struct`` in microseconds, where
pynetdicom builds a pydicom Dataset per message (≈0.1 ms each way, the largest per-object cost
once the reactor no longer sleeps). Everything rare (the final C-GET-RSP, a request we send)
still goes through pynetdicom's codec; tests check that both agree byte for byte.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from pydicom import Dataset
from pynetdicom import _config
from pynetdicom import dimse_messages as messages
from pynetdicom._validators import validate_ui
from pynetdicom.dimse_primitives import C_FIND, C_GET
from pynetdicom.dsutils import decode, encode
from pynetdicom.pdu import P_DATA_TF as P_DATA_TF_PDU

log = logging.getLogger("getsh.retrieve")

# Command Field values (PS3.7 E.1) and the elements the direct path reads or writes.
C_STORE_RQ, C_STORE_RSP, C_GET_RSP, C_FIND_RSP, C_CANCEL_RQ = 0x0001, 0x8001, 0x8010, 0x8020, 0x0FFF
AFFECTED_SOP_CLASS_UID = 0x0002
COMMAND_FIELD = 0x0100
MESSAGE_ID = 0x0110
MESSAGE_ID_BEING_RESPONDED_TO = 0x0120
COMMAND_DATA_SET_TYPE = 0x0800
STATUS = 0x0900
AFFECTED_SOP_INSTANCE_UID = 0x1000
REMAINING, COMPLETED, FAILED, WARNING = 0x1020, 0x1021, 0x1022, 0x1023
NO_DATA_SET = 0x0101
SOP_CLASS_NOT_SUPPORTED = 0x0122  # pynetdicom's C-STORE answer when the class has no context we are SCP on

P_DATA_TF = 0x04
PDU_HEADER = struct.Struct(">BxI")  # type, reserved, length
PDV_HEADER = struct.Struct(">IBB")  # item length, presentation context ID, message control header
_ELEMENT = struct.Struct("<HHI")
_UID_NAMES = {AFFECTED_SOP_CLASS_UID: "Affected SOP Class UID", AFFECTED_SOP_INSTANCE_UID: "Affected SOP Instance UID"}


class WireError(ValueError):
    """A command set or PDU that cannot be what the peer meant; the message names what is wrong."""


def parse_command(raw: bytes | bytearray | memoryview) -> dict[int, bytes]:
    """Group 0000 elements of an encoded command set, by element number (values undecoded)."""
    data = bytes(raw)
    out: dict[int, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 8:
            raise WireError(f"command set ends inside an element header at byte {pos}")
        group, elem, length = _ELEMENT.unpack_from(data, pos)
        pos += 8
        if length == 0xFFFFFFFF or pos + length > end:
            raise WireError(f"element ({group:04X},{elem:04X}) runs past the end of the command set")
        if group == 0:
            out[elem] = data[pos : pos + length]
        pos += length
    return out


def us(command: dict[int, bytes], elem: int) -> int | None:
    """An unsigned short value, or None when the element is absent or empty."""
    value = command.get(elem)
    if not value:
        return None
    if len(value) != 2:
        raise WireError(f"(0000,{elem:04X}) holds {len(value)} bytes, not an unsigned short")
    return int.from_bytes(value, "little")


def uid(command: dict[int, bytes], elem: int) -> str:
    """A UID value, validated as pynetdicom validates it (same rule, same words when it fails).

    pynetdicom's stock rule without ENFORCE_UID_CONFORMANCE is "1 to 64 characters"; checked here
    directly, because its validator builds a pydicom UID (a regex match) per call. Any other
    validator installed in ``_config.VALIDATORS`` is called as pynetdicom would."""
    text = command.get(elem, b"").rstrip(b"\0 ").decode("latin-1")  # as pydicom decodes it for pynetdicom
    if not text:
        return text
    validator = _config.VALIDATORS["UI"]
    if validator is validate_ui and not _config.ENFORCE_UID_CONFORMANCE:
        ok, reason = len(text) < 65, "must not exceed 64 characters"
    else:
        ok, reason = validator(text)
    if not ok:
        raise WireError(f"Invalid '{_UID_NAMES.get(elem, f'(0000,{elem:04X})')}' value '{text}' - {reason}")
    return text


def text(command: dict[int, bytes], elem: int) -> str:
    return command.get(elem, b"").rstrip(b"\0 ").decode("latin-1")


def foreign_response(name: str, responded_to: int | None, message_id: int | None, context_id: int,
                     request_context: int) -> str:
    """A response that is not to the running request, in words (the same on both receive paths)."""
    if responded_to != message_id:
        return f"a {name} to message {responded_to}, not to this request (message {message_id})"
    return f"a {name} on presentation context {context_id}, not on the request's ({request_context})"


AFTER_FINAL = "another message after its final C-GET-RSP"


def not_ours(assoc: Any, message: Any, message_id: int, model_uid: str, answered: bool) -> str:
    """'' unless ``message`` (a DIMSE message pynetdicom received for the C-GET ``message_id``, ``answered``
    once its final response came) belongs to no request: then what it is, in words."""
    if answered:
        return AFTER_FINAL
    if type(message).__name__ != "C_GET_RSP":
        return ""
    responded_to = message.command_set.get("MessageIDBeingRespondedTo")
    context = int(assoc._get_valid_context(model_uid, "", "scu").context_id or 0)
    if responded_to == message_id and message.context_id == context:
        return ""
    return foreign_response("C-GET-RSP", responded_to, message_id, int(message.context_id or 0), context)


def is_final(message: Any) -> bool:
    """A DIMSE message (pynetdicom's) that is a C-GET-RSP with a status other than Pending."""
    return type(message).__name__ == "C_GET_RSP" and message.command_set.get("Status") not in (0xFF00, 0xFF01)


def _element(elem: int, value: bytes) -> bytes:
    return _ELEMENT.pack(0, elem, len(value)) + value


def _ui(value: str) -> bytes:
    raw = value.encode("latin-1")  # the bytes the peer sent, echoed as pynetdicom echoes them
    return raw + b"\0" * (len(raw) & 1)


def encode_command(elements: Iterable[tuple[int, bytes]]) -> bytes:
    """A command set from (element, value) pairs, sorted, with its group length first."""
    body = b"".join(_element(elem, value) for elem, value in sorted(elements))
    return _element(0x0000, struct.pack("<I", len(body))) + body


def c_store_rsp(message_id: int, sop_class_uid: str, sop_instance_uid: str, status: int) -> bytes:
    """The C-STORE-RSP command set, as pynetdicom would encode it for a handler returning ``status``."""
    return encode_command((
        (AFFECTED_SOP_CLASS_UID, _ui(sop_class_uid)),
        (COMMAND_FIELD, struct.pack("<H", C_STORE_RSP)),
        (MESSAGE_ID_BEING_RESPONDED_TO, struct.pack("<H", message_id)),
        (COMMAND_DATA_SET_TYPE, struct.pack("<H", NO_DATA_SET)),
        (STATUS, struct.pack("<H", status)),
        (AFFECTED_SOP_INSTANCE_UID, _ui(sop_instance_uid)),
    ))


def p_data_pdus(context_id: int, payload: bytes, *, command: bool, max_pdu: int) -> bytes:
    """``payload`` as P-DATA-TF PDUs of one PDV each, none longer than the peer's ``max_pdu``
    (0: no limit), the last fragment marked last (PS3.8 9.3.5, E.2)."""
    room = len(payload) if max_pdu <= 0 else max(max_pdu - 6, 1)  # a PDU's variable field holds a PDV header too
    flag = 0x01 if command else 0x00
    chunks = [payload[i : i + room] for i in range(0, len(payload), room)] or [b""]
    out = []
    for n, chunk in enumerate(chunks):
        control = flag | (0x02 if n == len(chunks) - 1 else 0x00)
        out.append(PDU_HEADER.pack(P_DATA_TF, len(chunk) + 6) + PDV_HEADER.pack(len(chunk) + 2, context_id, control))
        out.append(chunk)
    return b"".join(out)


# --- pynetdicom's codec for the messages off the hot path ------------------------------------------------


def encode_message(msg: messages.C_GET_RQ | messages.C_FIND_RQ | messages.C_CANCEL_RQ, context_id: int,
                   max_pdu: int) -> bytes:
    out = []
    for primitive in msg.encode_msg(context_id, max_pdu):
        pdu = P_DATA_TF_PDU()
        pdu.from_primitive(primitive)
        out.append(pdu.encode())
    return b"".join(out)


def get_request(identifier: Dataset, model_uid: str, message_id: int, context_id: int, syntax: str,
                 max_pdu: int) -> bytes:
    """The C-GET-RQ as pynetdicom's ``send_c_get`` encodes it (Priority low, as it does)."""
    return _request(C_GET(), messages.C_GET_RQ(), identifier, model_uid, message_id, context_id, syntax, max_pdu)


def find_request(identifier: Dataset, model_uid: str, message_id: int, context_id: int, syntax: str,
                 max_pdu: int) -> bytes:
    """The C-FIND-RQ as pynetdicom's ``send_c_find`` encodes it (Priority low, as it does)."""
    return _request(C_FIND(), messages.C_FIND_RQ(), identifier, model_uid, message_id, context_id, syntax, max_pdu)


def _request(req: C_GET | C_FIND, msg: messages.C_GET_RQ | messages.C_FIND_RQ, identifier: Dataset, model_uid: str,
             message_id: int, context_id: int, syntax: str, max_pdu: int) -> bytes:
    from pydicom.uid import UID

    ts = UID(syntax)
    encoded = encode(identifier, ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated)
    if encoded is None:
        raise ValueError("Failed to encode the supplied Identifier dataset")
    req.MessageID = message_id
    req.AffectedSOPClassUID = model_uid
    req.Priority = 2
    req.Identifier = BytesIO(encoded)
    msg.primitive_to_message(req)
    return encode_message(msg, context_id, max_pdu)


def final_response(fields: dict[int, bytes], identifier: bytes, syntax: str) -> tuple[Dataset, Dataset | None]:
    """The final C-GET-RSP as pynetdicom's ``send_c_get`` yields it: (status, identifier)."""
    from pydicom.uid import UID

    command = decode(BytesIO(encode_command(fields.items())), True, True)
    msg = messages.C_GET_RSP()
    msg.command_set = command
    msg.data_set = BytesIO(identifier)
    rsp = msg.message_to_primitive()
    if not isinstance(rsp, C_GET) or not rsp.is_valid_response:
        raise WireError("a C-GET-RSP that pynetdicom finds invalid (a required element is missing)")
    status = Dataset()
    status.Status = rsp.Status
    for keyword in rsp.STATUS_OPTIONAL_KEYWORDS:
        if getattr(rsp, keyword) is not None:
            setattr(status, keyword, getattr(rsp, keyword))
    ident = None
    if identifier:
        ts = UID(syntax)
        try:
            ident = decode(BytesIO(identifier), ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated)
        except Exception as exc:  # as pynetdicom: the status stands without it
            log.error("Failed to decode the received Identifier dataset: %s", exc)
    return status, ident
