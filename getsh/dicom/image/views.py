"""What ``view`` shows of one received object, as plain data: a picture, a description, or why neither."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# an SR content item and those it contains: (its line, its children)
Node = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Picture:
    """One frame, decoded and windowed: 8-bit RGB, at most PREVIEW pixels on its long side."""

    number: int  # in 'received'
    rgb: Any  # numpy uint8 array (rows, columns, 3)
    aspect: float  # the height of a pixel, relative to its width (Pixel Spacing / Pixel Aspect Ratio)
    title: str  # the SOP class in words
    label: str  # short, under a thumbnail: the modality
    facts: tuple[str, ...]  # size, frame, window, rescale …: how it was drawn


@dataclass(frozen=True)
class Description:
    """An object without an image, in words."""

    number: int
    title: str
    label: str
    lines: tuple[str, ...]
    tree: tuple[Node, ...]  # an SR's content tree


@dataclass(frozen=True)
class Unviewable:
    """In a strip of several: why this one is not drawn (the one-line error it would be alone)."""

    number: int
    message: str
    hint: str
