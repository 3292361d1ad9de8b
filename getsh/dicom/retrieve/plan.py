"""Which storage classes each association of a retrieve proposes: all of them on one, or cut into
as many associations as the 128-context budget needs (``accept all`` names some 180 classes, and a
C-GET's objects can only come back on a context we proposed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from getsh.dicom.net.presentation import MAX_CONTEXTS, SERVICE_CONTEXTS, plan_contexts


@dataclass(frozen=True)
class ClassGroup:
    """The storage classes one association of a split retrieve proposes, and which one it is."""

    label: str  # "association 1 of 2": why this association's contexts differ from the settings'
    classes: tuple[str, ...]


def class_groups(classes: Sequence[str], model: str, propose: str, prefer: str) -> list[tuple[str, ...]]:
    """``classes`` cut into as many groups as the 128-context budget needs (one when they fit)."""
    remaining = tuple(classes)
    if len(remaining) <= MAX_CONTEXTS - SERVICE_CONTEXTS:
        # One context each fits. Classes the plan leaves out to give a preferred transfer syntax
        # contexts of its own (retired ones) are not worth a second association.
        return [remaining]
    groups: list[tuple[str, ...]] = []
    while remaining:
        plan = plan_contexts(model, propose, prefer, remaining)
        group = tuple(dict.fromkeys(plan.storage_classes))
        if not group:
            break
        groups.append(group)
        remaining = plan.dropped
    return groups
