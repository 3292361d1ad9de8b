"""C-FIND: ``find`` (matches as a generator, for code that only wants them) and ``FindRun`` (one
C-FIND as the user sees it: rows as they arrive, Ctrl-C or a limit sending C-CANCEL, the final
status in words).

Why a worker thread: pynetdicom's ``send_c_find`` blocks until the next response. Iterated on the
shell's thread, a Ctrl-C would unwind it half-way and leave the association mid-request; a peer that
stalls would hold the user until the DIMSE timeout. The worker iterates, the shell's thread waits on
a queue, counts Ctrl-C (net/interrupts.py) and sends C-CANCEL — then an A-ABORT if the peer has
not ended the request ``cancel_grace`` seconds later, or at a second Ctrl-C — through the one cancel
mechanism (net/cancellation.py), so every match that arrived is kept.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from pydicom import Dataset
from pydicom.charset import decode_bytes
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pynetdicom import _config
from pynetdicom.association import LOGGER, Association

from getsh.dicom.events import FindDone, FindStarted, Found, FoundRow, Notice
from getsh.dicom.keys.charset import encodings_of
from getsh.dicom.net.cancellation import PynetdicomPath
from getsh.dicom.net.interrupts import CtrlC
from getsh.dicom.net.presentation import FIND_MODELS
from getsh.dicom.net.reactor import reactor_parked
from getsh.dicom.query.return_keys import identifying_keys
from getsh.dicom.status import decode, failure_hint
from getsh.errors import NetworkError, PeerFailure

POLL = 0.1  # seconds between looks at Ctrl-C and the cancel grace while no response comes


def log_identifiers_if_shown() -> None:
    """pynetdicom writes each response identifier to its log, decoding every value first whatever the
    log level, and pydicom's complaints on the way reach the shell as "did not conform" (a name it
    decoded well, encoded again). Only when that log is shown (-v, -d) is it worth it; otherwise the
    values wait, raw, until a row is made of them (``text_of``)."""
    _config.LOG_RESPONSE_IDENTIFIERS = LOGGER.isEnabledFor(logging.INFO)


def find(assoc: Association, identifier: Dataset, model: str, message_id: int = 1) -> Iterator[Dataset]:
    """The C-FIND matches for ``identifier``; PeerFailure or NetworkError when it fails. ``message_id``:
    the session's next (a trace shows it; pynetdicom's default would be 1 for every request)."""
    log_identifiers_if_shown()
    reactor_parked(assoc)  # else, right after another request, the first match may be lost (net/reactor.py)
    for status, match in assoc.send_c_find(identifier, FIND_MODELS[model], msg_id=message_id):
        if "Status" not in status:
            raise NetworkError("C-FIND: no valid response; the association was aborted",
                               "the next command re-associates")
        decoded = decode(int(status.Status), "find")
        if decoded.category == "Pending":
            if match is not None:
                yield match
        elif decoded.category not in ("Success", "Cancel"):
            raise PeerFailure(f"C-FIND {decoded}", failure_hint("find"))


def element_text(elem: DataElement | None) -> str:
    """An element's value as DICOM text: decoded with the data set's character set (pydicom does it
    on access), several values joined by a backslash, nothing for no value."""
    if elem is None or elem.VR == "SQ":
        return ""
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return value.hex() if elem.VR not in ("OB", "UN") or len(value) > 64 else value.decode("latin-1")
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _element(match: Dataset, column: str) -> DataElement | None:
    if column.startswith("("):  # a tag with no keyword: (gggg,eeee)
        tag = int(column[1:5] + column[6:10], 16)
        return match.get(tag)
    try:
        return match.data_element(column)
    except KeyError:
        return None


PN_DELIMITERS = {0x5C, 0x3D, 0x5E}  # \ = ^: each name group and component may switch character set


def text_of(match: Dataset, column: str) -> str:
    """A column's value in ``match`` as text, in the character set of that response (its own
    SpecificCharacterSet; none: the default). A person name is decoded here from its bytes: pydicom
    would encode it again to keep its original bytes, and warn when a peer's name does not fit the
    set it declared though it decoded well (Orthanc's Japanese: Shift JIS kanji under "ISO_IR 13")."""
    raw = match.get_item(int(column[1:5] + column[6:10], 16) if column.startswith("(") else column)
    if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes) and (raw.VR or _vr(raw.tag)) == "PN":
        return decode_bytes(raw.value.rstrip(b"\x00 "), encodings_of(match), PN_DELIMITERS)
    return element_text(_element(match, column))


def _vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return ""


def row_of(match: Dataset, number: int, model: str, level: str, columns: tuple[str, ...]) -> FoundRow:
    """One match as a numbered row: its columns' values and the unique keys it stands for."""
    values = tuple((c, text_of(match, c)) for c in columns)
    unique = tuple((k, text_of(match, k)) for k in identifying_keys(model, level))
    return FoundRow(number, level, values, unique)


class FindRun:
    """One C-FIND on an open association, as events: FindStarted, a Found per match, FindDone."""

    def __init__(self, assoc: Association, identifier: Dataset, model: str, level: str, columns: tuple[str, ...],
                 message_id: int, *, limit: int | None = None, cancel_grace: float | None = 5.0,
                 keep: Callable[[int, Dataset], None] | None = None,
                 diagnose: Callable[[float], NetworkError] | None = None, limit_name: str = "--limit") -> None:
        self.limit_name = limit_name  # what set the limit, in the words the user knows it by
        self.assoc, self.identifier, self.model, self.level = assoc, identifier, model, level
        self.columns, self.message_id, self.limit = columns, message_id, limit
        self.cancel_grace, self.keep, self.diagnose = cancel_grace, keep, diagnose
        self.path = PynetdicomPath(assoc, message_id, FIND_MODELS[model])
        self.responses: queue.Queue[Any] = queue.Queue()
        self.ctrl_c = CtrlC()
        self.rows: list[FoundRow] = []
        self.cancelled = ""
        self.cancelled_at = 0.0
        self.aborted = ""
        self.limited = False
        self.notices: list[Notice] = []  # what a Ctrl-C did, to say at once
        self.done: FindDone | None = None  # once run() has ended

    def run(self) -> Iterator[object]:
        keys = tuple((e.keyword or str(e.tag), element_text(e)) for e in self.identifier
                     if e.keyword != "QueryRetrieveLevel")
        yield FindStarted(self.model, self.level, keys, self.columns, self.limit)
        start = time.monotonic()
        worker = threading.Thread(target=self._work, name="getsh-find", daemon=True)
        worker.start()
        status: Dataset | None = None
        warned_optional = False
        try:
            with self.ctrl_c.counting():
                while True:
                    item = self._next()
                    while self.notices:
                        yield from self._shown(self.notices.pop(0))
                    if item is _SAID:
                        continue
                    if item is _END:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    rsp_status, match = item
                    if "Status" not in rsp_status:
                        break  # no valid response: pynetdicom aborted the association
                    code = int(rsp_status.Status)
                    if decode(code, "find").category != "Pending":
                        status = rsp_status
                        continue  # the worker ends after the final response
                    if code == 0xFF01 and not warned_optional:
                        warned_optional = True
                        yield from self._shown(Notice("the peer does not support some of the optional keys asked "
                                                      "(0xFF01): their columns may stay empty"))
                    if match is None or self.limited or self.aborted:
                        continue
                    row = row_of(match, len(self.rows) + 1, self.model, self.level, self.columns)
                    self.rows.append(row)
                    if self.keep is not None:
                        self.keep(row.number, match)
                    yield from self._shown(Found(row))
                    if self.limit is not None and len(self.rows) >= self.limit and not self.cancelled:
                        self.limited = True
                        plural = "es" if self.limit != 1 else ""
                        self._cancel(f"after {self.limit} match{plural} ({self.limit_name} {self.limit})")
        finally:
            if worker.is_alive() and not self.aborted and status is None:
                self._abort("the find was interrupted")
            worker.join(timeout=2)
        self.done = self._done(status, time.monotonic() - start)
        yield self.done

    def _shown(self, item: object) -> Iterator[object]:
        """Yield ``item``; a Ctrl-C while it is drawn (the runner throws it in here) is a press."""
        try:
            yield item
        except KeyboardInterrupt:
            self._press()

    def _press(self) -> None:
        """Ctrl-C: the first sends C-CANCEL, the next aborts."""
        if self.cancelled:
            if not self.aborted:
                self._abort("at your request (a second Ctrl-C)")
        else:
            self._cancel("at your request")
            self.notices.append(Notice("C-CANCEL sent: waiting for the peer's final response (Ctrl-C again aborts "
                                       "the association)"))

    def _work(self) -> None:
        try:
            log_identifiers_if_shown()
            reactor_parked(self.assoc)  # else, right after another request, the first match may be lost
            for item in self.assoc.send_c_find(self.identifier, FIND_MODELS[self.model], msg_id=self.message_id):
                self.responses.put(item)
        except BaseException as error:  # handed to the shell's thread, which raises it
            self.responses.put(error)
        finally:
            self.responses.put(_END)

    def _next(self) -> Any:
        """The next response, taking Ctrl-C and the cancel grace into account while none comes."""
        while True:
            try:
                presses = self.ctrl_c.take()
                item = self.responses.get(timeout=POLL)
            except queue.Empty:
                item = None
            except KeyboardInterrupt:  # not on the main thread: Ctrl-C raised where we wait
                presses = 1
                item = None
            for _ in range(presses):
                self._press()
            if (self.cancelled and not self.aborted and self.cancel_grace is not None
                    and time.monotonic() - self.cancelled_at > self.cancel_grace):
                self._abort(f"the peer had not ended the C-FIND {self.cancel_grace:g} s after C-CANCEL "
                            "(cancel-grace)")
            if item is not None:
                return item
            if self.notices:
                return _SAID

    def _cancel(self, why: str) -> None:
        self.cancelled, self.cancelled_at = why, time.monotonic()
        try:
            self.path.cancel()
        except Exception:  # the association went meanwhile: the worker will say so
            pass

    def _abort(self, why: str) -> None:
        self.aborted = why
        self.path.stop()

    def _done(self, status: Dataset | None, seconds: float) -> FindDone:
        rows = tuple(self.rows)
        common: dict[str, Any] = dict(model=self.model, level=self.level, columns=self.columns, rows=rows,
                                      seconds=seconds, cancelled=self.cancelled, aborted=self.aborted,
                                      limited=self.limited)
        if status is None:
            kept = f"; the {len(rows)} matches that arrived are kept" if rows else ""
            if self.aborted:
                return FindDone(status=None, problem=f"C-FIND aborted {self.aborted}{kept}",
                                hint="the next command re-associates", **common)
            error = self.diagnose(seconds) if self.diagnose is not None else NetworkError(
                "C-FIND: no valid response; the association was aborted", "the next command re-associates")
            return FindDone(status=None, problem=error.message + kept, hint=error.hint, **common)
        decoded = decode(int(status.Status), "find")
        hint = failure_hint("find") if decoded.exit_status.value >= 6 else ""
        return FindDone(status=decoded, hint=hint, error_comment=str(status.get("ErrorComment", "") or ""),
                        **common)


_END = object()  # the worker has finished
_SAID = object()  # no response yet, but something to say (a Ctrl-C was taken)
