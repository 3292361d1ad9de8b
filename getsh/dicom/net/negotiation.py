"""Advice from what was negotiated: why objects of a storage class did not arrive, a ``prefer`` the
peer did not honour, and the storage classes that did not fit in the 128 presentation contexts.

Every sentence is built from facts: the association's presentation contexts (``events.ContextInfo``:
what we proposed for each class, what the peer accepted or rejected and why), the classes of the
objects that arrived, and the classes of those that failed where something says (``accept auto``'s
C-FIND, the identifier's SOPClassUID). A transfer syntax is suggested only when the negotiation
leaves room for it: never one the peer already rejected, never when it accepted the class and failed
the objects anyway (its own reasons: a file it lost, for one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.uid import UID

from getsh.dicom.events import ContextInfo, Received
from getsh.dicom.net.presentation import FIND_MODELS, GET_MODELS, MOVE_MODELS, VERIFICATION
from getsh.dicom.net.syntaxes import EXPLICIT_BE, EXPLICIT_LE, IMPLICIT, PREFER, syntax_name, uid_name

NAMED = 3  # classes named in a sentence; the rest counted
UNCOMPRESSED = (EXPLICIT_LE, EXPLICIT_BE, IMPLICIT)
_SERVICES = frozenset({VERIFICATION, *GET_MODELS.values(), *FIND_MODELS.values(), *MOVE_MODELS.values()})
# Preferences whose first syntax any peer may pick among others: not "ignored" when it picks another.
_NO_FIRST_CHOICE = ("uncompr", "little", "implicit")
OWN_REASONS = "the peer's own reasons, not the negotiation: its log says why (a file missing or unreadable, for one)"


@dataclass(frozen=True)
class ClassTerms:
    """What became of one storage class's presentation contexts."""

    sop_class: str
    accepted: tuple[str, ...]  # the transfer syntax of each accepted context, in the order proposed
    rejected: tuple[tuple[str, tuple[str, ...]], ...]  # (the peer's reason, the syntaxes proposed) of each other
    offered: tuple[str, ...] = ()  # every syntax proposed in its accepted contexts too, where known

    @property
    def name(self) -> str:
        return class_name(self.sop_class)

    @property
    def proposed(self) -> tuple[str, ...]:
        """Every transfer syntax proposed for the class, once each."""
        syntaxes = [*self.accepted, *self.offered, *(ts for _, group in self.rejected for ts in group)]
        return tuple(dict.fromkeys(syntaxes))


def class_name(uid: str) -> str:
    """The class's name; a retired one says so (the retired Ultrasound Image Storage is not today's)."""
    return f"{uid_name(uid)} (retired)" if retired(uid) else uid_name(uid)


def retired(uid: str) -> bool:
    return bool(UID(uid).is_retired)


def storage_terms(contexts: Sequence[ContextInfo]) -> dict[str, ClassTerms]:
    """The storage classes proposed (every context but Verification and the Q/R models), in order."""
    accepted: dict[str, list[str]] = {}
    rejected: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    offered: dict[str, list[str]] = {}
    for cx in contexts:
        if cx.abstract_syntax in _SERVICES:
            continue
        accepted.setdefault(cx.abstract_syntax, [])
        rejected.setdefault(cx.abstract_syntax, [])
        offered.setdefault(cx.abstract_syntax, []).extend(cx.offered)
        if cx.accepted:
            accepted[cx.abstract_syntax].extend(cx.transfer_syntaxes[:1])
        else:
            rejected[cx.abstract_syntax].append((cx.result, cx.transfer_syntaxes))
    return {uid: ClassTerms(uid, tuple(accepted[uid]), tuple(rejected[uid]), tuple(dict.fromkeys(offered[uid])))
            for uid in accepted}


def names(items: Sequence[str], noun: str = "") -> str:
    """The first few, then how many more: ``A, B, C and 4 more``."""
    shown = ", ".join(items[:NAMED])
    rest = len(items) - NAMED
    return f"{shown} and {rest} more{' ' + noun if noun else ''}" if rest > 0 else shown


def syntaxes(uids: Sequence[str]) -> str:
    """``JPEG Lossless only`` or ``RLE Lossless, Explicit VR Little Endian, …``."""
    words = [syntax_name(uid) for uid in uids]
    return f"{words[0]} only" if len(words) == 1 else names(words)


def prefer_for(syntax: str) -> str:
    """The ``prefer`` choice that asks for ``syntax`` first."""
    if syntax in UNCOMPRESSED:
        return "uncompr"
    return next((name for name, order in PREFER.items() if order[0] == syntax), "")


def _reasons(terms: ClassTerms) -> str:
    return ", ".join(dict.fromkeys(reason for reason, _ in terms.rejected))


def _rejected_context(terms: ClassTerms) -> str:
    """``; it rejected our RLE Lossless only context (transfer syntaxes not supported)``, or ''."""
    if not terms.rejected:
        return ""
    parts = [f"our {syntaxes(group)} context ({reason})" for reason, group in terms.rejected]
    return f"; it rejected {names(parts)}"


def _elsewhere(terms: ClassTerms, all_terms: dict[str, ClassTerms]) -> str:
    """A fix from what the peer accepted for other classes, for a class whose contexts it all rejected."""
    for other in all_terms.values():
        for syntax in other.accepted:
            choice = prefer_for(syntax)
            if syntax not in terms.proposed and choice:
                return f" → prefer {choice} (the peer accepted {syntax_name(syntax)} for {other.name})"
    if any("abstract syntax" in reason for reason, _ in terms.rejected) or not terms.rejected:
        return " → no transfer syntax changes that: the peer will not send this class to getsh (its configuration)"
    return " → the peer accepted none of the syntaxes proposed: its log says which it would"


def class_advice(uid: str, all_terms: dict[str, ClassTerms], dropped: Sequence[str] = ()) -> str:
    """Why objects of one storage class could not arrive, from what was negotiated for it."""
    terms = all_terms.get(uid)
    name = class_name(uid)
    if terms is None:
        if uid in dropped:
            return (f"{name}: not proposed, it did not fit in the 128 presentation contexts → accept fewer classes "
                    "(accept auto, accept CT MR …), or accept all to split the get over associations")
        return f"{name}: not proposed (not in the accept list) → accept it (accept auto asks the peer which classes)"
    if not terms.accepted:
        whole = "that context" if len(terms.rejected) == 1 else "every context"
        return (f"{name}: we proposed {syntaxes(terms.proposed)}; the peer rejected {whole} ({_reasons(terms)})"
                f"{_elsewhere(terms, all_terms)}")
    accepted = f"{name}: the peer accepted {syntax_name(terms.accepted[0])}{_rejected_context(terms)}"
    if set(terms.proposed) <= set(UNCOMPRESSED):  # e.g. prefer implicit: an archive storing it compressed can't send it
        return (f"{accepted}, and we proposed no compressed syntax for it: if the peer holds these objects "
                "compressed and cannot convert them, it cannot send them → prefer their syntax (prefer rle, "
                f"prefer lossless, …: getsh proposes it beside the uncompressed ones); else {OWN_REASONS}")
    return f"{accepted} — {OWN_REASONS}"


def failure_advice(contexts: Sequence[ContextInfo], received: Sequence[Received],
                   failed_classes: Sequence[str] | None, dropped: Sequence[str] = ()) -> str:
    """Why a retrieve's sub-operations failed, from the negotiation. ``failed_classes``: the classes of
    the objects that did not arrive, where something says (None: nothing does)."""
    terms = storage_terms(contexts)
    if failed_classes:
        lines = [class_advice(uid, terms, dropped) for uid in failed_classes[:NAMED]]
        more = len(failed_classes) - NAMED
        return "; ".join(lines) + (f"; and {more} more classes" if more > 0 else "")
    arrived = list(dict.fromkeys(r.sop_class_uid for r in received))
    refused = [t.name for t in terms.values() if not t.accepted]
    parts = []
    if arrived:  # the peer could send these classes in what it accepted
        got = names([f"{class_name(uid)} in {syntax_name(_arrived_in(uid, received))}" for uid in arrived])
        parts.append(f"objects of the same classes arrived ({got}): if the failed ones are of these, {OWN_REASONS}; "
                     "else they are of a class we did not propose (accept auto asks the peer which)")
    else:
        parts.append(_nothing_arrived(terms))
    if refused:
        parts.append(f"the peer rejected {len(refused)} storage classes we proposed ({names(refused)}): objects "
                     "of those cannot arrive on this association (status lists them)")
    if dropped:
        parts.append(f"{len(dropped)} classes did not fit in the 128 presentation contexts "
                     f"({names([class_name(uid) for uid in dropped])})")
    return "; ".join(parts)


def _arrived_in(uid: str, received: Sequence[Received]) -> str:
    return next(r.transfer_syntax for r in received if r.sop_class_uid == uid)


def _nothing_arrived(terms: dict[str, ClassTerms]) -> str:
    """Nothing arrived and nothing says the failed objects' classes: what the negotiation allows us to say."""
    accepted = {ts for t in terms.values() for ts in t.accepted}
    turned_down = {ts for t in terms.values() for _, group in t.rejected for ts in group if ts not in accepted}
    unknown = "the peer does not say the failed objects' classes"
    if not accepted:
        return f"{unknown}, and it accepted no storage class we proposed (see: status)"
    got = syntaxes(sorted(accepted, key=lambda ts: (ts not in UNCOMPRESSED, ts)))
    if accepted <= set(UNCOMPRESSED) and not (turned_down - set(UNCOMPRESSED)):
        return (f"{unknown}; it accepted the storage classes proposed in {got}: if it holds the objects compressed "
                "and cannot convert them, prefer their syntax (prefer rle, prefer lossless, …); else "
                f"{OWN_REASONS}, or they are of a class we did not propose (accept auto asks which)")
    if turned_down:
        return (f"{unknown}; it rejected our {syntaxes(sorted(turned_down))} contexts and accepted {got}: if it holds "
                f"them in a syntax it rejected, it cannot send them to getsh; else {OWN_REASONS}")
    return f"{unknown}; it accepted {got}: {OWN_REASONS}, or they are of a class we did not propose"


def ignored_preference(prefer: str, contexts: Sequence[ContextInfo], received: Sequence[Received]) -> str:
    """``prefer rle was not honoured: …`` when objects of a class for which we asked the preferred syntax in
    a context of its own arrived in another ('' if none did)."""
    order = PREFER.get(prefer)
    if not order or prefer in _NO_FIRST_CHOICE:
        return ""
    wanted = order[0]
    # a context for the preferred syntax alone: accepted in it, or rejected with only it proposed
    asked = {cx.abstract_syntax: cx for cx in contexts
             if cx.abstract_syntax not in _SERVICES and cx.transfer_syntaxes == (wanted,)}
    other = Counter((r.sop_class_uid, r.transfer_syntax) for r in received
                    if r.transfer_syntax != wanted and r.sop_class_uid in asked)
    told = []
    for (uid, syntax), count in other.items():
        cx = asked[uid]
        how = (f"the peer rejected our {syntax_name(wanted)} context for it: {cx.result}" if not cx.accepted
               else f"the peer accepted {syntax_name(wanted)} for it and sent another")
        told.append(f"{count} {class_name(uid)} objects arrived in {syntax_name(syntax)} ({how})")
    if not told:
        return ""
    more = f"; and {len(told) - NAMED} more classes" if len(told) > NAMED else ""
    return f"prefer {prefer} was not honoured: " + "; ".join(told[:NAMED]) + more


def dropped_advice(dropped: Sequence[str], prefer: str, split: bool) -> str:
    """The storage classes that did not fit in one association's 128 presentation contexts, and how to
    get them. ``split``: more classes are accepted than one association carries, so a get is split."""
    why = (f" (prefer {prefer} gives the common image classes a second context each)"
           if prefer and prefer not in _NO_FIRST_CHOICE else "")
    listed = names([class_name(uid) for uid in dropped])
    count = f"{len(dropped)} {'retired ' if all(retired(uid) for uid in dropped) else ''}"
    if split:
        return (f"{count}storage classes did not fit in this association's 128 presentation contexts{why}: "
                f"{listed}; a get is split over as many associations as the classes need, so they arrive on another")
    return (f"{count}storage classes did not fit in the 128 presentation contexts{why}: {listed}; objects "
            "of those classes cannot arrive — to get them: accept auto or accept CT MR … (fewer classes), or "
            "accept all (the get is then split over as many associations as the classes need)")
