"""find, results: C-FIND on the open association, and the last table of matches again or exported."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from types import SimpleNamespace

from pydicom import Dataset

from getsh.commands.keys import complete_keys
from getsh.commands.request_checks import follow_keys, sets_level
from getsh.completion.arguments import paths
from getsh.context import Context, SentFind
from getsh.dicom.events import FindDone, Notice
from getsh.dicom.keys import identifier as ident
from getsh.dicom.keys.charset import with_charset
from getsh.dicom.keys.qr_keys import level_of
from getsh.dicom.net.failures import unusable_for_find
from getsh.dicom.query.export import as_csv, as_json, write_atomically
from getsh.dicom.query.extract import ResponseFiles
from getsh.dicom.query.find import FindRun
from getsh.dicom.query.return_keys import above_level_warnings, columns_of, find_identifier
from getsh.errors import GetshError, UsageError
from getsh.registry import Arg, command
from getsh.results import FindTable, PlainText
from getsh.setting_values import one_or_more


def request_of(ctx: Context, keys: list[ident.KeyAssignment],
               said: Callable[[Notice], object] | None = None) -> tuple[str, str, Dataset]:
    """The model, level and identifier of a find: the session's keys, those on the line on top, and
    the level's default return keys where the user set none. With ``said``, a unique key of a level
    below the identifier's moves the find to that level (unless the line sets one), told to ``said``."""
    model = ctx.settings["model"]
    base = copy.deepcopy(ctx.session.identifier)
    for assignment in keys:
        ident.apply(base, assignment)
    if said is not None and not sets_level(keys):
        for notice in follow_keys(base, model, "find"):
            said(notice)
    level_text = str(base.get("QueryRetrieveLevel", "") or "")
    if not level_text.strip():
        raise UsageError("no QueryRetrieveLevel: a C-FIND needs a level",
                         "set one with: level STUDY (on getsh's command line: -k QueryRetrieveLevel=STUDY)")
    level = level_of(model, level_text)
    return model, level, with_charset(find_identifier(base, model, level), ctx.settings["charset"])


@command(
    "find",
    "query with C-FIND: numbered matches, as they arrive (then: get N, cd N, results)",
    help="""
Sends C-FIND-RQ under the current model and level with the current keys, on the open
association (its C-FIND context is proposed beside the C-GET one). Keys given here
override the current ones for this request only. Each level has return keys shown by
default (patient: name, ID, birth date, sex, studies; study: date, accession, description,
modalities, counts; series: number, modality, description; image: number, class, size);
keys you set are asked too, and win. Rows are numbered: 'get 3' retrieves row 3, 'cd 3'
enters it. Ctrl-C sends C-CANCEL and keeps what arrived (a second Ctrl-C aborts);
--limit N cancels after N matches (findscu --cancel). 'results' shows the table again.
--extract DIR writes each response as DIR/rsp0001.dcm, rsp0002.dcm … (findscu -X);
DIR must exist.

Examples:
  find                                  the current level, every match
  find PatientName=DOE*                 patients whose name starts with DOE
  find QueryRetrieveLevel=STUDY StudyDate=20240101-20241231
  find --limit 20                       the first 20 matches, then C-CANCEL
  find --extract responses              each match also as responses/rspNNNN.dcm
""",
    args=[Arg("keys", "keys for this request (Keyword=value, gggg,eeee=value)", type=ident.parse_key, many=True,
              required=False, complete=complete_keys, metavar="KEY"),
          Arg("limit", "send C-CANCEL after this many matches", type=one_or_more("matches"), option="--limit",
              metavar="N"),
          Arg("extract", "write each response to DIR as rspNNNN.dcm (findscu -X)", option="--extract",
              metavar="DIR", complete=paths)],
    category="query",
)
def find(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    moved: list[Notice] = []
    model, level, identifier = request_of(ctx, args.keys or [], moved.append)
    yield from moved
    for warning in above_level_warnings(identifier, model, level):
        yield Notice(warning)
    if not args.extract:
        yield from run_find(ctx, model, level, identifier, args.limit)
        return
    files = ResponseFiles(args.extract, model)  # a directory it cannot write into: refused before sending
    yield from run_find(ctx, model, level, identifier, args.limit, keep=files)
    if files.failure:
        raise GetshError(files.failure + f" ({len(files.written)} written before it)",
                         "free some space or choose another directory: find --extract DIR")
    yield Notice(files.summary())


def run_find(ctx: Context, model: str, level: str, identifier: Dataset, limit: int | None,
             keep: Callable[[int, Dataset], None] | None = None, limit_name: str = "--limit",
             hide: frozenset[str] = frozenset()) -> Iterator[object]:
    """One C-FIND on the session's association, its rows kept as the session's results (``limit_name``:
    what set ``limit``, as the user knows it; ``hide``: keys asked but not worth a column)."""
    columns = tuple(c for c in columns_of(identifier, model, level) if c not in hide)
    assoc, event = ctx.associate()
    if event is not None:
        yield event
    unusable = unusable_for_find(assoc, model)
    if unusable is not None:
        raise unusable
    session = ctx.session
    session.last_find = SentFind(model, copy.deepcopy(identifier), limit)
    run = FindRun(assoc, identifier, model, level, columns, session.next_message_id(), limit=limit,
                  cancel_grace=ctx.settings["cancel-grace"], keep=keep, limit_name=limit_name,
                  diagnose=lambda elapsed: session.link.dimse_failure("C-FIND", ctx.timeouts(), elapsed))
    yield from run.run()  # yield from: a Ctrl-C while a row is drawn reaches the find (C-CANCEL)
    session.found = run.done


def _found(ctx: Context) -> FindDone:
    found = ctx.session.found
    if found is None:
        raise UsageError("no results yet in this session", "find first (for example: find, or find PatientID=X*)")
    return found


@command(
    "results",
    "the last find's table again, or exported (--json, --csv FILE)",
    help="""
Shows the matches of the last find again, numbered as they were (row numbers are what
'get N' and 'cd N' use). --raw shows the values as the peer sent them, not formatted for
reading (names with their ^, dates as YYYYMMDD, full UIDs). --json prints them as JSON
(every column and the unique keys each row stands for); --csv FILE writes them as CSV.

Examples:
  results
  results --raw
  results --json
  results --csv studies.csv
""",
    args=[Arg("raw", "values as sent: no formatting, no eliding", option="--raw", flag=True, default=False),
          Arg("json", "print as JSON", option="--json", flag=True, default=False),
          Arg("csv", "write as CSV to FILE", option="--csv", metavar="FILE", complete=paths)],
    category="query",
    record=False,
)
def results(ctx: Context, args: SimpleNamespace) -> FindTable | PlainText | Notice:
    found = _found(ctx)
    if args.json:
        return PlainText(as_json(found))
    if args.csv:
        try:
            write_atomically(args.csv, as_csv(found))
        except OSError as exc:
            raise UsageError(f"cannot write {args.csv}: {exc.strerror or exc}", "choose a writable file") from None
        return Notice(f"{len(found.rows)} rows written to {args.csv}")
    return FindTable(found, raw=args.raw)
