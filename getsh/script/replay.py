"""Replaying a script through the runner: validate every line first, then run them in order.

Why it is shaped this way:
- Every line is read and parsed (command, arguments, variables, and what its command
  declares a dry run checks: expect forms, setting values, the scripts it sources) before
  the first one runs, so a typo on line 40 costs nothing on the wire and ``--dry-run`` is
  the same check without the running.
- Lines run through a Runner like any typed line (the same registry, handlers, renderer);
  the child runner's renderer only tags errors and checks with ``file:line``.
- A command that fails stops the replay unless the ``expect`` lines right after it judge
  its outcome (``expect error …``, ``expect status …``): then they decide.
- The exit status is the worst (exitstatus.worst) of the statuses of the lines that failed, as
  ``-c`` would end with them: 3 a script error, 7 the archive could not be reached, 9 an
  expectation did not hold, 6 a get the peer failed … (one table for every mode:
  docs/getting-started.md), 0 when all went well.
- ``-q`` (log-level fatal) leaves out the echo of each line (not with ``--step``, which asks about it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from getsh.errors import GetshError
from getsh.exitstatus import ExitStatus, worst
from getsh.registry import Invocation, Registry, split_spans
from getsh.results import Check, Outcome, ReplayDone, ScriptProblems, ScriptStep
from getsh.script.junit import Case, junit_xml
from getsh.script.reading import LocatedError, ScriptError, Statement, read_script
from getsh.script.recording import ending
from getsh.script.state import Frame

if TYPE_CHECKING:
    from getsh.context import Context
    from getsh.runner import Renderer, Runner

MAX_DEPTH = 8  # scripts sourcing scripts
# What stops a replay, and the exit status it earns (a command's is its own: 7 refused, 6 a failed get …).
STATUSES = {"script": ExitStatus.SCRIPT, "expectation": ExitStatus.EXPECTATION}
STOP_REASONS = {"script": "a script it sources has errors", "command": "a command failed",
                "expectation": "an expectation did not hold"}


@dataclass(frozen=True)
class ReplayOptions:
    variables: Mapping[str, str] = field(default_factory=dict)
    keep_going: bool = False
    dry_run: bool = False
    step: bool = False
    junit: str | None = None


@dataclass(frozen=True)
class Line:
    statement: Statement
    invocation: Invocation

    @property
    def is_expect(self) -> bool:
        return self.invocation.checks_previous

    @property
    def judges_outcome(self) -> bool:
        return self.invocation.judges_outcome


class LocatedRenderer:
    """The parent's renderer, with errors and checks tagged with the script line they come from."""

    def __init__(self, inner: Renderer) -> None:
        self.inner = inner
        self.where = ""

    def show(self, obj: Any) -> None:
        if isinstance(obj, Check) and not obj.where:
            obj = replace(obj, where=self.where)
        self.inner.show(obj)

    def error(self, error: GetshError) -> None:
        self.inner.error(error if getattr(error, "where", "") else LocatedError(self.where, error))


def validate(ctx: Context, registry: Registry, path: str, variables: Mapping[str, str],
             chain: tuple[str, ...] = ()) -> tuple[list[Line], list[ScriptError]]:
    """Every line parsed and checked, or the lines before the first problem and that problem, with
    its file:line:column. ``chain`` is the scripts that source this one, outermost first."""
    statements, problems = read_script(path, variables)
    lines: list[Line] = []
    for statement in statements:
        try:
            invocation = registry.parse(statement.text)
            declared = invocation.command
            if declared.check is not None:
                declared.check(invocation)
            if declared.nested is not None:
                nested = _nested(ctx, registry, statement, *declared.nested(invocation, variables), (*chain, path))
                if nested:
                    return lines, nested
        except ScriptError as error:
            return lines, [error]
        except GetshError as error:
            return lines, [ScriptError(statement.at(error.column or _column(statement, error)), error.message,
                                       error.hint)]
        lines.append(Line(statement, invocation))
    return lines, problems


def _nested(ctx: Context, registry: Registry, statement: Statement, path: str, variables: Mapping[str, str],
            chain: tuple[str, ...]) -> list[ScriptError]:
    """The problems of a script a line sources: a cycle and too deep a nesting are problems of that line."""
    if any(_same_file(path, [outer]) for outer in chain):
        first = next(i for i, outer in enumerate(chain) if _same_file(path, [outer]))
        cycle = " → ".join([*chain[first:], path])
        return [ScriptError(statement.at(1), f"scripts source each other in a cycle: {cycle}",
                            "a script cannot run itself, directly or through others: remove one of these source lines")]
    if len(chain) >= MAX_DEPTH:
        return [ScriptError(statement.at(1), f"scripts nest more than {MAX_DEPTH} deep: {' → '.join([*chain, path])}",
                            f"scripts may source scripts {MAX_DEPTH} levels deep")]
    try:
        problems = validate(ctx, registry, path, variables, chain)[1]
    except ScriptError as error:
        problems = [error]
    return [ScriptError(p.where, f"{p.message} (sourced at {statement.where})", p.hint) for p in problems]


class Judged:
    """A command that failed with ``expect error``/``expect status`` lines right after it: they decide.
    It passes if every one of them held; if one did not, the command failed too (each line is judged
    for itself: a failed get and the expect that found it failed are two failures, not one)."""

    def __init__(self) -> None:
        self.case: int | None = None  # its index among the replay's cases
        self.problem: tuple[str, str, str] = ("", "", "")
        self.status = ExitStatus.SUCCESS  # the command's own, should it count as failed
        self.held = True

    def wait(self, case: int, problem: tuple[str, str, str], status: ExitStatus) -> None:
        self.case, self.problem, self.status, self.held = case, problem, status, True

    def saw(self, line: Line, held: bool) -> None:
        """An expect line after it ran."""
        if self.case is not None and line.judges_outcome and not held:
            self.held = False

    def settle(self, cases: list[Case]) -> ExitStatus:
        """Its expect lines have run (or the replay stopped): mark it failed if one of them did not hold,
        and give the exit status that earns (SUCCESS: none)."""
        earned = ExitStatus.SUCCESS
        if self.case is not None and not self.held:
            category, message, detail = self.problem
            cases[self.case] = replace(cases[self.case], kind=category, result="error", message=message,
                                       detail=detail)
            earned = STATUSES.get(category, self.status)
        self.case = None
        return earned


class Replay:
    """One run of a script: what ``source`` returns and the runner plays."""

    def __init__(self, ctx: Context, path: str, options: ReplayOptions) -> None:
        self.ctx = ctx
        self.path = path
        self.options = options
        self.cases: list[Case] = []

    def play_with(self, runner: Runner) -> Iterator[object]:
        started = time.perf_counter()
        replaying = self.ctx.session.script.replaying
        if len(replaying) >= MAX_DEPTH or _same_file(self.path, [r.path for r in replaying]):
            raise ScriptError(self.path, "this script is already being replayed (it sources itself)",
                              f"scripts nest at most {MAX_DEPTH} deep")
        self._check_junit()
        try:
            lines, problems = validate(self.ctx, runner.registry, self.path, self.options.variables)
        except ScriptError as error:
            lines, problems = [], [error]
        if problems:
            yield ScriptProblems(tuple(problems))
            bad = {p.where for p in problems}
            self.cases = [Case(p.where, "", "script", "error", p.message, p.hint) for p in problems]
            self.cases += [Case(ln.statement.where, ln.statement.text, "command", "skipped", "not run: the script has "
                                "errors") for ln in lines if ln.statement.where not in bad]
            yield self._done(started, ExitStatus.SCRIPT, lines, reason=_stopped_before(self.path, problems))
            return
        if self.options.dry_run:
            for line in lines:
                if not self._quiet():
                    yield ScriptStep(line.statement.where, line.statement.text, dry_run=True)
                self.cases.append(Case(line.statement.where, line.statement.text, _kind(line), "passed"))
            yield self._done(started, ExitStatus.SUCCESS, lines, dry_run=True)
            return
        replaying.append(Frame(self.path, self.options.variables))
        try:
            yield from self._run(runner, lines, started)
        finally:
            replaying.pop()

    def _run(self, runner: Runner, lines: list[Line], started: float) -> Iterator[object]:
        located = LocatedRenderer(runner.renderer)
        child = runner.rendering_to(located)
        status = ExitStatus.SUCCESS
        judged = Judged()
        stopped_at = reason = ""
        index = 0
        while index < len(lines):
            line = lines[index]
            where, text = line.statement.where, line.statement.text
            if self.options.step or not self._quiet():
                yield ScriptStep(where, text)
            if self.options.step and not line.is_expect:
                answer = self._ask()
                if answer != "y":
                    skipped = [line, *self._expects_after(lines, index)]
                    why = "you quit" if answer == "q" else "you skipped it"
                    self.cases += [Case(s.statement.where, s.statement.text, _kind(s), "skipped", why) for s in skipped]
                    if answer == "q":
                        stopped_at, reason = where, "you quit"
                        break
                    index += len(skipped)
                    continue
            if not line.is_expect:
                status = worst(status, judged.settle(self.cases))  # the expect lines of the command before have run
            located.where = where
            clock = time.perf_counter()
            outcome = child.run_invocation(line.invocation)
            seconds = time.perf_counter() - clock
            problem = _problem(line, outcome)
            case = Case(where, text, _kind(line), "passed", seconds=seconds)
            if line.is_expect:
                judged.saw(line, problem is None)
            elif problem is not None and any(x.judges_outcome for x in self._expects_after(lines, index)):
                judged.wait(len(self.cases), problem, outcome.status)  # its expect lines decide: passed if all hold
                problem = None
            if problem is None:
                self.cases.append(case)
            else:
                category, message, detail = problem
                if category == "command" and not outcome.error:  # e.g. a get that ended with a failure status
                    located.error(GetshError(message, "the summary above says more"))
                self.cases.append(replace(case, kind=category, result="failure" if category == "expectation"
                                          else "error", message=message, detail=detail))
                status = worst(status, STATUSES.get(category, outcome.status))
                if not self.options.keep_going:
                    stopped_at, reason = where, STOP_REASONS[category]
                    break
            index += 1
            if self.ctx.session.quit_requested:
                stopped_at, reason = (where, "quit") if index < len(lines) else ("", "")
                break
        status = worst(status, judged.settle(self.cases))
        done_at = len(self.cases)
        self.cases += [Case(ln.statement.where, ln.statement.text, _kind(ln), "skipped",
                            f"not run: the replay stopped at {stopped_at}") for ln in lines[done_at:]]
        yield self._done(started, status, lines, stopped_at=stopped_at, reason=reason)

    @staticmethod
    def _expects_after(lines: list[Line], index: int) -> list[Line]:
        following = []
        for line in lines[index + 1:]:
            if not line.is_expect:
                break
            following.append(line)
        return following

    def _quiet(self) -> bool:
        """-q (log-level fatal): the echo of each line is left out; errors still name their file:line."""
        return bool(self.ctx.settings["log-level"] == "fatal")

    def _ask(self) -> str:
        """y, n or q, read from the environment's input (end of input: q). Enter means yes."""
        out, stdin = self.ctx.env.stdout, self.ctx.env.stdin
        while True:
            out.write("  run it? [Y]es / [n]o, skip it / [q]uit the script: ")
            out.flush()
            answer = stdin.readline()
            if not answer:
                out.write("\n")
                return "q"
            word = answer.strip().lower()
            if word in ("", "y", "yes"):
                return "y"
            if word in ("n", "no", "s", "skip", "q", "quit"):
                return "q" if word.startswith("q") else "n"

    def _check_junit(self) -> None:
        junit = self.options.junit
        if junit and not os.path.isdir(Path(junit).parent.expanduser()):
            raise GetshError(f"--junit {junit}: its directory does not exist",
                             "create it, or write the report elsewhere")

    def _done(self, started: float, status: ExitStatus, lines: list[Line], **details: Any) -> ReplayDone:
        seconds = time.perf_counter() - started
        ended = {c.where: c.result for c in self.cases}  # each line's case: passed, failure, error, skipped
        commands = [ended.get(ln.statement.where, "skipped") for ln in lines if not ln.is_expect]
        checks = [ended.get(ln.statement.where, "skipped") for ln in lines if ln.is_expect]
        junit = self.options.junit or ""
        if junit:
            try:
                Path(junit).expanduser().write_bytes(junit_xml(self.path, self.cases, seconds))
            except OSError as exc:
                raise GetshError(f"cannot write the JUnit report {junit}: {exc.strerror or exc}") from None
        return ReplayDone(
            path=self.path, status=status, commands=len(commands), ran=sum(1 for c in commands if c != "skipped"),
            failed=sum(1 for c in commands if c in ("failure", "error")), expectations=len(checks),
            held=checks.count("passed"), expectations_failed=sum(1 for c in checks if c in ("failure", "error")),
            seconds=seconds, junit=junit, **details,
        )


def _stopped_before(path: str, problems: list[ScriptError]) -> str:
    """Why nothing ran: the script (or one it sources) could not be read, or a line of it is bad."""
    unreadable = all(p.where in (path, "") for p in problems)
    return f"{'it cannot be read' if unreadable else 'a bad line stops it'}: nothing was run"


def _column(statement: Statement, error: GetshError) -> int:
    """Where on the line the word a declaration's check blamed starts (1 when none is)."""
    word = getattr(error, "word", None)
    return next((column for text, column in split_spans(statement.text) if word and word in text), 1)


def _same_file(path: str, others: list[str]) -> bool:
    here = Path(path).resolve()
    return any(Path(other).resolve() == here for other in others)


def _kind(line: Line) -> str:
    return "expectation" if line.is_expect else "command"


def _problem(line: Line, outcome: Outcome) -> tuple[str, str, str] | None:
    """(script | command | expectation, message, detail) when the line did not go as it should."""
    if not outcome.failed:
        return None
    check = next((i for i in outcome.items if isinstance(i, Check)), None)
    if check is not None:
        return "expectation", f"expected {check.expectation}, found {check.found}", ""
    if outcome.status is ExitStatus.SCRIPT:  # a script it sourced has bad lines
        return "script", outcome.error or "the script it runs has errors", outcome.hint
    if line.is_expect or outcome.status is ExitStatus.EXPECTATION:  # an expect that could not run; a sourced one failed
        return "expectation", outcome.error or "an expectation did not hold", outcome.hint
    return "command", outcome.error or ending(outcome), outcome.hint
