"""get, move, received, show: C-GET (or C-MOVE) on the open association and what it brought."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

from pydicom import Dataset

from getsh.commands.browse import HERE, here_request
from getsh.commands.explain import TOOLS, dcmtk_line
from getsh.commands.receiver import after_move, between, need_port, retrieve_options
from getsh.commands.request_checks import follow_keys, sets_level, wide_get
from getsh.commands.view import image_of
from getsh.completion.arguments import paths
from getsh.context import Context
from getsh.dicom.events import Notice, Received
from getsh.dicom.keys import identifier as ident
from getsh.dicom.keys.charset import with_charset
from getsh.dicom.net.failures import unusable_for_find
from getsh.dicom.query.completeness import check, counts_only, instance_count, listable, row_for
from getsh.dicom.query.rows import is_selection, row_identifier, select
from getsh.dicom.retrieve.options import Request, SessionHooks, requests_for
from getsh.dicom.retrieve.retrieval import Retrieval
from getsh.dicom.storage.header_scan import with_header
from getsh.errors import UsageError
from getsh.registry import Arg, Invocation, Suggestion, command
from getsh.results import ImageView, ObjectView, PlainText, ReceivedTable, RecordAs
from getsh.setting_values import one_or_more

# A word without '=' that can only mean a key: a keyword, a tag, a sequence path. Another one (q1.dcm, dir/q)
# may name a query file a line before it writes (save q1.dcm): it is left to the run.
_KEY_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9]*|\(?[0-9A-Fa-f]{4},?[0-9A-Fa-f]{4}.*|.*\[[0-9]*\].*")


def _check_items(invocation: Invocation) -> None:
    """A replay's first pass (and --dry-run) rejects a key of a get line that running it would: only the
    words that are keys, not row numbers, '.', '+' or query files."""
    for item in invocation.args.items:
        if item in ("+", HERE) or is_selection(item) or ("=" not in item and not _KEY_LIKE.fullmatch(item)):
            continue
        if "=" not in item and _is_file(item):
            continue
        try:
            ident.parse_key(item)
        except UsageError as error:
            error.word = error.word or item
            raise


def _key_or_file(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    yield from paths(ctx, text, prior)


_GET_ARGS = [
    Arg("items", "keys (Keyword=value, gggg,eeee=value), row numbers of the last find, query files; "
        "+ between requests", many=True, required=False, complete=_key_or_file, metavar="KEY|ROWS|FILE"),
    Arg("exact", "each group of keys is the whole identifier: the current keys are not used",
        option="--exact", flag=True, default=False),
    Arg("force", "send keys that may retrieve the whole archive (a wildcard or empty unique key)",
        option="--force", flag=True, default=False),
    Arg("check", "then compare what arrived with what the archive lists (C-FIND down to IMAGE level); "
        "without it, only rows that came with an instance count are checked",
        option="--check", flag=True, default=False)]


@command(
    "get",
    "retrieve with C-GET: the current keys, rows of the last find, or query files; objects stored as they arrive",
    help="""
Sends C-GET-RQ under the current model with the current keys, receives the C-STORE
sub-operations on the same association, and shows what arrived. Keys given here override
the current ones for this request only. Row numbers of the last find (get 3, get 2-5,8,
get all) retrieve those rows: each by its level and unique keys alone, one C-GET a row;
'get .' retrieves where ls and cd stand (pwd), the same way.
Query files (DICOM files holding an identifier, as getscu's dcmfile-in) are sent one C-GET
each, in order, with the keys given here applied on top. '+' between groups of keys sends
one C-GET for each group; --exact makes each group the whole identifier (the current keys
are not used): a recording writes 'get 3' that way, so a replay retrieves the same objects
whatever order the archive answers a find in. The 'repeat' setting repeats each request.
Ctrl-C stops the whole command: it sends C-CANCEL for the C-GET under way and keeps
what has arrived, and no further request or repeat is sent (a summary says how far it
got and what is on disk); a second Ctrl-C aborts the association (the next command
re-associates), and so does a peer that has not ended the retrieve 'cancel-grace'
seconds after the C-CANCEL. Limits cancel the same way: no object completed for 'no-progress-timeout'
seconds, 'retrieve-timeout', 'max-objects', 'max-bytes'.

Under 'set retrieve move' get sends C-MOVE instead (see: help move); under 'set retrieve
auto' it sends C-GET and, when the peer offers none or answers "not supported", C-MOVE.

A unique key of a deeper level than the current one (StudyInstanceUID at PATIENT level)
sends the get at that level, and says so. A wildcard or an empty value in a unique key
(PatientID=*), or no unique key at the level, may retrieve the whole archive: the shell
asks first, a script refuses it, --force sends it. A get whose keys matched nothing says
so ("nothing matched these keys"); its exit status stays the peer's (see: help expect).

After a row whose find returned an instance count (NumberOfStudyRelatedInstances …), or
with --check after any request, the archive is asked with C-FIND what it lists under the
request (down to IMAGE level, each level's unique key given) and the summary says which
instances did not arrive, or that all did; exit status 5 when some are missing. Under
patient/study-only there is no IMAGE level: only the rows' counts can be compared.

Examples:
  get                                   the current keys
  get 3                                 row 3 of the last find (get 2-5,8 several; get all)
  get 3 --check                         and check that all the archive lists arrived
  get .                                 where ls and cd stand (cd 2; get .)
  get StudyInstanceUID=1.2.3            this study, whatever the current keys
  get q1.dcm q2.dcm                     one C-GET per query file
  get --exact QueryRetrieveLevel=SERIES StudyInstanceUID=1.2 SeriesInstanceUID=1.2.3
""",
    args=_GET_ARGS,
    category="retrieve",
    check=_check_items,
)
def get(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    yield from _retrieve(ctx, args, ctx.settings["retrieve"])


@command(
    "move",
    "retrieve with C-MOVE: the archive sends the objects to getsh's own receiver (listen-port), or to move-destination",
    help="""
Sends C-MOVE-RQ with the Move Destination = getsh's AE title (aet): the archive opens an
association of its own to getsh's receiver and sends each object with C-STORE. Everything
else is as for get (see: help get): keys, rows, '.', query files, '+', --exact, --force,
--check, the storage settings, progress, the table, Ctrl-C (C-CANCEL on the move's
association; the receiver stops cleanly; no partial file is left), limits, exit statuses.
The summary sets what arrived beside the archive's own counts and says when they differ.

The archive must know getsh's AE title with this host and the receiver's port: set
listen-port PORT (and listen-host, 0.0.0.0 by default). When it does not ("move
destination unknown"), the lines to add to dcmqrscp's and Orthanc's configuration are
printed. Only the peer's address may send (move-callers: which calling AE titles). With
move-destination AETITLE, the objects go to that third party instead (as movescu -aem):
nothing arrives here and the summary says where they went. 'set retrieve move' makes get
use C-MOVE; 'set retrieve auto' uses C-GET and falls back to C-MOVE when the peer has none.

Examples:
  set listen-port 11113; move StudyInstanceUID=1.2.3
  move 3
  set move-destination WORKSTATION1; move PatientID=P1
""",
    args=_GET_ARGS,
    category="retrieve",
    check=_check_items,
)
def move(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    yield from _retrieve(ctx, args, "move")


def _retrieve(ctx: Context, args: SimpleNamespace, how: str) -> Iterator[object]:
    yield from between(ctx)
    if how == "move":
        need_port(ctx)
    requests, notices, recorded = _requests(ctx, args.items, args.exact)
    for request in requests:  # rows' keys too: a PatientID may need it
        with_charset(request.identifier, ctx.settings["charset"])
    yield from notices  # among them: the level the keys make obvious
    yield from wide_get(ctx, requests, args)  # the whole archive: asked, refused or warned
    if recorded is not None:
        yield RecordAs({"items": recorded, "exact": []})
    options = retrieve_options(ctx, how)
    retrieval = Retrieval(requests, options, _session_hooks(ctx), first_index=len(ctx.session.received) + 1)
    try:
        yield from retrieval.run()  # yield from: a Ctrl-C reaches the retrieve
    finally:
        after_move(ctx)
    if not retrieval.stopped:  # Ctrl-C stops the whole command
        yield from _completeness(ctx, requests, retrieval.received, args.check)


def _completeness(ctx: Context, requests: list[Request], received: list[Received], asked: bool) -> Iterator[object]:
    """The completeness check (query/completeness.py) of each request asked for (--check) or whose
    row of the last find came with an instance count."""
    model = ctx.settings["model"]
    counted = [instance_count(row_for(ctx.session.found, r.identifier)) for r in requests]
    wanted = [(r, n) for r, n in zip(requests, counted, strict=True) if asked or n is not None]
    if not wanted:
        return
    arrived = {item.sop_instance_uid for item in received}
    if not listable(model):
        counts = [n for _, n in wanted]
        total = sum(n for n in counts if n is not None) if None not in counts else None
        yield counts_only(", ".join(r.label for r, _ in wanted), total, len(arrived))
        return
    assoc, event = ctx.associate()
    if event is not None:
        yield event
    unusable = unusable_for_find(assoc, model)
    if unusable is not None:
        yield Notice(f"warning: the completeness check is not possible: {unusable.message}")
        return
    for request, count in wanted:
        try:
            checked = check(assoc, request.label, request.identifier, model, arrived, count,
                            ctx.session.next_message_id)
        except KeyboardInterrupt:  # mid C-FIND: the association cannot be trusted
            ctx.session.link.close(abort=True)
            yield Notice("warning: the completeness check was interrupted; the association was aborted "
                         "(the next command re-associates)")
            return
        yield checked


def _requests(ctx: Context, items: list[str], exact: bool) -> tuple[list[Request], list[Notice], list[str] | None]:
    """The C-GET requests of a get line: one per group between '+' (one per row, one per query file),
    notices to show first, and — when rows were named — the items a recording writes instead."""
    found = ctx.session.found
    groups: list[list[str]] = [[]]
    for item in items:
        if item == "+":
            groups.append([])
        else:
            groups[-1].append(item)
    if len(groups) > 1 and not all(groups):
        raise UsageError("'+' separates requests: there is nothing on one side of it", "get KEYS + KEYS")
    requests: list[Request] = []
    notices: list[Notice] = []
    rows_named = False
    for group in groups:
        if group == [HERE]:  # get .: where ls and cd stand
            requests.append(here_request(ctx))
            rows_named = True
            continue
        if len(group) == 1 and is_selection(group[0]) and (found is not None or not _is_file(group[0])):
            if _is_file(group[0]):
                notices.append(Notice(f"{group[0]} is taken as row numbers of the last find; a query file of "
                                      f"that name exists too: get ./{group[0]} sends the file"))
            requests += _row_requests(ctx, group[0])
            rows_named = True
            continue
        if any(is_selection(word) and not _is_file(word) for word in group) and len(group) > 1:
            word = next(w for w in group if is_selection(w))
            raise UsageError(f"row numbers ({word}) cannot be mixed with keys or files in one request: a row "
                             "stands for its own unique keys", f"get {word} alone, or '+' between: get {word} + KEYS")
        keys, files = _split_items(group)
        base = Dataset() if exact else ctx.session.identifier
        made = requests_for(base, files, keys)
        if not (files or exact or sets_level(keys) or ctx.getscu_words):  # the level the keys make obvious
            for request in made:
                notices += follow_keys(request.identifier, ctx.settings["model"], "get")
        requests += made
    if not rows_named:
        return requests, notices, None
    recorded: list[str] = []
    for request in requests:
        recorded += ["+"] * bool(recorded) + [f"{elem.keyword}={elem.value}" for elem in request.identifier]
    return requests, notices, recorded


def _row_requests(ctx: Context, word: str) -> list[Request]:
    found = ctx.session.found
    rows = select(word, found)
    assert found is not None  # select raised otherwise
    model = ctx.settings["model"]
    if found.model != model:
        raise UsageError(f"the last find ran under the {found.model} model and the model is now {model}: its rows "
                         "do not carry the unique keys a retrieve needs here",
                         f"find again, or set model {found.model}")
    return [Request(f"row {row.number}", row_identifier(found, row)) for row in rows]


def _session_hooks(ctx: Context) -> SessionHooks:
    """How a retrieval reaches the session: its association, its books, what accept auto learned."""
    session = ctx.session

    def learned(classes: tuple[str, ...]) -> None:
        session.discovered = classes

    return SessionHooks(associate=ctx.associate, forget=lambda: session.link.close(abort=True), learned=learned,
                        next_message_id=session.next_message_id, on_received=session.received.append,
                        associate_move=lambda: ctx.associate(move=True), associate_another=ctx.associate_another,
                        kept=ctx.kept_associations, keep=ctx.keep_association)


def _split_items(items: list[str]) -> tuple[list[ident.KeyAssignment], list[str]]:
    """An existing file is a query file; anything else must be a key."""
    keys, files = [], []
    for item in items:
        if "=" not in item and _is_file(item):
            files.append(item)
        else:
            keys.append(ident.parse_key(item))
    return keys, files


def _is_file(item: str) -> bool:
    """Whether the word names something on disk: a query file, or what load_query refuses by name (a
    directory, a FIFO); a name too long for the system names nothing."""
    try:
        return Path(item).exists()
    except (OSError, ValueError):
        return False


@command(
    "received",
    "every object received in this session, optionally filtered",
    help="""
Lists the objects received so far: number, patient, study, series, modality, SOP class,
SOP Instance UID, transfer syntax, size, file (relative to the output directory) and what
happened to it. FILTER keeps the rows where any of those contains it (case-insensitive).
Each row stays on one line: a narrow terminal shows the columns that matter most (the
caption names the others) and cuts long UIDs and file names in the middle; --raw shows
every column and every value whole. 'show N' shows one object, its file and what became
of it in full.

Examples:
  received
  received CT
  received 1.2.840.113619
  received --raw
""",
    args=[Arg("filter", "text to look for in any column", required=False),
          Arg("raw", "every column, every value whole (rows may wrap)", option="--raw", flag=True, default=False)],
    category="retrieve",
    record=False,
)
def received(ctx: Context, args: SimpleNamespace) -> ReceivedTable:
    ctx.session.received[:] = [with_header(item) for item in ctx.session.received]
    rows = ctx.session.received
    if args.filter:
        needle = args.filter.lower()
        rows = [r for r in rows if any(needle in str(v).lower() for v in vars(r).values())]
    return ReceivedTable(tuple(rows), len(ctx.session.received), args.filter or "", args.raw)


def _object_or_tool(text: str) -> int | str:
    """show's argument: an object's number, or a DCMTK tool whose command line to show."""
    if text.strip().lower() in TOOLS:
        return text.strip().lower()
    return one_or_more("objects", "received; or show getscu, show findscu")(text)


def _complete_shown(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    meanings = {"getscu": "the DCMTK getscu line for a get of the current keys",
                "findscu": "the DCMTK findscu line for the last find"}
    yield from (Suggestion(tool, meanings[tool]) for tool in TOOLS if tool.startswith(text.lower()))


@command(
    "show",
    "one received object's data set as a tree (like dcmdump); show getscu / findscu: the DCMTK command line",
    help="""
show N shows received object N as a tree, pixel data summarised; show N --image draws its
image as view N does. show getscu prints the DCMTK getscu command line that retrieves what
'get' would now (peer, AE titles, model, keys, transfer syntaxes, storage mode, output
directory, timeouts); show findscu prints the findscu line of the last find. What the DCMTK
tool cannot express (a layout, the existing policy, accept auto, limits, the charset …)
follows as # comments saying how its result differs.

Examples:
  show 3
  show 3 --image
  show getscu
  show findscu
""",
    args=[Arg("number", "the object's number in 'received', or getscu / findscu", type=_object_or_tool,
              complete=_complete_shown, metavar="N|getscu|findscu"),
          Arg("image", "draw its image instead, as 'view N' does", option="--image", flag=True, default=False)],
    category="retrieve",
    record=False,
)
def show(ctx: Context, args: SimpleNamespace) -> ObjectView | ImageView | PlainText:
    from pydicom import dcmread

    if isinstance(args.number, str):
        if args.image:
            raise UsageError(f"show {args.number} prints a command line: --image is for a received object",
                             "show N --image, or view N")
        return dcmtk_line(ctx, args.number)
    if args.image:
        return image_of(ctx, args.number)
    if args.number > len(ctx.session.received):
        raise UsageError(f"there is no object {args.number}: {len(ctx.session.received)} received so far",
                         "see: received")
    item = ctx.session.received[args.number - 1]
    if item.path is None:
        raise UsageError(f"object {args.number} was received with storage ignore: it was not kept",
                         "set storage normal and get it again")
    path = Path(item.output_dir) / item.path
    try:
        dataset = dcmread(path, defer_size=1024)
        nodes = ident.describe(dataset)  # values are converted here: a malformed data set fails here
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        known = [m.text for m in item.remarks]  # kept as received, though it is not a data set (say)
        raise UsageError(f"cannot read {path}: {first}",
                         f"it was {known[-1]}" if known else "was the file moved or deleted?") from None
    return ObjectView(args.number, str(path), nodes, dataset.file_meta.get("TransferSyntaxUID", ""), item.action)
