"""view N: what is drawn (the colours of known cells), the words for objects without an image, and the
decoders: uncompressed, RLE, JPEG lossless with the codecs extra, and without it.

The objects are written into the test's directory (tests/unit/view_objects.py) and put in the session's
received table as a get would; the command runs through the runner as typed. The picture is drawn on a
truecolor console to read its cells' colours; the shell's own console here is not a terminal, so it
draws the same cells as characters by brightness.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import JPEGLosslessSV1, RLELossless
from rich.console import Console

from getsh.commands.view import one
from getsh.dicom.image import Picture
from getsh.exitstatus import ExitStatus
from getsh.shell.picture import HalfBlocks, image_view
from tests.unit import view_objects as objects
from tests.unit.view_objects import add

BLACK, WHITE, MID = (0, 0, 0), (255, 255, 255), (128, 128, 128)


def grid(renderable: Any, width: int = 64) -> list[list[tuple[Any, Any]]]:
    """Each drawn cell's (foreground, background) RGB, line by line, from a truecolor console."""
    console = Console(file=io.StringIO(), width=width, color_system="truecolor", force_terminal=True)
    lines = console.render_lines(renderable, console.options.update(width=width), pad=False)
    cells = []
    for line in lines:
        row = []
        for segment in line:
            if segment.text and set(segment.text) == {"▀"}:
                fg, bg = segment.style.color, segment.style.bgcolor
                cell = tuple(tuple(c.triplet) if c and c.triplet else None for c in (fg, bg))
                row += [cell] * len(segment.text)
        if row:
            cells.append(row)
    return cells


def drawn(shell: Any, number: int, frame: int | None = None, width: int = 64) -> list[list[tuple[Any, Any]]]:
    picture = one(shell.ctx, number, frame)
    assert isinstance(picture, Picture)
    return grid(HalfBlocks(picture, width), width)


def halves_check(cells: list[list[tuple[Any, Any]]], left: Any = BLACK, right: Any = WHITE, middle: Any = MID) -> None:
    """64 pixels wide drawn 64 cells wide: columns 0-27 left, 28-35 middle, 36-63 right; every line."""
    assert len(cells) == 32 and all(len(line) == 64 for line in cells)
    for line in cells:
        assert line[2] == (left, left) and line[31] == (middle, middle) and line[60] == (right, right)


def test_ct_signed_pixels_rescale_and_the_first_window(shell: Any, tmp_path: Path) -> None:
    number = add(shell, objects.write(objects.signed_ct(), tmp_path / "ct.dcm"))
    halves_check(drawn(shell, number))
    status, shown = shell.run(f"view {number}")
    assert status == ExitStatus.SUCCESS
    assert f"{number}: CT Image Storage  64×64 · MONOCHROME2 · rescale ×2 -100 HU · window 0/401" in shown
    lines = shown.splitlines()[:64]  # no colour here: the same cells by brightness, at twice the size
    assert all(len(line) == 128 and line[4] == " " and line[63] == "+" and line[120] == "@" for line in lines)
    assert shown.splitlines()[64].startswith(f"{number}: CT Image Storage")


def test_monochrome1_is_inverted(shell: Any, tmp_path: Path) -> None:
    number = add(shell, objects.write(objects.signed_ct("MONOCHROME1"), tmp_path / "m1.dcm"))
    halves_check(drawn(shell, number), left=WHITE, right=BLACK, middle=(127, 127, 127))
    assert "MONOCHROME1: inverted" in shell.run(f"view {number}")[1]


@pytest.mark.parametrize("build", [objects.rgb, objects.ybr_full], ids=["RGB", "YBR_FULL"])
def test_colour_objects_are_drawn_in_their_colours(shell: Any, tmp_path: Path, build: Callable[[], Any]) -> None:
    number = add(shell, objects.write(build(), tmp_path / "colour.dcm"))
    cells = drawn(shell, number)
    red, blue = cells[3][10], cells[25][10]
    assert all(abs(a - b) <= 2 for a, b in zip(red[0] + red[1], (255, 0, 0) * 2, strict=True)), red
    assert all(abs(a - b) <= 2 for a, b in zip(blue[0] + blue[1], (0, 0, 255) * 2, strict=True)), blue


def test_palette_colour_goes_through_its_palette(shell: Any, tmp_path: Path) -> None:
    number = add(shell, objects.write(objects.palette(), tmp_path / "palette.dcm"))
    cells = drawn(shell, number)
    assert cells[5][2] == ((0, 255, 0), (0, 255, 0)) and cells[5][60] == ((255, 0, 255), (255, 0, 255))
    assert "its palette" in shell.run(f"view {number}")[1]


def test_rle_is_decoded_by_pydicom_itself(shell: Any, tmp_path: Path) -> None:
    number = add(shell, objects.write(objects.signed_ct(), tmp_path / "rle.dcm", RLELossless))
    assert shell.ctx.session.received[-1].transfer_syntax == RLELossless
    halves_check(drawn(shell, number))


def test_a_multiframe_object_draws_the_frame_asked_for_and_decodes_only_that_one(
        shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydicom.pixels.decoders.base import Decoder

    asked: list[Any] = []
    real = Decoder.as_array

    def spy(self: Any, src: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("index"))
        return real(self, src, **kwargs)

    monkeypatch.setattr(Decoder, "as_array", spy)
    number = add(shell, objects.write(objects.multiframe(3), tmp_path / "mf.dcm"))
    assert drawn(shell, number)[0][0] == (BLACK, BLACK)
    assert drawn(shell, number, frame=2)[0][0] == (MID, MID)
    assert drawn(shell, number, frame=3)[0][0] == (WHITE, WHITE)
    assert asked == [0, 1, 2]  # one frame each time, never all three
    status, shown = shell.run(f"view {number} --frame 3")
    assert status == ExitStatus.SUCCESS and "frame 3 of 3" in shown
    status, shown = shell.run(f"view {number} --frame 4")
    assert status == ExitStatus.ERROR
    assert shown.strip() == (f"error: object {number} has 3 frames: there is no frame 4 — "
                             f"view {number} --frame K, K from 1 to 3")
    assert shell.run(f"view {number}")[0] == ExitStatus.SUCCESS  # the shell goes on


def jpeg_lossless(tmp_path: Path, dcmtk: Callable[[str], Path]) -> Path:
    """The 12-bit CT compressed by DCMTK's dcmcjpeg to JPEG Lossless SV1 (exact: the same colours)."""
    source = objects.write(objects.unsigned_ct(), tmp_path / "plain.dcm")
    target = tmp_path / "jpeg.dcm"
    subprocess.run([str(dcmtk("dcmcjpeg")), "+e1", str(source), str(target)], check=True, capture_output=True)
    return target


def test_jpeg_lossless_with_the_codecs_extra(shell: Any, tmp_path: Path, dcmtk: Callable[[str], Path]) -> None:
    number = add(shell, jpeg_lossless(tmp_path, dcmtk))
    assert shell.ctx.session.received[-1].transfer_syntax == JPEGLosslessSV1
    halves_check(drawn(shell, number))


def test_jpeg_baseline_in_colour_with_the_codecs_extra(shell: Any, tmp_path: Path) -> None:
    """pydicom's own JPEG Baseline file (YBR_FULL, by DCMTK): ten bands of known colours, lossy within a few levels."""
    import shutil

    from pydicom.data import get_testdata_file

    bundled = get_testdata_file("SC_rgb_jpeg_dcmtk.dcm", download=False)
    assert bundled is not None, "pydicom's wheel ships this file"
    number = add(shell, Path(shutil.copy(str(bundled), tmp_path / "jpeg.dcm")))
    cells = drawn(shell, number, width=50)  # 100×100 drawn 50 wide: each band is 5 pixels, 2.5 lines
    bands = [(255, 0, 0), (255, 128, 128), (0, 255, 0), (128, 255, 128), (0, 0, 255), (128, 128, 255), (0, 0, 0),
             (64, 64, 64), (192, 192, 192), (255, 255, 255)]
    for band, colour in enumerate(bands):
        top = cells[band * 5 // 2 + 1][25][0]  # a line inside the band
        assert all(abs(a - b) <= 8 for a, b in zip(top, colour, strict=True)), (band, top, colour)
    assert "YBR_FULL · converted to RGB" in shell.run(f"view {number}")[1]


def test_jpeg_without_a_decoder_says_which_package_to_install(
        shell: Any, tmp_path: Path, dcmtk: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from pydicom.pixels import get_decoder

    number = add(shell, jpeg_lossless(tmp_path, dcmtk))
    plain = add(shell, objects.write(objects.signed_ct(), tmp_path / "ct.dcm"))
    decoder = get_decoder(JPEGLosslessSV1)
    monkeypatch.setattr(decoder, "_available", {})  # as if pylibjpeg were not installed
    status, shown = shell.run(f"view {number}")
    assert status == ExitStatus.ERROR
    assert shown.strip() == (
        f"error: object {number} is in JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 "
        f"[Selection Value 1]) ({JPEGLosslessSV1}) and no decoder for it is installed — pip install "
        "'getsh[codecs]' (installs pylibjpeg and pylibjpeg-libjpeg)")
    assert shell.run(f"view {plain}")[0] == ExitStatus.SUCCESS  # uncompressed still works
    monkeypatch.undo()
    assert shell.run(f"view {number}")[0] == ExitStatus.SUCCESS  # and the JPEG once the decoder is back


def test_without_numpy_view_says_what_to_install(shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    number = add(shell, objects.write(objects.signed_ct(), tmp_path / "ct.dcm"))
    report = add(shell, objects.write(objects.report(), tmp_path / "sr.dcm"))
    monkeypatch.setitem(sys.modules, "numpy", None)
    status, shown = shell.run(f"view {number}")
    assert status == ExitStatus.ERROR
    assert shown.strip() == "error: view needs numpy to decode pixel data, and it is not installed — pip install numpy"
    assert "Lungs are clear." in shell.run(f"view {report}")[1]  # words need no numpy


def test_a_structured_report_is_its_content_tree(shell: Any, tmp_path: Path) -> None:
    number = add(shell, objects.write(objects.report(), tmp_path / "sr.dcm"))
    status, shown = shell.run(f"view {number}")
    assert status == ExitStatus.SUCCESS
    lines = [line.rstrip() for line in shown.splitlines()]
    assert lines[0] == f"{number}: Basic Text SR Storage"
    assert "  4 content items" in lines and "  CompletionFlag COMPLETE" in lines
    tree = "\n".join(lines[3:])
    assert "Diagnostic Imaging Report (CONTAINER)" in tree
    assert "└── contains Findings (CONTAINER)" in tree
    assert "    ├── contains Finding (TEXT): Lungs are clear." in tree
    assert "    └── contains Distance (NUM): 12.5 mm" in tree


def test_a_pdf_is_its_title_and_size_and_a_waveform_its_channels(shell: Any, tmp_path: Path) -> None:
    pdf = add(shell, objects.write(objects.pdf(3000), tmp_path / "doc.dcm"))
    status, shown = shell.run(f"view {pdf}")
    assert status == ExitStatus.SUCCESS
    assert f"{pdf}: Encapsulated PDF Storage" in shown
    assert "document title: Discharge letter" in shown and "encapsulated document: 3,000 bytes" in shown
    assert "MIME type: application/pdf" in shown
    ecg = add(shell, objects.write(objects.ecg(), tmp_path / "ecg.dcm"))
    shown = shell.run(f"view {ecg}")[1]
    assert f"{ecg}: 12-lead ECG Waveform Storage" in shown
    assert "group 1: 2 channels × 100 samples at 500 Hz: Lead I, Lead II" in shown


def test_several_are_a_strip_of_thumbnails_with_a_line_for_each_not_drawn(shell: Any, tmp_path: Path) -> None:
    add(shell, objects.write(objects.signed_ct(), tmp_path / "ct.dcm"))
    add(shell, objects.write(objects.report(), tmp_path / "sr.dcm"))
    broken = objects.signed_ct()
    broken.PixelData = broken.PixelData[:100]
    add(shell, objects.write(broken, tmp_path / "broken.dcm"))
    status, shown = shell.run("view 1-3 --width 20")
    assert status == ExitStatus.ERROR  # one was refused
    lines = shown.splitlines()
    labels = next(line for line in lines if line.startswith("1 CT"))
    assert labels.startswith("1 CT ") and "2 Basic Text SR Sto…" in labels and "3 (see below)" in labels
    assert lines[-1].startswith("3: object 3 claims 64×64×1 samples × 16 bits, 8,192 bytes of pixel data, and "
                                "holds 100: it is not drawn — the object is malformed or truncated (see: show N)")
    assert "not drawn" in shown
    strip = grid(image_view(tuple(one(shell.ctx, n) for n in (1, 2)), 20, True), 80)
    assert strip[0][2] == (BLACK, BLACK) and strip[0][19] == (WHITE, WHITE)  # the first thumbnail, 20 wide


@pytest.mark.parametrize(("line", "message"), [
    ("view 9", "error: there is no object 9: 2 received so far — objects are 1-2 (see: received)"),
    ("view 2-1", "error: object range 2-1 runs backwards — write it 1-2"),
    ("view x", "error: view: N: 'x' is not a number of received objects (3, 2-5,8, all; see: received) — "
               "usage: view N [--frame K] [--width COLUMNS]"),
    ("view 1 --frame 0", "error: view: K: 0: a number of frames is 1 or more — "
                         "usage: view N [--frame K] [--width COLUMNS]"),
    ("view 1 --frame 2", "error: object 1 has one frame: there is no frame 2 — view 1 --frame K, K from 1 to 1"),
    ("view 2 --frame 2", "error: object 2 has no pixel data, so no frame 2 — view 2"),
])
def test_wrong_numbers_are_one_line_each(shell: Any, tmp_path: Path, line: str, message: str) -> None:
    add(shell, objects.write(objects.signed_ct(), tmp_path / "ct.dcm"))
    add(shell, objects.write(objects.report(), tmp_path / "sr.dcm"))
    status, shown = shell.run(line)
    assert status != ExitStatus.SUCCESS and shown.strip() == message


def test_nothing_received_yet_and_show_image(shell: Any, tmp_path: Path) -> None:
    status, shown = shell.run("view 1")
    assert status == ExitStatus.ERROR
    assert shown.strip() == "error: nothing has been received in this session yet — get something first, then view N"
    number = add(shell, objects.write(objects.signed_ct(), tmp_path / "ct.dcm"))
    assert shell.run(f"show {number} --image")[1] == shell.run(f"view {number}")[1]


def test_tab_offers_the_received_objects_with_what_they_are(shell: Any, tmp_path: Path) -> None:
    from getsh.registry import REGISTRY

    add(shell, objects.write(objects.signed_ct(), tmp_path / "ct.dcm"))
    add(shell, objects.write(objects.report(), tmp_path / "sr.dcm"))
    complete = REGISTRY.get("view").args[0].complete
    assert complete is not None
    offered = {s.text: s.meta for s in complete(shell.ctx, "", {})}
    assert offered == {"1": "CT CT Image Storage", "2": "SR Basic Text SR Storage"}
    assert [s.text for s in complete(shell.ctx, "2", {})] == ["2"]
