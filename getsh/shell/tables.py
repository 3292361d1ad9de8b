"""Tables of received objects, the summary of a retrieve, and a data set as a tree."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from getsh.dicom.events import CompletenessChecked, GetDone, Received
from getsh.dicom.keys.dictionary import Explanation
from getsh.dicom.net.syntaxes import syntax_name, uid_name
from getsh.dicom.storage.checks import NO_PIXELS, UID_MISMATCH, UID_NOT_VALID
from getsh.literal import literal
from getsh.results import TABLE_ROWS, KeysView, ObjectView
from getsh.shell.progress import human_size, objects_words, rates

STATUS_COLOURS = {"Success": "green", "Warning": "yellow", "Cancel": "yellow"}


def short_uid(uid: str, keep: int = 8) -> str:
    """The tail of a UID, which is what tells siblings apart."""
    return uid if len(uid) <= keep + 1 else "…" + uid[-keep:]


WIDE = 190  # below this many columns the table drops study, series and file (see 'show N')


def received_table(rows: Sequence[Received], title: str = "", width: int = WIDE) -> Table:
    """One line per object; the SOP Instance UID always whole. Narrow terminals get fewer columns."""
    wide = width >= WIDE
    table = Table(title=title or None, title_justify="left")
    table.add_column("#", justify="right", no_wrap=True, min_width=len(str(rows[-1].index)) if rows else 1)
    table.add_column("patient", overflow="ellipsis", no_wrap=True, max_width=24 if wide else 12)
    if wide:
        table.add_column("study", no_wrap=True)
        table.add_column("series", no_wrap=True)
    table.add_column("mod", no_wrap=True, min_width=3)
    table.add_column("SOP class", overflow="ellipsis", no_wrap=True, max_width=24 if wide else 14)
    table.add_column("SOP Instance UID", overflow="fold", min_width=20)
    table.add_column("transfer syntax", overflow="ellipsis", no_wrap=True, max_width=24 if wide else 14)
    table.add_column("size", justify="right", no_wrap=True, min_width=7)
    if wide:
        table.add_column("file", overflow="ellipsis", no_wrap=True, max_width=28)
    table.add_column("", no_wrap=True, min_width=7)
    for r in rows:
        table.add_row(*received_cells(r, wide))
    return table


def received_cells(r: Received, wide: bool) -> list[Text]:
    """One row of the received table: every value from the peer or its file shown as it is."""
    patient = r.patient_id + (f" ({r.patient_name})" if r.patient_name and wide else "")
    cells = [str(r.index), patient]
    if wide:
        cells += [short_uid(r.study_uid), short_uid(r.series_uid)]
    cells += [r.modality, uid_name(r.sop_class_uid).replace(" Storage", ""), r.sop_instance_uid,
              syntax_name(r.transfer_syntax), human_size(r.size)]
    if wide:
        cells.append(r.path or "-")
    happened = Text(literal(r.action), style="yellow" if r.action not in ("written", "ignored") else "")
    if r.remarks:  # kept, but something is wrong with it (the summary says what)
        happened.append("; " + ", ".join(dict.fromkeys(literal(m.kind) for m in r.remarks)), style="yellow")
    return [Text(literal(cell)) for cell in cells] + [happened]


def table_rows(is_terminal: bool, height: int) -> int:
    """How many rows the table after a get shows: on a terminal, what fits on the screen with the
    header and summary lines (a table that scrolls out of sight helps nobody, and rich draws ~1 ms
    a row); elsewhere (scripts, logs) TABLE_ROWS. 'received' lists them all."""
    return min(TABLE_ROWS, max(10, height - 14)) if is_terminal else TABLE_ROWS


def get_summary(done: GetDone, width: int = WIDE, rows: int = TABLE_ROWS) -> RenderableType:
    parts: list[RenderableType] = []
    if done.received:
        shown = done.received[-rows:] if len(done.received) > rows else done.received
        title = f"received: {literal(done.label)}"
        if len(shown) < len(done.received):
            title += f" (last {len(shown)} of {len(done.received)}; 'received' lists all)"
        parts.append(received_table(shown, title, width))
    colour = STATUS_COLOURS.get(done.status.category, "red")
    line = Text("C-GET ")
    line.append(done.status.category, style=f"bold {colour}")
    if done.status.words:
        line.append(f": {literal(done.status.words)}")
    line.append(f" (0x{done.status.code:04X})")
    if done.cancelled:
        line.append(f" — cancelled {done.cancel_reason or 'at your request'}", style="yellow")
    parts.append(line)
    counts = f"sub-operations: {done.completed} completed, {done.failed} failed, {done.warning} warning"
    if done.remaining:
        counts += f", {done.remaining} not started"
    counts += f" (the peer's counts); getsh received {len(done.received) + len(done.refused)}"
    counts += f", refused {len(done.refused)}" if done.refused else ""
    parts.append(Text(counts))
    if done.disagreement:
        parts.append(Text(f"counts do not add up: {done.disagreement}", style="red" if done.missing else "yellow"))
    speed = rates(len(done.received), done.bytes, done.seconds) if done.received else []
    rate = f" ({', '.join(speed)})" if speed else ""
    where = f" into {literal(done.received[0].output_dir)}" if done.received and done.received[0].path else ""
    parts.append(Text(f"received {objects_words(len(done.received))}, {human_size(done.bytes)} in "
                      f"{done.seconds:.2f} s{rate}{where}", style="dim"))
    remarked = remarks_line(done.received)
    if remarked:
        parts.append(Text(remarked, style="yellow"))
    if done.error_comment:
        parts.append(Text(f"peer's comment: {literal(done.error_comment)}", style="yellow"))
    if done.part and (done.failed or done.failed_uids):
        parts.append(Text(f"association {literal(done.part)} accepts only some of the storage classes: the objects of "
                          "the others fail here and come on another association", style="dim"))
    elif done.failed_uids:
        parts.append(Text("failed SOP instances: " + literal(", ".join(done.failed_uids)), style="red"))
    if done.nothing_matched:  # not a failure of the transfer: the answer to the question asked
        parts.append(Text(literal(done.advice), style="bold yellow"))
    elif done.advice:
        parts.append(Text(f"why: {literal(done.advice)}", style="yellow"))
    return Group(*parts)


MISSING_SHOWN = 5  # missing SOP Instance UIDs named in full; the rest counted


def completeness_line(done: CompletenessChecked) -> Text:
    """``row 3: the archive lists 12 instances, 10 arrived; missing: …`` or ``all 12 … arrived``."""
    line = Text(f"check {literal(done.label)}: ", style="bold")
    if done.listed is None:
        line.append(f"{'the check failed: ' if done.failed else ''}{literal(done.why)}",
                    style="yellow" if done.failed else "")
        if done.counted is not None and done.arrived is not None:
            colour = "red" if done.arrived < done.counted else "green"
            line.append(f"; the rows count {_instances(done.counted)}, {done.arrived} arrived", style=colour)
        return line
    listed = len(done.listed)
    if not done.missing:
        every = f"all {listed} instances" if listed > 1 else "the 1 instance"
        line.append(f"{every} the archive lists arrived" if listed else "the archive lists no instances under it",
                    style="green")
    else:
        line.append(f"the archive lists {_instances(listed)}, {done.arrived} arrived; missing: ", style="red")
        shown = ", ".join(done.missing[:MISSING_SHOWN])
        more = len(done.missing) - MISSING_SHOWN
        line.append(literal(shown) + (f" and {more} more" if more > 0 else ""), style="red")
    if done.stale_count:
        line.append(f" — the row counted {_instances(done.counted or 0)}: the archive's count disagrees with "
                    "its own list", style="yellow")
    return line


def _instances(count: int) -> str:
    return f"{count} instance{'s' if count != 1 else ''}"


def remarks_line(rows: Sequence[Received]) -> str:
    """One line for what was wrong with the objects a get kept: how many of each, and the first in full."""
    def count(test: Callable[[str], bool]) -> int:
        return sum(1 for r in rows if any(test(m.kind) for m in r.remarks))

    uids, mismatched = count(lambda k: k == UID_NOT_VALID), count(lambda k: k == UID_MISMATCH)
    malformed = count(lambda k: k not in (UID_NOT_VALID, UID_MISMATCH, NO_PIXELS))
    pixelless = count(lambda k: k == NO_PIXELS)
    said = []
    if uids:
        said.append(f"{_objects(uids)} had UIDs that are not valid UIDs")
    if mismatched:
        said.append(f"{_objects(mismatched)}' data sets disagree with their C-STORE requests" if mismatched > 1
                    else "1 object's data set disagrees with its C-STORE request")
    if malformed:
        are = "are not well-formed data sets" if malformed > 1 else "is not a well-formed data set"
        said.append(f"{_objects(malformed)} {are} (kept as received: set malformed refuse to refuse them)")
    if pixelless:
        said.append(f"{_objects(pixelless)} {'are images' if pixelless > 1 else 'is an image'} without pixel data")
    if not said:
        return ""
    first = next(r for r in rows if r.remarks)
    return f"{', '.join(said)} — first, #{first.index}: {literal(first.remarks[0].text)}; 'received' marks them"


def _objects(n: int) -> str:
    return f"{n} object{'s' * (n != 1)}"


def object_tree(view: ObjectView) -> Tree:
    tree = Tree(Text(f"object {view.number}: {literal(view.path)}", style="bold"))
    if view.transfer_syntax:
        tree.add(Text(f"transfer syntax: {literal(syntax_name(str(view.transfer_syntax)))}", style="dim"))
    _add_nodes(tree, view.nodes)
    return tree


def _add_nodes(parent: Tree, nodes: Sequence[object]) -> None:
    for node in nodes:
        tag = getattr(node, "tag", 0)
        children = getattr(node, "children", ())
        if getattr(node, "item", None) is not None:
            branch = parent.add(Text(literal(node.name), style="dim"))  # type: ignore[attr-defined]
        else:
            label = Text(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) ", style="cyan")
            label.append(f"{literal(node.vr)} ", style="magenta")  # type: ignore[attr-defined]
            label.append(literal(node.keyword or node.name))  # type: ignore[attr-defined]
            value = node.value  # type: ignore[attr-defined]
            if value:
                label.append(f"  {literal(value[:200])}{'…' if len(value) > 200 else ''}", style="green")
            branch = parent.add(label)
        _add_nodes(branch, children)


def keys_tree(view: KeysView) -> Tree:
    tree = Tree(Text(f"identifier ({view.model} model)", style="bold"))
    _add_nodes(tree, view.nodes)
    return tree


def explanation(info: Explanation) -> RenderableType:
    entry = info.entry
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("tag", entry.tag_text)
    table.add_row("keyword", entry.keyword or "-")
    table.add_row("name", entry.name + (" (retired)" if entry.retired else ""))
    table.add_row("VR / VM", f"{entry.vr} / {entry.vm}")
    if info.roles:
        roles = ", ".join(f"{level}: {role or '-'}" for level, role in info.roles)
        table.add_row(f"in the {info.model} model", roles)
    if info.enumerated:
        table.add_row("values", ", ".join(f"{v} ({m})" if m else v for v, m in info.enumerated))
    parts: list[RenderableType] = [table]
    parts += [Text(literal(note), style="dim") for note in info.notes]
    return Group(*parts)
