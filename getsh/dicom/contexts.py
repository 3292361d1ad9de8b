"""Presentation-context planning: what we propose, with which transfer syntaxes and roles.

An association carries at most 128 presentation contexts. We spend them on Verification,
the C-GET (and C-FIND) context of the chosen information model, and the storage classes we
accept as SCP for the C-STORE sub-operations of a C-GET.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pynetdicom import StoragePresentationContexts, sop_class

from getsh.dicom.syntaxes import PREFER, PROPOSE

MAX_CONTEXTS = 128

VERIFICATION = str(sop_class.Verification)

GET_MODELS: dict[str, str] = {
    "patient": str(sop_class.PatientRootQueryRetrieveInformationModelGet),
    "study": str(sop_class.StudyRootQueryRetrieveInformationModelGet),
    "psonly": str(sop_class.PatientStudyOnlyQueryRetrieveInformationModelGet),
}

FIND_MODELS: dict[str, str] = {
    "patient": str(sop_class.PatientRootQueryRetrieveInformationModelFind),
    "study": str(sop_class.StudyRootQueryRetrieveInformationModelFind),
    "psonly": str(sop_class.PatientStudyOnlyQueryRetrieveInformationModelFind),
}

# pynetdicom's default storage list: the common storage classes, sized to leave room for others.
DEFAULT_STORAGE_CLASSES: tuple[str, ...] = tuple(str(cx.abstract_syntax) for cx in StoragePresentationContexts)


@dataclass(frozen=True)
class PlannedContext:
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]
    scp_role: bool = False  # True: we act as SCP, for C-STORE sub-operations of a C-GET


@dataclass(frozen=True)
class ContextPlan:
    contexts: tuple[PlannedContext, ...]

    def __len__(self) -> int:
        return len(self.contexts)

    @property
    def storage_classes(self) -> list[str]:
        return [cx.abstract_syntax for cx in self.contexts if cx.scp_role]


def plan_contexts(
    model: str, propose: str, prefer: str, storage_classes: Sequence[str] = DEFAULT_STORAGE_CLASSES
) -> ContextPlan:
    """The contexts to propose for ``model`` with getscu's ``propose``/``prefer`` syntaxes.

    Storage classes beyond the 128-context budget are dropped from the end; the caller
    decides the order, so what matters most goes first.
    """
    outgoing = PROPOSE[propose]
    service = [
        PlannedContext(VERIFICATION, outgoing),
        PlannedContext(GET_MODELS[model], outgoing),
        PlannedContext(FIND_MODELS[model], outgoing),
    ]
    room = MAX_CONTEXTS - len(service)
    incoming = PREFER[prefer]
    storage = [PlannedContext(uid, incoming, scp_role=True) for uid in dict.fromkeys(storage_classes)]
    return ContextPlan(tuple(service + storage[:room]))
