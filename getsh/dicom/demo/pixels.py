"""Pixel patterns for the demo archive: integer arithmetic only, so identical bytes everywhere."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable

SIZE = 64  # rows = columns of every image: small files, fast generation

def frame(value: Callable[[int, int], int]) -> bytes:
    """One SIZE×SIZE little-endian 16-bit unsigned frame from value(x, y)."""
    pixels = array("H", (value(x, y) for y in range(SIZE) for x in range(SIZE)))
    if sys.byteorder == "big":
        pixels.byteswap()
    return pixels.tobytes()


def phantom(slice_index: int, seed: int) -> bytes:
    """A CT 'body' ellipse (stored = HU + 1024) with a bright ring and a moving 'vessel'."""
    c = SIZE // 2
    vx, vy = 20 + (slice_index * 3 + seed) % 24, 24 + (slice_index * 5) % 16

    def value(x: int, y: int) -> int:
        d = 4 * (x - c) ** 2 + 9 * (y - c) ** 2  # ellipse: d <= 3600 is inside
        if d > 3600:
            return 24  # air, -1000 HU
        if d > 3000:
            return 1024 + 700  # bone ring
        if (x - vx) ** 2 + (y - vy) ** 2 <= 9:
            return 1024 + 300  # contrast-filled vessel
        return 1024 + 40 + ((x * 7 + y * 3 + slice_index * 11) % 16)  # soft tissue, textured

    return frame(value)


def brain(slice_index: int, weighting: int) -> bytes:
    """An MR-like round head whose contrast depends on the weighting (1 = T1, 2 = T2)."""
    c = SIZE // 2
    radius2 = (26 - slice_index) ** 2

    def value(x: int, y: int) -> int:
        r2 = (x - c) ** 2 + (y - c) ** 2
        if r2 > radius2:
            return 0
        ventricle = abs(x - c) <= 3 and abs(y - c) <= 8
        tissue = 400 + (r2 * 600) // max(radius2, 1)
        if ventricle:
            return 3000 if weighting == 2 else 150
        return tissue if weighting == 1 else 1600 - tissue

    return frame(value)


def cine(frame_index: int) -> bytes:
    """A diagonal gradient with a bar that sweeps across the frames (visibly multi-frame)."""
    bar = (frame_index * 6) % SIZE
    return frame(lambda x, y: 4000 if abs(x - bar) <= 1 else (x + y) * 31)
