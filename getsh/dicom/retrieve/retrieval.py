"""A retrieve, planned and run as one object that yields events.

``Retrieval.run`` sends each request (the keys, or each query file) ``repeat`` times. Before a
request's first round, ``accept auto`` asks the peer which storage classes its objects have
(query/discovery.py). When the classes need more than one association's 128 presentation contexts,
the C-GET is sent on one association per group of classes (plan.py) and the parts are merged into
a SplitDone. Each C-GET is a GetRun (run.py) whose events pass through as they come; its final
GetDone gets the header words of the rows the table shows and, when the status allows, advice
(status.py).

Under ``retrieve move`` each request is a C-MOVE (moving.py), the same events; under ``retrieve auto`` a
C-GET the peer cannot serve (GET refused at association, or answered "not supported") falls back to it.

The shell's session is reached only through ``SessionHooks`` (plain callables) and the settings arrive
as plain values (``RetrieveOptions``): nothing here knows the shell, the settings table or the screen.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.events import FindDone, GetDone, Notice, Received, RetrieveStopped
from getsh.dicom.keys import identifier as ident
from getsh.dicom.keys import qr_keys
from getsh.dicom.net.failures import unusable_for_find, unusable_for_get, unusable_for_move
from getsh.dicom.net.negotiation import failure_advice, ignored_preference
from getsh.dicom.net.opening import contexts_of
from getsh.dicom.net.presentation import GET_MODELS, MOVE_MODELS
from getsh.dicom.net.syntaxes import uid_name
from getsh.dicom.query.discovery import discover_classes
from getsh.dicom.query.find import FindRun
from getsh.dicom.retrieve.bounds import AT_YOUR_REQUEST, Watch
from getsh.dicom.retrieve.merging import numbered
from getsh.dicom.retrieve.moving import FALL_BACK, MoveRun
from getsh.dicom.retrieve.options import Request, RetrieveOptions, SessionHooks, Spreading
from getsh.dicom.retrieve.parallel import LANE_BUFFER_BYTES, ParallelGet
from getsh.dicom.retrieve.plan import ClassGroup, class_groups
from getsh.dicom.retrieve.result import merged
from getsh.dicom.retrieve.run import GetRun
from getsh.dicom.status import (
    FIND_MATCHES,
    SUB_OPERATION_STATUSES,
    empty_match,
    nothing_matched_advice,
    retrieve_advice,
)
from getsh.dicom.storage.header_scan import with_header
from getsh.dicom.storage.store import Storage
from getsh.errors import NetworkError, UsageError


class Retrieval:
    """Every request of one retrieve, each ``repeat`` times, planned over associations and run."""

    def __init__(self, requests: Sequence[Request], options: RetrieveOptions, session: SessionHooks,
                 *, first_index: int = 1) -> None:
        self.requests = tuple(requests)
        self.options = options
        self.session = session
        self.first_index = first_index  # the number of the first object received
        self.received: list[Received] = []  # what this retrieve brought so far, in order
        self.started = time.monotonic()  # the retrieve-timeout counts from here
        self.limit = ""  # the limit that ended the retrieve ('' while none has)
        self.classes: tuple[str, ...] = options.accept  # the storage classes the request's objects may have
        self.discovered = False  # whether the peer named them (accept auto)
        self.listed: tuple[str, ...] | None = None  # the classes a C-FIND after a failure found (None: not asked)
        self.presses = 0  # Ctrl-Cs taken so far, by the C-GETs' loops or between them
        self.sent = 0  # C-GETs sent (requests × repeat; a split one counts once)
        self.summarised = False  # the last C-GET ended with its own summary (a GetDone)
        self.exchanging = False  # an association or a C-FIND is under way (see _exchange)
        self.aborted = False  # Ctrl-C aborted the association
        self.moving = options.retrieve == "move"  # C-MOVE from now on (retrieve move, or auto fell back)

    def run(self) -> Iterator[object]:
        """Check every request and make the storage first: nothing is sent if either fails. A limit
        reached ends the retrieve: no request is sent after it. So does Ctrl-C: the first cancels the
        C-GET under way (or stops before the next one), the second aborts; the summary says how far
        it got (``RetrieveStopped``)."""
        yield from self._check()
        storage = self.options.make_storage()
        self.started = time.monotonic()
        try:
            yield from self._rounds(storage)
        except KeyboardInterrupt:  # taken outside a C-GET's own loop: between requests, or while drawing
            self._pressed()
        except NetworkError:
            if not self.presses:
                raise
            self.aborted = True  # the second Ctrl-C aborted the C-GET under way: say what is on disk first
            yield from self._summary(storage, always=True)
            raise
        if self.presses:
            yield from self._summary(storage)

    @property
    def stopped(self) -> bool:
        """Whether Ctrl-C ended the retrieve early."""
        return self.presses > 0

    def _rounds(self, storage: Storage) -> Iterator[object]:
        options = self.options
        for request in self.requests:
            classes = options.accept
            self.listed = None
            for round_ in range(1, options.repeat + 1):
                if self.limit or self.presses:
                    return
                name = request.label if options.repeat == 1 else f"{request.label} ({round_}/{options.repeat})"
                self.sent += 1
                if self.moving:
                    yield from self._get(request.identifier, storage, name, move=True)
                    continue
                if options.discover and round_ == 1:
                    classes = yield from self._discover(request.identifier)
                self.classes = tuple(classes)
                groups = class_groups(classes, options.model, options.propose, options.prefer)
                if len(groups) <= 1 and options.parallel != 1 and (yield from self._spread(request.identifier,
                                                                                          storage, name)):
                    continue
                if len(groups) <= 1:
                    yield from self._get(request.identifier, storage, name)
                else:
                    yield from self._split_get(request.identifier, storage, name, groups)

    def _pressed(self) -> None:
        """A Ctrl-C raised outside a C-GET's loop. A second one, or one that came while an association
        was being opened or a C-FIND ran (the exchange is half done), aborts the association."""
        self.presses += 1
        if self.presses >= 2 or self.exchanging:
            self.session.forget()
            self.aborted = True

    def _summary(self, storage: Storage, always: bool = False) -> Iterator[object]:
        """How far a retrieve that Ctrl-C ended got: when it was one of several C-GETs, or the last one's
        own summary did not come (aborted, or stopped before it was sent). A press meanwhile is ignored."""
        total = len(self.requests) * self.options.repeat
        if not (always or total > 1 or not self.summarised):
            return
        with contextlib.suppress(KeyboardInterrupt):
            yield RetrieveStopped(self.sent, total, len(self.received), sum(r.size for r in self.received),
                                  storage.root, time.monotonic() - self.started, aborted=self.aborted,
                                  service="C-MOVE" if self.moving else "C-GET")

    @contextmanager
    def _exchange(self) -> Iterator[None]:
        """Associating or a C-FIND, which a KeyboardInterrupt would leave half done: the flag stays set
        when one unwinds it, so ``_pressed`` aborts."""
        self.exchanging = True
        yield
        self.exchanging = False

    def _check(self) -> Iterator[Notice]:
        for request in self.requests:
            if len(request.identifier) == 0:
                raise UsageError("the identifier is empty: nothing says what to retrieve",
                                 "set keys first, e.g.: level STUDY; key StudyInstanceUID=1.2.3")
            for warning in ident.check(request.identifier, self.options.model):
                yield Notice(f"warning: {request.label}: {warning}")

    def _discover(self, identifier: Dataset) -> Generator[object, None, tuple[str, ...]]:
        """accept auto: ask the peer which storage classes the objects have, then propose exactly those."""
        with self._exchange():
            assoc, event = self.session.associate(None)
            found = discover_classes(assoc, identifier, self.options.model, self.session.next_message_id)
        if event is not None:
            yield event
        self.session.learned(found.classes)
        self.discovered = bool(found.classes)
        if found.classes:
            names = ", ".join(uid_name(uid).replace(" Storage", "") for uid in found.classes[:6])
            more = f" and {len(found.classes) - 6} more" if len(found.classes) > 6 else ""
            yield Notice(f"accept auto: {len(found.classes)} storage classes from {found.how}: {names}{more}")
        else:
            yield Notice(f"accept auto: {found.how}; proposing the default list")
        return found.classes or self.options.accept

    def _get(self, identifier: Dataset, storage: Storage, name: str, group: ClassGroup | None = None,
             part: str = "", move: bool = False) -> Generator[object, None, GetDone]:
        """One C-GET on an association proposing ``group``'s classes (None: the session's), or a C-MOVE
        (``move``); returns its result."""
        with self._exchange():
            moving = self.session.associate_move if move else None
            assoc, event = moving() if moving is not None else self.session.associate(group)
        self.summarised = False
        if event is not None:
            yield event
        unusable = (unusable_for_move if move else unusable_for_get)(assoc, self.options.model)
        if unusable is not None:  # nothing is sent that could not work, but retrieve auto tries C-MOVE
            if not move and self._may_fall_back():
                yield self._fall_back(f"no C-GET: {unusable.message.split(':')[0]}")
                return (yield from self._get(identifier, storage, name, move=True))
            raise unusable
        finished: list[GetDone] = []

        def advise(done: GetDone) -> GetDone:
            if not move and done.status.code in FALL_BACK and not done.received and self._may_fall_back():
                finished.append(replace(done, superseded=True))  # the C-MOVE that follows decides
            elif part:
                finished.append(replace(done, part=part))
            else:
                finished.append(self._plainly(assoc, identifier, self._for_table(done, assoc, identifier)))
            return finished[-1]

        model, options = self.options.model, self.options
        watch = Watch(options.bounds, started=self.started, objects=len(self.received),
                      nbytes=sum(r.size for r in self.received))
        common: dict[str, Any] = dict(message_id=self.session.next_message_id(), label=name, model=model, watch=watch,
                                      on_received=self.session.on_received, advise=advise,
                                      first_index=self.first_index + len(self.received))
        run = MoveRun(assoc, identifier, MOVE_MODELS[model], storage, move=options.move, **common) if move \
            else GetRun(assoc, identifier, GET_MODELS[model], storage, receive=options.receive, **common)
        try:
            yield from run.run(self.options.dimse_timeout)  # yield from: a Ctrl-C reaches the retrieve
        except NetworkError:
            if not assoc.is_established:  # its end was just reported: the next command starts afresh
                self.session.forget()
            raise
        finally:  # the worker has ended: what it stored, even when no final response came
            self.received += run.tally.received
            self.limit = self.limit or run.brakes.limit
            self.presses += run.brakes.interrupts
        self.summarised = True
        done = finished[-1]
        if done.superseded:
            yield self._fall_back(f"the peer answered the C-GET with {done.status}")
            return (yield from self._get(identifier, storage, name, move=True))
        ignored = "" if move else ignored_preference(self.options.prefer, contexts_of(assoc), done.received)
        yield from [Notice(ignored)] if ignored else []
        return done

    def _spread(self, identifier: Dataset, storage: Storage, name: str) -> Generator[object, None, bool]:
        """``parallel``: the request spread over several associations (parallel.py). False when it is
        left to the serial C-GET: one share or none, no C-FIND, auto on a fast link, no C-GET here."""
        with self._exchange():
            assoc, event = self.session.associate(None)
        if event is not None:
            yield event
        another, model = self.session.associate_another, self.options.model
        if another is None or unusable_for_get(assoc, model) is not None:  # the serial C-GET says why
            return False
        watch = Watch(self.options.bounds, started=self.started, objects=len(self.received),
                      nbytes=sum(r.size for r in self.received))

        def make_run(lane: Association, share: Dataset, message_id: int) -> GetRun:
            return GetRun(lane, share, GET_MODELS[model], storage, message_id=message_id, label=name, model=model,
                          watch=watch, receive=self.options.receive, buffer_bytes=LANE_BUFFER_BYTES)

        began = time.monotonic()
        how = Spreading(self.options.parallel, model, name, self.options.dimse_timeout, assoc, another, make_run,
                        self.session.next_message_id, self.session.kept, self.session.keep, self.options.receive)
        with self._exchange():  # a Ctrl-C that escapes it (the C-ECHO of parallel auto) leaves it half done
            spun = yield from ParallelGet(identifier, how).run()
        self.presses += spun.presses
        self.limit = self.limit or spun.limit
        if spun.note:
            yield Notice(spun.note)
        if spun.lost_main or not assoc.is_established:
            self.session.forget()
        if spun.done is None:
            return bool(spun.presses)  # stopped while planning: nothing was sent
        received = numbered(spun.received, self.first_index + len(self.received))
        for item in received:
            self.session.on_received(item)
        self.received += received
        self.summarised = True
        done = self._for_table(replace(spun.done, received=received, seconds=time.monotonic() - began), assoc,
                               identifier)
        incomplete = done.spread is not None and done.spread.incomplete  # not "nothing matched": it was not asked
        yield done if incomplete else self._plainly(assoc, identifier, done)
        if spun.presses >= 2:  # as a serial get a second Ctrl-C aborted: the summary of how far it got, and why
            raise NetworkError("the retrieve was aborted at your request (a second Ctrl-C) on every association",
                               "the next command re-associates")
        return True

    def _may_fall_back(self) -> bool:  # retrieve auto, and nothing stopped the retrieve
        return self.options.retrieve == "auto" and self.options.move is not None and not self.presses

    def _fall_back(self, why: str) -> Notice:
        """retrieve auto: this request and the rest go by C-MOVE; the line that says so."""
        self.moving = True
        where = getattr(self.options.move, "destination", "")
        return Notice(f"{why}: retrieving with C-MOVE to {where} instead (retrieve auto)")

    def _for_table(self, done: GetDone, assoc: Association, identifier: Dataset) -> GetDone:
        """The rows the table will show get their header words; advice says why sub-operations failed,
        from what was negotiated."""
        rows = self.options.table_rows
        if done.received:  # the time this takes is the retrieve's too: the summary's seconds include it
            began = time.monotonic()
            shown = [with_header(item) for item in done.received[-rows:]]
            done = replace(done, received=done.received[:-rows] + tuple(shown),
                           seconds=done.seconds + time.monotonic() - began)
        if done.service != "C-GET":  # a C-MOVE's advice is its own (moving.py)
            return done
        negotiated = ""
        if done.failed and not done.refused and done.status.code in SUB_OPERATION_STATUSES:
            contexts = contexts_of(assoc)
            proposed = {cx.abstract_syntax for cx in contexts}
            dropped = [uid for uid in self.classes if uid not in proposed]
            negotiated = failure_advice(contexts, done.received, self._failed_classes(assoc, identifier, done), dropped)
        advice = retrieve_advice(done.status, done.failed, len(done.received), [r.reason for r in done.refused],
                                 negotiated)
        return replace(done, advice=advice) if advice else done

    def _failed_classes(self, assoc: Association, identifier: Dataset, done: GetDone) -> tuple[str, ...] | None:
        """The classes of the objects that did not arrive, where something says: the identifier's SOPClassUID,
        or the classes the peer names for the request (accept auto's answer, else a C-FIND now) of which
        nothing arrived. None: nothing says (dcmqrscp returns no SOPClassUID), or objects of every class came."""
        named = str(identifier.get("SOPClassUID", "") or "").strip()
        if named:
            return (named,)
        classes = self.classes if self.discovered else self.listed
        if classes is None and assoc.is_established and unusable_for_find(assoc, self.options.model) is None:
            # Asked once a request. Advice is not worth failing the retrieve for: a lost association is
            # noticed by the next command.
            try:
                classes = self.listed = discover_classes(assoc, identifier, self.options.model,
                                                         self.session.next_message_id).classes
            except NetworkError:
                return None
        arrived = {r.sop_class_uid for r in done.received}
        return tuple(uid for uid in classes or () if uid not in arrived) or None

    def _plainly(self, assoc: Association, identifier: Dataset, done: GetDone) -> GetDone:
        """A C-GET that matched nothing says so; when the peer's answer was a failure with no sub-operation
        (Orthanc's 0xC000), only once a C-FIND of the same keys at the same level matched nothing too."""
        subops = done.completed + done.failed + done.warning + done.remaining
        how = empty_match(done.status, subops, len(done.received) + len(done.refused), done.cancelled)
        if how == "ask":
            matches = self._any_match(assoc, identifier)
            if matches is None:  # no C-FIND, or it failed: the peer's status says what we know
                return done
            if matches:
                return replace(done, advice=FIND_MATCHES)
        if not how:
            return done
        model = self.options.model
        level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
        advice = nothing_matched_advice(how == "ask", model, level, qr_keys.missing_above(identifier, model))
        return replace(done, nothing_matched=True, advice=advice)

    def _any_match(self, assoc: Association, identifier: Dataset) -> bool | None:
        """Whether a C-FIND of ``identifier`` matches anything (C-CANCEL after the first match); None
        when it cannot tell: no C-FIND context, or the C-FIND failed."""
        model = self.options.model
        level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
        if not assoc.is_established or unusable_for_find(assoc, model) is not None:
            return None
        run = FindRun(assoc, identifier, model, level, (), self.session.next_message_id(), limit=1,
                      cancel_grace=self.options.bounds.cancel_grace)
        with self._exchange():
            found = [item for item in run.run() if isinstance(item, FindDone)]
        self.presses += (run.cancelled == AT_YOUR_REQUEST) + run.aborted.startswith(AT_YOUR_REQUEST)
        status = found[-1].status if found else None
        if status is None or status.category not in ("Success", "Cancel"):
            return None
        return bool(found[-1].rows)

    def _split_get(self, identifier: Dataset, storage: Storage, name: str,
                   groups: list[tuple[str, ...]]) -> Iterator[object]:
        """The same C-GET on one association per group of storage classes; merge what they brought."""
        before = len(self.received)
        yield Notice(f"{sum(len(g) for g in groups)} storage classes need {len(groups)} associations "
                     f"(128 presentation contexts each): the C-GET is sent on each in turn")
        dones: list[GetDone] = []
        for number, classes in enumerate(groups, 1):
            if self.limit or self.presses or self.moving:
                break
            part = f"{number} of {len(groups)}"
            group = ClassGroup(f"association {part}", classes)
            dones.append((yield from self._get(identifier, storage, f"{name}, association {part}", group, part)))
        yield merged(name, dones, self.received[before:])
