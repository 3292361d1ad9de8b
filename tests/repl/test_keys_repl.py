"""Building an identifier at the real prompt: completion from the dictionary, values, bad input."""

from __future__ import annotations

import pytest

from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.repl


def test_keyword_completion_offers_keywords_with_tags() -> None:
    with ShellDriver() as shell:
        shell.type("key Pati", "\t")
        offered = shell.completions()
        assert "PatientID" in offered and "PatientName" in offered
        assert "(0010,0020)" in offered["PatientID"] and "LO" in offered["PatientID"]
        assert "(0010,0010)" in offered["PatientName"] and "PN" in offered["PatientName"]
        assert list(offered).index("PatientID") < 8  # Q/R keys of the model first
        shell.type("\x15")  # Ctrl-U clears the line (and with it the menu)


def test_enumerated_values_after_equals() -> None:
    with ShellDriver() as shell:
        shell.type("key QueryRetrieveLevel=", "\t")
        offered = shell.completions()
        assert {"QueryRetrieveLevel=PATIENT", "QueryRetrieveLevel=STUDY", "QueryRetrieveLevel=SERIES",
                "QueryRetrieveLevel=IMAGE"} <= set(offered)
        shell.type("\x15")
        shell.type("key Modality=M", "\t")
        assert {"Modality=MR", "Modality=MG"} <= set(shell.completions())


def test_a_uid_seen_in_an_earlier_response_is_offered(demo_server, archive, tmp_path) -> None:  # type: ignore[no-untyped-def]
    study = next(e for e in archive if e.patient_id == "DEMO003")
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {demo_server.port}")
        shell.line(f"output {tmp_path}")
        shown = shell.line("get QueryRetrieveLevel=PATIENT PatientID=DEMO003")
        assert "C-GET Success" in shown
        shell.type("key StudyInstanceUID=", "\t")
        offered = shell.completions()
        assert f"StudyInstanceUID={study.study_uid}" in offered
        shell.type("\x15")
        shell.type(f"key SeriesInstanceUID={study.series_uid[:12]}", "\t")
        assert shell.buffer.startswith("key SeriesInstanceUID=")
        assert any(text.endswith(study.series_uid) for text in shell.completions()) or \
            shell.buffer.endswith(study.series_uid)


def test_bad_keys_leave_the_identifier_unchanged() -> None:
    with ShellDriver() as shell:
        shell.line("key QueryRetrieveLevel=STUDY StudyInstanceUID=1.2.3")
        before = list(shell.ctx.session.identifier)
        for line, message in [
            ("key PatientIDD=1", "unknown keyword 'PatientIDD'"),
            ("key (0010,00ZZ)=1", "cannot read '(0010,00ZZ)' as a keyword or tag"),
            ("key StudyDate=2024-13-45", "StudyDate (DA): '2024-13-45' is not a date"),
            ("key StudyInstanceUID=1.2.abc", "StudyInstanceUID (UI)"),
            ("key PatientID=OK ReferencedStudySequence[x].ReferencedSOPInstanceUID=1",
             "key 'ReferencedStudySequence[x]"),
            ("load /etc/hostname", "/etc/hostname"),
            ("save /nonexistent-dir/q.dcm", "/nonexistent-dir/q.dcm"),
        ]:
            shown = shell.line(line)
            assert "error:" in shown and message in shown, (line, shown)
            assert shown.count("\n") == 1, shown
        assert list(shell.ctx.session.identifier) == before
        assert "PatientID" not in shell.ctx.session.identifier  # the good key of a bad line was not set either
        assert shell.alive
