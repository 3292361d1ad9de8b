"""Tables that fit: columns by priority, values cut in the middle, short statuses, help reflowed."""

from __future__ import annotations

import io

from rich.console import Console

from getsh.dicom.events import Received
from getsh.shell.columns import Column, elide, fit
from getsh.shell.tables import received_table, reflow, short_action

UID = "1.2.826.0.1.3680043.8.498.87515893696801308875295480622695844787"


def drawn(table: object, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(table)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def received(index: int, action: str = "written", path: str = f"CT.{UID}") -> Received:
    return Received(index, "1.2.840.10008.5.1.4.1.1.2", UID, "1.2.840.10008.1.2.1", path, action, 9690,
                    patient_id="PAT1", patient_name="DOE^JANE", study_uid=UID + "1", series_uid=UID + "2",
                    modality="CT", output_dir="/data/out")


def test_elide_keeps_the_root_and_the_tail() -> None:
    assert len(elide(UID, 26)) == 26 and elide(UID, 26).startswith("1.2.826.") and elide(UID, 26).endswith("844787")
    assert elide("short", 26) == "short"


def test_fit_keeps_columns_by_priority_and_gives_back_room() -> None:
    columns = [Column("a", "a"), Column("uid", "uid", cap=10, full=True, middle=True), Column("b", "b")]
    rows = [{"a": "x" * 20, "uid": UID, "b": "y" * 30}]
    narrow = fit(columns, rows, ("uid", "a", "b"), 40)
    assert [c.key for c in narrow.shown] == ["a", "uid"] and [c.key for c in narrow.hidden] == ["b"]
    wide = fit(columns, rows, ("uid", "a", "b"), 200)
    assert wide.widths["uid"] == len(UID)  # whole when there is room


def test_a_renamed_object_says_so_in_a_few_words() -> None:
    renamed = received(1, f"renamed to CT.{UID}_1 (CT.{UID} exists)", f"CT.{UID}_1")
    assert short_action(renamed) == "renamed (_1)"
    assert short_action(received(2, f"CT.{UID} exists, kept (received copy discarded)")) == "kept existing"
    assert short_action(received(3)) == "written"


def test_the_received_table_keeps_each_row_on_one_line_at_80_and_200() -> None:
    rows = [received(i, f"renamed to CT.{UID}_1 (CT.{UID} exists)", f"CT.{UID}_1") for i in (1, 2, 3)]
    for width in (80, 120, 200):
        lines = drawn(received_table(rows, "received: keys", width), width)
        body = [line for line in lines if line.startswith("│")]
        assert len(body) == 3 and all(len(line) <= width for line in lines)
        assert all("renamed (_1)" in line and "9.7 KB" in line for line in body)
    wide = "\n".join(drawn(received_table(rows, "", 200), 200))
    assert "SOP Instance UID" in wide and "DOE^JANE" in wide
    raw = "\n".join(drawn(received_table(rows, "", 80, raw=True), 400))
    assert f"CT.{UID}_1" in raw and UID + "1" in raw and "study" in raw  # --raw: every column, every value whole


def test_help_text_is_reflowed_but_examples_stay() -> None:
    text = "\nSends C-GET-RQ under the current model\nwith the current keys.\n\nExamples:\n  get 3\n  get all\n"
    joined = "Sends C-GET-RQ under the current model with the current keys."
    assert reflow(text) == f"{joined}\n\nExamples:\n  get 3\n  get all"
