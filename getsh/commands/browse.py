"""ls, cd, pwd: the archive walked like a file system (patients, studies, series, instances), each
step a real C-FIND; and where you stand as a request for ``get .``."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

from getsh.commands.find import run_find
from getsh.commands.keys import complete_keys
from getsh.context import Context
from getsh.dicom.events import FindDone, Notice
from getsh.dicom.keys import identifier as ident
from getsh.dicom.keys.qr_keys import levels
from getsh.dicom.query.browse import LEVEL_WORDS, MODEL_NAMES, PLURALS, Location, label_of, nothing_below
from getsh.dicom.query.return_keys import find_identifier
from getsh.dicom.query.rows import select
from getsh.dicom.retrieve.options import Request
from getsh.errors import UsageError
from getsh.literal import literal
from getsh.registry import Arg, Suggestion, command
from getsh.results import PlainText

HERE = "."  # get . retrieves where you stand

# A narrowing key worth suggesting when a listing stops at ls-limit, per level listed.
NARROWING = {"PATIENT": "PatientName=DOE*", "STUDY": "StudyDate=20240101-", "SERIES": "Modality=CT",
             "IMAGE": "InstanceNumber=1-10"}


def current(ctx: Context) -> tuple[Location, Notice | None]:
    """Where ls and cd stand; back at the root, with a notice saying so, when the model or the peer changed."""
    model, archive = ctx.settings["model"], ctx.archive()
    location = ctx.session.browse
    if (location.model, location.archive) == (model, archive):
        return location, None
    ctx.session.browse = Location(model, archive)
    if location.at_root:
        return ctx.session.browse, None
    what = f"the model is now {model}" if location.model != model else f"the peer is now {literal(archive)}"
    where = f"under {MODEL_NAMES.get(location.model)}" if location.model != model else f"on {literal(location.archive)}"
    return ctx.session.browse, Notice(f"{what}: ls and cd are back at the root (you stood at "
                                      f"{literal(location.path)} {where})")


def here_request(ctx: Context) -> Request:
    """What 'get .' retrieves: where you stand, by its level and unique keys alone."""
    location, moved = current(ctx)
    if moved is not None:
        raise UsageError(moved.text, "cd into what you want to retrieve again (ls lists it)")
    return Request(location.path, location.here())


def _narrowing(location: Location, keys: list[ident.KeyAssignment]) -> None:
    """Keys on an ls line narrow the listing; the level and the path's own keys are not theirs to set."""
    fixed = dict(location.unique)
    for assignment in keys:
        keyword = assignment.path[0].entry.keyword
        if keyword == "QueryRetrieveLevel":
            raise UsageError("ls lists the level below where you stand; it takes no QueryRetrieveLevel",
                             "cd to where you want to list, or: find QueryRetrieveLevel=LEVEL")
        if keyword in fixed:
            raise UsageError(f"{keyword} is fixed by where you stand ({keyword}={fixed[keyword]})",
                             "cd .. to list others, or: find")


@command(
    "ls",
    "list what is below where you stand (patients at the root, then studies, series, instances): a C-FIND",
    help="""
Lists the level below where you stand with a C-FIND under the current model: patients at
the root (studies under the study root model), then the studies of the patient you went
into with 'cd N', its series, their instances. The path's unique keys narrow the request;
keys on the line narrow it further (the session's keys are not used). Rows are numbered:
'cd N' goes into one, 'get N' retrieves one, 'get .' retrieves where you stand. At most
'ls-limit' rows are listed (then C-CANCEL): --all lists every one.

Examples:
  ls                                    what is here
  ls PatientName=DOE*                   only the patients whose name starts with DOE
  ls --all                              every row, however many
""",
    args=[Arg("keys", "keys that narrow this listing (Keyword=value)", type=ident.parse_key, many=True,
              required=False, complete=complete_keys, metavar="KEY"),
          Arg("all", "list every row: no ls-limit", option="--all", flag=True, default=False)],
    category="query",
    record=False,
)
def ls(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    location, moved = current(ctx)
    if moved is not None:
        yield moved
    level = location.below
    if level is None:
        raise nothing_below(location.model, location.level or "")
    keys = args.keys or []
    _narrowing(location, keys)
    base = location.listing_base()
    for assignment in keys:
        ident.apply(base, assignment)
    limit = None if args.all else ctx.settings["ls-limit"]
    done: FindDone | None = None
    identifier = find_identifier(base, location.model, level)
    path_keys = frozenset(dict(location.unique))  # the same in every row: pwd shows them
    for item in run_find(ctx, location.model, level, identifier, limit, limit_name="ls-limit", hide=path_keys):
        if isinstance(item, FindDone):
            done = item
        yield item
    if done is None:
        return
    ctx.session.browse = location.listed(done)
    if done.limited:
        yield Notice(f"the first {limit} {PLURALS[level]} are listed (ls-limit): ls --all lists every one, "
                     f"or narrow the listing: ls {NARROWING[level]}")


def _walk(ctx: Context, location: Location, path: str) -> Location:
    """The location ``path`` leads to: / the root, .. up, . here, N row N of the listing there."""
    if path.startswith("/"):
        location = location.root()
    for index, part in enumerate(p for p in path.split("/") if p):
        if part == ".":
            continue
        if part == "..":
            location = location.up()
            continue
        if not part.isdigit():
            raise UsageError(f"cd: {part!r} is not a row number, '..' or '/'",
                             "cd N goes into row N of the listing (ls), cd .. up, cd / to the root")
        found = ctx.session.found if location.lists(ctx.session.found) else location.listing
        if found is None:
            raise _no_listing(ctx, location, part, index)
        location = location.enter(select(part, found)[0])
    return location


def _no_listing(ctx: Context, location: Location, part: str, index: int) -> UsageError:
    what = PLURALS[location.below or ""] if location.below else "rows"
    where = "the root" if location.at_root else literal(location.path)
    if index > 0:
        return UsageError(f"cd: nothing is listed at {where} yet to take row {part} from",
                          f"cd there, ls, then cd {part}")
    found = ctx.session.found
    if found is None:
        return UsageError(f"cd {part} goes into row {part} of a listing, and nothing is listed yet",
                          f"ls lists the {what} here; then cd {part}")
    return UsageError(f"cd {part}: the last results are {PLURALS.get(found.level, found.level)}, not a listing "
                      f"of {where}", f"ls lists the {what} here; then cd {part}")


def _complete_cd(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    """The rows one can go into here, with what they are; then .. and /."""
    location = ctx.session.browse  # read only: completion runs on its own thread
    if (location.model, location.archive) != (ctx.settings["model"], ctx.archive()):
        location = Location(ctx.settings["model"], ctx.archive())
    found = ctx.session.found if location.lists(ctx.session.found) else location.listing
    if found is not None and location.below is not None and location.below != levels(location.model)[-1]:
        for row in found.rows:
            if str(row.number).startswith(text):
                yield Suggestion(str(row.number), literal(label_of(row)))
    for word, meaning in (("..", "up"), ("/", "the root")):
        if word.startswith(text) and (word == "/" or not location.at_root):
            yield Suggestion(word, meaning)


@command(
    "cd",
    "go into row N of the last listing (ls), up (cd ..), to a sibling (cd ../N), or to the root (cd /)",
    help="""
Moves where ls lists and 'get .' retrieves. 'cd N' goes into row N of the listing of
where you stand (made by ls, or by a find of the level below with the path's keys):
a patient, then a study, then a series. 'cd ..' goes up, 'cd ../2' to the second row of
the listing above, 'cd /' (or cd alone) back to the root. Nothing is sent: the next ls
asks the archive. Instances, and studies under patient/study only, have nothing below.

Examples:
  ls; cd 3; ls                          the studies of the third patient
  cd ..
  cd ../2                               the next one over
  cd /
""",
    args=[Arg("path", "N, .., ../N, / (several joined with /)", required=False, complete=_complete_cd,
              metavar="N|..|/")],
    category="query",
    record=False,
)
def cd(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    location, moved = current(ctx)
    if moved is not None:
        yield moved
    target = _walk(ctx, location, args.path or "/")
    ctx.session.browse = target
    if target.listing is not None:
        ctx.session.found = target.listing  # cd ..: the rows listed there are the results again
    yield Notice(_where(target))


def _where(location: Location) -> str:
    below = location.below
    then = f"ls lists its {PLURALS[below]}" if below else "nothing below it under this model; get . retrieves it"
    if location.at_root:
        return f"/ ({MODEL_NAMES.get(location.model)}): ls lists the {PLURALS[below or 'PATIENT']}"
    return f"{literal(location.path)}  (a {LEVEL_WORDS[location.steps[-1].level]}; pwd shows its keys): {then}"


@command(
    "pwd",
    "where ls and cd stand: the path, each step's level and unique keys",
    category="query",
    record=False,
)
def pwd(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    location, moved = current(ctx)
    if moved is not None:
        yield moved
    lines = [f"{literal(location.path)}  ({MODEL_NAMES.get(location.model)})"]
    for depth, step in enumerate(location.steps, 1):
        keyword, value = step.unique[-1]
        lines.append(f"{'  ' * depth}{step.level:<8} {keyword}={literal(value)}  {literal(step.label)}")
    yield PlainText("\n".join(lines))
