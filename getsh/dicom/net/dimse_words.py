"""DIMSE messages and the A-ASSOCIATE exchange in words, for ``trace`` (net/trace.py).

A message is first reduced to its facts (``Dimse``): from pynetdicom's decoded message on its own
path (``of_message``), or from the command set's bytes on getsh's direct path (which builds a
``Dimse`` itself, retrieve/receive/traced.py), so both paths give the same line. ``words`` then
says it as one line: message ID, SOP class and instance by name, context, transfer syntax, size,
status in words, sub-operation counts. The A-ASSOCIATE-RQ we sent and the peer's A-ASSOCIATE-AC
(pynetdicom's PDU objects) become a ``TracedAssociation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydicom import Dataset

from getsh.dicom.net.failures import REJECT_REASONS, REJECT_RESULTS, REJECT_SOURCES, PeerAbort
from getsh.dicom.net.presentation import FIND_MODELS, GET_MODELS
from getsh.dicom.net.syntaxes import DEFLATED, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT, uid_name
from getsh.dicom.net.trace_items import TracedAssociation, TracedContext
from getsh.dicom.status import decode

SERVICES = {"C-GET": "get", "C-FIND": "find", "C-STORE": "store", "C-ECHO": "echo", "C-MOVE": "get"}
REQUESTS = frozenset({"C-GET-RQ", "C-FIND-RQ", "C-MOVE-RQ", "C-ECHO-RQ"})  # ours: a new exchange begins
_MODELS = {**{uid: f"{name} root" for name, uid in GET_MODELS.items() if name != "psonly"},
           **{uid: f"{name} root" for name, uid in FIND_MODELS.items() if name != "psonly"},
           GET_MODELS["psonly"]: "patient/study only", FIND_MODELS["psonly"]: "patient/study only"}
_SYNTAXES = {EXPLICIT_LE: "Explicit VR LE", IMPLICIT: "Implicit VR LE", EXPLICIT_BE: "Explicit VR BE",
             DEFLATED: "Deflated Explicit VR LE"}
_CONTEXT_RESULTS = {1: "user rejection", 2: "no reason (provider rejection)", 3: "abstract syntax not supported",
                    4: "transfer syntaxes not supported"}


@dataclass(frozen=True)
class Dimse:
    """What a trace line says about one DIMSE message."""

    name: str  # C-STORE-RQ, C-GET-RSP …
    message_id: int | None = None  # the Message ID of a request, the one responded to for a response
    context_id: int | None = None
    sop_class: str = ""
    sop_instance: str = ""
    status: int | None = None
    counts: tuple[int | None, ...] = ()  # remaining, completed, failed, warning (as present)
    syntax: str = ""  # the data set's transfer syntax (C-STORE-RQ)
    size: int | None = None  # the data set's bytes
    keys: tuple[tuple[str, str], ...] = ()  # a request's identifier
    comment: str = ""  # Error Comment
    destination: str = ""  # Move Destination

    @property
    def service(self) -> str:
        return SERVICES.get(self.name.rsplit("-", 1)[0], "echo")

    @property
    def category(self) -> str:
        return decode(self.status, self.service).category if self.status is not None else ""


def size_words(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n:.1f} GB"


def syntax_words(uid: str) -> str:
    return _SYNTAXES.get(uid) or uid_name(uid) if uid else "?"


def model_words(uid: str) -> str:
    return _MODELS.get(uid) or uid_name(uid)


def class_words(uid: str) -> str:
    return uid_name(uid) if uid else "(no SOP class)"


def status_words(code: int, service: str) -> str:
    status = decode(code, service)
    if status.category in ("Success", "Pending"):
        return status.category
    return f"{status.category} 0x{code:04X}" + (f": {status.words}" if status.words else "")


_COUNT_NAMES = ("remaining", "completed", "failed", "warning")


def words(d: Dimse) -> str:
    """The line's text after its message name."""
    number = f"#{d.message_id}" if d.message_id is not None else "#?"
    context = f"ctx {d.context_id}" if d.context_id is not None else "ctx ?"
    if d.name == "C-STORE-RQ":
        size = f", {size_words(d.size)}" if d.size is not None else ""
        return f"{number} {class_words(d.sop_class)} {d.sop_instance} ({context}, {syntax_words(d.syntax)}{size})"
    if d.name in ("C-GET-RQ", "C-FIND-RQ", "C-MOVE-RQ"):
        level = dict(d.keys).get("QueryRetrieveLevel", "")
        keys = " ".join(f"{k}={v}" if v else k for k, v in d.keys if k != "QueryRetrieveLevel")
        where = f" to {d.destination}" if d.destination else ""
        return f"{number} {model_words(d.sop_class)}, {level or 'no level'} {keys or '(no keys)'}{where} ({context})"
    if d.name == "C-CANCEL-RQ":
        return f"for {number} ({context})"
    if d.name.endswith("-RQ"):
        return f"{number} ({context})"
    status = status_words(d.status, d.service) if d.status is not None else "(no status)"
    text = f"{number} {status}"
    counts = " ".join(f"{name} {n}" for name, n in zip(_COUNT_NAMES, d.counts, strict=False) if n is not None)
    if counts:
        text += f"{';' if ':' in status else ''} {counts}"
    if d.size:
        text += f" ({size_words(d.size)} identifier)"
    return text + (f", comment: {d.comment}" if d.comment else "")


# --- pynetdicom's own path -----------------------------------------------------------------------


def _data_size(msg: Any) -> int | None:
    """The bytes of a message's data set as pynetdicom holds it (memory, or its spool file)."""
    spool = getattr(msg, "_data_set_file", None)
    if spool is not None:  # chunked receive: File Meta, then the data set (spool.py)
        end = spool.tell()
        with open(spool.name, "rb") as head:
            head.seek(132)
            group = head.read(12)
        return end - 144 - (int.from_bytes(group[8:12], "little") if len(group) == 12 else 0)
    data = getattr(msg, "data_set", None)
    if data is None:
        return None
    with data.getbuffer() as view:
        return view.nbytes or None


def keys_of(identifier: Dataset) -> tuple[tuple[str, str], ...]:
    """An identifier's keys as (keyword, value), the level first."""
    keys = [(e.keyword or str(e.tag), "" if e.value is None else str(e.value)) for e in identifier]
    return tuple(sorted(keys, key=lambda kv: kv[0] != "QueryRetrieveLevel"))


def _syntax(assoc: Any, context_id: int | None) -> str:
    for cx in assoc.accepted_contexts:
        if cx.context_id == context_id:
            return str(cx.transfer_syntax[0])
    return ""


def of_message(msg: Any, assoc: Any) -> Dimse:
    """A pynetdicom DIMSE message (EVT_DIMSE_SENT / EVT_DIMSE_RECV) as ``Dimse``."""
    cs: Dataset = msg.command_set
    name = type(msg).__name__.replace("_", "-")
    responded = cs.get("MessageIDBeingRespondedTo")
    message_id = cs.get("MessageID") if responded is None else responded
    context_id = msg.context_id
    syntax = _syntax(assoc, context_id)
    size = _data_size(msg) if cs.get("CommandDataSetType", 0x0101) != 0x0101 else None
    keys: tuple[tuple[str, str], ...] = ()
    if name in REQUESTS and size:
        from pynetdicom.dsutils import decode as decode_dataset

        from getsh.dicom.net.syntaxes import syntax_encoding

        implicit, little, deflated = syntax_encoding(syntax or EXPLICIT_LE)
        keys, size = keys_of(decode_dataset(msg.data_set, implicit, little, deflated)), None
    counts = tuple(cs.get(f"NumberOf{n.title()}Suboperations") for n in _COUNT_NAMES) if "-RSP" in name else ()
    return Dimse(name, None if message_id is None else int(message_id), context_id,
                 str(cs.get("AffectedSOPClassUID") or ""), str(cs.get("AffectedSOPInstanceUID") or ""),
                 None if cs.get("Status") is None else int(cs.Status), counts if any(c is not None for c in counts)
                 else (), syntax if name == "C-STORE-RQ" else "", size, keys, str(cs.get("ErrorComment") or ""),
                 str(cs.get("MoveDestination") or ""))


# --- the association -----------------------------------------------------------------------------


def rejection_words(pdu: Any) -> str:
    """An A-ASSOCIATE-RJ PDU in words (failures.py's)."""
    result, source, reason = int(pdu.result or 0), int(pdu.source or 0), int(pdu.reason_diagnostic or 0)
    why = REJECT_REASONS.get((source, reason), f"reason {reason}")
    return (f"rejected {REJECT_RESULTS.get(result, f'(result {result})')} by "
            f"{REJECT_SOURCES.get(source, f'source {source}')}: {why}")


def abort_words(pdu: Any, ours: bool) -> str:
    if ours:
        return "sent by getsh" + (" (its DICOM provider)" if pdu.source == 2 else "")
    words = PeerAbort.of(pdu)
    return words.words if words is not None else ""


def request_words(pdu: Any) -> str:
    """Our A-ASSOCIATE-RQ: AE titles, contexts, roles asked for, our maximum PDU and implementation."""
    info = pdu.user_information
    roles = len(info.role_selection) if info is not None else 0
    titles = f"{str(pdu.calling_ae_title).strip()} → {str(pdu.called_ae_title).strip()}"
    return (f"{titles}: {len(pdu.presentation_context)} presentation contexts"
            f"{f', SCP role asked for {roles} classes' if roles else ''}, max PDU "
            f"{(info.maximum_length if info is not None else 0) or 'unlimited'}")


def _roles(asked: Any, answered: Any, *, accepted: bool) -> str:
    if asked is None:
        return ""
    wanted = "+".join(r for r, on in (("SCU", asked.scu_role), ("SCP", asked.scp_role)) if on) or "none"
    if not accepted:
        return f"{wanted} asked"
    if answered is None:
        return f"{wanted} asked, not answered (SCU only)"
    got = "+".join(r for r, on in (("SCU", answered.scu_role), ("SCP", answered.scp_role)) if on) or "none"
    return f"{wanted} asked, {got} accepted"


def association_of(request: Any, answer: Any) -> TracedAssociation:
    """Our A-ASSOCIATE-RQ PDU and the peer's A-ASSOCIATE-AC PDU, as a table."""
    ours, theirs = request.user_information, answer.user_information
    asked_roles = ours.role_selection if ours is not None else {}
    answered_roles = theirs.role_selection if theirs is not None else {}
    results = {item.context_id: item for item in answer.presentation_context}
    contexts: list[TracedContext] = []
    for item in request.presentation_context:
        abstract = str(item.abstract_syntax or "")
        got = results.get(item.context_id)
        reason = int(got.result_reason) if got is not None else -1
        answer_words = "accepted" if reason == 0 else _CONTEXT_RESULTS.get(reason, "no answer")
        syntax = syntax_words(str(got.transfer_syntax)) if got is not None and reason == 0 else ""
        contexts.append(TracedContext(int(item.context_id or 0), class_words(abstract),
                                      tuple(syntax_words(str(ts)) for ts in item.transfer_syntax), answer_words,
                                      syntax, _roles(asked_roles.get(abstract), answered_roles.get(abstract),
                                                     accepted=reason == 0)))
    return TracedAssociation(
        calling_ae=str(answer.calling_ae_title).strip(), called_ae=str(answer.called_ae_title).strip(),
        contexts=tuple(contexts),
        our_max_pdu=int((ours.maximum_length if ours is not None else 0) or 0),
        peer_max_pdu=int((theirs.maximum_length if theirs is not None else 0) or 0),
        our_implementation=_implementation(ours),
        peer_implementation_uid=str((theirs.implementation_class_uid if theirs is not None else "") or ""),
        peer_version=str((theirs.implementation_version_name if theirs is not None else "") or ""),
    )


def _implementation(info: Any) -> str:
    if info is None:
        return ""
    return " ".join(str(v) for v in (info.implementation_class_uid, info.implementation_version_name) if v)
