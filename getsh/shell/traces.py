"""``trace`` on the screen: a line per message, coloured by direction and status, and the A-ASSOCIATE
exchange as a table. Every peer string (AE titles, UIDs, an Error Comment, an implementation version
name) is shown literally."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from getsh.dicom.net.trace_items import Traced, TracedAssociation, TraceItem
from getsh.literal import literal

__all__ = ["TraceItem", "draw"]

DIRECTION_STYLES = {"→": "cyan", "←": "magenta", "…": "dim", "↻": "yellow"}
STATUS_STYLES = {"Warning": "yellow", "Cancel": "yellow", "Failure": "red"}


def draw(console: Console, item: TraceItem) -> None:
    """A line as one line (a terminal wraps it; it is never cut), the A-ASSOCIATE exchange as a table."""
    if isinstance(item, TracedAssociation):
        head, ours, table = association(item)
        console.print(head, soft_wrap=True)
        console.print(ours, soft_wrap=True)
        console.print(table)
    elif isinstance(item, Traced):
        console.print(line(item), soft_wrap=True)


def line(item: Traced) -> Text:
    """``→ C-STORE-RSP #1 Success  +12 ms``."""
    text = Text(item.direction, style=DIRECTION_STYLES.get(item.direction, ""))
    if item.message:
        text.append(f" {item.message}", style="bold red" if item.message == "A-ABORT" else "bold")
    if item.text:
        text.append(f" {literal(item.text)}", style=STATUS_STYLES.get(item.category, "dim" if item.direction == "…"
                                                                       else ""))
    if item.elapsed is not None:
        text.append(f"  {item.since}", style="dim")
    return text


def association(item: TracedAssociation) -> tuple[Text, Text, Table]:
    """The headline, then one row per proposed context: what we proposed, what the peer answered."""
    head = Text("←", style=DIRECTION_STYLES["←"])
    head.append(" A-ASSOCIATE-AC", style="bold")
    head.append(f" {literal(item.headline)}")
    head.append(f"  {Traced('', '', '', item.elapsed).since}", style="dim")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for header, style in (("ctx", "dim"), ("abstract syntax", ""), ("proposed", "dim"), ("answer", ""),
                          ("roles (SCP/SCU selection)", "")):
        table.add_column(header, style=style, overflow="fold")
    shown, left_out = item.rows()
    for cx in shown:
        answer = Text(f"accepted: {literal(cx.transfer_syntax)}", style="green") if cx.accepted else \
            Text(f"rejected: {literal(cx.answer)}", style="red")
        # Text, never a str: a str cell is rich markup, and a UID the peer named (accept auto) is data
        table.add_row(str(cx.context_id), Text(literal(cx.abstract_syntax)), Text(literal(", ".join(cx.proposed))),
                      answer, Text(literal(cx.roles) or "-"))
    if left_out:
        table.add_row("…", Text(item.folded_words(left_out), style="dim"), "", "", "")
    ours = Text(f"  our implementation {literal(item.our_implementation)}; AE titles {literal(item.calling_ae)} → "
                f"{literal(item.called_ae)}", style="dim")
    return head, ours, table
