"""``help`` drawn: the command index in aligned sections, and one command's page."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from getsh.results import HelpIndex, HelpPage
from getsh.shell.tables import PROSE, reflow


def help_index(index: HelpIndex) -> RenderableType:
    """One column of names for every section, so the summaries line up from section to section."""
    names = max(len(n + (f" ({a})" if a else "")) for _, commands in index.sections for n, a, _ in commands)
    parts: list[RenderableType] = []
    for category, commands in index.sections:
        table = Table(title=category, title_justify="left", show_header=False, box=None, pad_edge=False)
        table.add_column("command", style="bold cyan", no_wrap=True, min_width=names)
        table.add_column("summary", overflow="fold")
        for name, aliases, summary in commands:
            table.add_row(name + (f" ({aliases})" if aliases else ""), summary)
        parts.append(table)
    parts.append(Text("help COMMAND shows its usage and examples; Tab completes.", style="dim"))
    return Group(*parts)


def print_help_page(console: Console, page: HelpPage) -> None:
    """Usage, summary, aliases, arguments; the prose reflowed to the terminal (at most PROSE wide),
    examples and lists as written."""
    console.print(Text(f"usage: {page.usage}", style="bold"))
    console.print(Text(page.summary))
    if page.aliases:
        console.print(f"aliases: {', '.join(page.aliases)}", style="dim")
    if page.arguments:
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(overflow="fold")
        for name, text in page.arguments:
            table.add_row(name, text)
        console.print(table)
    if page.text:
        console.print(Text(reflow(page.text)), width=min(console.width, PROSE))
