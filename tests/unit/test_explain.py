"""explain: every status pynetdicom knows has its own words; keywords, tags, UIDs, rejects and aborts in
words; one line with the fix for what it cannot read. show getscu's line read back by getsh's own getscu
reader gives the same state."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from pynetdicom import status as pynetdicom_status

from getsh.cmdline.dcmtk import findscu_line, getscu_line
from getsh.cmdline.modes import parse_args
from getsh.dicom.explain.status_texts import QR, SERVICES
from getsh.dicom.explain.statuses import advice_for, explain_status, status_of, tables
from getsh.exitstatus import ExitStatus
from getsh.settings import SETTINGS, Settings

UNKNOWN = "not a status of any service pynetdicom knows"


def every_status() -> list[tuple[str, int]]:
    return [(name, code) for name, table in tables().items() for code in table]


def test_the_tables_are_all_of_pynetdicoms() -> None:
    """A table pynetdicom adds tomorrow must be named here, or the test below would judge it by a guess."""
    theirs = {name for name, value in vars(pynetdicom_status).items() if isinstance(value, dict) and name.isupper()
              and name.endswith("STATUS")}
    assert theirs == set(tables()) == set(SERVICES)
    assert sum(len(t) for t in tables().values()) > 25_000  # the ranges (0xCxxx, 0xA7xx) are in them, code by code


def test_every_status_of_every_table_explains_to_its_own_words() -> None:
    checked = 0
    for name, code in every_status():
        key, label = SERVICES[name]
        explained = explain_status(code)
        assert explained.known, hex(code)
        assert explained.category == (pynetdicom_status.code_to_category(code)
                                      if pynetdicom_status.code_to_category(code) != "Unknown"
                                      else tables()[name][code][0]), hex(code)
        general = code in pynetdicom_status.GENERAL_STATUS and \
            tables()[name][code] == pynetdicom_status.GENERAL_STATUS[code]
        wanted = SERVICES["GENERAL_STATUS"][1] if general else label
        mine = [m for m in explained.meanings if wanted in m.services]
        assert len(mine) == 1, (name, hex(code), explained)
        meaning = mine[0]
        assert UNKNOWN not in meaning.meaning and meaning.cause and meaning.remedy, (name, hex(code))
        if key in QR:  # the services getsh speaks: written for the code, not a service's general words
            assert advice_for(code, "general" if general else key) is not None, (name, hex(code))
        checked += 1
    assert checked == len(every_status())


@pytest.mark.parametrize(("code", "words"), [
    (0xA702, ["C-GET, C-MOVE", "did not propose", "status --rejected", "set accept auto", "+xr"]),
    (0xA801, ["C-MOVE", "HostTable", "DicomModalities"]),
    (0xB000, ["C-GET, C-MOVE", "Failed SOP Instance UID List", "C-STORE", "coercion"]),
    (0xC211, ["Unable to Process", "0xC000-0xCFFF", "Orthanc", "C-STORE", "0xC210"]),
    (0xFE00, ["Cancel", "C-CANCEL", "max-objects"]),
    (0xA900, ["identifier does not match", "StudyInstanceUID"]),
])
def test_explain_status_on_the_screen(shell: Any, code: int, words: list[str]) -> None:
    for spelling in (f"{code:04X}", f"0x{code:04x}"):
        status, shown = shell.run(f"explain {spelling}")
        assert status is ExitStatus.SUCCESS, shown
        assert shown.startswith(f"0x{code:04X} "), shown
        flat = " ".join(shown.split())
        for word in words:
            assert word in flat, (word, shown)


def test_a_range_names_each_meaning_once() -> None:
    found = status_of("A7xx")
    assert found is not None
    assert [e.code for e in found][:3] == [0xA700, 0xA701, 0xA702]
    assert all(0xA700 <= e.code <= 0xA7FF for e in found)
    assert status_of("PatientID") is None


def test_a_code_no_table_has_says_so_by_its_range() -> None:
    unknown = explain_status(0xB123)
    assert not unknown.known and unknown.category == "Warning"
    assert UNKNOWN in unknown.meanings[0].meaning


def screen(shell: Any, line: str) -> str:
    """What the line showed, on one line (table cells wrap), after it succeeded."""
    status, shown = shell.run(line)
    assert status is ExitStatus.SUCCESS, shown
    return " ".join(shown.split())


def test_explain_a_keyword_gives_its_role_in_every_model(shell: Any) -> None:
    flat = screen(shell, "explain StudyInstanceUID")
    assert "(0020,000D) StudyInstanceUID: Study Instance UID" in flat
    assert "UI / 1" in flat
    assert "patient root (now) PATIENT –, STUDY unique, SERIES –, IMAGE –" in flat
    assert "study root STUDY unique, SERIES –, IMAGE –" in flat
    assert "patient/study only PATIENT –, STUDY unique" in flat
    flat = screen(shell, "dict 0008,0052")  # the old name still works
    assert "QueryRetrieveLevel" in flat and "enumerated values PATIENT" in flat
    assert "retired yes" in screen(shell, "explain OtherStudyNumbers")


def test_explain_a_uid(shell: Any) -> None:
    flat = screen(shell, "explain 1.2.840.10008.1.2.4.50")
    assert "JPEG Baseline (Process 1)" in flat and "Transfer Syntax" in flat
    assert "first choice of prefer jpeg8 (+xy)" in flat
    assert "never proposed for the Q/R request" in flat
    flat = screen(shell, "explain 1.2.840.10008.1.2.1")
    assert "prefer uncompr (+x=)" in flat and "proposed by propose uncompr (-x=)" in flat
    flat = screen(shell, "explain CTImageStorage")
    assert "1.2.840.10008.5.1.4.1.1.2: CT Image Storage" in flat and "accepts by default" in flat
    assert "set model patient" in screen(shell, "explain 1.2.840.10008.5.1.4.1.2.1.3")
    assert "Well-known frame of reference" in screen(shell, "explain 1.2.840.10008.1.4.1.1")
    assert "not a UID of the standard" in screen(shell, "explain 1.2.826.0.1.3680043.2.1125.1")


def test_explain_reject_and_abort(shell: Any) -> None:
    flat = screen(shell, "explain reject")
    assert "8 reasons" in flat and "called-ae (A-ASSOCIATE-RJ result 1, source 1, reason 7)" in flat
    flat = screen(shell, "explain reject calling-ae")
    assert "calling AE title not recognised" in flat and "set aet to one it knows" in flat
    assert "called-ae" not in flat
    assert "invalid PDU parameter value" in screen(shell, "explain abort provider-invalid-parameter")
    status, shown = shell.run("explain reject bogus")
    assert status is not ExitStatus.SUCCESS
    assert shown.count("\n") == 1 and "reasons: no-reason, application-context" in shown


@pytest.mark.parametrize(("line", "message"), [
    ("explain ZZZZ", "error: explain: 'ZZZZ' is no status code, keyword, tag or UID getsh knows — e.g. explain A702"),
    ("explain PatentID", "did you mean PatientID"),
    ("explain 1.2.03", "error: '1.2.03' is not a valid UID: a component has a leading zero"),
    ("explain A702 extra", "takes nothing after it"),
    ("explain Exxx", "error: no status pynetdicom knows lies in Exxx"),
])
def test_bad_input_is_one_line_with_the_fix(shell: Any, line: str, message: str) -> None:
    status, shown = shell.run(line)
    assert status is not ExitStatus.SUCCESS
    assert shown.count("\n") == 1 and " — " in shown, shown
    assert message in shown, shown
    status, _ = shell.run("explain FE00")  # the shell goes on
    assert status is ExitStatus.SUCCESS


# --- show getscu: the line read back by getsh's getscu reader ------------------------------------------

def _settings(**values: str) -> Settings:
    settings = Settings.for_mode("shell")
    for name, text in values.items():
        settings.set(name.replace("_", "-"), text)
    return settings


@pytest.mark.parametrize("values", [
    {},
    {"model": "study", "aet": "ME", "aec": "ARCHIVE", "prefer": "rle", "propose": "implicit", "storage":
     "bit-preserving", "max_pdu": "65536", "repeat": "2", "abort": "on", "connect_timeout": "5",
     "dimse_timeout": "60", "acse_timeout": "12"},
    {"model": "psonly", "prefer": "jpeg8", "propose": "big", "storage": "ignore"},
])
def test_the_getscu_line_reads_back_to_the_same_state(tmp_path: Any, values: dict[str, str]) -> None:
    settings = _settings(output=str(tmp_path), **values)
    keys = ["QueryRetrieveLevel=STUDY", "StudyInstanceUID=1.2.3", "PatientName=DOE^JO HN",
            "ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.4"]
    line = getscu_line(settings, "pacs.example", 104, keys)
    words = shlex.split(line.text().splitlines()[0])
    assert words[0] == "getscu" and words[-2:] == ["pacs.example", "104"]
    options = parse_args(["get", *words[1:]])
    assert options.peer == ("pacs.example", "104")
    assert options.keys == keys
    read = Settings.for_mode("get")
    for name, text in options.settings:
        read.set(name, text)
    expressible = {"aet", "aec", "model", "prefer", "propose", "connect-timeout", "acse-timeout", "dimse-timeout",
                   "max-pdu", "repeat", "abort", "output", "storage"}
    assert expressible <= {s.name for s in SETTINGS}
    if settings["storage"] == "ignore":  # getscu refuses -od with --ignore; nothing is written
        expressible.remove("output")
        assert "-od" not in words
    for name in expressible:
        assert read[name] == settings[name], name


def test_what_getscu_cannot_say_is_written_under_the_line(tmp_path: Any) -> None:
    settings = _settings(output=str(tmp_path), layout="{PatientID}/{SOPInstanceUID}.dcm", accept="auto",
                         max_objects="10", charset="ISO_IR 100", connect_timeout="2.5")
    text = getscu_line(settings, "h", 104, ["PatientID=X"]).text()
    notes = text.splitlines()[1:]
    assert all(n.startswith("# ") for n in notes)
    joined = " ".join(notes)
    for word in ("layout {PatientID}/{SOPInstanceUID}.dcm", "accept auto", "max-objects 10", "charset ISO_IR 100",
                 "existing rename", "no-progress-timeout 300", "connect-timeout 2.5: -to takes whole seconds, 3"):
        assert word in joined, (word, text)
    assert " -to 3 " in text.splitlines()[0]


def test_the_findscu_line_names_the_model_its_keys_and_the_limit() -> None:
    settings = _settings(aet="ME", aec="ARCHIVE", propose="implicit", dimse_timeout="20", storage="ignore",
                         prefer="rle")
    line = findscu_line(settings, "pacs", 104, "-S", ["QueryRetrieveLevel=STUDY", "PatientID=X", "StudyDate="], 5)
    words = shlex.split(line.text().splitlines()[0])
    assert words == ["findscu", "-S", "-aet", "ME", "-aec", "ARCHIVE", "-xi", "-td", "20",
                     "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=X", "-k", "StudyDate=",
                     "--cancel", "5", "pacs", "104"]
    assert any("--cancel 5" in note for note in line.notes)
    assert not any("prefer" in note or "storage" in note for note in line.notes)  # a find stores nothing


def test_a_setting_added_later_is_said_under_the_line_not_dropped(monkeypatch: Any, tmp_path: Any) -> None:
    """Issue 18 adds settings (TLS, a user identity): show getscu names any it has no words for."""
    from getsh import settings as table
    from getsh.cmdline import dcmtk
    from getsh.setting_values import parse_bool, show_bool

    added = [table.Setting("tls", "DICOM TLS", False, parse_bool, show_bool),
             table.Setting("user-mode", "user identity", "none")]
    monkeypatch.setattr(dcmtk, "SETTINGS", (*table.SETTINGS, *added))
    for setting in added:
        monkeypatch.setitem(table.BY_NAME, setting.name, setting)
    settings = _settings(output=str(tmp_path))
    settings.set("tls", "on")
    settings.set("user-mode", "username")
    notes = getscu_line(settings, "h", 104, ["PatientID=X"]).notes
    assert any(n.startswith("tls on: getsh speaks TLS") and "no TLS option" in n for n in notes), notes
    assert "user-mode username: DCMTK has no option for it; getsh's result may differ" in notes
