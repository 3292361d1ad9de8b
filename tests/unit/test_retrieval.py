"""Planning a retrieve without a peer: class groups, advice beside the statuses, checks before anything
is sent, and how the parts of a split retrieve are merged."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import NoReturn

import pytest
from pydicom import Dataset

from getsh.dicom.events import GetDone, Notice, Received, SplitDone
from getsh.dicom.net.interrupts import CtrlC
from getsh.dicom.net.presentation import DEFAULT_STORAGE_CLASSES, MAX_CONTEXTS, SERVICE_CONTEXTS
from getsh.dicom.net.sopclasses import ALL_STORAGE_CLASSES
from getsh.dicom.retrieve import Request, Retrieval, RetrieveOptions, SessionHooks, class_groups
from getsh.dicom.retrieve.retrieval import merged
from getsh.dicom.status import decode, failure_hint, retrieve_advice
from getsh.dicom.storage.naming import LayoutError
from getsh.errors import UsageError


def test_classes_that_fit_stay_on_one_association() -> None:
    assert class_groups(DEFAULT_STORAGE_CLASSES, "study", "uncompr", "rle") == [DEFAULT_STORAGE_CLASSES]


@pytest.mark.parametrize("prefer", ["uncompr", "rle"])
def test_classes_that_do_not_fit_are_cut_into_groups_that_each_fit(prefer: str) -> None:
    groups = class_groups(ALL_STORAGE_CLASSES, "study", "uncompr", prefer)
    assert len(groups) >= 2
    assert all(0 < len(group) <= MAX_CONTEXTS - SERVICE_CONTEXTS for group in groups)
    assert sorted(uid for group in groups for uid in group) == sorted(set(ALL_STORAGE_CLASSES))


def test_advice_beside_the_statuses() -> None:
    refused = retrieve_advice(decode(0x0000, "get"), 0, 0, ["disk full", "disk full"])
    assert refused == "we refused 2: disk full"
    none_came = retrieve_advice(decode(0xA702, "get"), 3, 0)
    assert none_came.startswith("the peer could not send them on this association") and "prefer rle" in none_came
    some_came = retrieve_advice(decode(0xB000, "get"), 1, 2)
    assert some_came.startswith("some could not be sent")
    assert retrieve_advice(decode(0xB000, "get"), 0, 2) == ""
    assert retrieve_advice(decode(0xC000, "get"), 3, 0) == ""  # not about sub-operations: the status says it
    assert failure_hint("find") == "the peer may not support C-FIND on this model"


def options(output: Path, layout: str = "getscu") -> RetrieveOptions:
    return RetrieveOptions(
        model="study", propose="uncompr", prefer="uncompr", accept=DEFAULT_STORAGE_CLASSES, discover=False,
        repeat=1, dimse_timeout=None, output=str(output), storage="normal", layout=layout, existing="rename",
        table_rows=60, receive="auto")


def no_session() -> SessionHooks:
    def refuse(*args: object) -> NoReturn:
        raise AssertionError("nothing may be sent")

    return SessionHooks(associate=refuse, forget=refuse, learned=refuse, next_message_id=refuse, on_received=refuse)


def study(uid: str = "1.2.3") -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = uid
    return ds


def test_an_empty_identifier_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    retrieval = Retrieval([Request("keys", study()), Request("q.dcm", Dataset())], options(tmp_path), no_session())
    with pytest.raises(UsageError, match="the identifier is empty"):
        list(retrieval.run())


def test_warnings_come_first_then_a_bad_storage_fails_before_anything_is_sent(tmp_path: Path) -> None:
    odd = study()
    odd.PatientID = "X"  # not a key of the study root model
    seen: list[object] = []
    with pytest.raises(LayoutError):
        for event in Retrieval([Request("keys", odd)], options(tmp_path, layout="{NoSuchKeyword}"), no_session()).run():
            seen.append(event)
    assert seen and all(isinstance(e, Notice) and e.text.startswith("warning: keys: ") for e in seen)


def test_a_split_retrieve_fails_only_what_no_association_brought() -> None:
    def part(status: int, completed: int, failed: int, failed_uids: tuple[str, ...]) -> GetDone:
        return GetDone("keys", decode(status, "get"), completed, failed, 0, 0, (), (), failed_uids, "", 0.1, False)

    def got(uid: str) -> Received:
        return Received(1, "1.2.840.10008.5.1.4.1.1.2", uid, "1.2.840.10008.1.2.1", uid, "written", 10)

    first = part(0xB000, 2, 1, ("1.3",))  # the SR had no context on the first association
    second = part(0xB000, 1, 2, ("1.1", "1.2"))  # nor the CT images on the second
    done = merged("keys", [first, second], [got("1.1"), got("1.2"), got("1.3")])
    assert done == SplitDone("keys", 2, 3, 3, (), ())
    assert not done.failed
    lost = merged("keys", [first, part(0xA702, 0, 3, ("1.1", "1.2", "1.3"))], [got("1.1"), got("1.2")])
    assert lost.failed_uids == ("1.3",) and lost.failed == 1 and lost.failures == ()


def test_ctrl_c_during_a_retrieve_is_counted_not_raised_and_python_s_handler_comes_back() -> None:
    """A Ctrl-C that lands anywhere in the retrieve's loop must not unwind it half-way (interrupts.py)."""
    ctrl_c = CtrlC()
    with ctrl_c.counting():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs on this thread, between two steps
        assert ctrl_c.take() == 2
        assert ctrl_c.take() == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
