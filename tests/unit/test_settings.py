"""The settings table: getscu's defaults, validation, origins, what is negotiated."""

from __future__ import annotations

import pytest

from getsh.dicom.net.syntaxes import IMPLICIT, PREFER, PROPOSE, RLE
from getsh.errors import UsageError
from getsh.setting import Origin
from getsh.settings import BY_NAME, SETTINGS, Settings


def test_defaults_are_getscus() -> None:
    s = Settings()
    assert (s["aet"], s["aec"], s["model"], s["max-pdu"]) == ("GETSCU", "ANY-SCP", "patient", 16384)
    assert (s["acse-timeout"], s["dimse-timeout"], s["connect-timeout"]) == (30, None, None)
    assert (s["storage"], s["output"], s["repeat"], s["abort"]) == ("normal", ".", 1, False)
    assert all(s.origin(x.name) is Origin.DEFAULT for x in SETTINGS)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("aet", "", "1 to 16 characters"),
        ("aet", "A" * 17, "maximum is 16"),
        ("aec", "BAD\\AE", "backslash"),
        ("max-pdu", "4095", "out of range (4096..131072)"),
        ("max-pdu", "lots", "not a whole number"),
        ("dimse-timeout", "-3", "more than 0"),
        ("model", "worklist", "not one of its values"),
        ("abort", "maybe", "not one of its values"),
        ("nonsense", "1", "unknown setting"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(name: str, value: str, error: str) -> None:
    s = Settings()
    before = {x.name: s[x.name] for x in SETTINGS}
    with pytest.raises(UsageError, match=error.replace("(", r"\(").replace(")", r"\)")):
        s.set(name, value)
    assert {x.name: s[x.name] for x in SETTINGS} == before


def test_set_parses_and_records_origin() -> None:
    s = Settings()
    assert s.set("dimse-timeout", "unlimited") is None
    assert s.set("acse-timeout", "2.5", Origin.COMMAND_LINE) == 2.5
    assert s.origin("acse-timeout") is Origin.COMMAND_LINE
    assert s.set("abort", "on") is True and s.show("abort") == "on"
    assert s.set("aet", "  PADDED ") == "PADDED"
    assert s.set("Model", "STUDY") == "study"


def test_only_negotiated_settings_change_the_negotiation() -> None:
    s = Settings()
    before = s.negotiation()
    s.set("dimse-timeout", "5")
    s.set("output", "/tmp")
    assert s.negotiation() == before
    s.set("max-pdu", "65536")
    assert s.negotiation() != before


def test_transfer_syntax_preferences_follow_getscu() -> None:
    assert PREFER["implicit"] == (IMPLICIT,)
    assert PREFER["rle"][0] == RLE and IMPLICIT in PREFER["rle"]
    assert PROPOSE["implicit"] == (IMPLICIT,)
    assert set(BY_NAME["prefer"].choice_values()) == set(PREFER)
    assert set(BY_NAME["propose"].choice_values()) == set(PROPOSE)
    flags = {f for c in BY_NAME["prefer"].choices for f in c.flags}
    for flag in "+x= +xe +xb +xs +xy +xx +xv +xw +xt +xu +xm +xh +xn +xl +x2 +x3 +xo +x4 +x5 +xr +xd +xi".split():
        assert flag in flags


def test_retrieve_limits_parse_and_the_mode_default() -> None:
    from getsh.settings import parse_count, parse_size

    assert parse_size("10K") == 10240 and parse_size("1.5G") == 1610612736 and parse_size("500 MB") == 500 * 1024**2
    assert parse_size("unlimited") is None and parse_count("unlimited") is None and parse_count("10000") == 10000
    for bad, parse in (("0", parse_count), ("-3", parse_count), ("ten", parse_count), ("5Q", parse_size),
                       ("0", parse_size)):
        with pytest.raises(ValueError):
            parse(bad)
    # a 1.5 GB object or a 10,000-object study is never cut by a default
    shell = Settings.for_mode("shell")
    assert [shell[n] for n in ("retrieve-timeout", "max-objects", "max-bytes")] == [None, None, None]
    assert shell["no-progress-timeout"] == 300 and shell["cancel-grace"] == 5
    assert Settings.for_mode("get")["no-progress-timeout"] is None  # getscu has no such limit
