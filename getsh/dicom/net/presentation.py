"""Presentation-context planning: what we propose, with which transfer syntaxes and roles.

An association carries at most 128 presentation contexts. We spend them on Verification,
the C-GET (and C-FIND) context of the chosen information model, the C-MOVE context when a
retrieve may use C-MOVE (``move``), and the storage classes we accept as SCP for the C-STORE
sub-operations of a C-GET (none when only C-MOVE is wanted: its objects come on another association).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pydicom.uid import UID
from pynetdicom import StoragePresentationContexts, sop_class

from getsh.dicom.net.syntaxes import PREFER, PROPOSE

MAX_CONTEXTS = 128
SERVICE_CONTEXTS = 3  # Verification, and the C-GET and C-FIND contexts of the model

VERIFICATION = str(sop_class.Verification)

GET_MODELS: dict[str, str] = {
    "patient": str(sop_class.PatientRootQueryRetrieveInformationModelGet),
    "study": str(sop_class.StudyRootQueryRetrieveInformationModelGet),
    "psonly": str(sop_class.PatientStudyOnlyQueryRetrieveInformationModelGet),
}

MOVE_MODELS: dict[str, str] = {
    "patient": str(sop_class.PatientRootQueryRetrieveInformationModelMove),
    "study": str(sop_class.StudyRootQueryRetrieveInformationModelMove),
    "psonly": str(sop_class.PatientStudyOnlyQueryRetrieveInformationModelMove),
}

FIND_MODELS: dict[str, str] = {
    "patient": str(sop_class.PatientRootQueryRetrieveInformationModelFind),
    "study": str(sop_class.StudyRootQueryRetrieveInformationModelFind),
    "psonly": str(sop_class.PatientStudyOnlyQueryRetrieveInformationModelFind),
}

# pynetdicom's default storage list: the common storage classes, sized to leave room for others.
DEFAULT_STORAGE_CLASSES: tuple[str, ...] = tuple(str(cx.abstract_syntax) for cx in StoragePresentationContexts)

# The image classes most archives hold, most common first: they get a context of their own for a
# preferred transfer syntax when the budget cannot give one to every class.
COMMON_IMAGE_CLASSES: tuple[str, ...] = tuple(str(getattr(sop_class, name)) for name in (
    "CTImageStorage", "MRImageStorage", "ComputedRadiographyImageStorage", "DigitalXRayImageStorageForPresentation",
    "SecondaryCaptureImageStorage", "UltrasoundImageStorage", "UltrasoundMultiFrameImageStorage",
    "DigitalMammographyXRayImageStorageForPresentation", "PositronEmissionTomographyImageStorage",
    "NuclearMedicineImageStorage", "XRayAngiographicImageStorage", "XRayRadiofluoroscopicImageStorage",
    "EnhancedCTImageStorage", "EnhancedMRImageStorage", "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleByteSecondaryCaptureImageStorage", "MultiFrameTrueColorSecondaryCaptureImageStorage",
    "DigitalXRayImageStorageForProcessing", "RTImageStorage", "RTDoseStorage", "BreastTomosynthesisImageStorage",
    "EnhancedPETImageStorage", "XRay3DAngiographicImageStorage", "SegmentationStorage",
    "VLPhotographicImageStorage",
))

# Preferences whose first transfer syntax is what peers pick anyway: one context per class will do.
_PEERS_PICK_IT = ("uncompr", "little", "implicit")


@dataclass(frozen=True)
class PlannedContext:
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]
    scp_role: bool = False  # True: we act as SCP, for C-STORE sub-operations of a C-GET


@dataclass(frozen=True)
class ContextPlan:
    contexts: tuple[PlannedContext, ...]
    dropped: tuple[str, ...] = ()  # storage classes that did not fit in the 128-context budget

    def __len__(self) -> int:
        return len(self.contexts)

    @property
    def storage_classes(self) -> list[str]:
        return [cx.abstract_syntax for cx in self.contexts if cx.scp_role]


def plan_contexts(
    model: str, propose: str, prefer: str, storage_classes: Sequence[str] = DEFAULT_STORAGE_CLASSES,
    move: bool = False,
) -> ContextPlan:
    """The contexts to propose for ``model`` with getscu's ``propose``/``prefer`` syntaxes.

    An acceptor picks the transfer syntax of a context by its own preference, and archives
    such as dcmqrscp send on the first context they accepted for a class. So when the
    preferred syntax is not one peers would pick anyway (big endian, RLE, JPEG …), it gets a
    context of its own ahead of the fallback one — for every class if the 128-context budget
    allows, else for the common image classes, with retired classes dropped to make room.
    Classes that still do not fit are dropped from the end. Cached: the toolbar asks every
    second what the settings would negotiate, and a get asks again. ``move``: the model's C-MOVE
    context too (one more service context; without storage classes, C-GET's context is left out).
    """
    return _plan(model, propose, prefer, tuple(storage_classes), move)


@lru_cache(maxsize=32)
def _plan(model: str, propose: str, prefer: str, storage_classes: tuple[str, ...], move: bool) -> ContextPlan:
    outgoing = PROPOSE[propose]
    service = [PlannedContext(VERIFICATION, outgoing)]
    if storage_classes or not move:
        service.append(PlannedContext(GET_MODELS[model], outgoing))
    service.append(PlannedContext(FIND_MODELS[model], outgoing))
    if move:
        service.append(PlannedContext(MOVE_MODELS[model], outgoing))
    room = MAX_CONTEXTS - len(service)
    incoming = PREFER[prefer]
    classes = list(dict.fromkeys(storage_classes))
    if prefer in _PEERS_PICK_IT or len(incoming) == 1:
        storage = [PlannedContext(uid, incoming, scp_role=True) for uid in classes[:room]]
        return ContextPlan(tuple(service + storage), tuple(classes[room:]))
    wanted = classes
    if len(classes) * 2 > room:  # retired classes make room for the preferred syntax's own contexts
        classes = [uid for uid in classes if not UID(uid).is_retired]
    order = {uid: n for n, uid in enumerate(COMMON_IMAGE_CLASSES)}
    by_use = sorted(classes, key=lambda uid: order.get(uid, len(order)))
    own = set(by_use[: max(0, room - len(classes))]) if len(classes) * 2 > room else set(classes)
    storage = []
    for uid in classes:
        if uid in own:
            storage.append(PlannedContext(uid, incoming[:1], scp_role=True))
            storage.append(PlannedContext(uid, incoming[1:], scp_role=True))
        else:
            storage.append(PlannedContext(uid, incoming, scp_role=True))
    kept = service + storage[:room]
    proposed = {cx.abstract_syntax for cx in kept}
    return ContextPlan(tuple(kept), tuple(uid for uid in wanted if uid not in proposed))
