"""Events and results → rich renderables. Colours and layout live here only."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import singledispatchmethod
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from getsh.dicom.events import (
    Associated,
    AssociationInfo,
    CompletenessChecked,
    EchoResult,
    FindDone,
    FindStarted,
    Found,
    GetDone,
    GetProgress,
    GetStarted,
    Notice,
    Received,
    Released,
    RetrieveStopped,
    SplitDone,
    StoreFailed,
)
from getsh.errors import GetshError
from getsh.literal import literal
from getsh.logs import VALUE_WARNINGS
from getsh.results import (
    Card,
    Check,
    ClearScreen,
    FindTable,
    HelpIndex,
    HelpPage,
    HistoryView,
    ImageView,
    KeysView,
    NodesTable,
    ObjectView,
    PlainText,
    ReceivedTable,
    RecordAs,
    RejectedContexts,
    ReplayDone,
    ScriptProblems,
    ScriptStep,
    SettingChanged,
    SettingsTable,
)
from getsh.shell import tables
from getsh.shell.cards import card
from getsh.shell.found import MODEL_NAMES, LiveMatches, find_header, find_summary, found_table
from getsh.shell.helppages import help_index, print_help_page
from getsh.shell.paging import Paging
from getsh.shell.picture import image_view
from getsh.shell.progress import RetrieveProgress, objects_words
from getsh.shell.summaries import associated_line, replay_summary, stopped_line
from getsh.shell.tables import (
    PROSE,
    association_table,
    context_table,
    duration,
    get_summary,
    keys_tree,
    object_tree,
    received_table,
    settings_table,
    table_rows,
)
from getsh.shell.traces import TraceItem, draw

# What a command returns that may be long: through the pager when it does not fit (see shell/paging.py).
PAGED = (ReceivedTable, AssociationInfo, RejectedContexts, ObjectView, KeysView, Card, SettingsTable,
         HelpIndex, HelpPage, HistoryView, FindTable)

CATEGORY_COLOURS = {"Success": "green", "Warning": "yellow", "Cancel": "yellow", "Pending": "cyan"}


if TYPE_CHECKING:
    DispatchingMethod = singledispatchmethod[None]
else:  # not subscriptable at run time before Python 3.12
    DispatchingMethod = singledispatchmethod


class then_shown(DispatchingMethod):
    """``singledispatchmethod`` whose bound method calls ``self.shown(obj)`` after the handler for
    ``obj``'s type: one place for what follows every drawing, whatever the type."""

    def __get__(self, obj: Any, cls: type[Any] | None = None) -> Callable[..., None]:
        method = super().__get__(obj, cls)
        if obj is None:
            return method

        def show(item: Any) -> None:
            with obj.paged(item):
                method(item)
            obj.shown(item)

        show.register = self.register  # type: ignore[attr-defined]
        return show


class Renderer:
    """Draws on the environment's consoles; errors go to stderr, one line each."""

    def __init__(self, console: Console, err_console: Console, *, next_steps: bool = True,
                 paging: Callable[[], str] | None = None) -> None:
        self.console = console
        self.paging = Paging(console, paging or (lambda: "off"))  # the pager setting where paging is possible
        self.next_steps = next_steps  # suggest the shell's next command (get N, cd N); not in a one-shot mode
        self.err_console = err_console
        self.progress = RetrieveProgress(console)
        self.matches = LiveMatches(console)
        self.in_get = False  # between GetStarted and its GetDone, pydicom's warnings wait for the summary

    def error(self, error: GetshError) -> None:
        """``error: message — hint``; from a script line, ``file:line: error: message — hint``
        (worded by ``GetshError.parts``, as the command line's errors are)."""
        self.progress.stop()
        self.matches.stop()
        styles = {"lead": "bold red", "hint": "dim"}  # on a bold line
        line = Text(style="bold")
        for role, text in error.parts():  # one line: a peer's words with a line feed stay on it
            line.append(literal(text), style=styles.get(role, ""))
        self.err_console.print(line, soft_wrap=True)
        self.in_get = False
        self.value_warnings()

    def paged(self, obj: Any) -> AbstractContextManager[None]:
        """Long output (tables and lists a command returns) through the pager, where paging is possible."""
        return self.paging.around() if isinstance(obj, PAGED) else nullcontext()

    def shown(self, obj: Any) -> None:
        """After ``show(obj)``: unless a retrieve is under way, what pydicom found wrong in the values
        meanwhile, in one line (``logs.VALUE_WARNINGS``); a get's come after its summary."""
        if isinstance(obj, GetStarted):
            self.in_get = True
        elif isinstance(obj, (GetDone, SplitDone)):
            self.in_get = False
        if not self.in_get:
            self.value_warnings()

    def value_warnings(self) -> None:
        line = VALUE_WARNINGS.summary()
        if line:
            self.console.print(Text(f"warning: {literal(line)}", style="yellow"), soft_wrap=True)

    @then_shown
    def show(self, obj: Any) -> None:
        self.console.print(obj)

    @show.register
    def _(self, obj: Notice) -> None:
        style = "yellow" if obj.text.startswith("warning:") else ""
        console = self.err_console if obj.stderr else self.console
        console.print(Text(literal(obj.text, newlines=True)), style=style)

    @show.register
    def _(self, obj: NodesTable) -> None:
        for warning in obj.warnings:
            self.console.print(Text(f"warning: {literal(warning)}", style="yellow"), soft_wrap=True)
        if not obj.nodes:
            self.console.print(Text(f"no nodes in {literal(obj.path)}: add [nodes.NAME] sections (host, port, aec, "
                                    "aet, model, notes); getsh --init-config writes a config with examples"))
            return
        self.console.print(tables.nodes_table(obj))

    @show.register
    def _(self, obj: ClearScreen) -> None:
        self.console.clear()  # nothing when the output is not a terminal

    @show.register
    def _(self, obj: GetStarted) -> None:
        keys = literal("  ".join(f"{k}={v}" if v else k for k, v in obj.keys))
        header = Text(f"{obj.service} {literal(obj.label)}: ", style="bold")
        header.append(f"{MODEL_NAMES[obj.model]}, {literal(obj.level) or 'no'} level  {keys}")
        self.console.print(header, overflow="fold")
        self.progress.start(obj)

    @show.register
    def _(self, obj: GetProgress) -> None:
        self.progress.update(obj)

    @show.register
    def _(self, obj: Received) -> None:
        self.progress.received_one(obj)

    @show.register
    def _(self, obj: StoreFailed) -> None:
        uid = literal(obj.sop_instance_uid) if obj.sop_instance_uid else "an object without a SOP Instance UID"
        self.console.print(Text(f"refused {uid} (0x{obj.status:04X}): {literal(obj.reason)}", style="red"))

    @show.register
    def _(self, obj: GetDone) -> None:
        self.progress.stop()
        rows = table_rows(self.console.is_terminal, self.console.height)
        self.console.print(get_summary(obj, self.console.width, rows, one_shot=not self.next_steps))

    @show.register
    def _(self, obj: SplitDone) -> None:
        line = Text(f"C-GET {literal(obj.label)} over {obj.associations} associations: ", style="bold")
        style = "green" if obj.exit_status == 0 else "red"
        line.append(f"{obj.received} of {objects_words(obj.matched)} received", style=style)
        if obj.failed:
            line.append(f", {obj.failed} failed on every association", style="red")
        self.console.print(line)
        if obj.failed_uids:
            self.console.print(Text("failed SOP instances: " + literal(", ".join(obj.failed_uids)), style="red"))
        for status in obj.failures:
            self.console.print(Text(f"an association ended with {literal(str(status))}", style="red"))

    @show.register
    def _(self, obj: RetrieveStopped) -> None:
        self.progress.stop()
        self.console.print(stopped_line(obj), soft_wrap=True)

    @show.register
    def _(self, obj: CompletenessChecked) -> None:
        self.console.print(tables.completeness_line(obj), soft_wrap=True)

    @show.register
    def _(self, obj: FindStarted) -> None:
        self.console.print(find_header(obj), overflow="fold")
        self.matches.start(obj)

    @show.register
    def _(self, obj: Found) -> None:
        self.matches.add(obj.row)

    @show.register
    def _(self, obj: FindDone) -> None:
        self.matches.stop()
        self._found(obj, raw=False)

    @show.register
    def _(self, obj: FindTable) -> None:
        self._found(obj.done, raw=obj.raw)

    def _found(self, done: FindDone, raw: bool) -> None:
        if done.rows:
            self.console.print(found_table(done.columns, done.rows, self.console.width, raw=raw, level=done.level))
        self.console.print(find_summary(done, next_steps=self.next_steps), soft_wrap=True)

    @show.register
    def _(self, obj: RecordAs) -> None:
        pass  # for the recording, not the screen

    @show.register
    def _(self, obj: PlainText) -> None:
        self.console.print(Text(obj.text), soft_wrap=True)

    @show.register
    def _(self, obj: ReceivedTable) -> None:
        if not obj.rows:
            what = f" matching '{literal(obj.filter)}'" if obj.filter else ""
            self.console.print(Text(f"no objects{what} ({obj.total} received in this session)"))
            return
        title = f"{len(obj.rows)} of {obj.total} objects" + (f" matching '{literal(obj.filter)}'" if obj.filter else "")
        self.console.print(received_table(obj.rows, title, self.console.width, raw=obj.raw))

    @show.register
    def _(self, obj: ObjectView) -> None:
        self.console.print(object_tree(obj))

    @show.register
    def _(self, obj: ImageView) -> None:
        self.console.print(image_view(obj.items, obj.columns, obj.strip))

    @show.register
    def _(self, obj: KeysView) -> None:
        if obj.nodes:
            self.console.print(keys_tree(obj))
        else:
            self.console.print("no keys: set some with key, level or load")
        for warning in obj.warnings:
            self.console.print(Text(f"warning: {literal(warning)}", style="yellow"))

    @show.register
    def _(self, obj: Card) -> None:
        self.console.print(card(obj, min(self.console.width, PROSE)))

    @show.register
    def _(self, obj: Associated) -> None:
        self.console.print(associated_line(obj))
        if obj.show_contexts:
            self.console.print(context_table(obj.contexts, width=self.console.width))

    @show.register
    def _(self, obj: TraceItem) -> None:
        draw(self.console, obj)

    @show.register
    def _(self, obj: Released) -> None:
        self.console.print(Text(f"{'aborted' if obj.aborted else 'released'} the association with {literal(obj.peer)}"))

    @show.register
    def _(self, obj: EchoResult) -> None:
        colour = CATEGORY_COLOURS.get(obj.status.category, "red")
        text = Text("C-ECHO ")
        text.append(obj.status.category, style=f"bold {colour}")
        if obj.status.words:
            text.append(f": {literal(obj.status.words)}")
        text.append(f" (0x{obj.status.code:04X}) from {literal(obj.peer)} in {duration(obj.seconds)}", style="dim")
        self.console.print(text)

    @show.register
    def _(self, obj: AssociationInfo) -> None:
        self.console.print(association_table(obj))
        if obj.contexts:
            self.console.print(context_table(obj.contexts, obj.budget, self.console.width))

    @show.register
    def _(self, obj: RejectedContexts) -> None:
        if obj.state not in ("open", "stale") or not obj.proposed:
            self.console.print(Text("no association: nothing was negotiated yet (connect HOST PORT, or echo)"))
        elif not obj.contexts:
            self.console.print(Text(f"the peer accepted all {obj.proposed} proposed presentation contexts",
                                    style="green"))
        else:
            title = f"presentation contexts rejected: {len(obj.contexts)} of {obj.proposed} proposed"
            self.console.print(context_table(obj.contexts, width=self.console.width, title=title))

    @show.register
    def _(self, obj: SettingChanged) -> None:
        text = Text(f"{literal(obj.name)} = {literal(obj.value)}")
        if obj.stale:
            text.append("  (negotiated: the next command re-associates)", style="yellow")
        self.console.print(text)

    @show.register
    def _(self, obj: SettingsTable) -> None:
        self.console.print(settings_table(obj, self.console.width))
        self.console.print("* negotiated: a change re-associates", style="dim")

    @show.register
    def _(self, obj: HelpIndex) -> None:
        self.console.print(help_index(obj))

    @show.register
    def _(self, obj: HelpPage) -> None:
        print_help_page(self.console, obj)

    # --- scripts ---------------------------------------------------------------------------

    @show.register
    def _(self, obj: ScriptStep) -> None:
        line = Text(f"{literal(obj.where)}: ", style="dim")
        line.append(literal(obj.text), style="bold")
        self.console.print(line, overflow="fold")

    @show.register
    def _(self, obj: Check) -> None:
        line = Text(f"{literal(obj.where)}: " if obj.where else "", style="bold")
        if obj.held:
            line.append("ok: ", style="green")
            line.append(literal(f"{obj.expectation} (found {obj.found})"))
            self.console.print(line, overflow="fold")
        else:
            line.append("expectation failed: ", style="bold red")
            line.append(literal(f"expected {obj.expectation}, found {obj.found}"))
            self.err_console.print(line, soft_wrap=True)

    @show.register
    def _(self, obj: ScriptProblems) -> None:
        for error in obj.errors:
            self.error(error)

    @show.register
    def _(self, obj: ReplayDone) -> None:
        console = self.console if obj.exit_status == 0 else self.err_console
        if obj.stopped_at:
            stop = Text(f"{literal(obj.stopped_at)}: ", style="bold")
            stop.append(f"replay stopped: {literal(obj.reason)}", style="red" if obj.reason != "you quit" else "yellow")
            if obj.reason not in ("you quit", "quit"):
                stop.append(" (--keep-going goes on after failures)", style="dim")
            self.err_console.print(stop, soft_wrap=True)
        console.print(replay_summary(obj), soft_wrap=True)

    @show.register
    def _(self, obj: HistoryView) -> None:
        if not obj.entries:
            self.console.print("no commands yet")
        for number, line in obj.entries:
            self.console.print(Text(f"{number:>5}  ", style="dim") + Text(literal(line)), overflow="fold")
