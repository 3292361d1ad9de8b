"""What a get or a find settles before anything is sent: the level its keys make obvious, and the
keys of a get that may retrieve a whole archive.

The protocol layer says what the keys hold (dicom/keys/qr_keys.py: ``implied_level``,
``open_unique_keys``); here it is decided what to do about it, by who is there: at the prompt the
user is asked (``Context.ask``, the shell's y/N), a script or ``-c`` refuses with the fix, and
one-shot ``getsh get`` sends what getscu would, with the warning on stderr.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from types import SimpleNamespace

from pydicom import Dataset

from getsh.context import Context
from getsh.dicom.events import Notice
from getsh.dicom.keys import identifier as ident
from getsh.dicom.keys.qr_keys import implied_level, open_unique_keys
from getsh.dicom.retrieve.options import Request
from getsh.dicom.status import FIND_SHOWS
from getsh.errors import UsageError


def sets_level(keys: Sequence[ident.KeyAssignment]) -> bool:
    """Whether the line itself sets QueryRetrieveLevel (then it stands, whatever the keys imply)."""
    return any(len(key.path) == 1 and key.entry.keyword == "QueryRetrieveLevel" for key in keys)


def follow_keys(dataset: Dataset, model: str, what: str) -> Iterator[Notice]:
    """When ``dataset`` holds a unique key of a level below its QueryRetrieveLevel, move it to that level
    (the deepest such one) for this request, and say so in one line with what to type to keep it."""
    implied = implied_level(dataset, model)
    if implied is None:
        return
    level, key = implied
    before = str(dataset.get("QueryRetrieveLevel") or "").strip().upper() or "none"
    dataset.QueryRetrieveLevel = level
    yield Notice(f"{what} at {level} level: {key} is a {level} key (the level was {before}; "
                 f"to keep {level}: level {level})")


def wide_get(ctx: Context, requests: Sequence[Request], args: SimpleNamespace) -> Iterator[Notice]:
    """A get whose unique keys hold a wildcard, or whose level's unique key is empty or missing, may
    retrieve the whole archive: at the prompt ask first (yes: ``args.force`` is set, so a recording
    writes --force), in a script refuse, in one-shot ``getsh get`` warn on stderr. --force sends it."""
    model = ctx.settings["model"]
    wide = list(dict.fromkeys(key for r in requests for key in open_unique_keys(r.identifier, model)))
    if not wide or args.force:
        return
    problem = (f"a C-GET with {' and '.join(wide)} may retrieve the whole archive (PS3.4 allows no wildcard, "
               "empty or missing unique key in a retrieve)")
    meant = shlex.join(["get", "--force", *args.items])
    if ctx.getscu_words:
        yield Notice(f"warning: {problem}; sent as getscu sends it", stderr=True)
        return
    if ctx.ask is not None and not ctx.session.script.replaying:
        if ctx.ask(problem, "send it?"):
            args.force = True
            return
        raise UsageError("C-GET not sent: you answered no", f"{FIND_SHOWS}; {meant} sends it without asking")
    raise UsageError(f"not sent: {problem}", f"{meant} to mean it; {FIND_SHOWS}")
