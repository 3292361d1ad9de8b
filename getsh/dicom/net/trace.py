"""The protocol as a teacher draws it on the board (``trace on``): each association step and DIMSE
message as one line as it happens, and the A-ASSOCIATE exchange as a table.

Both receive paths report here. pynetdicom's own through its event hooks (EVT_PDU_SENT/RECV for the
association's PDUs, EVT_DIMSE_SENT/RECV for its messages), bound to the session's association only
while tracing is on (``Tracer.follow``); getsh's direct path (retrieve/receive/traced.py) reports
the messages it reads and writes itself, in the same words (net/dimse_words.py). A line is a
``Traced`` event (events.py) queued here; the runner takes the queue (``drain``) each time the
running command shows something, so lines come in order and as they happen, between the command's
own events. The peer's strings are kept as they came: the shell and the recording show them
literally.

Off, tracing costs one check per request and nothing per message: no hook is bound and the direct
path holds no tracer (``tracer_of``). Long runs fold: after the first FOLD_AFTER C-STORE exchanges
of a request (and as many pending responses), the rest are counted and said in one line ("… 296
more C-STORE like these") when something else happens; ``trace all`` shows every one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pynetdicom import evt
from pynetdicom.pdu import A_ABORT_RQ, A_ASSOCIATE_AC, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ, A_RELEASE_RP, A_RELEASE_RQ

from getsh.dicom.net.dimse_words import (
    REQUESTS,
    Dimse,
    abort_words,
    association_of,
    of_message,
    rejection_words,
    request_words,
    size_words,
    words,
)
from getsh.dicom.net.trace_items import Traced, TracedAssociation

MODES = ("off", "on", "all")
FOLD_AFTER = 3  # C-STORE exchanges (and pending responses) of a request shown before the rest fold
_STORE = "C-STORE"

_FOLLOWED: weakref.WeakKeyDictionary[Any, Tracer] = weakref.WeakKeyDictionary()


def tracer_of(assoc: Any) -> Tracer | None:
    """The tracer following ``assoc`` while tracing is on; None otherwise (one lookup a request)."""
    tracer = _FOLLOWED.get(assoc)
    return tracer if tracer is not None and tracer.mode != "off" else None


def _fold_group(d: Dimse, category: str) -> str | None:
    """Which run a message folds into: a C-STORE that succeeded, a pending response; None: always shown."""
    if d.name == "C-STORE-RQ" or (d.name == "C-STORE-RSP" and category == "Success"):
        return _STORE
    return f"{d.name} Pending" if category == "Pending" else None


class Tracer:
    """The session's trace: its mode (off, on, all), the lines not yet shown, the runs being folded."""

    def __init__(self) -> None:
        self.mode = "off"
        self._lock = threading.Lock()
        self._lines: deque[Traced | TracedAssociation] = deque()
        self._origin = time.monotonic()  # when the current exchange's request went out
        self._shown: dict[str, int] = {}  # lines of each run shown since that request
        self._folded: dict[str, list[int]] = {}  # run → [messages, objects, bytes] folded since the last line
        self._asked: Any = None  # the A-ASSOCIATE-RQ PDU we sent last

    @property
    def on(self) -> bool:
        return self.mode != "off"

    # --- reporting (any thread) --------------------------------------------------------------

    def dimse(self, direction: str, d: Dimse) -> None:
        """One DIMSE message sent (→) or received (←)."""
        category = d.category
        group = _fold_group(d, category)
        now = time.monotonic()
        with self._lock:
            if direction == "→" and d.name in REQUESTS:
                self._flush(now)
                self._origin, self._shown = now, {}
            if group is not None and self.mode != "all":
                shown = self._shown.get(group, 0)
                if shown >= FOLD_AFTER * (2 if group == _STORE else 1):
                    self._fold(group, d)
                    return
                self._shown[group] = shown + 1
            else:
                self._flush(now)
            self._lines.append(Traced(direction, d.name, words(d), now - self._origin, category))

    def note(self, direction: str, message: str, text: str) -> None:
        """A line that is not a DIMSE message: a PDU, or getsh's own note."""
        now = time.monotonic()
        with self._lock:
            self._flush(now)
            if message in ("A-ASSOCIATE-RQ", "A-RELEASE-RQ") and direction == "→":  # a new exchange
                self._origin = now
            elapsed = now - self._origin if direction in "→←" else None  # a note of getsh's: no time of its own
            self._lines.append(Traced(direction, message, text, elapsed))

    def reassociating(self, why: str) -> None:
        if self.on:
            self.note("↻", "re-associating:", why)

    def _fold(self, group: str, d: Dimse) -> None:
        counts = self._folded.setdefault(group, [0, 0, 0])
        counts[0] += 1
        if d.name == "C-STORE-RQ":
            counts[1] += 1
            counts[2] += d.size or 0

    def _flush(self, now: float) -> None:
        """The runs folded since the last line shown, in one line (lock held)."""
        if not self._folded:
            return
        parts = []
        for group, (messages, objects, size) in sorted(self._folded.items(), key=lambda run: run[0] != _STORE):
            if group == _STORE:
                parts.append(f"{objects} more C-STORE like these ({size_words(size)})" if objects else
                             f"{messages} more C-STORE-RSP Success")
            else:
                parts.append(f"{messages} more {group}")
        self._folded = {}
        self._lines.append(Traced("…", "", ", ".join(parts), now - self._origin))

    # --- the shell's thread ------------------------------------------------------------------

    def drain(self, final: bool = False) -> list[Traced | TracedAssociation]:
        """The lines not yet shown, in order; ``final`` (the command ended): a run being folded too."""
        if not self._lines and not (final and self._folded):
            return []
        with self._lock:
            if final:
                self._flush(time.monotonic())
            lines = list(self._lines)
            self._lines.clear()
        return lines

    # --- pynetdicom's hooks ------------------------------------------------------------------

    def handlers(self) -> list[tuple[evt.EventType, Callable[[evt.Event], None]]]:
        return [(evt.EVT_PDU_SENT, self._pdu_sent), (evt.EVT_PDU_RECV, self._pdu_received),
                (evt.EVT_DIMSE_SENT, self._dimse_sent), (evt.EVT_DIMSE_RECV, self._dimse_received)]

    def follow(self, assoc: Any, bound: bool = False) -> None:
        """Bind the hooks on ``assoc`` while tracing is on, unbind them when it is off (``bound``: the
        association was opened with them)."""
        if bound:
            _FOLLOWED[assoc] = self
        following = _FOLLOWED.get(assoc) is self
        if self.on and not following:
            for event, handler in self.handlers():
                assoc.bind(event, handler)
            _FOLLOWED[assoc] = self
        elif not self.on and following:
            for event, handler in self.handlers():
                assoc.unbind(event, handler)
            del _FOLLOWED[assoc]

    def _dimse_sent(self, event: evt.Event) -> None:
        if self.on:
            self.dimse("→", of_message(event.message, event.assoc))

    def _dimse_received(self, event: evt.Event) -> None:
        if self.on:
            self.dimse("←", of_message(event.message, event.assoc))

    def _pdu_sent(self, event: evt.Event) -> None:
        if not self.on:
            return
        pdu = event.pdu
        if isinstance(pdu, A_ASSOCIATE_RQ):
            self._asked = pdu
            self.note("→", "A-ASSOCIATE-RQ", request_words(pdu))
        elif isinstance(pdu, (A_RELEASE_RQ, A_RELEASE_RP)):
            self.note("→", _pdu_name(pdu), "")
        elif isinstance(pdu, A_ABORT_RQ):
            self.note("→", "A-ABORT", abort_words(pdu, ours=True))

    def _pdu_received(self, event: evt.Event) -> None:
        if not self.on:
            return
        pdu = event.pdu
        if isinstance(pdu, A_ASSOCIATE_AC) and self._asked is not None:
            table = association_of(self._asked, pdu)
            with self._lock:
                self._flush(time.monotonic())
                self._lines.append(replace(table, elapsed=time.monotonic() - self._origin,
                                           every_row=self.mode == "all"))
        elif isinstance(pdu, A_ASSOCIATE_RJ):
            self.note("←", "A-ASSOCIATE-RJ", rejection_words(pdu))
        elif isinstance(pdu, (A_RELEASE_RQ, A_RELEASE_RP)):
            self.note("←", _pdu_name(pdu), "")
        elif isinstance(pdu, A_ABORT_RQ):
            self.note("←", "A-ABORT", abort_words(pdu, ours=False))


def _pdu_name(pdu: Any) -> str:
    return "A-RELEASE-RQ" if isinstance(pdu, A_RELEASE_RQ) else "A-RELEASE-RP"
