"""C-MOVE's parts without a peer: its settings' words, movescu's command line, the contexts proposed,
who the receiver accepts, and the lines that tell an archive where getsh listens."""

from __future__ import annotations

import pytest

from getsh.cli import parse_args
from getsh.dicom.events import GetDone
from getsh.dicom.net.presentation import FIND_MODELS, GET_MODELS, MAX_CONTEXTS, MOVE_MODELS, plan_contexts
from getsh.dicom.net.sopclasses import ALL_STORAGE_CLASSES
from getsh.dicom.retrieve.moving import destination_lines, unknown_destination
from getsh.dicom.retrieve.receiver import Expected, loopback_warning
from getsh.dicom.status import decode
from getsh.errors import UsageError
from getsh.settings import Settings


def test_the_settings_of_c_move() -> None:
    s = Settings()
    assert (s["retrieve"], s["listen-port"], s["listen-host"], s["move-destination"], s["move-callers"]) == \
        ("get", None, "0.0.0.0", None, ())
    s.set("listen-port", "11113")
    s.set("move-callers", "ORTHANC, dcmqrscp  ORTHANC")
    s.set("move-destination", "WS1")
    assert (s["listen-port"], s["move-callers"], s["move-destination"]) == (11113, ("ORTHANC", "dcmqrscp"), "WS1")
    assert (s.show("move-callers"), s.show("listen-port")) == ("ORTHANC,dcmqrscp", "11113")
    s.set("listen-port", "none")
    s.set("move-callers", "any")
    s.set("move-destination", "none")
    assert (s["listen-port"], s["move-callers"], s["move-destination"]) == (None, (), None)
    assert s.show("listen-port") == "none" and s.show("move-callers") == "any"


@pytest.mark.parametrize(("name", "value", "words"), [
    ("listen-port", "70000", "is not a port number"),
    ("listen-port", "x", "is not a port number"),
    ("retrieve", "c-find", "is not one of its values"),
    ("move-callers", "A\\B", "backslash"),
    ("move-destination", "X" * 17, "the maximum is 16"),
    ("listen-host", "a b", "is not an address"),
])
def test_bad_values_are_refused(name: str, value: str, words: str) -> None:
    s = Settings()
    before = s[name]
    with pytest.raises(UsageError, match=words):
        s.set(name, value)
    assert s[name] == before


def test_getsh_move_reads_movescus_options() -> None:
    opts = parse_args(["move", "-S", "+P", "11113", "-aem", "WS1", "+B", "-k", "StudyInstanceUID=1.2", "-od", ".",
                       "pacs", "104"])
    assert opts.mode == "move" and opts.peer == ("pacs", "104") and opts.keys == ["StudyInstanceUID=1.2"]
    assert ("listen-port", "11113") in opts.settings and ("move-destination", "WS1") in opts.settings
    assert ("model", "study") in opts.settings and ("storage", "bit-preserving") in opts.settings
    assert Settings.for_mode("move")["aet"] == "MOVESCU"  # movescu's default, and so its Move Destination
    with pytest.raises(UsageError, match="either query file or override keys"):
        parse_args(["move", "pacs", "104"])


def test_serve_takes_move_destinations() -> None:
    opts = parse_args(["serve", "--demo", "--move-dest", "GETSCU=127.0.0.1:11113", "--move-dest", "WS=ws1:104",
                       "--no-get"])
    assert opts.serve_move_dests == [("GETSCU", "127.0.0.1", 11113), ("WS", "ws1", 104)] and opts.serve_no_get
    with pytest.raises(UsageError, match="is not AE=HOST:PORT"):
        parse_args(["serve", "--move-dest", "GETSCU:11113"])


def test_the_move_context_is_proposed_only_when_a_retrieve_may_move() -> None:
    plain = plan_contexts("study", "uncompr", "uncompr", ALL_STORAGE_CLASSES)
    assert MOVE_MODELS["study"] not in {cx.abstract_syntax for cx in plain.contexts}
    both = plan_contexts("study", "uncompr", "uncompr", ALL_STORAGE_CLASSES, move=True)
    syntaxes = {cx.abstract_syntax for cx in both.contexts}
    assert {GET_MODELS["study"], MOVE_MODELS["study"], FIND_MODELS["study"]} <= syntaxes
    assert len(both) == len(plain) == MAX_CONTEXTS  # the 128-context budget: one storage class less
    assert len(both.storage_classes) == len(plain.storage_classes) - 1
    only = plan_contexts("study", "uncompr", "uncompr", (), move=True)
    assert [cx.abstract_syntax for cx in only.contexts][1:] == [FIND_MODELS["study"], MOVE_MODELS["study"]]


def test_who_the_receiver_accepts() -> None:
    peer = Expected("127.0.0.1", ("ORTHANC",))
    assert peer.refusal("127.0.0.1", "ORTHANC") == ""
    assert peer.refusal("::ffff:127.0.0.1", "ORTHANC") == ""
    assert peer.refusal("10.0.0.9", "ORTHANC") == "not from the peer's address (127.0.0.1)"
    assert "calling AE title 'X' is not one of move-callers (ORTHANC)" in peer.refusal("127.0.0.1", "X")
    assert Expected("127.0.0.1").refusal("127.0.0.1", "ANYONE") == ""
    assert "no peer is known" in Expected("").refusal("127.0.0.1", "ANYONE")  # never open to every address
    assert "cannot reach it" in loopback_warning("127.0.0.1", "10.1.2.3")
    assert loopback_warning("0.0.0.0", "10.1.2.3") == loopback_warning("127.0.0.1", "127.0.0.1") == ""


def _done(code: int, comment: str = "", completed: int = 0) -> GetDone:
    return GetDone("keys", decode(code, "move"), completed, 0, 0, 0, (), (), (), comment, 0.1, False,
                   service="C-MOVE")


def test_move_destination_unknown_in_each_archives_words() -> None:
    assert unknown_destination(_done(0xA801))
    assert str(_done(0xA801).status) == "0xA801 Failure: Move destination unknown"
    assert unknown_destination(_done(0xC000, "Unknown destination AET: GETSCU"))
    assert not unknown_destination(_done(0xC000, "cannot read file"))
    assert unknown_destination(_done(0xC000)) == "maybe"  # Orthanc 1.10: no comment; did it call the receiver?
    assert not unknown_destination(_done(0x0000, completed=3))
    lines = destination_lines("GETSCU", "10.0.0.5", 11113, _done(0xA801))
    assert "getsh = (GETSCU, 10.0.0.5, 11113)" in lines[1]
    assert '"getsh" : [ "GETSCU", "10.0.0.5", 11113 ]' in lines[3]
    third = destination_lines("WS1", "", 0, _done(0xA801), third_party=True)
    assert len(third) == 1 and "does not know the Move Destination WS1" in third[0]
