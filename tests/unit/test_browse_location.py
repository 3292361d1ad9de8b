"""Where ls and cd stand (dicom/query/browse.py) and how the prompt shows it (shell/prompting.py)."""

from __future__ import annotations

import pytest

from getsh.dicom.events import FindDone, FoundRow
from getsh.dicom.query.browse import Location
from getsh.errors import UsageError
from getsh.shell.prompting import PATH_WIDTH, prompt_message, short_path


def listing(model: str, level: str, *rows: FoundRow) -> FindDone:
    return FindDone(model=model, level=level, columns=(), rows=rows, status=None, seconds=0.0)


PATIENT = FoundRow(1, "PATIENT", (("PatientName", "DOE^JANE"),), (("PatientID", "P1"),))
STUDY = FoundRow(1, "STUDY", (("StudyDescription", ""), ("StudyDate", "20240115")),
                 (("PatientID", "echoed-wrong"), ("StudyInstanceUID", "1.2.3")))


def test_a_path_is_built_from_the_path_and_each_rows_own_key() -> None:
    root = Location("patient")
    assert root.at_root and root.below == "PATIENT" and root.path == "/"
    with pytest.raises(UsageError, match="whole archive"):
        root.here()
    patient = root.listed(listing("patient", "PATIENT", PATIENT)).enter(PATIENT)
    assert patient.below == "STUDY" and patient.labels == ("DOE^JANE",)
    study = patient.enter(STUDY)  # a peer's echo of the patient's key is not trusted: the path's is
    assert study.unique == (("PatientID", "P1"), ("StudyInstanceUID", "1.2.3"))
    assert study.path == "/DOE^JANE/20240115"  # no description: the date
    here = study.here()
    assert (here.QueryRetrieveLevel, here.PatientID, here.StudyInstanceUID) == ("STUDY", "P1", "1.2.3")
    assert len(here) == 3
    up = study.up()
    assert up == patient and up.root().listing is not None  # the root's listing is kept for cd ../N
    with pytest.raises(UsageError, match="nothing above"):
        root.up()


def test_what_counts_as_a_listing_of_where_you_stand() -> None:
    patient = Location("patient").enter(PATIENT)
    assert not patient.lists(None)
    assert not patient.lists(listing("patient", "PATIENT", PATIENT))  # the level above
    assert not patient.lists(listing("study", "STUDY"))  # another model
    mine = FoundRow(1, "STUDY", (), (("PatientID", "P1"), ("StudyInstanceUID", "1.2.3")))
    assert patient.lists(listing("patient", "STUDY", mine))  # a find with the path's keys
    assert not patient.lists(listing("patient", "STUDY", STUDY))  # rows of another patient


def test_nothing_below_the_deepest_level_of_the_model() -> None:
    psonly = Location("psonly").enter(PATIENT)
    with pytest.raises(UsageError, match="browsing stops at studies"):
        psonly.enter(STUDY)
    series = FoundRow(1, "SERIES", (), (("SeriesInstanceUID", "1.2.3.4"),))
    image = FoundRow(1, "IMAGE", (), (("SOPInstanceUID", "1.2.3.4.5"),))
    at_series = Location("study").enter(STUDY).enter(series)
    assert at_series.below == "IMAGE"
    with pytest.raises(UsageError, match="deepest level"):
        at_series.enter(image)


def test_the_prompt_shortens_the_path_and_shows_peer_text_literally() -> None:
    assert prompt_message(lambda: ())() == [("class:prompt", "getsh> ")]
    assert short_path(("DOE^JANE", "CT CHEST")) == "DOE^JANE/CT CHEST"
    assert short_path(("A" * 40,)) == "A" * 23 + "…"
    long = short_path(("DOE^JANE", "B" * 24, "C" * 24, "1 CT AXIAL"))
    assert len(long) == PATH_WIDTH and long.startswith("…") and long.endswith("/1 CT AXIAL")
    assert short_path(("EVIL\x1b[2J",)) == "EVIL\\x1b[2J"
