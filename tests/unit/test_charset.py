"""The charset setting, the check of typed values against a character set, and how a C-FIND
response's names are decoded (getsh/dicom/keys/charset.py, getsh/dicom/query/find.py)."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pynetdicom.dsutils import decode
from rich.console import Console

from getsh.dicom.events import FoundRow
from getsh.dicom.keys.charset import charset_words, parse_charset, with_charset
from getsh.dicom.query.find import row_of, text_of
from getsh.errors import UsageError
from getsh.settings import Settings
from getsh.shell.found import found_table


@pytest.mark.parametrize(("typed", "value"), [
    ("ISO_IR 100", "ISO_IR 100"), ("iso_ir 192", "ISO_IR 192"), ("ISO_IR_100", "ISO_IR 100"),
    ("GB18030", "GB18030"), ("none", None), ("", None),
    ("ISO 2022 IR 87", "\\ISO 2022 IR 87"),  # a multi-byte set alone: ASCII (an empty value) before it
    ("\\ISO 2022 IR 87", "\\ISO 2022 IR 87"),
    ("ISO 2022 IR 6\\ISO 2022 IR 87", "ISO 2022 IR 6\\ISO 2022 IR 87"),
    ("iso 2022 ir 13\\iso 2022 ir 87", "ISO 2022 IR 13\\ISO 2022 IR 87"),
])
def test_charset_values(typed: str, value: str | None) -> None:
    assert parse_charset(typed) == value


@pytest.mark.parametrize(("typed", "words"), [
    ("latin1", "'latin1' is not a character set pydicom knows"),
    ("ISO_IR 999", "'ISO_IR 999' is not a character set pydicom knows"),
    ("ISO_IR 100\\ISO 2022 IR 87", "several character sets are code extensions: write each as ISO 2022 IR n"),
    ("ISO 2022 IR 87\\", "'' is not a character set"),
])
def test_bad_charset_values_say_what_is_wrong(typed: str, words: str) -> None:
    settings = Settings()
    with pytest.raises(UsageError) as caught:
        settings.set("charset", typed)
    assert words in caught.value.message
    assert settings["charset"] is None and settings.show("charset") == "none"


def test_completion_offers_terms_with_their_meaning() -> None:
    assert dict(charset_words("utf")) == {"ISO_IR 192": "Unicode in UTF-8: every character"}
    assert "ISO_IR 100" in dict(charset_words("lat"))
    offered = dict(charset_words("ISO_IR 1"))
    assert offered["ISO_IR 100"].startswith("Latin alphabet No. 1")
    assert "ISO 2022 IR 100" not in offered
    assert "\\ISO 2022 IR 87" in dict(charset_words("japan"))
    assert "ISO 2022 58" not in dict(charset_words(""))  # pydicom's misspelling of ISO 2022 IR 58 is not offered


def identifier(**keys: object) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "PATIENT"
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def test_the_setting_is_sent_unless_the_user_set_the_key() -> None:
    assert with_charset(identifier(PatientName="Müller*"), "ISO_IR 100").SpecificCharacterSet == "ISO_IR 100"
    assert list(with_charset(identifier(PatientName="山田*"), "\\ISO 2022 IR 87").SpecificCharacterSet) == [
        "", "ISO 2022 IR 87"]
    own = with_charset(identifier(SpecificCharacterSet="ISO_IR 192", PatientName="王*"), "ISO_IR 100")
    assert own.SpecificCharacterSet == "ISO_IR 192"
    empty = with_charset(identifier(SpecificCharacterSet="", PatientName="Müller*"), "ISO_IR 100")
    assert empty.SpecificCharacterSet == "ISO_IR 100"  # an empty key is the default, not a choice
    assert "SpecificCharacterSet" not in with_charset(identifier(PatientName="DOE*"), None)


@pytest.mark.parametrize(("keys", "charset", "words"), [
    ({"PatientName": "Müller*"}, None, "PatientName value 'Müller*': 'ü' (U+00FC) cannot be sent in the default "
                                      "character set (ASCII: no charset is set)"),
    ({"PatientName": "王*"}, "ISO_IR 100", "'王' (U+738B) cannot be sent in charset ISO_IR 100 (Latin alphabet"),
    ({"StudyDescription": "Schädel"}, "\\ISO 2022 IR 87", "'ä' (U+00E4) cannot be sent in charset \\ISO 2022 IR 87"),
    ({"PatientName": "山田"}, "ISO_IR 13", "'山' (U+5C71) cannot be sent in charset ISO_IR 13"),
    ({"SpecificCharacterSet": "ISO_IR 100", "PatientID": "王"}, "ISO_IR 192",
     "PatientID value '王': '王' (U+738B) cannot be sent in SpecificCharacterSet ISO_IR 100"),
])
def test_a_value_its_character_set_cannot_hold_is_refused(keys: dict[str, str], charset: str | None,
                                                          words: str) -> None:
    with pytest.raises(UsageError) as caught:
        with_charset(identifier(**keys), charset)
    assert words in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(("keys", "charset"), [
    ({"PatientName": "Müller*"}, "ISO_IR 100"), ({"PatientName": "王*", "StudyDescription": "Schädel"}, "ISO_IR 192"),
    ({"PatientName": "Yamada^Tarou=山田^太郎=やまだ^たろう"}, "\\ISO 2022 IR 87"),
    ({"PatientName": "ﾔﾏﾀﾞ^ﾀﾛｳ"}, "ISO_IR 13"), ({"PatientName": "Ωmega"}, "ISO_IR 126"),
    ({"SpecificCharacterSet": "ISO_IR 999", "PatientName": "Müller"}, None),  # the user's experiment: unchecked
])
def test_a_value_its_character_set_holds_is_sent(keys: dict[str, str], charset: str | None) -> None:
    with_charset(identifier(**keys), charset)


def response(charset: str | list[str] | None, name: bytes) -> Dataset:
    """A C-FIND response as pynetdicom hands it over: decoded from bytes, its values still raw."""
    ds = identifier(PatientID="P1")
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.add_new(0x00100010, "PN", name)  # bytes: written as they are
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, True
    write_dataset(out, ds)
    return decode(BytesIO(out.getvalue()), True, True)


@pytest.mark.parametrize(("charset", "name", "text"), [
    ("ISO_IR 100", b"M\xfcller^J\xfcrgen", "Müller^Jürgen"),
    ("ISO_IR 192", "Wang^XiaoDong=王^小東".encode(), "Wang^XiaoDong=王^小東"),
    (["", "ISO 2022 IR 87"], b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B", "Yamada^Tarou=山田^太郎"),
    # Orthanc's DefaultEncoding Japanese: Shift JIS kanji under "ISO_IR 13" (which is JIS X 0201 only)
    ("ISO_IR 13", "Yamada^Tarou=山田^太郎".encode("shift_jis"), "Yamada^Tarou=山田^太郎"),
    (None, b"DOE^JOHN", "DOE^JOHN"),  # no SpecificCharacterSet: the default repertoire
])
def test_a_response_is_decoded_in_its_own_character_set(charset: str | list[str] | None, name: bytes,
                                                        text: str, caplog: pytest.LogCaptureFixture) -> None:
    match = response(charset, name)
    assert text_of(match, "PatientName") == text
    row = row_of(match, 1, "patient", "PATIENT", ("PatientName", "PatientID"))
    assert row.values == (("PatientName", text), ("PatientID", "P1")) and row.unique == (("PatientID", "P1"),)
    assert not [r for r in caplog.records if r.name.startswith("pydicom")]  # nothing encoded again, no warning


def test_the_table_gives_a_name_its_groups_in_cells() -> None:
    name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    rows = [FoundRow(1, "PATIENT", (("PatientName", name), ("PatientID", "CS-JIS")), (("PatientID", "CS-JIS"),))]
    console = Console(width=100, record=True)
    console.print(found_table(("PatientName", "PatientID"), rows, 100, level="PATIENT"))
    screen = console.export_text()
    assert "│ Yamada, Tarou = 山田, 太郎 = やまだ, たろう │ CS-JIS " in screen
    narrow = Console(width=50, record=True)
    narrow.print(found_table(("PatientName", "PatientID"), rows, 50, level="PATIENT"))
    assert all(len(line) <= 50 for line in narrow.export_text().splitlines())  # measured in cells, not characters
