"""One request cut into shares for a parallel retrieve (``parallel``), planned with C-FIND as it goes.

Why: a C-GET's C-STORE sub-operations are answered one at a time, so over a link with a round trip
of 20 ms every object costs at least 20 ms, whatever either side's CPU does. Several associations
each retrieving a share overlap those waits. A share is a C-GET of its own: the level the model
retrieves single objects at (IMAGE; STUDY under patient/study-only), the unique keys of the levels
above as single values, and a list of unique keys at that level (PS3.4 C.4.3.2.1: a C-GET may list
several at its level). The list comes from the archive's own C-FIND, under the same model,
hierarchically (each level's unique key given: a strict archive refuses a deeper query without
them), and shares are handed out while the last level's C-FIND is still answering.

The plan trusts the archive's C-FIND only as far as it can be checked: a parent row (a series) whose
instance count is more than its C-FIND listed becomes one share of the whole parent, and a match
without its unique key makes the request unplannable (the caller retrieves it on one association).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from pydicom import Dataset
from pydicom.multival import MultiValue
from pynetdicom import evt
from pynetdicom.association import Association

from getsh.dicom.keys.qr_keys import levels, unique_key
from getsh.dicom.net.cancellation import PynetdicomPath
from getsh.dicom.net.presentation import FIND_MODELS
from getsh.dicom.net.trace import tracer_of
from getsh.dicom.query.find import element_text, find
from getsh.dicom.query.return_keys import identifying_keys
from getsh.dicom.retrieve.receive.direct_find import DirectFind
from getsh.dicom.retrieve.receive.find_borrowed import find_directly
from getsh.dicom.retrieve.receive.handover import HandoverError, brisk, direct_path
from getsh.dicom.retrieve.share import Share
from getsh.errors import PeerFailure

MAX_QUERIES = 500  # C-FIND requests one plan may send; past it, parents are retrieved whole
# The count a parent row carries of what lies at the level below it, where the model has one.
COUNT_BELOW = {"SERIES": "NumberOfSeriesRelatedInstances", "PATIENT": "NumberOfPatientRelatedStudies"}
CONTROL_KEYS = frozenset({"QueryRetrieveLevel", "SpecificCharacterSet", "TimezoneOffsetFromUTC", "QueryRetrieveView"})


log = logging.getLogger("getsh.retrieve")


class _Missed(Exception):
    """A C-FIND yielded fewer matches than pending responses were decoded for it."""


class NotPlannable(Exception):
    """The request cannot be cut into shares that are sure to retrieve what it would: why, in words."""


class Planner:
    """Lists what a request matches, share by share, on one association (C-FIND). ``shares()`` runs on
    the thread that owns the association meanwhile; ``cancel()`` may be called from any thread."""

    def __init__(self, assoc: Association, identifier: Dataset, model: str, next_message_id: Callable[[], int],
                 size: Callable[[], int], receive: str = "auto") -> None:
        """``size()``: how many UIDs the next share may list (it may change as the plan grows); ``receive``:
        the setting (its C-FINDs take the direct path as a C-GET would, receive/direct_find.py)."""
        self.assoc, self.identifier, self.model, self.receive = assoc, identifier, model, receive
        self.next_message_id, self.size = next_message_id, size
        self.chain = levels(model)
        self.target = self.chain[-1]
        self.key = unique_key(model, self.target)
        self.listed = 0  # unique keys at the target level listed so far
        self.queries = 0
        self.notes: list[str] = []  # what the plan found worth saying (a count that disagrees …)
        self._number = 0
        self._stopped = threading.Event()
        self._aborted = False
        self._dropped: list[Exception] = []  # what an abandoned direct C-FIND ended with (receive/direct_find.py)
        self._current: PynetdicomPath | DirectFind | None = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Stop planning: C-CANCEL for the C-FIND under way, and no further one."""
        self._stopped.set()
        with self._lock:
            current = self._current
        if current is not None:
            try:
                current.cancel()
            except Exception:
                pass

    def abort(self) -> None:
        """Stop planning now: the C-FIND under way is aborted (its association with it), and the thread
        waiting for its next response is told none will come."""
        self._aborted = True
        self._stopped.set()
        with self._lock:
            current = self._current
        if current is not None:
            try:
                current.stop()
            except Exception as error:  # the association may be gone already
                log.debug("plan: abort: %s", error)
            current.wake()  # whatever became of the abort: the plan's thread must not wait for ever

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def shares(self) -> Iterator[Share]:
        """The shares, in the archive's order, as its answers come. NotPlannable, PeerFailure or
        NetworkError when the plan cannot be had."""
        level = str(self.identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
        if level not in self.chain:
            raise NotPlannable(f"the identifier's level ({level or 'none'}) is not one of the {self.model} model")
        charset = self.identifier.get("SpecificCharacterSet", "") or ""
        charset = "\\".join(charset) if isinstance(charset, (list, MultiValue)) else str(charset)
        given = self._named(level)
        if level == self.target and given is not None:  # a list of UIDs given: no C-FIND needed
            parent, uids = given
            yield from self._cut(parent, list(uids), charset)
            return
        if level == self.target:
            yield from self._stream(self._with_return_keys(self.identifier, level), None, charset)
            return
        if given is not None:  # the level's own UIDs given: each is a parent, no C-FIND needed
            key = unique_key(self.model, level)
            parents = [{**given[0], key: uid} for uid in given[1]]
        else:
            parents = self._ask(level, self._with_return_keys(self.identifier, level))
        for deeper in self.chain[self.chain.index(level) + 1:-1]:
            parents = [found for keys in parents for found in self._ask(deeper, self._query(deeper, keys))]
        for keys in parents:
            if self.stopped:
                return
            counted = keys.pop(COUNT_BELOW.get(self.chain[-2], ""), "")
            if self.queries >= MAX_QUERIES:
                yield self._whole(keys, charset, f"more than {MAX_QUERIES} C-FIND requests would be needed")
                continue
            yield from self._parent(keys, int(counted) if counted.isdigit() else None, charset)

    # --- the C-FINDs -------------------------------------------------------------------------

    def _matches(self, query: Dataset) -> Iterator[Dataset]:
        """The C-FIND's matches; ``_Missed`` at its end when a pending response did not reach us.

        Why the count: pynetdicom pauses its reactor for a request by clearing a checkpoint and waiting
        for a flag the reactor sets just before it blocks; a reactor preempted right after the
        checkpoint let it through still shows the flag, takes the first response off the queue itself
        and drops it. Rare on an idle machine, seen under a parallel retrieve's load: one instance
        missing from a plan of 100. Every pending response is counted as it is decoded, and a C-FIND
        that yielded fewer is asked again."""
        if self.stopped:
            return
        if self._dropped:  # a C-FIND abandoned earlier ended the association
            raise self._dropped[0]
        self.queries += 1
        message_id = self.next_message_id()
        if tracer_of(self.assoc) is None and not direct_path(self.assoc, self.receive):  # trace on: pynetdicom's
            try:
                yield from find_directly(self.assoc, query, FIND_MODELS[self.model], message_id, self._running,
                                         self._dropped.append)
                return
            except HandoverError as why:  # before anything was sent
                log.debug("plan: C-FIND through pynetdicom's receive path: %s", why)
        decoded = [0]

        def count(event: evt.Event) -> None:
            command = getattr(event.message, "command_set", None)
            if (command is not None and command.get("MessageIDBeingRespondedTo") == message_id
                    and command.get("Status") in (0xFF00, 0xFF01)):
                decoded[0] += 1

        with self._lock:
            self._current = PynetdicomPath(self.assoc, message_id, FIND_MODELS[self.model])
        self.assoc.bind(evt.EVT_DIMSE_RECV, count)
        yielded = 0
        try:
            with brisk(self.assoc):  # else a millisecond a match
                for match in find(self.assoc, query, self.model, message_id):
                    yielded += 1
                    yield match
        finally:
            self.assoc.unbind(evt.EVT_DIMSE_RECV, count)
            with self._lock:
                self._current = None
        if decoded[0] > yielded and not self.stopped:
            log.debug("plan: C-FIND #%d decoded %d pending responses, %d reached the plan", message_id, decoded[0],
                      yielded)
            raise _Missed

    def _running(self, path: DirectFind | None) -> None:
        """The direct path's C-FIND is under way (None: over). A cancel or abort asked while its socket
        was being borrowed, before it could be reached, reaches it now."""
        with self._lock:
            self._current = path
            if path is not None and self._aborted:
                path.stop()
            elif path is not None and self.stopped:
                path.cancel()

    def _again(self, query: Dataset) -> Iterator[Dataset]:
        """``_matches``, asked again (up to three times in all) while responses go missing; a match may
        come twice (the caller keeps what it has seen)."""
        for _ in range(3):
            try:
                yield from self._matches(query)
                return
            except _Missed:
                continue
        raise NotPlannable("three times a C-FIND response did not reach getsh (pynetdicom's reactor took it)")

    def _ask(self, level: str, query: Dataset) -> list[dict[str, str]]:
        """The identifying keys (and the count below, if asked) of each match at ``level``."""
        wanted = [*identifying_keys(self.model, level), *self._count_key(level)]
        found: dict[str, dict[str, str]] = {}
        for match in self._again(query):
            keys = {k: _text(match, k) for k in wanted}
            if not keys[unique_key(self.model, level)]:
                raise NotPlannable(f"the archive's C-FIND answered a {level} match without its "
                                   f"{unique_key(self.model, level)}")
            found.setdefault(keys[unique_key(self.model, level)], keys)
        return list(found.values())

    def _parent(self, keys: dict[str, str], counted: int | None, charset: str) -> Iterator[Share]:
        """One parent's objects, cut into shares. When its listing fails before anything of it has gone
        out (the archive's C-FIND failed, or answered a match without its UID), it is retrieved whole
        as one share instead, and the plan goes on."""
        out = [0]
        try:
            for share in self._stream(self._query(self.target, keys), counted, charset, keys):
                out[0] += 1
                yield share
        except (NotPlannable, PeerFailure) as error:
            if out[0] or self.stopped:
                raise
            why = error.message if isinstance(error, PeerFailure) else str(error)
            self.notes.append(f"{self._named_parent(keys)} could not be listed ({why}): retrieved whole")
            yield self._whole(keys, charset, "")

    def _stream(self, query: Dataset, counted: int | None, charset: str,
                parent: dict[str, str] | None = None) -> Iterator[Share]:
        """The target level's matches, cut into shares as they come. With ``parent`` (the unique keys
        above) every match is under it; without, each match says its own (a C-FIND at the target level).
        A parent whose count is known is held until its listing is complete: a listing shorter than the
        count makes it one whole share, and nothing of it may have gone out before (it would come twice)."""
        above = identifying_keys(self.model, self.target)[:-1]
        batches: dict[tuple[tuple[str, str], ...], list[str]] = {}
        seen: set[str] = set()
        hold = counted is not None
        for match in self._again(query):
            uid = _text(match, self.key)
            if not uid:
                raise NotPlannable(f"the archive's C-FIND answered a {self.target} match without its {self.key}")
            keys = tuple(parent.items()) if parent is not None else tuple((k, _text(match, k)) for k in above)
            if any(not value for _, value in keys):
                raise NotPlannable(f"the archive's C-FIND answered a {self.target} match without the unique keys "
                                   "above it")
            if uid in seen:
                continue
            seen.add(uid)
            batch = batches.setdefault(keys, [])
            batch.append(uid)
            if not hold and len(batch) >= self.size():
                yield self._share(keys, tuple(batch), charset)
                batch.clear()
        if self.stopped:
            return
        if parent is not None and counted is not None and counted > len(seen):
            self.notes.append(f"the archive counts {counted} under {self._named_parent(parent)} but its C-FIND "
                              f"listed {len(seen)}: that {self.chain[-2].lower()} is retrieved whole")
            yield self._whole(parent, charset, "")
            return
        for keys, batch in batches.items():
            while batch:
                step = max(1, self.size())
                yield self._share(keys, tuple(batch[:step]), charset)
                del batch[:step]

    def _cut(self, parent: dict[str, str], uids: list[str], charset: str) -> Iterator[Share]:
        keys = tuple(parent.items())
        while uids and not self.stopped:
            step = max(1, self.size())
            yield self._share(keys, tuple(uids[:step]), charset)
            del uids[:step]

    # --- shares and queries -----------------------------------------------------------------

    def _share(self, keys: tuple[tuple[str, str], ...], uids: tuple[str, ...], charset: str) -> Share:
        self._number += 1
        self.listed += len(uids)
        return Share(self._number, self.target, keys, uids, charset)

    def _whole(self, parent: dict[str, str], charset: str, why: str) -> Share:
        """The parent (the level above the target) as one share."""
        level = self.chain[-2]
        key = unique_key(self.model, level)
        if why:
            self.notes.append(f"{why}: the rest is retrieved one {level.lower()} a share")
        self._number += 1
        above = tuple((k, v) for k, v in parent.items() if k != key)
        return Share(self._number, level, above, (parent[key],), charset, whole=True)

    def _named(self, level: str) -> tuple[dict[str, str], tuple[str, ...]] | None:
        """When the identifier holds only unique keys, each a plain value (its own level's may be a list
        of them): the keys above, and the values at ``level``. None otherwise."""
        wanted = identifying_keys(self.model, level)
        values = {e.keyword: e.value for e in self.identifier if e.keyword not in CONTROL_KEYS}
        if set(values) != set(wanted):
            return None
        above: dict[str, str] = {}
        for keyword in wanted[:-1]:
            text = _text(self.identifier, keyword)
            if not _plain(text):
                return None
            above[keyword] = text
        own = values[wanted[-1]]
        listed = tuple(str(v).strip() for v in own) if isinstance(own, (list, tuple, MultiValue)) \
            else (str(own or "").strip(),)
        if not listed or not all(_plain(v) for v in listed):
            return None
        return above, tuple(dict.fromkeys(listed))

    def _named_parent(self, parent: dict[str, str]) -> str:
        key = unique_key(self.model, self.chain[-2])
        return f"{key} {parent.get(key, '')}"

    def _count_key(self, level: str) -> tuple[str, ...]:
        """The count below a parent of the target level, asked for where the model has one."""
        if len(self.chain) < 2 or level != self.chain[-2] or level not in COUNT_BELOW:
            return ()
        return (COUNT_BELOW[level],)

    def _with_return_keys(self, identifier: Dataset, level: str) -> Dataset:
        query = Dataset()
        for elem in identifier:
            query[elem.tag] = elem
        for keyword in (*identifying_keys(self.model, level), *self._count_key(level)):
            if keyword not in query:
                setattr(query, keyword, "")
        return query

    def _query(self, level: str, known: dict[str, str]) -> Dataset:
        query = Dataset()
        query.QueryRetrieveLevel = level
        for keyword, value in known.items():
            setattr(query, keyword, value)
        for keyword in (unique_key(self.model, level), *self._count_key(level)):
            setattr(query, keyword, "")
        return query


def _text(match: Dataset, keyword: str) -> str:
    return element_text(match.data_element(keyword)).strip() if keyword in match else ""


def _plain(value: str) -> bool:
    """A single value without wildcards: it names one entity."""
    return bool(value) and not any(c in value for c in "*?\\")
