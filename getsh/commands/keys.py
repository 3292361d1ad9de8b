"""key, unkey, keys, reset-keys, level, load, save: building the identifier a get sends (explain, once dict,
is in explain.py)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import SimpleNamespace

from getsh.completion.arguments import paths
from getsh.completion.keys import complete_key, complete_path
from getsh.context import Context
from getsh.dicom.events import Notice
from getsh.dicom.keys import identifier as ident
from getsh.dicom.keys.dictionary import enumerated, levels, lookup
from getsh.registry import Arg, Suggestion, command
from getsh.results import KeysView


def _level(ctx: Context) -> str | None:
    level = str(ctx.session.identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    return level or None


def complete_keys(ctx: Context, text: str, prior: dict[str, list[str]]) -> list[Suggestion]:
    model = ctx.settings["model"]
    session = ctx.session
    seen = session.seen_values(text.partition("=")[0].strip())  # StudyInstanceUID=: the studies seen
    return complete_key(text, model, _level(ctx), seen, session.identifier, session.found)


def _complete_path(ctx: Context, text: str, prior: dict[str, list[str]]) -> list[Suggestion]:
    return complete_path(text, ctx.settings["model"], _level(ctx), ctx.session.identifier)


def _complete_level(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    entry = lookup("QueryRetrieveLevel")
    meaning = dict(enumerated(entry))
    for level in levels(ctx.settings["model"]):
        if level.startswith(text.upper()):
            yield Suggestion(level, meaning.get(level, ""))


def _show_keys(ctx: Context) -> KeysView:
    identifier = ctx.session.identifier
    return KeysView(tuple(ident.describe(identifier)), tuple(ident.check(identifier, ctx.settings["model"])),
                    ctx.settings["model"])


@command(
    "key",
    "set query keys, in any form getscu's -k accepts (each overrides or inserts)",
    help="""
Forms: Keyword=value, gggg,eeee=value, (gggg,eeee)=value, a key with no value (a return
key, sent empty), several values joined with \\, and sequence paths as in dcmodify:
ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.3. A private tag needs its VR:
(0009,1001,LO)=value. Values are checked against the attribute's VR and VM before they
are set; if one key is wrong, none is set.

Examples:
  key PatientID=PAT001
  key QueryRetrieveLevel=STUDY StudyInstanceUID=1.2.840.113619.2.1
  key ModalitiesInStudy=CT\\MR
  key "PatientName=DOE^JOHN"
""",
    args=[Arg("keys", "keys to set", type=ident.parse_key, many=True, complete=complete_keys, metavar="KEY")],
    aliases=("k",),
    category="keys",
)
def key(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    identifier = copy.deepcopy(ctx.session.identifier)
    for assignment in args.keys:
        ident.apply(identifier, assignment)
    ctx.session.identifier = identifier
    for assignment in args.keys:
        value = "" if assignment.text is None else assignment.text
        what = f"{ident.format_path(assignment.path)} = {value}" if value else \
            f"{ident.format_path(assignment.path)} (return key, empty)"
        yield Notice(what)
        for warning in assignment.warnings:
            yield Notice(f"warning: {warning}")


@command(
    "unkey",
    "remove keys (or sequence items) from the identifier",
    args=[Arg("paths", "keywords, tags or paths to remove", many=True, complete=_complete_path, metavar="KEY")],
    category="keys",
)
def unkey(ctx: Context, args: SimpleNamespace) -> Notice:
    identifier = copy.deepcopy(ctx.session.identifier)
    for path in args.paths:
        ident.remove(identifier, path)
    ctx.session.identifier = identifier
    return Notice(f"removed {', '.join(args.paths)}")


@command("keys", "the current identifier as a tree, with warnings for a C-GET", category="keys", record=False)
def keys(ctx: Context, args: SimpleNamespace) -> KeysView:
    return _show_keys(ctx)


@command(
    "reset-keys",
    "back to the model's default identifier (just its top QueryRetrieveLevel)",
    help="""
Forgets every key but the model's top QueryRetrieveLevel. (It was called 'clear'; 'clear'
clears the screen now. Scripts of the old format still read 'clear' as reset-keys.)
""",
    category="keys",
)
def reset_keys(ctx: Context, args: SimpleNamespace) -> KeysView:
    """The identifier it leaves, without a C-GET's warnings: a reset identifier lacks its unique key
    by design ('keys' and 'get' still warn), and a recording's header resets before it sets the keys
    in force, so a replay would warn where its live session never did."""
    ctx.session.identifier = ident.default_identifier(ctx.settings["model"])
    shown = _show_keys(ctx)
    return KeysView(shown.nodes, (), shown.model)


@command(
    "level",
    "set QueryRetrieveLevel (PATIENT, STUDY, SERIES, IMAGE — those of the model)",
    args=[Arg("level", "the level", type=lambda text: text.strip().upper(), complete=_complete_level,
              metavar="LEVEL")],
    category="keys",
)
def level(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    assignment = ident.parse_key(f"QueryRetrieveLevel={args.level}")
    identifier = copy.deepcopy(ctx.session.identifier)
    ident.apply(identifier, assignment)
    ctx.session.identifier = identifier
    yield Notice(f"QueryRetrieveLevel = {args.level}")
    allowed = levels(ctx.settings["model"])
    if args.level not in allowed:
        yield Notice(f"warning: the {ctx.settings['model']} model has no {args.level} level "
                     f"(it has {', '.join(allowed)})")


@command(
    "load",
    "read a query file (a DICOM data set, with or without file meta) as the identifier",
    help="""
Replaces the identifier with the data set in FILE, as getscu reads its dcmfile-in. Keys
set afterwards override or insert, in getscu's order.
""",
    args=[Arg("file", "the query file", complete=paths, metavar="FILE")],
    category="keys",
)
def load(ctx: Context, args: SimpleNamespace) -> KeysView:
    ctx.session.identifier = ident.load_query(args.file)
    return _show_keys(ctx)


@command(
    "save",
    "write the identifier as a DICOM query file that getscu and dcmdump read",
    args=[Arg("file", "where to write it", complete=paths, metavar="FILE")],
    category="keys",
)
def save(ctx: Context, args: SimpleNamespace) -> Notice:
    ident.save_query(ctx.session.identifier, args.file, ctx.settings["model"])
    return Notice(f"saved {len(ctx.session.identifier)} keys to {args.file}")
