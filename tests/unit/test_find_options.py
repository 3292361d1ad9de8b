"""``getsh find``'s command line: findscu's words, read into the shell's ``find`` line."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from getsh.app import find_line
from getsh.cli import arguments_text, help_text, parse_args
from getsh.cmdline.modes import MODES
from getsh.errors import UsageError
from getsh.settings import Settings

GETSH_OWN = {"--cancel-grace"}  # a getsh setting that findscu has no option for
# storescu's user identity options (findscu 3.6.7 has none): test_identity_options checks they are storescu's
GETSH_OWN |= {"-usr", "--user", "-pwd", "--password", "-rsp", "--pos-response", "-kt", "--kerberos", "--saml", "--jwt",
              "-epw", "--empty-password"}


def findscu_spellings(findscu: Path) -> set[str]:
    text = subprocess.run([str(findscu), "--help"], capture_output=True, text=True, timeout=30).stdout
    return {word for line in text.splitlines()
            for word in re.findall(r"(?:^|\s)(--[a-z0-9-]+|[-+][a-zA-Z0-9=]{1,4})(?=\s)", line)}


def test_every_option_getsh_find_takes_is_findscus(dcmtk: Callable[[str], Path]) -> None:
    theirs = findscu_spellings(dcmtk("findscu"))
    ours = set(MODES["find"].table())
    # in the table only to be refused by name
    refused = {"-c", "--command", "--demo", "-n", "--node", "--init-config", "-W", "--worklist"}
    assert ours - refused - GETSH_OWN <= theirs, sorted(ours - refused - GETSH_OWN - theirs)
    for spelling in ("-P", "-S", "-O", "-k", "-aet", "-aec", "-X", "--extract", "--cancel", "-to", "-ta", "-td",
                     "-q", "-v", "-d", "-od", "-pdu", "--repeat", "--abort", "-xi", "-ll", "-lc", "--arguments"):
        assert spelling in ours and spelling in theirs, spelling


def test_the_options_become_the_find_line() -> None:
    opts = parse_args(["find", "-S", "-aec", "ARCHIVE", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=X*",
                       "--cancel", "5", "-X", "-td", "10", "host", "104"])
    assert opts.mode == "find" and opts.peer == ("host", "104")
    assert dict(opts.settings) == {"model": "study", "aec": "ARCHIVE", "dimse-timeout": "10"}
    assert find_line(opts, "out dir") == "find QueryRetrieveLevel=STUDY 'PatientID=X*' --limit 5 --extract 'out dir'"
    assert find_line(parse_args(["find", "-k", "PatientID", "h", "1"]), ".") == "find PatientID"


def test_findscus_defaults() -> None:
    settings = Settings.for_mode("find")
    assert settings["aet"] == "FINDSCU"  # findscu's own calling AE title
    assert Settings.for_mode("get")["aet"] == Settings.for_mode("shell")["aet"] == "GETSCU"
    assert settings["model"] == "patient" and settings["dimse-timeout"] is None


def test_query_files_are_read_in_order(tmp_path: Path) -> None:
    files = [tmp_path / "a.dcm", tmp_path / "b.dcm"]
    for path in files:
        path.write_bytes(b"")
    opts = parse_args(["find", "host", "104", *map(str, files), "-k", "PatientID"])
    assert opts.query_files == [str(p) for p in files] and opts.keys == ["PatientID"]
    with pytest.raises(UsageError, match="would write each one's responses over the last one's"):
        parse_args(["find", "-X", "host", "104", *map(str, files)])


@pytest.mark.parametrize(("args", "message"), [
    (["find", "-W", "-k", "PatientID", "h", "1"], "find: -W (the modality worklist model) is not supported"),
    (["find", "--worklist", "h", "1"], "find: -W (the modality worklist model) is not supported"),
    (["find", "h", "1"], "find: either query file or override keys (or both) must be specified"),
    (["find", "-k", "PatientID"], "find: missing parameter peer"),
    (["find", "--cancel", "0", "-k", "PatientID", "h", "1"], "--cancel: '0' is not a number of responses"),
    (["find", "--cancel", "x", "-k", "PatientID", "h", "1"], "--cancel: 'x' is not a number of responses"),
    (["find", "-c", "find", "h", "1"], "find: -c does not apply to a one-shot find"),
    (["find", "+B", "-k", "PatientID", "h", "1"], "unknown option +B"),  # getscu's, not findscu's
    (["find", "-Xlo", "3", "-k", "PatientID", "h", "1"], "unknown option -Xlo"),
    (["find", "-k", "QueryRetrieveLevel=SERIESS", "h", "1"], "'SERIESS' is not one of"),
])
def test_bad_find_command_lines(args: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_args(args)
    assert message in caught.value.message


def test_help_and_arguments_name_find() -> None:
    text = help_text()
    assert "getsh find [options] peer port [dcmfile-in…]" in text
    assert "-X, --extract" in text and "--cancel N" in text
    assert "'--extract'" in arguments_text(["find", "-X", "-k", "PatientID", "h", "1"])
