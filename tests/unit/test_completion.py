"""Completion reads the registry: command names, options, and each argument's completer."""

from __future__ import annotations

from pathlib import Path

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from getsh.registry import REGISTRY
from getsh.shell.completion import RegistryCompleter
from tests.shell_driver import make_context


def complete(text: str, tmp: Path | None = None) -> dict[str, str]:
    ctx, _, _ = make_context(tmp)
    completer = RegistryCompleter(ctx, REGISTRY)
    return {c.text: c.display_meta_text for c in completer.get_completions(Document(text), CompleteEvent())}


def test_command_names_with_summaries() -> None:
    got = complete("con")
    assert "connect" in got and "associate" in got["connect"]
    assert set(complete("e")) >= {"echo", "exit"}
    assert complete("") .keys() >= {"help", "connect", "echo", "status", "set", "settings", "quit"}


def test_setting_names_then_values() -> None:
    assert set(complete("set max")) == {"max-pdu", "max-objects", "max-bytes", "max-inflated"}
    assert set(complete("set max-p")) == {"max-pdu"}
    assert set(complete("set prefer r")) == {"rle"}
    assert set(complete("set model ")) == {"patient", "study", "psonly"}
    assert "RLE Lossless" in complete("prefer rl")["rle"]
    assert set(complete("set abort ")) == {"on", "off"}
    assert complete("set nosuch ") == {}


def test_setting_rows_name_their_own_completers() -> None:
    assert {"CT", "CTE"} <= set(complete("accept CT")) and "CT Image Storage" in complete("set accept CT")["CT"]
    assert "auto" in complete("accept a")
    assert complete("set layout ") == {}


def test_options_of_the_command() -> None:
    assert set(complete("connect host 104 --a")) == {"--aec", "--aet"}
    assert complete("connect host 104 --aec ") == {}


def test_help_completes_command_names() -> None:
    assert "status" in complete("help st")


def test_output_completes_directories(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "dicom-out").mkdir()
    (tmp_path / "file.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert set(complete("output di")) == {"dicom-out/"}
    assert complete("output fi") == {}


def test_unknown_command_completes_nothing() -> None:
    assert complete("frobnicate ") == {}


def test_a_failing_completer_offers_nothing_instead_of_crashing() -> None:
    from getsh.registry import Arg, Registry

    def broken(ctx, text, prior):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    registry = Registry()
    registry.command("x", "x", args=[Arg("a", "a", complete=broken)])(lambda c, a: None)
    ctx, _, _ = make_context()
    completer = RegistryCompleter(ctx, registry)
    assert list(completer.get_completions(Document("x "), CompleteEvent())) == []


def test_the_menu_shows_values_after_key_equals_by_their_distinct_tails() -> None:
    from getsh.shell.completion import menu_text

    uid = "1.2.826.0.1.3680043.8.498.65360063970219476640466520842871838641"
    shown = menu_text(f"StudyInstanceUID={uid}", "StudyInstanceUID=")
    assert shown == "1.2.826.0.1.3…20842871838641" and len(shown) == 28
    assert menu_text("PatientID=DEMO001", "PatientID=D") == "DEMO001"
    assert menu_text("PatientID=", "Pat") == "PatientID="  # a key being typed: as it is
    assert menu_text("StudyDate", "Stu") == "StudyDate"
