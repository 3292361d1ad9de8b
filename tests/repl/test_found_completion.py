"""Completion of values from what the last find returned (issue 13): at the real prompt, against the demo
archive. ``key StudyInstanceUID=<Tab>`` offers the studies found, described; what arrived comes after."""

from __future__ import annotations

from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.repl


def studies_of(archive: list[ArchiveEntry], patient: str) -> list[str]:
    return list(dict.fromkeys(e.study_uid for e in archive if e.patient_id == patient))


def test_found_studies_are_offered_with_their_description(demo_server: object, archive: list[ArchiveEntry]) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    every = set(dict.fromkeys(e.study_uid for e in archive))
    chest = next(e for e in archive if e.modality == "SR").study_uid
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {port}")
        assert "6 matches" in shell.line("find QueryRetrieveLevel=STUDY")
        shell.type("key StudyInstanceUID=", "\t")
        offered = shell.completions()
        assert set(offered) == {f"StudyInstanceUID={uid}" for uid in every}, offered
        assert offered[f"StudyInstanceUID={chest}"] == "2024-01-15, CT CHEST W/O CONTRAST, CT/SR, ACC1001"
        shell.type("\x15")
        shell.type("key SeriesInstanceUID=", "\t")  # a study find holds no series: nothing to offer
        assert shell.completions(wait=1.0) == {} and shell.buffer == "key SeriesInstanceUID="
        shell.type("\x15")
        shell.line("model study")  # under study root a study row carries the patient's name too
        shell.line("find QueryRetrieveLevel=STUDY PatientID=DEMO001")
        shell.type("key StudyInstanceUID=", "\t")
        offered = shell.completions()
        assert set(offered) == {f"StudyInstanceUID={uid}" for uid in studies_of(archive, "DEMO001")}
        assert offered[f"StudyInstanceUID={chest}"].startswith("DOE, JANE, 2024-01-15, CT CHEST W/O CONTRAST")
        shell.type("\x15")


def test_found_patients_are_offered_with_their_names(demo_server: object) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {port}")
        shell.line("find")  # patient root, PATIENT level
        shell.type("key PatientID=", "\t")
        offered = shell.completions()
        assert offered == {
            "PatientID=DEMO001": "DOE, JANE, 1970-03-12, F",
            "PatientID=DEMO002": "SMITH, JOHN A, 1958-11-05, M",
            "PatientID=DEMO003": "GARCIA, MARIA ELENA, 1985-12-30, F",
            "PatientID=DEMO004": "O'BRIEN, PATRICK, 1945-07-01, M",
        }
        shell.type("\x15")
        shell.type("key PatientID=DEMO00", "\t")  # what is typed narrows them
        assert len(shell.completions()) == 4
        shell.type("\x15")
        shell.type("key PatientID=DEMO0032", "\t")
        assert shell.completions(wait=1.0) == {}


def test_deeper_rows_offer_the_study_they_belong_to_and_what_arrived_comes_after(
    demo_server: object, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    port = demo_server.port  # type: ignore[attr-defined]
    [head1, head2] = studies_of(archive, "DEMO004")
    brain = studies_of(archive, "DEMO001")[1]
    series = [e for e in archive if e.study_uid == brain]
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {port}")
        shell.line(f"output {tmp_path}")
        shell.line("get QueryRetrieveLevel=PATIENT PatientID=DEMO004")  # two studies arrive: seen
        shell.line(f"find QueryRetrieveLevel=SERIES PatientID=DEMO001 StudyInstanceUID={brain}")
        shell.type("key StudyInstanceUID=", "\t")
        offered = shell.completions()
        # the study the series rows belong to first, described by them; then those that arrived; no series UID
        assert list(offered) == [f"StudyInstanceUID={uid}" for uid in (brain, head2, head1)] or \
            list(offered) == [f"StudyInstanceUID={uid}" for uid in (brain, head1, head2)], offered
        assert offered[f"StudyInstanceUID={brain}"] == "study of 2 found series"
        assert offered[f"StudyInstanceUID={head1}"] == "seen"
        shell.type("\x15")
        shell.type("key SeriesInstanceUID=", "\t")
        offered = shell.completions()
        found = {f"SeriesInstanceUID={e.series_uid}" for e in series}
        assert set(list(offered)[:2]) == found and len(found) == 2, offered
        assert {offered[text] for text in found} == {"series 1, MR, T1 AXIAL, 2024-03-02",
                                                    "series 2, MR, T2 AXIAL, 2024-03-02"}
        assert set(list(offered.values())[2:]) == {"seen"}  # DEMO004's two series, after
        shell.type("\x15")
