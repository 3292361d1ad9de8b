"""``trace``'s lines (net/trace.py, net/dimse_words.py, receive/traced.py) without a peer: both receive
paths say a message in the same words, long runs fold (``trace all`` does not), a failure breaks a run."""

from __future__ import annotations

from types import SimpleNamespace

from pydicom import Dataset
from pynetdicom.dimse_messages import C_GET_RSP, C_STORE_RSP
from pynetdicom.dimse_primitives import C_GET, C_STORE
from pynetdicom.dsutils import encode

from getsh.dicom.net.dimse_words import Dimse, of_message, words
from getsh.dicom.net.trace import Tracer
from getsh.dicom.retrieve.receive import traced, wire
from getsh.dicom.retrieve.receive.message import StoreRequest
from getsh.dicom.storage.outcomes import ObjectMeta

CT = "1.2.840.10008.5.1.4.1.1.2"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"
EXPLICIT = "1.2.840.10008.1.2.1"
NO_ASSOC = SimpleNamespace(accepted_contexts=[])


def fields_of(msg: C_GET_RSP | C_STORE_RSP) -> dict[int, bytes]:
    raw = encode(msg.command_set, True, True)
    assert raw is not None
    return wire.parse_command(raw)


def test_a_c_get_rsp_reads_the_same_on_both_paths() -> None:
    rsp = C_GET()
    rsp.MessageIDBeingRespondedTo, rsp.AffectedSOPClassUID, rsp.Status = 7, STUDY_GET, 0xA702
    rsp.NumberOfCompletedSuboperations, rsp.NumberOfFailedSuboperations = 3, 1
    rsp.NumberOfWarningSuboperations, rsp.ErrorComment = 0, "disk full\x1b[2J"
    msg = C_GET_RSP()
    msg.primitive_to_message(rsp)
    msg.context_id = 3
    theirs = of_message(msg, NO_ASSOC)
    ours = traced.get_response(fields_of(msg), b"", 3)
    assert words(theirs) == words(ours) == (
        "#7 Failure 0xA702: Refused: Out of resources, unable to perform sub-operations; completed 3 failed 1 "
        "warning 0, comment: disk full\x1b[2J")
    assert theirs.category == ours.category == "Failure"


def test_a_c_store_rsp_reads_the_same_on_both_paths() -> None:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo, rsp.AffectedSOPClassUID, rsp.AffectedSOPInstanceUID = 4, CT, "1.2.3.4"
    rsp.Status = 0x0000
    msg = C_STORE_RSP()
    msg.primitive_to_message(rsp)
    msg.context_id = 5
    store = StoreRequest(5, 4, ObjectMeta(CT, "1.2.3.4", EXPLICIT))
    assert words(of_message(msg, NO_ASSOC)) == words(traced.store_response(store, 0x0000)) == "#4 Success"
    assert words(traced.store_request(store, 524_288)) == \
        "#4 CT Image Storage 1.2.3.4 (ctx 5, Explicit VR LE, 524.3 KB)"


def run(tracer: Tracer, objects: int, failing: int | None = None) -> list[str]:
    identifier = Dataset()
    identifier.QueryRetrieveLevel, identifier.StudyInstanceUID = "STUDY", "1.2.3"
    tracer.dimse("→", traced.get_request(identifier, STUDY_GET, 7, 3))
    for n in range(1, objects + 1):
        store = StoreRequest(5, n, ObjectMeta(CT, f"1.2.3.{n}", EXPLICIT))
        tracer.dimse("←", traced.store_request(store, 1000))
        tracer.dimse("→", traced.store_response(store, 0xA700 if n == failing else 0))
        tracer.dimse("←", Dimse("C-GET-RSP", 7, 3, STUDY_GET, status=0xFF00, counts=(objects - n, n, 0, 0)))
    tracer.dimse("←", Dimse("C-GET-RSP", 7, 3, STUDY_GET, status=0, counts=(None, objects, 0, 0)))
    return [item.plain().rsplit("  (+", 1)[0] for item in tracer.drain(final=True)]  # type: ignore[union-attr]


def test_a_long_run_folds_after_three_and_trace_all_folds_nothing() -> None:
    tracer = Tracer()
    tracer.mode = "on"
    lines = run(tracer, 10)
    assert lines[0] == "→ C-GET-RQ #7 study root, STUDY StudyInstanceUID=1.2.3 (ctx 3)"
    assert lines[1:4] == ["← C-STORE-RQ #1 CT Image Storage 1.2.3.1 (ctx 5, Explicit VR LE, 1.0 KB)",
                          "→ C-STORE-RSP #1 Success",
                          "← C-GET-RSP #7 Pending remaining 9 completed 1 failed 0 warning 0"]
    assert len([line for line in lines if line.startswith("← C-STORE-RQ")]) == 3
    assert lines[-2:] == ["… 7 more C-STORE like these (7.0 KB), 7 more C-GET-RSP Pending",
                          "← C-GET-RSP #7 Success completed 10 failed 0 warning 0"]
    tracer.mode = "all"
    lines = run(tracer, 10)
    assert len([line for line in lines if line.startswith("← C-STORE-RQ")]) == 10
    assert not [line for line in lines if line.startswith("…")]


def test_what_is_not_like_the_run_is_shown_and_breaks_it() -> None:
    tracer = Tracer()
    tracer.mode = "on"
    lines = run(tracer, 10, failing=6)
    failure = lines.index("→ C-STORE-RSP #6 Failure 0xA700: Refused: Out of Resources")
    assert lines[failure - 1] == "… 3 more C-STORE like these (3.0 KB), 2 more C-GET-RSP Pending"
    assert lines[-2] == "… 4 more C-STORE like these (4.0 KB), 5 more C-GET-RSP Pending"


class Untouchable:
    """An event whose every attribute fails the test: a hook that is off must not even look at it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"trace off read event.{name}")


def test_off_the_hooks_look_at_nothing_and_queue_nothing() -> None:
    tracer = Tracer()
    assert not tracer.on
    for _, hook in tracer.handlers():
        hook(Untouchable())  # type: ignore[arg-type]
    assert tracer.drain(final=True) == []
    tracer.mode = "on"  # the same hooks, on, do read the event
    for _, hook in tracer.handlers():
        try:
            hook(Untouchable())  # type: ignore[arg-type]
        except AssertionError:
            continue
        raise AssertionError(f"{hook.__name__} read nothing while trace was on")
