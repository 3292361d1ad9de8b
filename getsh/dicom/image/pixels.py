"""One frame of a stored object decoded with pydicom's own decoders and made an 8-bit RGB picture.

Only the frame asked for is read and decoded (pydicom's ``Decoder.as_array`` with an index, from the
file). Then, as a viewer would: the modality LUT (Rescale Slope/Intercept, or the functional groups'
Pixel Value Transformation of an enhanced object), the object's own window (the first Window
Center/Width, the frame's VOI LUT, or else the pixel range), MONOCHROME1 inverted, PALETTE COLOR
through its palette (``apply_color_lut``), YBR converted to RGB by the decoder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from getsh.dicom.image.checks import Geometry
from getsh.dicom.image.source import NotViewable, Source, first_line

if TYPE_CHECKING:
    import numpy as np
    from pydicom import Dataset

# what decodes each family of compressed transfer syntaxes; the codecs extra installs all of them
CODECS_EXTRA = "pip install 'getsh[codecs]'"
_JPEG = "pylibjpeg and pylibjpeg-libjpeg"
_J2K = "pylibjpeg and pylibjpeg-openjpeg"
_PACKAGES = {
    "1.2.840.10008.1.2.4.50": _JPEG, "1.2.840.10008.1.2.4.51": _JPEG, "1.2.840.10008.1.2.4.57": _JPEG,
    "1.2.840.10008.1.2.4.70": _JPEG, "1.2.840.10008.1.2.4.80": _JPEG, "1.2.840.10008.1.2.4.81": _JPEG,
    "1.2.840.10008.1.2.4.90": _J2K, "1.2.840.10008.1.2.4.91": _J2K, "1.2.840.10008.1.2.4.201": _J2K,
    "1.2.840.10008.1.2.4.202": _J2K, "1.2.840.10008.1.2.4.203": _J2K,
}


def require_numpy() -> None:
    """numpy is a dependency of getsh; an installation without it (pip --no-deps) is told what to install."""
    try:
        importlib.import_module("numpy")
    except ImportError:
        raise NotViewable("view needs numpy to decode pixel data, and it is not installed",
                          "pip install numpy") from None


def decode_frame(source: Source, shape: Geometry, index: int, what: str) -> tuple[np.ndarray, str]:
    """Frame ``index`` (0-based) as pydicom decodes it, and the photometric interpretation it is in."""
    from pydicom.pixels import as_pixel_options, get_decoder
    from pydicom.uid import UID

    uid = UID(source.transfer_syntax)
    stored = UID(source.stored_syntax or source.transfer_syntax)
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise NotViewable(f"{what} is in {_syntax(stored)}, which pydicom cannot decode",
                          "no decoder exists for it in pydicom") from None
    if not decoder.is_available:
        package = _PACKAGES.get(str(uid), "a decoder plugin for it")
        raise NotViewable(f"{what} is in {_syntax(stored)} and no decoder for it is installed",
                          f"{CODECS_EXTRA} (installs {package})")
    element = source.pixels
    assert element is not None
    options: dict[str, Any] = as_pixel_options(source.header, number_of_frames=shape.frames)
    options.update(transfer_syntax_uid=uid, pixel_keyword=element.keyword)
    if not uid.is_implicit_VR:
        options["pixel_vr"] = element.vr
    source.stream.seek(element.start)
    try:
        array, properties = decoder.as_array(source.stream, index=index, validate=True, **options)
    except Exception as error:
        raise NotViewable(f"cannot decode {what} ({_syntax(stored)}): {first_line(error)}",
                          "the pixel data is damaged, or the decoder does not support this variant") from None
    return array, str(properties.get("photometric_interpretation", shape.photometric))


def _syntax(uid: Any) -> str:
    name = uid.name if uid.is_transfer_syntax else ""
    return f"{name} ({uid})" if name and name != str(uid) else f"the transfer syntax {uid}"


def to_rgb(array: np.ndarray, header: Dataset, shape: Geometry, photometric: str, index: int) -> tuple[np.ndarray,
                                                                                                         list[str]]:
    """The decoded frame as uint8 RGB (rows, columns, 3), and what was applied, in words."""
    import numpy as np

    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(array, header)  # uint16 for a palette of 16-bit entries
        scale = 255.0 / 65535.0 if rgb.dtype.itemsize > 1 else 1.0
        return np.clip(np.rint(rgb * scale), 0, 255).astype(np.uint8), ["its palette"]
    if array.ndim == 3:  # colour: RGB as decoded (YBR converted by the decoder)
        top = float(2 ** min(shape.bits_stored, 16) - 1)
        rgb = array.astype(np.float32) * (255.0 / top) if top != 255 else array
        words = [] if shape.photometric == "RGB" else ["converted to RGB"]
        return np.clip(rgb, 0, 255).astype(np.uint8), words
    values, words = _modality(array, header, index)
    grey, window_words = _window(values, header, index)
    words += window_words
    if shape.photometric == "MONOCHROME1":
        grey = 1.0 - grey
        words.append("MONOCHROME1: inverted")
    grey8 = np.clip(np.rint(grey * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(grey8[:, :, None], 3, axis=2), words


def frame_item(header: Dataset, index: int, group: str, keyword: str) -> Any:
    """``keyword`` of the object, or of an enhanced object's frame ``index`` (per-frame functional groups),
    or of its shared functional groups: where a value for that frame is."""
    if keyword in header:
        return header.get(keyword)
    for name, item in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", 0)):
        groups = header.get(name)
        if groups and item < len(groups):
            inner = groups[item].get(group)
            if inner and keyword in inner[0]:
                return inner[0].get(keyword)
    return None


def _first(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value[0] if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else value)
    except (TypeError, ValueError, IndexError):
        return None


def _modality(array: np.ndarray, header: Dataset, index: int) -> tuple[np.ndarray, list[str]]:
    import numpy as np

    slope = _first(frame_item(header, index, "PixelValueTransformationSequence", "RescaleSlope"))
    intercept = _first(frame_item(header, index, "PixelValueTransformationSequence", "RescaleIntercept"))
    values = array.astype(np.float64)
    if slope is None and intercept is None and "ModalityLUTSequence" in header:
        from pydicom.pixels import apply_modality_lut

        return np.asarray(apply_modality_lut(array, header), dtype=np.float64), ["its modality LUT"]
    if slope is None and intercept is None:
        return values, []
    slope, intercept = slope if slope is not None else 1.0, intercept or 0.0
    unit = str(frame_item(header, index, "PixelValueTransformationSequence", "RescaleType") or "")
    words = [f"rescale ×{slope:g} {intercept:+g}{' ' + unit if unit else ''}"]
    return values * slope + intercept, words


def _window(values: np.ndarray, header: Dataset, index: int) -> tuple[np.ndarray, list[str]]:
    """Values → 0..1 by the object's first window (DICOM's linear function), else its VOI LUT, else the range."""
    import numpy as np

    center = _first(frame_item(header, index, "FrameVOILUTSequence", "WindowCenter"))
    width = _first(frame_item(header, index, "FrameVOILUTSequence", "WindowWidth"))
    if center is not None and width is not None and width >= 1:
        function = str(frame_item(header, index, "FrameVOILUTSequence", "VOILUTFunction") or "LINEAR").upper()
        if function == "SIGMOID":
            grey = 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
        elif function == "LINEAR_EXACT":
            grey = (values - (center - width / 2)) / width
        else:
            grey = (values - (center - 0.5)) / max(width - 1, 1) + 0.5
        return np.clip(grey, 0.0, 1.0), [f"window {center:g}/{width:g}"]
    if "VOILUTSequence" in header:
        from pydicom.pixels import apply_voi

        values = np.asarray(apply_voi(values, header, index=0), dtype=np.float64)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        return (values - low) / max(high - low, 1e-9), ["its VOI LUT"]
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    return (values - low) / max(high - low, 1e-9), [f"no window: the pixel range {low:g}…{high:g}"]


def resized(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """``rgb`` (rows, columns, 3) as ``height`` × ``width``: each new pixel the mean of the area it covers
    (the nearest pixel when enlarging)."""
    import numpy as np

    rows, columns = rgb.shape[:2]
    height, width = max(1, height), max(1, width)
    y0 = (np.arange(height) * rows) // height
    y1 = np.maximum(((np.arange(height) + 1) * rows) // height, y0 + 1)
    x0 = (np.arange(width) * columns) // width
    x1 = np.maximum(((np.arange(width) + 1) * columns) // width, x0 + 1)
    table = np.zeros((rows + 1, columns + 1, 3), dtype=np.float64)  # summed-area table
    table[1:, 1:] = rgb.astype(np.float64).cumsum(0).cumsum(1)
    total = (table[y1][:, x1] - table[y0][:, x1] - table[y1][:, x0] + table[y0][:, x0])
    area = ((y1 - y0)[:, None] * (x1 - x0)[None, :])[:, :, None]
    return np.clip(np.rint(total / area), 0, 255).astype(np.uint8)
