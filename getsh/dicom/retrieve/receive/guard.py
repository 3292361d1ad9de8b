"""pynetdicom's receive path: which DIMSE messages belong to the running C-GET.

pynetdicom's ``send_c_get`` takes any C-GET-RSP as the answer to the request and serves any C-STORE
that comes, even after the final response. The direct path refuses both (direct_get.py); this
gives pynetdicom's path the same rule, with the same words (``wire.not_ours``): bound to
EVT_DIMSE_RECV, it sees each message on pynetdicom's DUL thread before the message is queued, and
aborts the association (net/pdu_bounds.abort_for) on the first that is not this request's.
"""

from __future__ import annotations

from typing import Any

from getsh.dicom.events import Notice
from getsh.dicom.net.pdu_bounds import abort_for, diagnosis
from getsh.dicom.retrieve.receive import wire
from getsh.dicom.retrieve.result import Ending


class RequestGuard:
    """Watches the messages of one C-GET (``message_id`` of ``model_uid``) on ``assoc``; what it finds
    goes to ``ending.invalid``."""

    def __init__(self, assoc: Any, message_id: int, model_uid: str, ending: Ending) -> None:
        self.assoc = assoc
        self.message_id = message_id
        self.model_uid = model_uid
        self.ending = ending
        self.answered = False  # the final response arrived: nothing more belongs to the request

    def on_dimse(self, event: Any) -> None:
        """EVT_DIMSE_RECV handler (pynetdicom's DUL thread)."""
        message = event.message
        why = "" if self.ending.invalid else wire.not_ours(self.assoc, message, self.message_id, self.model_uid,
                                                            self.answered)
        if why:
            self.ending.invalid = why
            abort_for(self.assoc, why)
        self.answered = self.answered or wire.is_final(message)

    @property
    def deliverable(self) -> bool:
        """Responses still count: none came that belongs to another request (the final one stands
        even when something came after it)."""
        return self.ending.invalid in ("", wire.AFTER_FINAL)

    def conclude(self) -> Notice | None:
        """After ``send_c_get`` ended: what made the association abort, noted; a Notice when the final
        response stands but the association was aborted after it."""
        self.ending.invalid = self.ending.invalid or diagnosis(self.assoc)  # a PDU pdu_bounds refused
        return out_of_step(wire.AFTER_FINAL) if self.ending.invalid == wire.AFTER_FINAL else None


def out_of_step(why: str) -> Notice:
    """The line shown when the final response came but the association could not be kept."""
    return Notice(f"the peer sent {why}: the association was aborted — the next command re-associates")
