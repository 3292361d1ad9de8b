"""The consoles getsh prints on: text from data is shown as it is, whatever it holds.

Two guarantees, made here once rather than at each ``print``:

- **No markup, no emoji codes.** A string handed to rich is its characters: a Patient Name
  ``[/]`` or ``[link=file:///etc/passwd]a[/link]`` is not markup and ``:warning:`` is not an emoji.
  Styles come only from ``Text`` spans the renderer sets.
- **No raw control character reaches the terminal.** Every renderable printed is rendered through
  ``Shown``, which passes rich's own control segments (cursor moves, the live progress display)
  and makes every other control, escape, C1 and bidi character visible (``getsh.literal``). The
  renderer escapes data fields itself, before layout, so that columns line up; this is the net
  under it for anything a new line of code forgets.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook, RenderResult
from rich.measure import Measurement
from rich.segment import Segment

from getsh.literal import literal


class Shown:
    """``renderable``, with its text segments made literal (controls visible, line breaks kept)."""

    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control:
                yield segment
            else:
                text = literal(segment.text, newlines=True)
                yield segment if text is segment.text else Segment(text, segment.style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


class LiteralHook(RenderHook):
    """Wraps whatever a ``print`` renders in ``Shown``."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [Shown(renderable) for renderable in renderables]


def literal_console(**options: Any) -> Console:
    """A rich Console that reads no markup or emoji codes and lets no raw control character through."""
    console = Console(markup=False, emoji=False, highlight=False, **options)
    console.push_render_hook(LiteralHook())
    return console
