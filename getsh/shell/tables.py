"""Tables of received objects, the summary of a retrieve, and a data set as a tree."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from getsh.dicom.events import AssociationInfo, CompletenessChecked, ContextInfo, GetDone, Received
from getsh.dicom.net.syntaxes import syntax_name, uid_name
from getsh.dicom.storage.checks import NO_PIXELS, UID_MISMATCH, UID_NOT_VALID
from getsh.literal import literal
from getsh.results import TABLE_ROWS, KeysView, NodesTable, ObjectView, SettingsTable
from getsh.shell.columns import Column, Fitted, fit, fitted_table
from getsh.shell.progress import human_size, objects_words, rates
from getsh.shell.spreads import spread_lines
from getsh.shell.waiting import waiting_line

STATUS_COLOURS = {"Success": "green", "Warning": "yellow", "Cancel": "yellow"}


RECEIVED_COLUMNS = (
    Column("patient", "patient", cap=24),  # the ID and the name; below ROOMY columns the ID only
    Column("study", "study", cap=13, full=True, middle=True),
    Column("series", "series", cap=13, full=True, middle=True),
    Column("mod", "mod"),
    Column("class", "SOP class", cap=22),
    Column("uid", "SOP Instance UID", cap=26, full=True, middle=True),
    Column("syntax", "transfer syntax", cap=20),
    Column("size", "size", right=True),
    Column("file", "file", cap=26, full=True, middle=True),
    Column("status", "status", cap=30),
)
# What stays on a narrow terminal, most important first: what happened to each object and where it is
# (the getscu layout names a file by its SOP Instance UID), then what it is.
RECEIVED_PRIORITY = ("status", "file", "size", "mod", "uid", "patient", "class", "syntax", "series", "study")
WIDE = 200  # the width assumed when none is given
ROOMY = 160  # from this width, the patient column may hold an ID and a name


def received_table(rows: Sequence[Received], title: str = "", width: int = WIDE, raw: bool = False) -> Table:
    """One line per object, fitted to ``width``: columns by priority (the caption names those left
    out), UIDs and file names cut in the middle. ``raw``: every column, every value whole (wrapped)."""
    numbers = len(str(rows[-1].index)) if rows else 1
    cells = [received_cells(r, names=raw or width >= ROOMY) for r in rows]
    if raw:
        table = Table(title=title or None, title_justify="left")
        table.add_column("#", justify="right", no_wrap=True, min_width=numbers)
        for column in RECEIVED_COLUMNS:
            table.add_column(column.header, overflow="fold", justify="right" if column.right else "left")
        for r, row in zip(rows, cells, strict=True):
            values = (row[c.key] for c in RECEIVED_COLUMNS)
            table.add_row(str(r.index), *(v if isinstance(v, Text) else Text(v) for v in values))
        return table
    plain = [{k: v.plain if isinstance(v, Text) else v for k, v in row.items()} for row in cells]
    fitted = fit(RECEIVED_COLUMNS, plain, RECEIVED_PRIORITY, width - numbers - 5)
    hidden = ", ".join(c.header for c in fitted.hidden)
    caption = f"not shown at this width: {hidden} (received --raw: all; show N: one object)" if hidden else None
    first = Column("#", "#", right=True)
    fitted = Fitted([first, *fitted.shown], {**fitted.widths, "#": numbers}, fitted.hidden)
    return fitted_table(fitted, [{"#": str(r.index), **row} for r, row in zip(rows, cells, strict=True)],
                        title=title or None, title_justify="left", caption=caption, caption_justify="left")


def received_cells(r: Received, names: bool = True) -> dict[str, Text | str]:
    """One row of the received table by column: every value from the peer or its file shown as it is;
    the status in a few words (``show N`` says it whole). ``names``: the patient's name after the ID."""
    happened = Text(literal(short_action(r)), style="yellow" if r.action not in ("written", "ignored") else "")
    if r.remarks:  # kept, but something is wrong with it (the summary says what)
        happened.append("; " + ", ".join(dict.fromkeys(literal(m.kind) for m in r.remarks)), style="yellow")
    patient = r.patient_id + (f" ({r.patient_name})" if r.patient_name and names else "")
    cells: dict[str, Text | str] = {
        "patient": patient, "study": r.study_uid, "series": r.series_uid, "mod": r.modality,
        "class": uid_name(r.sop_class_uid).replace(" Storage", ""), "uid": r.sop_instance_uid,
        "syntax": syntax_name(r.transfer_syntax), "size": human_size(r.size), "file": r.path or "-",
    }
    return {**{k: literal(v) for k, v in cells.items() if isinstance(v, str)}, "status": happened}


_NUMBERED = re.compile(r"(_\d+)(\.[^./_]*)?$")


def short_action(r: Received) -> str:
    """What happened to an object, in a few words: ``renamed (_1)`` for "renamed to CT.1.2…_1
    (CT.1.2… exists)", ``kept existing`` for "… exists, kept (received copy discarded)"."""
    if r.action.startswith("renamed") and r.path:
        numbered = _NUMBERED.search(r.path)
        return f"renamed ({numbered[1]})" if numbered else "renamed"
    if r.action.endswith("(received copy discarded)"):
        return "kept existing"
    return r.action


def table_rows(is_terminal: bool, height: int) -> int:
    """How many rows the table after a get shows: on a terminal, what fits on the screen with the
    header and summary lines (a table that scrolls out of sight helps nobody, and rich draws ~1 ms
    a row); elsewhere (scripts, logs) TABLE_ROWS. 'received' lists them all."""
    return min(TABLE_ROWS, max(10, height - 14)) if is_terminal else TABLE_ROWS


def get_summary(done: GetDone, width: int = WIDE, rows: int = TABLE_ROWS, *, one_shot: bool = False) -> RenderableType:
    parts: list[RenderableType] = []
    if done.received:
        shown = done.received[-rows:] if len(done.received) > rows else done.received
        title = f"received: {literal(done.label)}"
        if len(shown) < len(done.received):
            title += f" (last {len(shown)} of {len(done.received)}; 'received' lists all)"
        parts.append(received_table(shown, title, width))
    colour = STATUS_COLOURS.get(done.status.category, "red")
    line = Text(f"{done.service} ")
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
    if done.elsewhere:  # a third party received them: the peer's counts are all there is
        counts += f" (the peer's counts); sent to {literal(done.elsewhere)}: nothing was to arrive here"
    else:
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
    if done.spread is not None:
        parts += spread_lines(done.spread)
    waited = waiting_line(done, one_shot=one_shot)  # a serial get that mostly waited: what parallel would gain
    if waited:
        parts.append(Text(waited))
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


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def association_table(info: AssociationInfo) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False, title="association", title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    state = info.state + (f" ({info.state_reason})" if info.state_reason else "")
    colour = {"open": "green", "stale": "yellow", "closed": "red"}.get(info.state, "dim")
    table.add_row("peer", Text(literal(info.peer) or "none — connect HOST PORT"))
    table.add_row("called AE", Text(literal(info.called_ae)))
    table.add_row("calling AE", Text(literal(info.calling_ae)))
    table.add_row("state", Text(literal(state), style=colour))
    if info.age is not None:
        table.add_row("age", f"{duration(info.age)} (idle {duration(info.idle)})")
    if info.peer_max_pdu is not None:
        table.add_row("max PDU", f"peer {info.peer_max_pdu or 'unlimited'} / ours {info.our_max_pdu}")
    if info.kept:
        kept = f"{info.kept} more association{'s' * (info.kept != 1)} open, kept for spreading a get"
        table.add_row("parallel", kept)
    if info.receiver:
        table.add_row("receiver", Text(literal(info.receiver)))

    if info.tls:
        table.add_row("TLS", Text(literal(info.tls)))
    if info.implementation_class_uid:
        implementation = f"{info.implementation_class_uid} {info.implementation_version}".strip()
        table.add_row("peer implementation", Text(literal(implementation)))
    if info.identity:
        table.add_row("user identity", Text(literal(info.identity.removeprefix("user identity: "))))
    return table


SETTING_COLUMNS = (
    Column("setting", "setting"),
    Column("value", "value", cap=16, full=True, middle=True),
    Column("from", "from"),
    Column("getscu", "getscu", cap=22),
    Column("meaning", "meaning", cap=40, fill=True),
)
SETTING_PRIORITY = ("setting", "value", "meaning", "from", "getscu")


def settings_table(settings: SettingsTable, width: int = WIDE) -> Table:
    """Every setting on one line: its value (bold when not the default), where it came from, getscu's
    options and its meaning, as many of them as the width allows; ``help NAME`` says it all."""
    rows: list[dict[str, Text | str]] = []
    for row in settings.rows:
        rows.append({"setting": literal(row.name + (" *" if row.renegotiate else "")),
                     "value": Text(literal(row.value), style="bold" if row.origin != "default" else ""),
                     "from": literal(row.origin), "getscu": literal(row.flags), "meaning": literal(row.help)})
    plain = [{k: v.plain if isinstance(v, Text) else v for k, v in row.items()} for row in rows]
    fitted = fit(SETTING_COLUMNS, plain, SETTING_PRIORITY, width - 1)
    cut = any(fitted.widths[c.key] < max(len(r[c.key]) for r in plain) for c in fitted.shown)
    caption = "help NAME: a setting in full (its meaning, values and getscu options)" if cut or fitted.hidden else None
    return fitted_table(fitted, rows, title="settings", title_justify="left", caption=caption, caption_justify="left")


PROSE = 100  # help text is reflowed to the terminal's width, but no wider than this


def reflow(text: str) -> str:
    """Help text written with line breaks at ~90 columns, as paragraphs the console wraps at its own
    width: lines of one paragraph are joined; blank lines, indented lines (examples, lists) and lines
    ending with a colon stay as they are."""
    out: list[str] = []
    for line in text.strip("\n").splitlines():
        joins = out and out[-1] and line and not line[0].isspace() and not out[-1][0].isspace() \
            and not out[-1].endswith(":")
        if joins:
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)


CONTEXT_COLUMNS = (
    Column("id", "id", right=True),
    Column("abstract", "abstract syntax", cap=30, full=True),
    Column("result", "result", cap=29),
    Column("syntax", "transfer syntax", cap=26, full=True),
    Column("role", "our role"),
)
CONTEXT_PRIORITY = ("abstract", "result", "syntax", "id", "role")


def context_table(contexts: Sequence[ContextInfo], budget: int = 128, width: int = WIDE,
                  title: str = "") -> Table:
    """The proposed presentation contexts, one line each, fitted to ``width``: the accepted transfer
    syntax, or why the context was rejected (with the syntaxes proposed)."""
    accepted = sum(1 for cx in contexts if cx.accepted)
    rows: list[dict[str, Text | str]] = []
    for cx in contexts:
        roles = "/".join(r for r, on in (("SCU", cx.scu_role), ("SCP", cx.scp_role)) if on) or "-"
        name = uid_name(cx.abstract_syntax).removesuffix(" Storage")
        rows.append({"id": str(cx.context_id), "abstract": literal(name),
                     "result": Text(literal(cx.result), style="green" if cx.accepted else "red"),
                     "syntax": literal(", ".join(syntax_name(ts) for ts in cx.transfer_syntaxes)), "role": roles})
    plain = [{k: v.plain if isinstance(v, Text) else v for k, v in row.items()} for row in rows]
    fitted = fit(CONTEXT_COLUMNS, plain, CONTEXT_PRIORITY, width - 1)
    hidden = ", ".join(c.header for c in fitted.hidden)
    caption = f"not shown at this width: {hidden}" if hidden else None
    title = title or f"presentation contexts: {len(contexts)}/{budget} proposed, {accepted} accepted"
    return fitted_table(fitted, rows, title=title, title_justify="left", caption=caption, caption_justify="left")


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
    if view.happened:
        tree.add(Text(f"stored: {literal(view.happened)}", style="dim"))
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


def nodes_table(book: NodesTable) -> Table:
    """The node book (``nodes``): one row a named peer, every value as the config file gave it."""
    table = Table(title=f"nodes ({literal(book.path)}): connect NAME", title_justify="left")
    for column in ("name", "host", "port", "aec", "aet", "model", "notes"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "port"))
    for node in book.nodes:
        table.add_row(*(Text(literal(str(value))) for value in (node.name, node.host, node.port, node.aec,
                                                                node.aet, node.model, node.notes)))
    return table
