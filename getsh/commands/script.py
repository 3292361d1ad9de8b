"""record, history, source (replay), expect: sessions as scripts, and scripts as checks."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from types import SimpleNamespace

from getsh.completion.arguments import paths
from getsh.completion.keys import complete_path
from getsh.context import Context
from getsh.dicom.events import Notice
from getsh.errors import UsageError
from getsh.registry import Arg, Invocation, Suggestion, command
from getsh.results import Check, HistoryView
from getsh.script import expectations
from getsh.script.arguments import SOURCE, SOURCE_ARGS
from getsh.script.recording import Recording, header
from getsh.script.replay import Replay, ReplayOptions

SCRIPT_HELP = "Format, expect forms and exit statuses: docs/scripting.md."


def _record_target(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    if "stop".startswith(text) and ctx.session.script.recording is not None:
        yield Suggestion("stop", "end the recording")
    yield from paths(ctx, text, prior)


@command(
    "record",
    "write the session to a script as it goes (record stop ends it)",
    help=f"""
Writes a header (getsh's version, the date, every setting as a 'set' line, the peer and
the identifier as 'key' lines, so a replay starts from the same state), then each command
in its canonical form as it runs, flushed line by line. A command that ended with an error
is written commented out, with the error, unless an 'expect error', 'expect status' or
'expect matched' right after it held: then the script checks that failure. Secret settings are never written.
Commands that only look (help, status, keys, received, history…) are not written.
The peer and the output directory are written as variables, the recorded values their
defaults (connect ${{GETSH_HOST:-pacs}} ${{GETSH_PORT:-104}}; GETSH_AEC, GETSH_AET, GETSH_OUTPUT):
getsh run FILE --var GETSH_PORT=11112 replays it against another archive.
Without FILE: says whether a recording is running.

Examples:
  record session.getsh
  record session.getsh --append
  record stop

{SCRIPT_HELP}
""",
    args=[
        Arg("file", "the script to write, or 'stop'", required=False, complete=_record_target, metavar="FILE|stop"),
        Arg("force", "overwrite FILE if it exists", option="--force", flag=True),
        Arg("append", "add to FILE if it exists", option="--append", flag=True),
    ],
    category="script",
    record=False,
)
def record(ctx: Context, args: SimpleNamespace) -> Notice:
    state = ctx.session.script
    if args.file is None:
        if state.recording is None:
            return Notice("not recording (record FILE starts)")
        return Notice(f"recording to {state.recording.path}: {state.recording.commands} commands so far")
    if args.file == "stop":
        if state.recording is None:
            raise UsageError("not recording", "record FILE starts a recording")
        recording, state.recording = state.recording, None
        recording.stop()
        count = f"{recording.commands} command{'s' * (recording.commands != 1)}"
        return Notice(f"recorded {count} to {recording.path}; replay: getsh run {recording.path}")
    if state.recording is not None:
        raise UsageError(f"already recording to {state.recording.path}", "record stop ends it")
    if args.force and args.append:
        raise UsageError("record: --force and --append exclude each other", "give one of them")
    lines = header(ctx.settings, ctx.session.peer, ctx.session.identifier)
    state.recording = Recording.start(args.file, lines, "a" if args.append else "w" if args.force else "x")
    return Notice(f"recording to {args.file} (record stop ends it)")


def history_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{text!r} is not a number of commands (1, 2, …)")
    return int(text)


@command(
    "history",
    "the commands of this session in canonical form, numbered (the last N)",
    help="""
What 'record' would write for each command that ran (commands that only look, such as
help and status, are left out). Secrets are masked.

Examples:
  history
  history 10
""",
    args=[Arg("count", "how many of the last commands", type=history_count, required=False, metavar="N")],
    category="script",
    record=False,
)
def history(ctx: Context, args: SimpleNamespace) -> HistoryView:
    lines = ctx.session.history
    first = max(0, len(lines) - args.count) if args.count else 0
    return HistoryView(tuple((n, line) for n, line in enumerate(lines[first:], first + 1)), len(lines))


def _variables(ctx: Context, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The environment, then the variables of the script that runs this line, then NAME=VALUE here."""
    outer = ctx.session.script.replaying
    return {**os.environ, **(outer[-1].variables if outer else {}), **dict(pairs)}


def _nested(invocation: Invocation, variables: Mapping[str, str]) -> tuple[str, Mapping[str, str]]:
    """The script a ``source`` line runs, and its variables: those of the script it is in, then NAME=VALUE."""
    return os.path.expanduser(invocation.args.file), {**variables, **dict(invocation.args.variables)}


@command(
    SOURCE,
    "replay a script: each line runs as if typed, echoed with file:line",
    help=f"""
Every line is read and parsed first (commands, arguments, variables, expect forms); a bad
line stops the script before anything runs. Then each runs in turn; the first command
that fails, or expectation that does not hold, stops the replay with file:line unless
--keep-going. NAME=VALUE words give ${{NAME}} in the script (the environment gives the
rest). The shell's state carries on afterwards.

Examples:
  source checks.getsh
  replay checks.getsh PORT=11112 AEC=ARCHIVE --keep-going
  source checks.getsh --dry-run

{SCRIPT_HELP}
""",
    args=SOURCE_ARGS,  # getsh run takes them too (getsh/script/arguments.py)
    aliases=("replay",),
    category="script",
    record=False,  # the lines it runs are recorded, each as it runs
    nested=_nested,
)
def source(ctx: Context, args: SimpleNamespace) -> Replay:
    options = ReplayOptions(_variables(ctx, args.variables), args.keep_going, args.dry_run, args.step, args.junit)
    return Replay(ctx, os.path.expanduser(args.file), options)


def _complete_operand(ctx: Context, text: str, prior: dict[str, list[str]]) -> list[Suggestion]:
    what = (prior.get("what") or [""])[0].lower()
    typed = prior.get("operands", [])
    if what == "status" and not typed:
        return [Suggestion(s) for s in expectations.STATUSES if s.startswith(text.lower())]
    if what in expectations.NUMERIC and not typed:
        return [Suggestion(op, "then a number") for op in expectations.OPERATORS if op.startswith(text) and op != "=="]
    if what == "tsyntax" and not typed:
        return [Suggestion(name, uid) for name, uid in expectations.SYNTAX_NAMES.items() if name.startswith(text)]
    if what == "value" and not typed:
        return complete_path(text, ctx.settings["model"], None)
    return []


def _check_expect(invocation: Invocation) -> None:
    """A dry run rejects an expect line whose form is wrong, as running it would."""
    args = invocation.args
    expectations.parse(args.what, args.operands, args.any)


def _judges_outcome(invocation: Invocation) -> bool:
    """expect error, status and matched judge the command before them: its failure does not stop a replay."""
    return invocation.args.what in expectations.OUTCOME_CHECKS


def _complete_kind(ctx: Context, text: str, prior: dict[str, list[str]]) -> list[Suggestion]:
    return [Suggestion(k, f"{form} — {meaning}") for k, (form, meaning) in expectations.KINDS.items()
            if k.startswith(text.lower())]


_FORMS = "\n".join(f"  {'expect ' + k + ' ' + form:<46} {meaning}" for k, (form, meaning) in expectations.KINDS.items())


@command(
    "expect",
    "check the last get (or the command before): in a script, one that does not hold fails it (exit 9)",
    help=f"""
Forms (OP is one of = != < <= > >=, and = when left out):
{_FORMS}

A failed check says what was expected and what was found. 'expect error',
'expect status' and 'expect matched' right after a command that failed make the failure
part of the script: the replay goes on and they decide. A get whose keys matched nothing
ends with the peer's status (Success from dcmqrscp, 0xC000 from Orthanc) and the line
"nothing matched these keys"; 'expect matched 0' holds on both, 'expect matched > 0'
fails on both.

Examples:
  expect status success
  expect completed 12
  expect received >= 10
  expect matched > 0
  expect tsyntax rle
  expect value PatientName "DOE^JANE"
  expect error "rejected"

{SCRIPT_HELP}
""",
    args=[
        Arg("what", "what to check", type=expectations.kind, complete=_complete_kind, metavar="WHAT"),
        Arg("operands", "[OP] N, a status, a transfer syntax, KEYWORD VALUE, or TEXT", many=True, required=False,
            complete=_complete_operand, metavar="ARG"),
        Arg("any", "for value: one object with it is enough (default: every object)", option="--any", flag=True),
    ],
    category="script",
    check=_check_expect,
    judge=_judges_outcome,
)
def expect(ctx: Context, args: SimpleNamespace) -> Check:
    return expectations.evaluate(ctx, expectations.parse(args.what, args.operands, args.any))
