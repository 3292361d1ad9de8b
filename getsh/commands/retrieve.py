"""get, received, show: C-GET on the open association and what it brought."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

from pydicom import Dataset

from getsh.completers import paths
from getsh.context import Context
from getsh.dicom.events import GetDone, Notice, SplitDone
from getsh.dicom.keys import identifier as ident
from getsh.dicom.net.presentation import GET_MODELS, MAX_CONTEXTS, SERVICE_CONTEXTS, plan_contexts
from getsh.dicom.net.syntaxes import uid_name
from getsh.dicom.query.find import discover_classes
from getsh.dicom.retrieve.run import GetRun
from getsh.dicom.storage.header_scan import with_header
from getsh.dicom.storage.naming import DEFAULT_LAYOUT
from getsh.dicom.storage.store import Storage
from getsh.errors import NetworkError, UsageError
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
arrived; a second Ctrl-C aborts the association.

Examples:
  get                                   the current keys
  get StudyInstanceUID=1.2.3            this study, whatever the current keys
  get q1.dcm q2.dcm                     one C-GET per query file
""",
    args=[Arg("items", "keys (Keyword=value, gggg,eeee=value) or query files", many=True, required=False,
              complete=_key_or_file, metavar="KEY|FILE")],
    category="retrieve",
)
def get(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    keys, files = _split_items(args.items)
    base = [(f"{path}", ident.load_query(path)) for path in files] or [("keys", ctx.session.identifier)]
    requests: list[tuple[str, Dataset]] = []
    for label, dataset in base:
        identifier = copy.deepcopy(dataset)
        for key in keys:
            ident.apply(identifier, key)
        requests.append((label, identifier))
    model = ctx.settings["model"]
    for label, identifier in requests:
        if len(identifier) == 0:
            raise UsageError("the identifier is empty: nothing says what to retrieve",
                             "set keys first, e.g.: level STUDY; key StudyInstanceUID=1.2.3")
        for warning in ident.check(identifier, model):
            yield Notice(f"warning: {label}: {warning}")
    storage = make_storage(ctx)
    repeat = ctx.settings["repeat"]
    for label, identifier in requests:
        for round_ in range(1, repeat + 1):
            name = label if repeat == 1 else f"{label} ({round_}/{repeat})"
            if ctx.settings["accept"] == "auto" and round_ == 1:
                yield from _discover(ctx, identifier, model)
            groups = class_groups(ctx)
            if len(groups) <= 1:
                yield from _one_get(ctx, identifier, storage, name)
            else:
                yield from _split_get(ctx, identifier, storage, name, groups)


def _one_get(
    ctx: Context, identifier: Dataset, storage: Storage, name: str, part: str = "", dones: list[GetDone] | None = None
) -> Iterator[object]:
    """One C-GET on the session's association (renewed if needed); its result is added to ``dones``."""
    model = ctx.settings["model"]
    assoc, event = ctx.associate()
    if event is not None:
        yield event
    ctx.session.message_id += 1

    def advise(done: GetDone) -> GetDone:
        done = replace(_with_advice(done, ctx) if not part else done, part=part)
        if dones is not None:
            dones.append(done)
        return done

    run = GetRun(assoc, identifier, GET_MODELS[model], storage, message_id=ctx.session.message_id,
                 label=name, model=model, first_index=len(ctx.session.received) + 1,
                 on_received=ctx.session.received.append, advise=advise)
    try:
        yield from run.run(ctx.settings["dimse-timeout"])  # yield from: a Ctrl-C reaches the retrieve
    except NetworkError:
        if not assoc.is_established:  # its end was just reported: the next command starts afresh
            ctx.session.link.close(abort=True)
        raise


def class_groups(ctx: Context) -> list[tuple[str, ...]]:
    """The storage classes to accept, cut into as many associations as the 128-context budget needs."""
    s = ctx.settings
    remaining: tuple[str, ...] = ctx.storage_classes()
    if len(remaining) <= MAX_CONTEXTS - SERVICE_CONTEXTS:
        # One context each fits. Classes the plan leaves out to give a preferred transfer syntax
        # contexts of its own (retired ones) are not worth a second association.
        return [remaining]
    groups: list[tuple[str, ...]] = []
    while remaining:
        plan = plan_contexts(s["model"], s["propose"], s["prefer"], remaining)
        group = tuple(dict.fromkeys(plan.storage_classes))
        if not group:
            break
        groups.append(group)
        remaining = plan.dropped
    return groups


def _split_get(
    ctx: Context, identifier: Dataset, storage: Storage, name: str, groups: list[tuple[str, ...]]
) -> Iterator[object]:
    """The same C-GET on one association per group of storage classes; merge what they brought."""
    dones: list[GetDone] = []
    before = len(ctx.session.received)
    yield Notice(f"{sum(len(g) for g in groups)} storage classes need {len(groups)} associations "
                 f"(128 presentation contexts each): the C-GET is sent on each in turn")
    try:
        for number, group in enumerate(groups, 1):
            part = f"{number} of {len(groups)}"
            ctx.session.class_group = (f"association {part}", group)
            yield from _one_get(ctx, identifier, storage, f"{name}, association {part}", part, dones)
    finally:
        ctx.session.class_group = None
    received = {r.sop_instance_uid for r in ctx.session.received[before:]}
    failed = sorted({uid for done in dones for uid in done.failed_uids} - received)
    matched = max((d.completed + d.failed + d.warning for d in dones), default=0)
    failures = tuple(d.status for d in dones if d.status.category == "Failure" and d.status.code != 0xA702)
    yield SplitDone(name, len(groups), matched, len(received), tuple(failed), failures)


def _discover(ctx: Context, identifier: Dataset, model: str) -> Iterator[object]:
    """accept auto: ask the peer which storage classes the objects have, then propose exactly those."""
    assoc, event = ctx.associate()
    if event is not None:
        yield event
    found = discover_classes(assoc, identifier, model)
    ctx.session.discovered = found.classes
    if found.classes:
        names = ", ".join(uid_name(uid).replace(" Storage", "") for uid in found.classes[:6])
        more = f" and {len(found.classes) - 6} more" if len(found.classes) > 6 else ""
        yield Notice(f"accept auto: {len(found.classes)} storage classes from {found.how}: {names}{more}")
    else:
        yield Notice(f"accept auto: {found.how}; proposing the default list")


def _split_items(items: list[str]) -> tuple[list[ident.KeyAssignment], list[str]]:
    """An existing file is a query file; anything else must be a key."""
    keys, files = [], []
    for item in items:
        if "=" not in item and Path(item).is_file():
            files.append(item)
        else:
            keys.append(ident.parse_key(item))
    return keys, files


def make_storage(ctx: Context) -> Storage:
    """The storage the settings describe, checked before anything is sent."""
    s = ctx.settings
    layout = DEFAULT_LAYOUT if s["layout"] == "getscu" else s["layout"]
    return Storage(os.path.expanduser(s["output"]), s["storage"], layout, s["existing"])


def _with_advice(done: GetDone, ctx: Context) -> GetDone:
    """Fill in the rows the table will show, and say why sub-operations failed when we can tell."""
    if done.received:
        shown = [with_header(item) for item in done.received[-TABLE_ROWS:]]
        done = replace(done, received=done.received[:-TABLE_ROWS] + tuple(shown))
    if done.refused:
        first = done.refused[0]
        return replace(done, advice=f"we refused {len(done.refused)}: {first.reason}")
    if done.status.code not in (0xB000, 0xA702):  # not about sub-operations: the status says it
        return done
    if done.failed and not done.received:
        return replace(done, advice=(
            "the peer could not send them on this association: it may hold them in a transfer syntax we did not "
            "accept (try: prefer rle, prefer lossless, …) or a SOP class we did not propose (see: status)"))
    if done.failed:
        return replace(done, advice=(
            "some could not be sent: a SOP class or transfer syntax we did not accept is the usual cause "
            "(see: status; try another prefer setting)"))
    return done


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
    except Exception as error:
        raise UsageError(f"cannot read {path}: {error}", "was the file moved or deleted?") from None
    return ObjectView(args.number, str(path), ident.describe(dataset), dataset.file_meta.get("TransferSyntaxUID", ""))
