"""getscu's -k language, sequence paths, query files, C-GET checks and key completion."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset

from getsh.completion.keys import complete_key, complete_path, complete_value
from getsh.dicom.keys.identifier import (
    apply,
    canonical,
    check,
    default_identifier,
    describe,
    load_query,
    parse_key,
    remove,
    save_query,
)
from getsh.errors import UsageError

UID = "1.2.840.113619.2.55.3"


def build(*keys: str, model: str = "study") -> Dataset:
    dataset = default_identifier(model)
    for key in keys:
        apply(dataset, parse_key(key))
    return dataset


def tree(dataset: Dataset) -> list[tuple[str, str, str]]:
    """(path, VR, value) of every element, depth first: what a dataset holds, comparably."""
    out: list[tuple[str, str, str]] = []

    def walk(nodes) -> None:  # type: ignore[no-untyped-def]
        for node in nodes:
            out.append((node.path, node.vr, node.value))
            walk(node.children)

    walk(describe(dataset))
    return out


# ---- key forms ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    ["StudyInstanceUID=" + UID, "(0020,000D)=" + UID, "0020,000D=" + UID, "0020000D=" + UID, "20,d=" + UID,
     "studyinstanceuid=" + UID],
)  # fmt: skip
def test_every_tag_form_sets_the_same_element(key: str) -> None:
    dataset = build(key)
    elem = dataset[0x0020000D]
    assert (elem.VR, elem.value) == ("UI", UID)
    assert canonical(parse_key(key)) == f"StudyInstanceUID={UID}"


@pytest.mark.parametrize("key", ["PatientName", "PatientName=", "(0010,0010)", "0010,0010="])
def test_return_keys_have_zero_length(key: str) -> None:
    assignment = parse_key(key)
    assert assignment.value is None and assignment.text is None
    elem = build(key)[0x00100010]
    assert elem.VR == "PN" and elem.is_empty
    assert canonical(assignment) == "PatientName"


def test_multiple_values_and_the_value_verbatim() -> None:
    dataset = build("ModalitiesInStudy=CT\\MR", "PatientID=a=b", "StudyDescription= spaced")
    assert list(dataset.ModalitiesInStudy) == ["CT", "MR"]
    assert dataset.PatientID == "a=b"
    assert dataset.StudyDescription == " spaced"


def test_values_get_pydicom_types() -> None:
    dataset = build("Rows=512", "(0009,0010)=GETSH", "(0009,1001,US)=1\\2", "(0009,1002,LO)=abc")
    assert dataset.Rows == 512
    assert (dataset[0x00091001].VR, list(dataset[0x00091001].value)) == ("US", [1, 2])
    assert (dataset[0x00091002].VR, dataset[0x00091002].value) == ("LO", "abc")


def test_override_or_insert_like_getscu() -> None:
    dataset = build("PatientID=A", "PatientID=B", "PatientID")
    assert dataset.PatientID in ("", None)
    dataset = build("QueryRetrieveLevel=SERIES")
    assert dataset.QueryRetrieveLevel == "SERIES"


# ---- sequence paths -----------------------------------------------------------------------------
def test_path_creates_sequence_and_item() -> None:
    dataset = build("ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.3")
    assert dataset.ReferencedStudySequence[0].ReferencedSOPInstanceUID == "1.2.3"
    assert build("(0008,1110)[0].(0008,1155)=1.2.3") == dataset


def test_depth_three_with_items_filled_in_like_dcmodify() -> None:
    key = (
        "ReferencedStudySequence[1].ReferencedSeriesSequence[0]"
        ".ReferencedInstanceSequence[2].ReferencedSOPInstanceUID=1.2"
    )
    dataset = build(key)
    studies = dataset.ReferencedStudySequence
    assert len(studies) == 2 and len(studies[0]) == 0  # item 0 created empty, as dcmodify does
    instances = studies[1].ReferencedSeriesSequence[0].ReferencedInstanceSequence
    assert [len(item) for item in instances] == [0, 0, 1]
    assert instances[2].ReferencedSOPInstanceUID == "1.2"
    assert canonical(parse_key(key)) == shlex.quote(key)


def test_second_key_in_the_same_item_and_next_item() -> None:
    dataset = build(
        "ReferencedStudySequence[0].ReferencedSOPClassUID=1.2.840.10008.3.1.2.3.1",
        "ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.3",
        "ReferencedStudySequence[1].ReferencedSOPInstanceUID=1.2.4",
    )
    items = dataset.ReferencedStudySequence
    assert len(items) == 2 and len(items[0]) == 2 and items[1].ReferencedSOPInstanceUID == "1.2.4"


def test_sequence_return_keys() -> None:
    assert len(build("ReferencedStudySequence").ReferencedStudySequence) == 0
    assert [len(i) for i in build("ReferencedStudySequence[1]").ReferencedStudySequence] == [0, 0]
    kept = build("ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2", "ReferencedStudySequence")
    assert kept.ReferencedStudySequence[0].ReferencedSOPInstanceUID == "1.2"  # like dcmodify -i: untouched


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("ReferencedStudySequence[x].ReferencedSOPInstanceUID=1", "an item number must be 0, 1, 2, … at '[x]."),
        ("ReferencedStudySequence[-1].ReferencedSOPInstanceUID=1", "item numbers cannot be negative"),
        ("ReferencedStudySequence[*].ReferencedSOPInstanceUID=1", "item wildcards are not supported"),
        ("ReferencedStudySequence[].ReferencedSOPInstanceUID=1", "an item number must be"),
        ("ReferencedStudySequence[0.ReferencedSOPInstanceUID=1", "unclosed item number at '[0.Referenced"),
        ("ReferencedStudySequence[0", "unclosed item number at '[0'"),
        (
            "ReferencedStudySequence.ReferencedSOPInstanceUID=1",
            "an item number is missing: paths go Sequence[n].Keyword",
        ),
        ("ReferencedStudySequence[0]ReferencedSOPInstanceUID=1", "expected '.' or '[' at 'ReferencedSOPInstanceUID'"),
        ("ReferencedStudySequence[0].=1", "missing keyword or tag at the end"),
        ("ReferencedStudySequence[0]..X=1", "missing keyword or tag at '.X'"),
        ("PatientID[0].PatientName=X", "PatientID is not a sequence (LO), so it has no items"),
        ("PatientID.PatientName=X", "PatientID is not a sequence (LO)"),
        ("ReferencedStudySequence[0]=1.2", "an item holds elements, not a value"),
        ("ReferencedStudySequence=1.2", "ReferencedStudySequence is a sequence: it holds items, not a value"),
        ("ReferencedStudySequence[0].Bogus=1", "unknown keyword 'Bogus'"),
        ("=1.2", "missing keyword or tag"),
        ("(0002,0010)=1.2", "belongs to the command or file meta"),
    ],
)
def test_malformed_paths_point_at_the_bad_part(key: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_key(key)
    assert message in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    ("key", "message", "hint"),
    [
        ("PatientIdd=1", "unknown keyword 'PatientIdd'", "did you mean PatientID"),
        ("(0010,0020=1", "cannot read '(0010,0020' as a keyword or tag", "(0010,0020), 0010,0020 or 00100020"),
        ("(0009,1001)=abc", "private tag (0009,1001) needs its VR", "(0009,1001,LO)"),
        ("StudyDate=2024-13-45", "StudyDate (DA): '2024-13-45' is not a date", "YYYYMMDD"),
        ("StudyInstanceUID=1.2.abc", "StudyInstanceUID (UI): '1.2.abc' is not a UID", "digits and dots"),
        ("RetrieveAETitle=ABCDEFGHIJKLMNOPQ", "RetrieveAETitle (AE): 'ABCDEFGHIJKLMNOPQ' is 17 characters long", "16"),
        ("Rows=abc", "Rows (US): 'abc' is not a number", "unsigned 16-bit"),
        ("PatientSex=M\\F", "takes at most 1 value (VM 1), got 2", "\\ separates values"),
    ],
)
def test_bad_keys_each_with_its_message(key: str, message: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_key(key)
    assert message in caught.value.message
    assert hint in caught.value.hint


def test_retired_keyword_accepted_with_a_note() -> None:
    assignment = parse_key("OtherStudyNumbers=5")
    assert assignment.value == "5"
    assert assignment.warnings == ("OtherStudyNumbers is retired: peers may ignore it",)


def test_value_warnings_travel_with_the_assignment() -> None:
    assert any("Family^Given" in w for w in parse_key("PatientName=John Doe").warnings)


# ---- remove, canonical --------------------------------------------------------------------------
def test_remove_elements_items_and_private_tags() -> None:
    dataset = build(
        "PatientID=X",
        "ReferencedStudySequence[1].ReferencedSOPInstanceUID=1.2",
        "(0009,0010)=ME",
        "(0009,1001,LO)=abc",
    )
    remove(dataset, "patientid")
    remove(dataset, "ReferencedStudySequence[1].ReferencedSOPInstanceUID")
    assert len(dataset.ReferencedStudySequence[1]) == 0
    remove(dataset, "(0008,1110)[0]")
    assert len(dataset.ReferencedStudySequence) == 1
    remove(dataset, "00091001")  # no VR needed to remove
    remove(dataset, "ReferencedStudySequence")
    assert [e.tag for e in dataset] == [0x00080052, 0x00090010]


@pytest.mark.parametrize("path", ["PatientID", "ReferencedStudySequence[0]", "ReferencedStudySequence[0].PatientID"])
def test_remove_absent_is_an_error(path: str) -> None:
    dataset = build()
    with pytest.raises(UsageError, match=r"is not in the identifier") as caught:
        remove(dataset, path)
    assert caught.value.hint == "keys shows what is set"
    assert tree(dataset) == tree(build())


def test_canonical_is_keyword_form_quoted_for_the_shell() -> None:
    assert canonical(parse_key("(0008,1110)[0].(0008,1155)=1.2.3")) == (
        "'ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.3'"
    )
    assert canonical(parse_key("0009,1001,lo=x y")) == "'(0009,1001,LO)=x y'"
    assert canonical(parse_key("ModalitiesInStudy=CT\\MR")) == "'ModalitiesInStudy=CT\\MR'"
    for key in ("PatientName=DOE^JOHN", "ReferencedStudySequence[2]", "StudyDate=20240101-"):
        assert parse_key(shlex.split(canonical(parse_key(key)))[0]) == parse_key(key)


# ---- query files --------------------------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path: Path) -> None:
    dataset = build("StudyInstanceUID=" + UID, "ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2", "PatientName")
    target = tmp_path / "q.dcm"
    save_query(dataset, target, model="study")
    raw = dcmread(target)
    assert raw.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert raw.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.2.2.3"
    assert tree(load_query(target)) == tree(dataset)
    save_query(dataset, target)  # overwrite; without a model, DCMTK's generic file class
    assert dcmread(target).file_meta.MediaStorageSOPClassUID == "1.2.276.0.7230010.3.1.0.1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.dcm"]


def test_load_a_data_set_without_file_meta(tmp_path: Path) -> None:
    dataset = build("PatientID=PAT001", model="patient")
    bare = tmp_path / "bare.dcm"
    dataset.file_meta = FileMetaDataset()
    dcmwrite(bare, dataset, implicit_vr=True, little_endian=True)
    assert bare.read_bytes()[128:132] != b"DICM"
    loaded = load_query(bare)
    assert (loaded.QueryRetrieveLevel, loaded.PatientID) == ("PATIENT", "PAT001")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, this is not DICOM\n", "is not a DICOM file"),
        (b"", "is not a DICOM file"),
        (bytes(range(256)) * 3, "is not a DICOM file"),
    ],
)
def test_load_refuses_non_dicom(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        load_query(path)
    assert caught.value.message.startswith(str(path)) and message in caught.value.message


def test_load_missing_file_or_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read .*nope\.dcm: No such file"):
        load_query(tmp_path / "nope.dcm")
    with pytest.raises(UsageError, match=r"cannot read .*: it is a directory, not a file"):
        load_query(tmp_path)


@pytest.mark.parametrize("where", ["missing/q.dcm", "file.txt/q.dcm", "."])
def test_save_to_an_unwritable_path(tmp_path: Path, where: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    target = tmp_path / where
    with pytest.raises(UsageError, match=r"cannot write") as caught:
        save_query(build(), target)
    assert str(target) in caught.value.message and caught.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


# ---- checks and defaults ------------------------------------------------------------------------
def test_default_identifier_is_the_top_level() -> None:
    assert [(m, default_identifier(m).QueryRetrieveLevel) for m in ("patient", "study", "psonly")] == [
        ("patient", "PATIENT"),
        ("study", "STUDY"),
        ("psonly", "PATIENT"),
    ]
    assert len(default_identifier("study")) == 1


def test_a_proper_c_get_identifier_has_no_warnings() -> None:
    assert check(build("StudyInstanceUID=" + UID), "study") == []
    assert check(build("PatientID=P", model="patient"), "patient") == []
    series = build("QueryRetrieveLevel=SERIES", "StudyInstanceUID=1.2", "SeriesInstanceUID=1.3\\1.4")
    assert check(series, "study") == []


def test_check_warnings() -> None:
    assert check(Dataset(), "study")[0].startswith("no QueryRetrieveLevel")
    assert "the study model has no PATIENT level" in check(build("QueryRetrieveLevel=PATIENT"), "study")[0]
    assert check(build(), "study") == [
        "STUDY level: its unique key StudyInstanceUID is missing (key StudyInstanceUID=…)"]
    above = check(build("QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2", model="patient"), "patient")
    assert above == ["STUDY level: the PATIENT unique key above it PatientID is missing "
                     "(key PatientID=…, or model study, which needs none)"]
    assert "StudyInstanceUID is empty" in check(build("StudyInstanceUID"), "study")[0]
    mixed = check(build("StudyInstanceUID=1.2", "StudyDate=20240101", "PatientName", "SeriesInstanceUID=1.3"), "study")
    assert mixed[0].startswith("non-unique keys in a C-GET identifier: StudyDate, PatientName")
    assert mixed[1].startswith("keys of a level below STUDY: SeriesInstanceUID")
    foreign = check(build("StudyInstanceUID=1.2", "(0009,0010)=X", "Rows=1"), "psonly")
    assert foreign[-1] == "not keys of the psonly model: (0009,0010), Rows"


# ---- the keys tree ------------------------------------------------------------------------------
def test_describe_nests_items_and_gives_unkey_paths() -> None:
    dataset = build(
        "ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2", "ModalitiesInStudy=CT\\MR", "PatientName"
    )
    assert tree(dataset) == [
        ("QueryRetrieveLevel", "CS", "STUDY"),
        ("ModalitiesInStudy", "CS", "CT\\MR"),
        ("ReferencedStudySequence", "SQ", ""),
        ("ReferencedStudySequence[0]", "", ""),
        ("ReferencedStudySequence[0].ReferencedSOPInstanceUID", "UI", "1.2"),
        ("PatientName", "PN", ""),
    ]
    node = describe(dataset)[2]
    assert (node.tag, node.keyword, node.name) == (0x00081110, "ReferencedStudySequence", "Referenced Study Sequence")
    assert node.children[0].item == 0
    for path, _, _ in reversed(tree(dataset)):
        remove(dataset, path)
    assert len(dataset) == 0


# ---- completion ---------------------------------------------------------------------------------
def test_complete_keyword_prefix_with_tag_and_vr() -> None:
    found = complete_path("Pati", "patient", "PATIENT")
    assert [s.text for s in found[:2]] == ["PatientID", "PatientName"]
    assert found[0].meta.startswith("(0010,0020) LO") and "unique" in found[0].meta
    assert found[1].meta.startswith("(0010,0010) PN")


def test_complete_tags_fuzzy_and_nothing() -> None:
    assert [s.text for s in complete_path("0010,", "study", "STUDY")[:2]] == ["0010,0010", "0010,0020"]
    assert complete_path("(0010,002", "study", "STUDY")[0].text == "(0010,0020)"
    assert complete_path("studyuid", "study", "STUDY")[0].text == "StudyInstanceUID"
    assert complete_path("qqqqzz", "study", "STUDY") == []


def test_complete_item_numbers_and_keywords_inside_items() -> None:
    assert [s.text for s in complete_path("ReferencedStudySequence[", "study", "STUDY")] == [
        "ReferencedStudySequence[0]."
    ]
    dataset = build("ReferencedStudySequence[1].ReferencedSOPInstanceUID=1.2")
    items = complete_path("ReferencedStudySequence[", "study", "STUDY", dataset)
    assert [(s.text, s.meta) for s in items][-1] == ("ReferencedStudySequence[2].", "item 2 (new)")
    inside = [s.text for s in complete_path("ReferencedStudySequence[0].Ref", "study", "STUDY")]
    assert inside[:2] == [
        "ReferencedStudySequence[0].ReferencedSOPClassUID",
        "ReferencedStudySequence[0].ReferencedSOPInstanceUID",
    ]
    deeper = complete_path("ProcedureCodeSequence[0].", "study", "STUDY")
    assert [s.text for s in deeper[:3]] == [
        "ProcedureCodeSequence[0].CodeValue",
        "ProcedureCodeSequence[0].CodingSchemeDesignator",
        "ProcedureCodeSequence[0].CodeMeaning",
    ]
    assert complete_path("(0008,1110)[0].(0008,115", "study", "STUDY")[0].text == "(0008,1110)[0].(0008,1150)"
    assert complete_path("PatientID[", "study", "STUDY") == []
    assert complete_path("Bogus[0].Pat", "study", "STUDY") == []


def test_complete_values() -> None:
    assert [s.text for s in complete_value("QueryRetrieveLevel", "")] == ["PATIENT", "STUDY", "SERIES", "IMAGE"]
    assert [s.text for s in complete_value("QueryRetrieveLevel", "s")] == ["STUDY", "SERIES"]
    assert [s.text for s in complete_value("ModalitiesInStudy", "CT\\M")][:2] == ["CT\\MR", "CT\\MG"]
    seen = ["1.2.3.4", "DEMO001", "1.2.3.5", "1.2.3.4"]
    uids = complete_value("StudyInstanceUID", "1.2", seen)
    assert [(s.text, s.meta) for s in uids] == [("1.2.3.4", "seen"), ("1.2.3.5", "seen")]
    assert [s.text for s in complete_value("PatientSex", "", seen)] == ["M", "F", "O"]  # closed list: no guesses
    assert complete_value("Bogus", "") == []


def test_complete_key_switches_to_values_after_equals() -> None:
    found = complete_key("QueryRetrieveLevel=", "study", "STUDY")
    assert [s.text for s in found] == [f"QueryRetrieveLevel={lvl}" for lvl in ("PATIENT", "STUDY", "SERIES", "IMAGE")]
    seen = complete_key("(0020,000D)=1", "study", "STUDY", seen=[UID])
    assert [s.text for s in seen] == [f"(0020,000D)={UID}"]
    assert complete_key("Pati", "study", "STUDY")[0].text == "PatientID"
