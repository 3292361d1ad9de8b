"""The data dictionary for people: lookup, completion search, value checks and Q/R roles."""

from __future__ import annotations

import pytest

from getsh.dicom.keys import dictionary
from getsh.dicom.keys.dictionary import enumerated, explain, lookup, role, search, unique_key, validate
from getsh.errors import UsageError

PATIENT_ID = 0x00100020


# ---- lookup -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "word", ["PatientID", "patientid", "PATIENTID", "(0010,0020)", "0010,0020", "00100020", "10,20"]
)
def test_lookup_accepts_keyword_and_every_tag_form(word: str) -> None:
    entry = lookup(word)
    assert (entry.tag, entry.keyword, entry.name, entry.vr, entry.vm) == (
        PATIENT_ID,
        "PatientID",
        "Patient ID",
        "LO",
        "1",
    )
    assert not entry.retired and not entry.private


@pytest.mark.parametrize("word", ["(0009,1001,LO)", "0009,1001,lo", "(0009,1001,LO)"])
def test_private_tag_with_explicit_vr(word: str) -> None:
    entry = lookup(word)
    assert (entry.tag, entry.vr, entry.keyword, entry.private) == (0x00091001, "LO", "", True)
    assert entry.label == "(0009,1001,LO)"


def test_private_creator_needs_no_vr() -> None:
    entry = lookup("(0009,0010)")
    assert (entry.vr, entry.name, entry.label) == ("LO", "Private Creator", "(0009,0010)")


def test_public_tag_with_its_own_vr_is_accepted_and_another_refused() -> None:
    assert lookup("(0010,0020,LO)").keyword == "PatientID"
    with pytest.raises(UsageError, match=r"PatientID is LO, not SH"):
        lookup("(0010,0020,SH)")


def test_retired_keyword_is_found_and_marked() -> None:
    entry = lookup("OtherStudyNumbers")
    assert entry.retired and entry.tag == 0x00201070


@pytest.mark.parametrize(
    ("word", "suggestion"),
    [
        ("PatientIdd", "PatientID"),
        ("PatID", "PatientID"),
        ("Modalty", "Modality"),
        ("StudyInstanceUid2", "StudyInstanceUID"),
    ],
)
def test_unknown_keyword_suggests_the_closest(word: str, suggestion: str) -> None:
    with pytest.raises(UsageError) as caught:
        lookup(word)
    assert caught.value.message == f"unknown keyword {word!r}"
    assert caught.value.hint.startswith(f"did you mean {suggestion}")


@pytest.mark.parametrize("word", ["(0010,0020", "0010;0020", "(0010,00200)", "0010-0020", "Patient ID", "[0010,0020]"])
def test_malformed_tag_shows_the_accepted_forms(word: str) -> None:
    with pytest.raises(UsageError) as caught:
        lookup(word)
    assert "cannot read" in caught.value.message
    assert "(0010,0020)" in caught.value.hint and "0010,0020" in caught.value.hint
    assert "(0009,1001,LO)" in caught.value.hint


@pytest.mark.parametrize(
    ("word", "message", "hint"),
    [
        ("(0009,1001)", "private tag (0009,1001) needs its VR", "(0009,1001,LO)"),
        ("(0009,1001,XX)", "XX is not a DICOM VR", "VRs:"),
        ("(0010,9999)", "is not in the data dictionary", "(0010,9999,LO)"),
        ("(0003,0010)", "group 0003 is reserved", ""),
        ("(0009,0000)", "group length", ""),
    ],
)
def test_tag_errors_say_what_to_write(word: str, message: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        lookup(word)
    assert message in caught.value.message
    assert hint in caught.value.hint


# ---- search -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "level"), [("patient", "PATIENT"), ("study", "STUDY"), (None, None)])
def test_prefix_puts_patient_id_and_name_first(model: str | None, level: str | None) -> None:
    found = [e.keyword for e in search("Pati", level, model)]
    assert set(found[:2]) == {"PatientID", "PatientName"}
    assert all(k.lower().startswith("pati") for k in found[:20])


def test_keys_of_the_level_come_first() -> None:
    assert search("Series", "SERIES", "study")[0].keyword == "SeriesInstanceUID"
    assert [e.keyword for e in search("", "STUDY", "study")[:1]] == ["StudyInstanceUID"]
    # at SERIES level of study root, the unique key of the level above ranks right after its own
    assert [e.keyword for e in search("", "SERIES", "study")[:2]] == ["SeriesInstanceUID", "StudyInstanceUID"]


def test_substring_after_prefix() -> None:
    found = [e.keyword for e in search("InstanceUID", "SERIES", "study")]
    assert found[:2] == ["SeriesInstanceUID", "StudyInstanceUID"]


@pytest.mark.parametrize(
    ("text", "first"),
    [("studyuid", "StudyInstanceUID"), ("serinst", "SeriesInstanceUID"), ("accnum", "AccessionNumber"),
     ("modstudy", "ModalitiesInStudy"), ("sopinstuid", "SOPInstanceUID")],
)  # fmt: skip
def test_fuzzy_letters_in_order(text: str, first: str) -> None:
    assert search(text, "STUDY", "study")[0].keyword == first


def test_tag_prefix_lists_the_group() -> None:
    found = search("0010,")
    assert len(found) == 40 and all(e.tag >> 16 == 0x0010 for e in found)
    assert found[0].keyword == "PatientName"
    assert [e.keyword for e in search("(0010,002")][:1] == ["PatientID"]
    assert all(e.tag >> 16 == 0x0008 for e in search("0008", limit=100))


def test_retired_only_when_nothing_else_matches() -> None:
    assert not any(e.retired for e in search("Re", limit=500))
    assert [e.keyword for e in search("OtherStudyNum")] == ["OtherStudyNumbers"]


def test_limit_and_nothing_found() -> None:
    assert len(search("S", limit=7)) == 7
    assert search("qqqqzzzz") == []


# ---- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("keyword", "value", "expected"),
    [
        ("StudyDate", "20240131", "20240131"),
        ("StudyDate", "20240101-20240131", "20240101-20240131"),
        ("StudyDate", "-20240131", "-20240131"),
        ("StudyDate", "20240101-", "20240101-"),
        ("StudyTime", "093000.123", "093000.123"),
        ("StudyTime", "09-17", "09-17"),
        ("AcquisitionDateTime", "20240131093000+0100", "20240131093000+0100"),
        ("AcquisitionDateTime", "2024-20250101-0500", "2024-20250101-0500"),
        ("StudyInstanceUID", "1.2.840.10008.1.0.3", "1.2.840.10008.1.0.3"),
        ("StudyInstanceUID", "1.2.3\\1.2.4", ["1.2.3", "1.2.4"]),  # list of UID matching, whatever the VM
        ("Modality", "CT", "CT"),
        ("ModalitiesInStudy", "CT\\MR", ["CT", "MR"]),
        ("PatientName", "DOE^J*", "DOE^J*"),
        ("PatientAge", "045Y", "045Y"),
        ("SeriesNumber", " 12", "12"),
        ("PatientWeight", "72.5", "72.5"),
        ("Rows", "512", 512),
        ("RetrieveAETitle", "ARCHIVE_1", "ARCHIVE_1"),
        ("PatientID", "", None),
        ("PatientID", None, None),
    ],
)
def test_valid_values(keyword: str, value: str | None, expected: object) -> None:
    assert validate(lookup(keyword), value) == expected


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("StudyDate", "2024-13-45", "StudyDate (DA): '2024-13-45' is not a date or a range"),
        ("StudyDate", "20241345", "StudyDate (DA): '20241345' is not a date: month must be in 1..12"),
        ("StudyDate", "2024013", "is not a date"),
        ("StudyDate", "2024*", "wildcards * and ? are not allowed in DA"),
        ("StudyDate", "20240131-20240101", "ends before it starts"),
        ("StudyTime", "25", "is not a time of day"),
        ("StudyTime", "10:30", "is not a time"),
        ("StudyInstanceUID", "1.2.abc", "StudyInstanceUID (UI): '1.2.abc' is not a UID"),
        ("StudyInstanceUID", "1.02.3", "no leading zeros"),
        ("StudyInstanceUID", "1.2.*", "wildcards * and ? are not allowed in UI"),
        ("StudyInstanceUID", "1." + "2" * 70, "the maximum is 64"),
        (
            "RetrieveAETitle",
            "A" * 17,
            "RetrieveAETitle (AE): 'AAAAAAAAAAAAAAAAA' is 17 characters long; the maximum is 16",
        ),
        ("Modality", "ct", "did you mean 'CT'?"),
        ("Modality", "C-T", "a code string cannot hold"),
        ("PatientAge", "45", "is not an age"),
        ("Rows", "abc", "Rows (US): 'abc' is not a number"),
        ("Rows", "70000", "70000 is out of range 0..65535"),
        ("SeriesNumber", "1.5", "is not a 32-bit integer"),
        ("PatientWeight", "heavy", "is not a decimal number"),
        ("PatientSex", "M\\F", "PatientSex (CS): takes at most 1 value (VM 1), got 2"),
        ("PatientSex", "X", "PatientSex: 'X' is not one of M, F, O"),
        ("QueryRetrieveLevel", "STUDIES", "is not one of PATIENT, STUDY, SERIES, IMAGE"),
        ("ReferencedStudySequence", "x", "is a sequence: it holds items, not a value"),
        ("PixelData", "00", "binary values cannot be typed"),
        ("PatientID", "A" * 65, "the maximum is 64"),
    ],
)
def test_invalid_values_name_keyword_vr_and_fault(keyword: str, value: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        validate(lookup(keyword), value)
    assert message in caught.value.message


def test_value_hints_show_the_format() -> None:
    with pytest.raises(UsageError) as caught:
        validate(lookup("StudyDate"), "2024-13-45")
    assert caught.value.hint == "dates are YYYYMMDD (20240131); ranges A-B, -B or A-"


def test_warnings_for_legal_but_doubtful_values() -> None:
    notes: list[str] = []
    assert validate(lookup("PatientName"), "John Doe", notes) == "John Doe"
    assert validate(lookup("PatientComments"), "Müller", notes) == "Müller"
    assert validate(lookup("ModalitiesInStudy"), "CT\\", notes) == ["CT", ""]
    assert any("Family^Given" in n for n in notes)
    assert any("SpecificCharacterSet" in n for n in notes)
    assert any("empty value" in n for n in notes)


def test_private_tag_values_follow_the_given_vr() -> None:
    assert validate(lookup("(0009,1001,US)"), "7\\8") == [7, 8]
    with pytest.raises(UsageError, match=r"\(0009,1001,US\) \(US\): 'x' is not a number"):
        validate(lookup("(0009,1001,US)"), "x")


# ---- Q/R roles, enumerations, explain -----------------------------------------------------------
def test_roles_per_model_and_level() -> None:
    patient_id = lookup("PatientID")
    assert role(patient_id, "patient", "PATIENT") == "unique"
    assert role(patient_id, "patient", "STUDY") is None
    assert role(patient_id, "study", "STUDY") == "required"
    assert role(lookup("StudyDate"), "psonly", "STUDY") == "required"
    assert role(lookup("ModalitiesInStudy"), "study", "study") == "optional"
    assert role(lookup("Modality"), "study", "STUDY") is None
    assert [unique_key("study", lvl).keyword for lvl in ("STUDY", "SERIES", "IMAGE")] == [
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
    ]
    assert dictionary.levels("psonly") == ("PATIENT", "STUDY")
    with pytest.raises(UsageError, match="the psonly model has no SERIES level"):
        unique_key("psonly", "SERIES")
    with pytest.raises(UsageError, match="unknown information model"):
        dictionary.levels("worklist")


def test_enumerated_values() -> None:
    assert [v for v, _ in enumerated(lookup("QueryRetrieveLevel"))] == ["PATIENT", "STUDY", "SERIES", "IMAGE"]
    assert [v for v, _ in enumerated(lookup("PatientSex"))] == ["M", "F", "O"]
    modalities = dict(enumerated(lookup("Modality")))
    assert {"CT", "MR", "US", "SR", "SEG", "RTSTRUCT", "KO", "PR", "DOC", "OT"} <= set(modalities)
    assert modalities["CT"] == "Computed Tomography"
    assert ("1.2.840.10008.5.1.4.1.1.2", "CT Image Storage") in enumerated(lookup("SOPClassUID"))
    assert enumerated(lookup("PatientID")) == []


def test_explain_gives_roles_at_each_level() -> None:
    info = explain("0010,0020", "patient")
    assert info.entry.keyword == "PatientID"
    assert info.roles == (("PATIENT", "unique"), ("STUDY", None), ("SERIES", None), ("IMAGE", None))
    assert any("needs it too" in n for n in info.notes)
    study = explain("StudyInstanceUID", "study")
    assert study.roles[0] == ("STUDY", "unique")
    assert explain("QueryRetrieveLevel", "study").enumerated[0][0] == "PATIENT"


def test_explain_notes_retired_private_and_foreign() -> None:
    assert any("retired" in n for n in explain("OtherStudyNumbers", "study").notes)
    private = explain("(0009,1001,LO)", "study")
    assert private.roles == () and any("private" in n for n in private.notes)
    assert any("not a key of the study model" in n for n in explain("Rows", "study").notes) is False
    assert any("not a key of the psonly model" in n for n in explain("Rows", "psonly").notes)
