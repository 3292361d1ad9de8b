#!/usr/bin/env python3
"""A terminal screen with its colours (``tmux capture-pane -p -e``) drawn as a PNG, to look at what getsh shows.

    tmux capture-pane -p -e -t SESSION > screen.ans
    python scripts/ansi_png.py screen.ans screen.png

Reads SGR colour codes (16 colours, 256 colours, 24-bit; bold, reverse, resets); the upper half block ▀
is drawn as two rectangles, so a picture from ``view`` comes out as pixels. Needs Pillow (pip install
pillow); uses DejaVu Sans Mono where it is installed, else Pillow's own font.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

CELL_W, CELL_H = 9, 18
DEFAULT_FG, DEFAULT_BG = (204, 204, 204), (16, 16, 16)
BASIC = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
         (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255),
         (0, 255, 255), (255, 255, 255)]
TOKEN = re.compile(r"\x1b\[([0-9;:]*)m|\x1b[^a-zA-Z]*[a-zA-Z]|(.)", re.S)
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",)


def palette(index: int) -> tuple[int, int, int]:
    if index < 16:
        return BASIC[index]
    if index < 232:
        index -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return steps[index // 36], steps[(index // 6) % 6], steps[index % 6]
    level = 8 + (index - 232) * 10
    return level, level, level


class Pen:
    """The SGR state: foreground, background, bold, reverse."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: tuple[int, int, int] | None = None
        self.bg: tuple[int, int, int] | None = None
        self.bold = self.reverse = False

    def apply(self, params: str) -> None:
        codes = [int(c) if c else 0 for c in re.split("[;:]", params)] if params else [0]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                self.reset()
            elif code == 1:
                self.bold = True
            elif code == 22:
                self.bold = False
            elif code == 7:
                self.reverse = True
            elif code == 27:
                self.reverse = False
            elif 30 <= code <= 37 or 90 <= code <= 97:
                self.fg = BASIC[code - 30 if code < 90 else code - 90 + 8]
            elif 40 <= code <= 47 or 100 <= code <= 107:
                self.bg = BASIC[code - 40 if code < 100 else code - 100 + 8]
            elif code == 39:
                self.fg = None
            elif code == 49:
                self.bg = None
            elif code in (38, 48) and i + 1 < len(codes):
                colour, used = self._extended(codes[i + 1:])
                if code == 38:
                    self.fg = colour
                else:
                    self.bg = colour
                i += used
            i += 1

    @staticmethod
    def _extended(rest: list[int]) -> tuple[tuple[int, int, int] | None, int]:
        if rest[0] == 5 and len(rest) > 1:
            return palette(rest[1]), 2
        if rest[0] == 2 and len(rest) > 3:
            return (rest[1], rest[2], rest[3]), 4
        return None, 1

    def colours(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        fg, bg = self.fg or DEFAULT_FG, self.bg or DEFAULT_BG
        return (bg, fg) if self.reverse else (fg, bg)


def cells(text: str) -> list[list[tuple[str, tuple[int, int, int], tuple[int, int, int]]]]:
    pen = Pen()
    lines: list[list[tuple[str, tuple[int, int, int], tuple[int, int, int]]]] = [[]]
    for match in TOKEN.finditer(text):
        if match.group(1) is not None:
            pen.apply(match.group(1))
        elif match.group(2) is not None:
            char = match.group(2)
            if char == "\n":
                lines.append([])
            elif char != "\r":
                lines[-1].append((char, *pen.colours()))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def draw(text: str) -> Image.Image:
    grid = cells(text)
    width = max((len(line) for line in grid), default=1)
    image = Image.new("RGB", (width * CELL_W, max(1, len(grid)) * CELL_H), DEFAULT_BG)
    pen = ImageDraw.Draw(image)
    font_path = next((p for p in FONT_PATHS if Path(p).exists()), None)
    font = ImageFont.truetype(font_path, 14) if font_path else ImageFont.load_default()
    for y, line in enumerate(grid):
        for x, (char, fg, bg) in enumerate(line):
            left, top = x * CELL_W, y * CELL_H
            if char == "▀":
                pen.rectangle([left, top, left + CELL_W - 1, top + CELL_H // 2 - 1], fill=fg)
                pen.rectangle([left, top + CELL_H // 2, left + CELL_W - 1, top + CELL_H - 1], fill=bg)
                continue
            if bg != DEFAULT_BG:
                pen.rectangle([left, top, left + CELL_W - 1, top + CELL_H - 1], fill=bg)
            if char != " ":
                pen.text((left, top + 1), char, fill=fg, font=font)
    return image


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: ansi_png.py SCREEN.ans OUT.png", file=sys.stderr)
        return 2
    draw(Path(argv[1]).read_text(encoding="utf-8", errors="replace")).save(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
