"""Pictures in the terminal: each character cell is two pixels, the upper half block ▀ in the colour of the
pixel above and its background in the colour of the pixel below.

rich turns the 24-bit colours into what the console supports (truecolor, 256 colours, 16); a console
without colour (output to a file or a pipe) gets the same cells as characters by brightness
(`` .:-=+*#%@``), so ``getsh -c 'view 1' > out.txt`` still shows the slice. Every word from the object
(titles, labels, SR text) is shown literally.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rich.color import Color
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from rich.tree import Tree

from getsh.dicom.image import Description, Node, Picture, Unviewable, resized
from getsh.literal import literal

UPPER_HALF = "▀"
RAMP = " .:-=+*#%@"  # darkest to brightest, for a console without colour
THUMB_COLUMNS = 24  # a thumbnail's width in a strip unless --width says otherwise
GAP = 2
Line = list[Segment]


def size_for(picture: Picture, columns: int | None, console_width: int, max_rows: int | None) -> tuple[int, int]:
    """(width, height) in pixels to draw ``picture`` at: ``columns`` wide if given (at most the console's
    width), else as large as fits ``console_width`` × ``max_rows`` cells and at most twice its size;
    each cell is one pixel wide and two tall, and a pixel is ``aspect`` times as tall as it is wide."""
    rows, cols = picture.rgb.shape[:2]
    tall = rows * picture.aspect
    if columns:
        scale = min(columns, console_width) / cols
    else:
        scale = min(console_width / cols, 2.0)
        if max_rows:
            scale = min(scale, 2 * max_rows / tall)
    return max(1, round(cols * scale)), max(1, round(tall * scale))


def cells(rgb: Any, width: int, height: int, colour: bool) -> list[Line]:
    """The picture ``rgb`` as ``width`` × ``height`` pixels, in lines of ``width`` cells."""
    scaled = resized(rgb, height, width).tolist()
    styles: dict[tuple[Any, ...], Style] = {}
    lines: list[Line] = []
    for top_row in range(0, height, 2):
        top = scaled[top_row]
        bottom = scaled[top_row + 1] if top_row + 1 < height else None
        keys = [(tuple(top[x]), tuple(bottom[x]) if bottom else None) for x in range(width)]
        line: Line = []
        for key, run in _runs(keys):
            if colour:
                style = styles.get(key) or styles.setdefault(key, _style(*key))
                line.append(Segment(UPPER_HALF * run, style))
            else:
                line.append(Segment(_ramp(*key) * run))
        lines.append(line)
    return lines


def _runs(keys: list[tuple[Any, ...]]) -> Iterator[tuple[tuple[Any, ...], int]]:
    start = 0
    for x in range(1, len(keys) + 1):
        if x == len(keys) or keys[x] != keys[start]:
            yield keys[start], x - start
            start = x


def _style(top: tuple[int, ...], bottom: tuple[int, ...] | None) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom) if bottom else None)


def _ramp(top: tuple[int, ...], bottom: tuple[int, ...] | None) -> str:
    pixels = [top, bottom] if bottom else [top]
    light = round(sum(0.299 * r + 0.587 * g + 0.114 * b for r, g, b in pixels) / len(pixels))
    return RAMP[min(len(RAMP) - 1, int(light * len(RAMP) / 256))]


class HalfBlocks:
    """One picture, sized when it is drawn (``size_for``), with its caption under it."""

    def __init__(self, picture: Picture, columns: int | None = None) -> None:
        self.picture = picture
        self.columns = columns

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        max_rows = console.height - 5 if console.is_terminal and not self.columns else None
        width, height = size_for(self.picture, self.columns, options.max_width, max_rows)
        for line in cells(self.picture.rgb, width, height, console.color_system is not None):
            yield from line
            yield Segment.line()
        yield caption(self.picture)


def caption(picture: Picture) -> Text:
    line = Text(f"{picture.number}: {literal(picture.title)}", style="bold")
    line.append("  " + literal(" · ".join(picture.facts)), style="dim")
    return line


class Strip:
    """Thumbnails side by side, as many to a row as the console is wide, each with its number under it."""

    def __init__(self, items: Iterable[Picture | Description | Unviewable], columns: int | None = None) -> None:
        self.items = list(items)
        self.columns = columns or THUMB_COLUMNS

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(4, min(self.columns, options.max_width))
        per_row = max(1, (options.max_width + GAP) // (width + GAP))
        colour = console.color_system is not None
        for start in range(0, len(self.items), per_row):
            tiles = [self._tile(item, width, colour) for item in self.items[start:start + per_row]]
            height = max(len(lines) for lines, _ in tiles)
            rows = [lines + [[Segment(" " * width)]] * (height - len(lines)) + [[label]] for lines, label in tiles]
            for row in range(height + 1):  # the pictures, then their labels on one line
                for number, tile in enumerate(rows):
                    if number:
                        yield Segment(" " * GAP)
                    yield from tile[row]
                yield Segment.line()

    def _tile(self, item: Picture | Description | Unviewable, width: int, colour: bool) -> tuple[list[Line], Segment]:
        """A thumbnail's lines, and its label."""
        if isinstance(item, Picture):
            rows, cols = item.rgb.shape[:2]
            height = max(1, round(rows * item.aspect * width / cols))
            return cells(item.rgb, width, height, colour), _label(f"{item.number} {item.label}", width, "bold")
        if isinstance(item, Unviewable):
            word, label = "not drawn", _label(f"{item.number} (see below)", width, "red")
        else:
            word, label = literal(item.label), _label(f"{item.number} {item.title}", width, "bold")
        blank = [Segment(" " * width)]
        middle = [Segment(_fit(word, width).center(width), Style(dim=True))]
        return [blank] * (width // 4) + [middle] + [blank] * (width // 4), label


def _label(text: str, width: int, style: str) -> Segment:
    return Segment(_fit(literal(text), width).ljust(width), Style.parse(style))


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def description(item: Description) -> RenderableType:
    """An object without an image: its class, what it holds, and an SR's content tree."""
    parts: list[RenderableType] = [Text(f"{item.number}: {literal(item.title)}", style="bold")]
    parts += [Text("  " + literal(line)) for line in item.lines]
    for node in item.tree:
        tree = Tree(Text(literal(node[0])), guide_style="dim")
        _branches(tree, node[1])
        parts.append(tree)
    return Group(*parts)


def _branches(tree: Tree, children: tuple[Node, ...]) -> None:
    for text, grandchildren in children:
        _branches(tree.add(Text(literal(text))), grandchildren)


def unviewable_line(item: Unviewable) -> Text:
    line = Text(f"{item.number}: {literal(item.message)}", style="red")
    if item.hint:
        line.append(f" — {literal(item.hint)}", style="dim")
    return line


def image_view(items: tuple[Any, ...], columns: int | None, strip: bool) -> RenderableType:
    """What ``view`` draws: a picture with its caption, an object in words, or a strip of thumbnails with
    a line for each object not drawn."""
    if not strip and len(items) == 1 and isinstance(items[0], Picture):
        return HalfBlocks(items[0], columns)
    if not strip and len(items) == 1 and isinstance(items[0], Description):
        return description(items[0])
    return Group(Strip(items, columns), *(unviewable_line(i) for i in items if isinstance(i, Unviewable)))
