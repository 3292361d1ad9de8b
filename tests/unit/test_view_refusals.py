"""A malformed object is refused by view with one line, before anything is decoded, and the shell goes on.

Each case claims more than its pixel data holds, an absurd size, or lacks a pixel attribute; the
decoder is replaced by one that fails the test if it is ever called.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit

from getsh.exitstatus import ExitStatus
from tests.unit import view_objects as objects
from tests.unit.view_objects import add


def truncated() -> Dataset:
    ds = objects.signed_ct()
    ds.PixelData = ds.PixelData[:100]
    return ds


def huge() -> Dataset:
    ds = objects.signed_ct()
    ds.Rows = ds.Columns = 65535
    return ds


def million_frames() -> Dataset:
    ds = objects.signed_ct()
    ds.NumberOfFrames = 1_000_000
    return ds


def no_rows() -> Dataset:
    ds = objects.signed_ct()
    del ds.Rows
    return ds


def frames_without_fragments() -> Dataset:
    return objects.jpeg_like(frames_claimed=1_000_000)


def codestream_larger_than_header() -> Dataset:
    return objects.jpeg_like(codestream_rows=65535)


CASES: list[tuple[Callable[[], Dataset], str, str]] = [
    (truncated, ExplicitVRLittleEndian,
     "claims 64×64×1 samples × 16 bits, 8,192 bytes of pixel data, and holds 100: it is not drawn"),
    (huge, ExplicitVRLittleEndian, "claims 65535×65535 pixels a frame, more than the 67,108,864 view draws"),
    (million_frames, ExplicitVRLittleEndian,
     "claims 64×64×1 samples × 16 bits × 1,000,000 frames, 8,192,000,000 bytes of pixel data, and holds 8,192"),
    (no_rows, ExplicitVRLittleEndian, "has pixel data but no Rows: it cannot be drawn"),
    (frames_without_fragments, JPEGBaseline8Bit,
     "claims 64×64×1 samples × 8 bits × 1,000,000 frames and its pixel data holds 1 fragment: it is not drawn"),
    (codestream_larger_than_header, JPEGBaseline8Bit,
     "says 64×64 pixels in its header and 65535×64 in its compressed frame: it is not decoded"),
]


@pytest.mark.parametrize(("build", "syntax", "words"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_malformed_object_is_refused_in_one_line_and_never_decoded(
        shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build: Callable[[], Dataset], syntax: str,
        words: str) -> None:
    from pydicom.pixels.decoders.base import Decoder

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a malformed object reached the decoder")

    good = add(shell, objects.write(objects.signed_ct(), tmp_path / "good.dcm"))
    bad = add(shell, objects.write(build(), tmp_path / "bad.dcm", syntax))
    monkeypatch.setattr(Decoder, "as_array", never)
    status, shown = shell.run(f"view {bad}")
    assert status == ExitStatus.ERROR
    assert len(shown.splitlines()) == 1, shown
    assert shown.startswith(f"error: object {bad} ") and words in shown and "(see: show N)" in shown
    monkeypatch.undo()
    status, shown = shell.run(f"view {good}")  # the shell goes on, and draws what it can
    assert status == ExitStatus.SUCCESS and f"{good}: CT Image Storage" in shown


def test_a_file_gone_from_disk_is_one_line(shell: Any, tmp_path: Path) -> None:
    number = add(shell, objects.write(objects.signed_ct(), tmp_path / "gone.dcm"))
    (tmp_path / "gone.dcm").unlink()
    status, shown = shell.run(f"view {number}")
    assert status == ExitStatus.ERROR and len(shown.splitlines()) == 1
    assert shown.startswith(f"error: cannot read {tmp_path / 'gone.dcm'}: ")
    assert shown.rstrip().endswith("— was the file moved or deleted?")
