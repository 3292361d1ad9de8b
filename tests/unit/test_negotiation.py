"""The advice net/negotiation.py builds from presentation contexts: each case as the association
reports it (events.ContextInfo), the words a user sees. Real peers show the same in
tests/interop/test_advice.py; these cover the branches no peer here produces on demand."""

from __future__ import annotations

from getsh.dicom.events import ContextInfo, Received
from getsh.dicom.net.negotiation import class_advice, failure_advice, ignored_preference, storage_terms

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
SR = "1.2.840.10008.5.1.4.1.1.88.11"
GET = "1.2.840.10008.5.1.4.1.2.2.3"
ELE = "1.2.840.10008.1.2.1"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"
RLE = "1.2.840.10008.1.2.5"
IMPLICIT = "1.2.840.10008.1.2"


def accepted(uid: str, syntax: str = ELE) -> ContextInfo:
    return ContextInfo(1, uid, "accepted", (syntax,), False, True)


def rejected(uid: str, reason: str, *syntaxes: str) -> ContextInfo:
    return ContextInfo(3, uid, reason, syntaxes, False, False)


def received(uid: str, syntax: str) -> Received:
    return Received(1, uid, "1.2.3", syntax, None, "ignored", 0)


def test_a_class_whose_contexts_were_all_rejected_is_told_what_the_peer_accepts_instead() -> None:
    contexts = [accepted(GET), rejected(CT, "abstract syntax not supported", JPEG_LOSSLESS), accepted(MR)]
    assert class_advice(CT, storage_terms(contexts)) == (
        "CT Image Storage: we proposed JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 "
        "[Selection Value 1]) only; the peer rejected that context (abstract syntax not supported) → prefer uncompr "
        "(the peer accepted Explicit VR Little Endian for MR Image Storage)")


def test_a_class_rejected_whatever_its_syntax_gets_no_prefer() -> None:
    contexts = [rejected(SR, "abstract syntax not supported", ELE), accepted(CT)]
    advice = class_advice(SR, storage_terms(contexts))
    assert advice.startswith("Basic Text SR Storage: we proposed Explicit VR Little Endian only; the peer rejected")
    assert advice.endswith("→ no transfer syntax changes that: the peer will not send this class to getsh "
                           "(its configuration)")


def test_a_class_the_peer_accepted_is_not_blamed_on_syntaxes() -> None:
    contexts = [rejected(CT, "abstract syntax not supported", RLE), accepted(CT)]
    advice = failure_advice(contexts, [], [CT])
    assert advice == ("CT Image Storage: the peer accepted Explicit VR Little Endian; it rejected our RLE Lossless "
                      "only context (abstract syntax not supported) — the peer's own reasons, not the negotiation: "
                      "its log says why (a file missing or unreadable, for one)")


def test_classes_not_proposed_say_whether_they_did_not_fit() -> None:
    terms = storage_terms([accepted(CT)])
    assert class_advice(MR, terms, dropped=[MR]).startswith(
        "MR Image Storage: not proposed, it did not fit in the 128 presentation contexts → accept fewer classes")
    assert class_advice(MR, terms).startswith("MR Image Storage: not proposed (not in the accept list)")


def test_a_preference_is_ignored_only_where_it_had_a_context_of_its_own() -> None:
    contexts = [rejected(CT, "transfer syntaxes not supported", RLE), accepted(CT), accepted(SR)]
    objects = [received(CT, ELE), received(CT, ELE), received(SR, ELE)]
    assert ignored_preference("rle", contexts, objects) == (
        "prefer rle was not honoured: 2 CT Image Storage objects arrived in Explicit VR Little Endian "
        "(the peer rejected our RLE Lossless context for it: transfer syntaxes not supported)")
    assert ignored_preference("uncompr", contexts, objects) == ""
    assert ignored_preference("rle", [accepted(CT, RLE)], [received(CT, RLE)]) == ""


def test_a_class_accepted_only_uncompressed_suggests_the_compressed_syntax_it_may_be_stored_in() -> None:
    """prefer implicit (or uncompr) against an archive holding RLE it cannot convert (dcmqrscp, the demo
    archive): the class was accepted, so the peer's log is not the only suspect."""
    advice = failure_advice([accepted(CT, IMPLICIT)], [], [CT])
    assert advice.startswith("CT Image Storage: the peer accepted Implicit VR Little Endian, and we proposed no "
                             "compressed syntax for it: if the peer holds these objects compressed and cannot "
                             "convert them, it cannot send them → prefer their syntax (prefer rle")
    assert advice.endswith("its log says why (a file missing or unreadable, for one)")


def test_a_compressed_syntax_proposed_in_the_accepted_context_is_not_forgotten() -> None:
    """prefer lossless when the budget is short: one context [JPEG Lossless, Explicit VR LE …], the peer
    picked Explicit VR LE — we did propose a compressed syntax, so no 'prefer' advice."""
    both = ContextInfo(5, CT, "accepted", (ELE,), False, True, (JPEG_LOSSLESS, ELE))
    advice = failure_advice([both], [], [CT])
    assert "we proposed no compressed syntax" not in advice and "the peer's own reasons" in advice
