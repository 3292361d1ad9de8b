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


@dataclass(frozen=True)
class Released:
    peer: str
    aborted: bool


@dataclass(frozen=True)
class Notice:
    """A line of information that is neither a result nor an error."""

    text: str


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
