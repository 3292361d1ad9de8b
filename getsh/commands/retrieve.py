"""get, received, show: C-GET on the open association and what it brought."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

from getsh.commands.request_checks import level_for_get, wide_get
from getsh.completion.arguments import paths
from getsh.context import Context
from getsh.dicom.keys import identifier as ident
from getsh.dicom.net.sopclasses import classes_for
from getsh.dicom.retrieve.bounds import Bounds
from getsh.dicom.retrieve.retrieval import Retrieval, RetrieveOptions, SessionHooks, requests_for
from getsh.dicom.storage.header_scan import with_header
from getsh.errors import UsageError
from getsh.registry import Arg, Suggestion, command
from getsh.results import TABLE_ROWS, ObjectView, ReceivedTable


def _key_or_file(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    yield from paths(ctx, text, prior)


@command(
    "get",
    "retrieve with C-GET: the current keys (or query files), objects stored as they arrive",
    help="""
Sends C-GET-RQ under the current model with the current keys, receives the C-STORE
sub-operations on the same association, and shows what arrived. Keys given here override
the current ones for this request only. Query files (DICOM files holding an identifier, as
getscu's dcmfile-in) are sent one C-GET each, in order, with the keys given here applied on
top. The 'repeat' setting repeats each request. Ctrl-C sends C-CANCEL and keeps what has
arrived; a second Ctrl-C aborts the association, and so does a peer that has not ended the
retrieve 'cancel-grace' seconds after the C-CANCEL. Limits cancel the same way: no object
completed for 'no-progress-timeout' seconds, 'retrieve-timeout', 'max-objects', 'max-bytes'.

A unique key of a deeper level than the current one (StudyInstanceUID at PATIENT level)
sends the get at that level, and says so. A wildcard or an empty value in a unique key
(PatientID=*), or no unique key at the level, may retrieve the whole archive: the shell
asks first, a script refuses it, --force sends it. A get whose keys matched nothing says
so ("nothing matched these keys"); its exit status stays the peer's (see: help expect).

Examples:
  get                                   the current keys
  get StudyInstanceUID=1.2.3            this study, whatever the current keys
  get q1.dcm q2.dcm                     one C-GET per query file
""",
    args=[Arg("items", "keys (Keyword=value, gggg,eeee=value) or query files", many=True, required=False,
              complete=_key_or_file, metavar="KEY|FILE"),
          Arg("force", "send keys that may retrieve the whole archive (a wildcard or empty unique key)",
              option="--force", flag=True, default=False)],
    category="retrieve",
)
def get(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    keys, files = _split_items(args.items)
    requests = requests_for(ctx.session.identifier, files, keys)
    yield from level_for_get(ctx, requests, keys, files)  # the level the keys make obvious
    yield from wide_get(ctx, requests, args)  # the whole archive: asked, refused or warned
    s = ctx.settings
    options = RetrieveOptions(
        model=s["model"], propose=s["propose"], prefer=s["prefer"], accept=classes_for(s["accept"]),
        discover=s["accept"] == "auto", repeat=s["repeat"], dimse_timeout=s["dimse-timeout"], output=s["output"],
        storage=s["storage"], layout=s["layout"], existing=s["existing"], table_rows=TABLE_ROWS, receive=s["receive"],
        malformed=s["malformed"],
        bounds=Bounds(no_progress=s["no-progress-timeout"], retrieve_timeout=s["retrieve-timeout"],
                      max_objects=s["max-objects"], max_bytes=s["max-bytes"], cancel_grace=s["cancel-grace"]),
    )
    retrieval = Retrieval(requests, options, _session_hooks(ctx), first_index=len(ctx.session.received) + 1)
    yield from retrieval.run()  # yield from: a Ctrl-C reaches the retrieve


def _session_hooks(ctx: Context) -> SessionHooks:
    """How a retrieval reaches the session: its association, its books, what accept auto learned."""
    session = ctx.session

    def learned(classes: tuple[str, ...]) -> None:
        session.discovered = classes

    return SessionHooks(associate=ctx.associate, forget=lambda: session.link.close(abort=True), learned=learned,
                        next_message_id=session.next_message_id, on_received=session.received.append)


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
SOP Instance UID, transfer syntax, size and file. FILTER keeps the rows where any of
those contains it (case-insensitive).

Examples:
  received
  received CT
  received 1.2.840.113619
""",
    args=[Arg("filter", "text to look for in any column", required=False)],
    category="retrieve",
    record=False,
)
def received(ctx: Context, args: SimpleNamespace) -> ReceivedTable:
    ctx.session.received[:] = [with_header(item) for item in ctx.session.received]
    rows = ctx.session.received
    if args.filter:
        needle = args.filter.lower()
        rows = [r for r in rows if any(needle in str(v).lower() for v in vars(r).values())]
    return ReceivedTable(tuple(rows), len(ctx.session.received), args.filter or "")


def object_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an object number (see: received)") from None
    if number < 1:
        raise ValueError(f"{number}: object numbers start at 1")
    return number


@command(
    "show",
    "one received object's data set as a tree (like dcmdump; pixel data summarised)",
    args=[Arg("number", "the object's number in 'received'", type=object_number, metavar="N")],
    category="retrieve",
    record=False,
)
def show(ctx: Context, args: SimpleNamespace) -> ObjectView:
    from pydicom import dcmread

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
    return ObjectView(args.number, str(path), nodes, dataset.file_meta.get("TransferSyntaxUID", ""))
