"""``look``: a stored object as ``view`` shows it — one frame as a picture, or the object in words.

The order is the safety: open without the pixel data (source.py), check the claims (checks.py), only
then decode the one frame asked for (pixels.py), thin it to at most ``PREVIEW_SOURCE`` pixels before
any arithmetic on it, and hand on at most ``PREVIEW`` pixels on its long side.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from getsh.dicom.image.checks import Geometry, check_sizes, geometry
from getsh.dicom.image.describe import describe, sop_class_name
from getsh.dicom.image.pixels import decode_frame, require_numpy, resized, to_rgb
from getsh.dicom.image.source import NotViewable, open_stored
from getsh.dicom.image.views import Description, Picture

if TYPE_CHECKING:
    import numpy as np
    from pydicom import Dataset

PREVIEW = 512  # pixels on the long side of the picture handed to the screen (a terminal shows fewer)
THUMBNAIL = 96
PREVIEW_SOURCE = 1024 * 1024  # a larger decoded frame is thinned (every n-th pixel) before any arithmetic


def look(path: Path, number: int, frame: int | None = None, preview: int = PREVIEW) -> Picture | Description:
    """Object ``number`` stored at ``path``: frame ``frame`` (1-based; the first if None) as a Picture, or a
    Description when it has no pixel data; NotViewable (one line and a fix) when it cannot be drawn."""
    what = f"object {number}"
    source = open_stored(path)
    try:
        header = source.header
        if source.pixels is None:
            if frame is not None:
                raise NotViewable(f"{what} has no pixel data, so no frame {frame}", f"view {number}")
            return describe(header, number, document_size(header))
        shape = geometry(source, what)
        check_sizes(source, shape, what)
        index = frame_index(frame, shape, what, number)
        require_numpy()
        array, photometric = decode_frame(source, shape, index, what)
    finally:
        source.close()
    array, step = thinned(array)
    rgb, words = to_rgb(array, header, shape, photometric, index)
    rows, columns = rgb.shape[:2]
    scale = min(1.0, preview / max(rows, columns))
    if scale < 1.0:
        rgb = resized(rgb, round(rows * scale), round(columns * scale))
    facts = [f"{shape.columns}×{shape.rows}"]
    if shape.frames > 1:
        facts.append(f"frame {index + 1} of {shape.frames}")
    facts.append(shape.photometric)
    facts += words
    if step > 1:
        facts.append(f"every {step}th pixel read")
    return Picture(number, rgb, aspect(header), sop_class_name(str(header.get("SOPClassUID", "") or "")),
                   str(header.get("Modality", "") or "") or "?", tuple(facts))


def frame_index(frame: int | None, shape: Geometry, what: str, number: int) -> int:
    if frame is None:
        return 0
    if frame > shape.frames:
        one = "one frame" if shape.frames == 1 else f"{shape.frames} frames"
        raise NotViewable(f"{what} has {one}: there is no frame {frame}",
                          f"view {number} --frame K, K from 1 to {shape.frames}")
    return frame - 1


def thinned(array: np.ndarray) -> tuple[np.ndarray, int]:
    """Every n-th pixel of a frame larger than PREVIEW_SOURCE, and n."""
    rows, columns = array.shape[:2]
    step = 1
    while (rows // step) * (columns // step) > PREVIEW_SOURCE:
        step += 1
    return (array[::step, ::step], step) if step > 1 else (array, 1)


def aspect(header: Dataset) -> float:
    """How tall a pixel is for its width: Pixel Spacing (row, column) or Pixel Aspect Ratio; 1 when absent
    or absurd."""
    try:
        spacing = header.get("PixelSpacing")
        if spacing and len(spacing) == 2 and float(spacing[1]) > 0:
            ratio = float(spacing[0]) / float(spacing[1])
        else:
            pair = header.get("PixelAspectRatio")
            ratio = float(pair[0]) / float(pair[1]) if pair and len(pair) == 2 and float(pair[1]) > 0 else 1.0
    except (TypeError, ValueError):
        ratio = 1.0
    return ratio if 0.1 <= ratio <= 10 else 1.0


def document_size(header: Dataset) -> int | None:
    """The length of the Encapsulated Document, read without reading the document."""
    if 0x00420011 not in header:
        return None
    raw = header.get_item(0x00420011)
    length = getattr(raw, "length", None)
    if isinstance(length, int) and length != 0xFFFFFFFF and getattr(raw, "value", None) is None:
        return length
    value = getattr(raw, "value", b"") or b""
    return len(value)
