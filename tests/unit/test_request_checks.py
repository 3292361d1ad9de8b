"""What the keys of a get or find say beyond their level (qr_keys), and when a get matched nothing
(status.empty_match): the data the commands decide on. The peers' side is in tests/interop/test_plainly.py."""

from __future__ import annotations

import pytest
from pydicom import Dataset

from getsh.dicom.keys.identifier import apply, default_identifier, parse_key
from getsh.dicom.keys.qr_keys import implied_level, missing_above, open_unique_keys
from getsh.dicom.status import decode, empty_match, nothing_matched_advice
from getsh.errors import UsageError
from getsh.script.expectations import parse


def build(*keys: str, model: str = "patient") -> Dataset:
    dataset = default_identifier(model)
    for key in keys:
        apply(dataset, parse_key(key))
    return dataset


@pytest.mark.parametrize(("keys", "model", "found"), [
    (("PatientID=*",), "patient", ["PatientID=*"]),
    (("PatientID=DEMO00?",), "patient", ["PatientID=DEMO00?"]),
    ((), "patient", ["no PatientID at PATIENT level"]),
    (("PatientID",), "patient", ["an empty PatientID"]),
    (("QueryRetrieveLevel=STUDY", "StudyInstanceUID"), "study", ["an empty StudyInstanceUID"]),
    (("QueryRetrieveLevel=STUDY", "PatientID=A*", "StudyInstanceUID=1.2"), "patient", ["PatientID=A*"]),
    (("QueryRetrieveLevel=SERIES", "StudyInstanceUID=1.2", "SeriesInstanceUID=1.3\\1.4"), "study", []),
    (("PatientID=DEMO001",), "patient", []),
    (("QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2"), "patient", []),  # PatientID above: not the archive
    (("QueryRetrieveLevel=PATIENT",), "study", []),  # not a level of the model: the peer refuses it anyway
])
def test_open_unique_keys(keys: tuple[str, ...], model: str, found: list[str]) -> None:
    assert open_unique_keys(build(*keys, model=model), model) == found


@pytest.mark.parametrize(("keys", "model", "implied"), [
    (("StudyInstanceUID=1.2",), "patient", ("STUDY", "StudyInstanceUID")),
    (("StudyInstanceUID=1.2", "SOPInstanceUID=1.4"), "patient", ("IMAGE", "SOPInstanceUID")),
    (("QueryRetrieveLevel=SERIES", "StudyInstanceUID=1.2"), "study", None),  # above: the level stands
    (("StudyInstanceUID",), "patient", None),  # a return key, not a value
    (("PatientID=X",), "study", None),  # not a unique key of the study root
    (("SeriesInstanceUID=1.3",), "psonly", None),  # not a level of the model
])
def test_implied_level(keys: tuple[str, ...], model: str, implied: tuple[str, str] | None) -> None:
    assert implied_level(build(*keys, model=model), model) == implied


def test_implied_level_without_a_usable_level() -> None:
    dataset = build("StudyInstanceUID=1.2", model="study")
    dataset.QueryRetrieveLevel = "PATIENT"  # a query file of the other model
    assert implied_level(dataset, "study") == ("STUDY", "StudyInstanceUID")


def test_missing_above() -> None:
    assert missing_above(build("QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2"), "patient") == ["PatientID"]
    assert missing_above(build("QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2", "PatientID=P"), "patient") == []
    assert missing_above(build("QueryRetrieveLevel=SERIES", "SeriesInstanceUID=1.3", model="study"), "study") == [
        "StudyInstanceUID"]


def test_empty_match_is_sure_after_a_success_and_asks_after_a_failure() -> None:
    assert empty_match(decode(0x0000, "get"), 0, 0, cancelled=False) == "yes"
    assert empty_match(decode(0xC000, "get"), 0, 0, cancelled=False) == "ask"  # Orthanc's unknown UID
    assert empty_match(decode(0x0000, "get"), 3, 3, cancelled=False) == ""
    assert empty_match(decode(0xFE00, "get"), 0, 0, cancelled=True) == ""
    assert empty_match(decode(0xA702, "get"), 0, 0, cancelled=False) == ""  # about sub-operations
    assert empty_match(decode(0x0000, "get"), 0, 1, cancelled=False) == ""  # the peer's counts are wrong


def test_nothing_matched_advice_names_what_to_type() -> None:
    plain = nothing_matched_advice(False)
    assert plain == "nothing matched these keys (0 sub-operations) — 'find' shows what the archive holds"
    assert "a C-FIND of the same keys matched nothing either" in nothing_matched_advice(True)
    above = nothing_matched_advice(False, "patient", "STUDY", ["PatientID"])
    assert "no PatientID above the STUDY level, which some archives need: key PatientID=…, or model study" in above


def test_expect_matched_takes_a_count_and_zero() -> None:
    assert parse("matched", ["0"]).number == 0
    assert parse("matched", [">", "0"]).op == ">"
    assert parse("completed", ["0"]).describe() == "completed 0"  # still allowed
    with pytest.raises(UsageError):
        parse("matched", ["some"])
