"""``expect``: checks on what the last get (or the last command) did, for scripts that test an archive.

Parsing is separate from evaluating so that a dry run can reject a bad ``expect`` line
without anything having run. Evaluating reads only what the session remembers (see
state.ScriptState) and, for ``value`` and ``files``, the output directory; a failed
check says what was expected and what was found.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom.multival import MultiValue

from getsh.dicom.events import GetDone, Received
from getsh.dicom.keys.dictionary import Entry, lookup
from getsh.dicom.net.syntaxes import PREFER, syntax_name
from getsh.dicom.storage.header_scan import read_head
from getsh.errors import UsageError
from getsh.results import Check, Outcome
from getsh.script.recording import ending

if TYPE_CHECKING:
    from getsh.context import Context

# kind -> (what follows it, what it checks)
KINDS: dict[str, tuple[str, str]] = {
    "status": ("success|warning|failure|cancel", "the final status of the last get"),
    "completed": ("[OP] N", "completed sub-operations of the last get"),
    "failed": ("[OP] N", "failed sub-operations of the last get"),
    "warning": ("[OP] N", "sub-operations of the last get that completed with a warning"),
    "received": ("[OP] N", "objects the last get received"),
    "matched": ("[OP] N", "objects the last get's keys matched (0: nothing matched, whatever the peer's status)"),
    "files": ("[OP] N", "files in the output directory (hidden and partial files not counted)"),
    "tsyntax": ("UID|NAME", "the transfer syntax of every object the last get received"),
    "value": ("[--any] KEYWORD VALUE", "a value in every object the last get received (--any: in one)"),
    "error": ("[TEXT]", "the command before: it failed, with TEXT in its error message"),
}
# The kinds that judge whether the command before them failed: a get that matched nothing fails on some
# peers (Orthanc: 0xC000) and succeeds on others, and 'expect matched 0' is meant to hold on both.
OUTCOME_CHECKS = ("error", "status", "matched")
NUMERIC = ("completed", "failed", "warning", "received", "matched", "files")
STATUSES = ("success", "warning", "failure", "cancel")
OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
# The transfer-syntax names tsyntax accepts besides UIDs: prefer's, where one syntax is meant.
SYNTAX_NAMES = {name: uids[0] for name, uids in PREFER.items() if name != "uncompr"}


@dataclass(frozen=True)
class Expectation:
    kind: str
    op: str = "="
    number: int = 0
    text: str = ""  # status category, transfer syntax UID, value, or error text
    entry: Entry | None = None  # the attribute of 'value'
    any: bool = False

    def describe(self) -> str:
        if self.kind in NUMERIC:
            return f"{self.kind} {self.number}" if self.op == "=" else f"{self.kind} {self.op} {self.number}"
        if self.kind == "tsyntax":
            return f"tsyntax {syntax_name(self.text)}"
        if self.kind == "value":
            which = "some object" if self.any else "every object"
            return f"{self.entry.label if self.entry else '?'} = {self.text!r} in {which}"
        if self.kind == "error":
            return f"an error containing {self.text!r}" if self.text else "an error"
        return f"status {self.text}"


def kind(text: str) -> str:
    word = text.strip().lower()
    if word not in KINDS:
        raise ValueError(f"{text!r} is not something expect checks (one of: {', '.join(KINDS)})")
    return word


def parse(what: str, operands: list[str], any_: bool = False) -> Expectation:
    """Check an expect line's words; UsageError says what the form is."""
    form = f"expect {what} {KINDS[what][0]}"

    def usage(problem: str) -> UsageError:
        return UsageError(f"expect {what}: {problem}", f"usage: {form}")

    if any_ and what != "value":
        raise usage("--any only goes with expect value")
    if what in NUMERIC:
        words = _split_operator(operands)
        op, number = ("=", words[0]) if len(words) == 1 else (words[0], words[1]) if len(words) == 2 else ("", "")
        if op not in OPERATORS or not number:
            raise usage(f"{' '.join(operands) or 'nothing'}: give a number, optionally after one of "
                        f"{' '.join(OPERATORS)}")
        if not number.isdigit():
            raise usage(f"{number!r} is not a whole number")
        return Expectation(what, "=" if op == "==" else op, int(number))
    if what == "error":
        if len(operands) > 1:
            raise usage("give the text as one word (quote it)")
        return Expectation(what, text=operands[0] if operands else "")
    if what == "value":
        if len(operands) != 2:
            raise usage("give a keyword and a value, e.g. expect value PatientName \"DOE^JANE\"")
        return Expectation(what, text=operands[1], entry=lookup(operands[0]), any=any_)
    if len(operands) != 1:
        raise usage("give one value")
    if what == "status":
        if operands[0].lower() not in STATUSES:
            raise usage(f"{operands[0]!r} is not one of {', '.join(STATUSES)}")
        return Expectation(what, text=operands[0].lower())
    return Expectation(what, text=transfer_syntax(operands[0], usage))


def _split_operator(words: list[str]) -> list[str]:
    """``>=10`` as ``>= 10``."""
    if len(words) == 1:
        for op in sorted(OPERATORS, key=len, reverse=True):
            if words[0].startswith(op) and len(words[0]) > len(op):
                return [op, words[0][len(op):]]
    return words


def transfer_syntax(text: str, usage: Callable[[str], UsageError]) -> str:
    """A UID, a prefer name (rle, implicit, big…), or a transfer syntax's full name."""
    word = text.strip()
    if word and all(part.isdigit() for part in word.split(".")):
        return word
    if word.lower() in SYNTAX_NAMES:
        return SYNTAX_NAMES[word.lower()]
    from pydicom.uid import UID_dictionary

    for uid, info in UID_dictionary.items():
        if info[1] == "Transfer Syntax" and info[0].lower() == word.lower():
            return uid
    raise usage(f"{text!r} is not a transfer syntax UID or name (e.g. rle, implicit, 1.2.840.10008.1.2.5)")


# --- evaluating ----------------------------------------------------------------------------------


def evaluate(ctx: Context, exp: Expectation) -> Check:
    state = ctx.session.script
    if exp.kind == "error":
        return _error(exp, state.last)
    if exp.kind == "files":
        files = count_files(Path(os.path.expanduser(ctx.settings["output"])))
        return _compare(exp, files, f"{files} in {ctx.settings['output']}")
    last = state.last_get
    if last is None:
        return Check(exp.describe(), False, "no get has run in this session")
    gets = last.gets
    if not gets:
        how = "ended without a final response" if last.sent_get else "sent no C-GET"
        return Check(exp.describe(), False, f"'{last.line}' {how}: {last.error or ending(last)}")
    received = [r for done in gets for r in done.received]
    if exp.kind == "status":
        categories = sorted({d.status.category.lower() for d in gets})
        return Check(exp.describe(), categories == [exp.text], ", ".join(_status_words(d) for d in gets))
    if exp.kind == "matched":
        return _matched(exp, gets)
    if exp.kind in NUMERIC:
        number = len(received) if exp.kind == "received" else sum(getattr(d, exp.kind) for d in gets)
        return _compare(exp, number, str(number))
    if not received:
        return Check(exp.describe(), False, "no objects were received")
    if exp.kind == "tsyntax":
        others = sorted({r.transfer_syntax for r in received if r.transfer_syntax != exp.text})
        found = ", ".join(f"{syntax_name(uid)} ({uid})" for uid in others)
        return Check(exp.describe(), not others, f"also {found}" if others else f"all {len(received)} in it")
    return _value(exp, received)


def _matched(exp: Expectation, gets: tuple[GetDone, ...]) -> Check:
    """How many objects the keys matched: the peer's sub-operations (or what arrived, if more); 0 when
    the get said nothing matched; not known after a failure that left it open. The parts of a retrieve
    split over associations each matched the same objects: the largest counts."""
    whole, parts = 0, 0
    for done in gets:
        subops = done.completed + done.failed + done.warning + done.remaining
        number = 0 if done.nothing_matched else max(subops, len(done.received) + len(done.refused))
        if not done.nothing_matched and not number and done.status.category == "Failure":
            return Check(exp.describe(), False, f"not known: the get ended {_status_words(done)} with no "
                                                "sub-operation, and no C-FIND said that nothing matched")
        whole, parts = (whole, max(parts, number)) if done.part else (whole + number, parts)
    number = whole + parts
    return _compare(exp, number, f"{number} (nothing matched)" if not number else str(number))


def _status_words(done: GetDone) -> str:
    words = f"{done.status.category.lower()} (0x{done.status.code:04X}"
    return words + (f": {done.status.words})" if done.status.words else ")")


def _compare(exp: Expectation, number: int, found: str) -> Check:
    return Check(exp.describe(), OPERATORS[exp.op](number, exp.number), found)


def _error(exp: Expectation, last: Outcome | None) -> Check:
    if last is None:
        return Check(exp.describe(), False, "no command has run yet")
    if not last.error:
        return Check(exp.describe(), False, f"'{last.line}' succeeded" if not last.failed else
                     f"'{last.line}' ended with exit status {int(last.status)} but no error")
    held = exp.text.lower() in last.error.lower()
    return Check(exp.describe(), held, f"'{last.line}' failed: {last.error}")


def _value(exp: Expectation, received: list[Received]) -> Check:
    assert exp.entry is not None
    tag = exp.entry.tag
    matches = 0
    problems: list[str] = []
    seen: list[str] = []
    for item in received:
        if item.path is None:
            problems.append(f"object {item.index} was not stored (storage ignore)")
            continue
        path = Path(item.output_dir) / item.path
        try:
            dataset = read_head(path, [tag])  # a deflated file: inflated no further than its header
        except Exception as exc:
            problems.append(f"cannot read {path}: {exc}")
            continue
        value = value_text(dataset[tag].value) if tag in dataset else None
        if value is not None and _matches(exp.text, value):
            matches += 1
        else:
            seen.append("absent" if value is None else repr(value))
    total = len(received)
    held = not problems and (matches > 0 if exp.any else matches == total)
    found = f"{matches} of {total} objects have it"
    if seen:
        found += "; others: " + ", ".join(sorted(set(seen))[:5])
    if problems:
        found += "; " + "; ".join(problems[:3])
    return Check(exp.describe(), held, found)


def value_text(value: object) -> str:
    """A value as a key would write it: several values joined with a backslash."""
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value).rstrip(" \0")


def _matches(wanted: str, value: str) -> bool:
    """Equal, or a match of the * and ? wildcards (as in C-FIND) when the wanted value has them."""
    if "*" in wanted or "?" in wanted:
        pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wanted)
        return re.fullmatch(pattern, value, re.DOTALL) is not None
    return value == wanted


def count_files(folder: Path) -> int:
    """Regular files below ``folder``, not counting hidden ones (partial files are hidden)."""
    if not os.path.isdir(folder):  # False, not an OSError, for a name too long to be one
        raise UsageError(f"output directory {folder} does not exist", "output DIR sets it")
    count = 0
    for _root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        count += sum(1 for name in files if not name.startswith("."))
    return count
