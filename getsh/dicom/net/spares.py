"""The extra associations of ``parallel N``, kept open with the session between retrieves.

Why: the shell keeps its association open between commands; with ``parallel N`` it keeps N. Opening
an association costs a round trip and its TCP handshake (most of 0.1 s at 20 ms), and pynetdicom's
own work on 100+ presentation contexts (~25 ms of CPU each, all of them at once competing with the
plan's C-FIND). Kept, they are ready the moment a get starts. And an archive may set up its side of
an association under a lock that running retrieves hold: dcmqrscp takes an exclusive lock on its
index for each new association, which waits until no C-FIND or C-GET of any other association holds
its shared one. An association opened while the others already retrieve can wait for all of them
(seen: eight getscu started together finish in waves, 1.5 s apart). Associations opened before any
request, and kept, never wait there.

A kept association is parked: its reactor paused and its reader polling slowly, so that idle ones
cost nothing. When a get takes it back it is woken and checked: one the peer closed, released or
aborted meanwhile, or one proposing other contexts than the settings now ask for, is ended and a
new one is opened in its place. They are released with the session's association (``connect``,
a setting that needs renegotiation, ``disconnect``, the end of the session), or aborted with it.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pynetdicom.association import Association

from getsh.dicom.net.request import AssociationRequest
from getsh.errors import GetshError

log = logging.getLogger("getsh.net")

PARKED_LOOP_DELAY = 0.05  # seconds between a parked association's reads (pynetdicom's own: 1 ms)
RELEASE_WAIT = 1.0  # seconds the releases of associations ended together are waited for, all told


@dataclass
class Kept:
    """One parked association, what it was opened for, and the last Message ID sent on it."""

    assoc: Association
    request: AssociationRequest
    message_id: int
    loop_delay: float  # pynetdicom's reader delay before it was parked


def usable(assoc: Association) -> bool:
    """Established, and nothing from the peer since it went idle: no bytes on its socket (an idle
    association gets none: they would be a late message, an A-RELEASE-RQ, an A-ABORT or the end of the
    connection) and nothing pynetdicom read while it was parked and has not acted on yet."""
    dul = assoc.dul
    sock = dul.socket.socket if dul.socket is not None else None
    if not assoc.is_established or sock is None:
        return False
    if not (dul.to_user_queue.empty() and dul.event_queue.empty() and assoc.dimse.msg_queue.empty()):
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def end(assoc: Association, abort: bool = False) -> None:
    """Release (or abort) an association that is no longer wanted; one already ended is left."""
    try:
        if not assoc.is_established:
            return
        if abort or not usable(assoc):
            assoc.abort()
        else:
            assoc.release()
    except Exception as error:  # an association that fails to end must not stop the others ending
        log.debug("ending a kept association: %s", error)


def open_together(open_one: Callable[[], Association], count: int) -> tuple[list[Association], list[str]]:
    """``count`` associations opened at once (each ``open_one()`` in a thread of its own): those
    established, and why the others could not be opened (each reason once). Ctrl-C while they open
    ends those already open, and those that open later, before it is raised."""
    opened: list[Association] = []
    failed: list[str] = []
    lock = threading.Lock()
    abandoned = threading.Event()

    def one() -> None:
        try:
            assoc = open_one()
        except GetshError as error:
            failed.append(error.message)
            return
        except Exception as error:  # a fault of getsh's own: said, not lost with the thread
            failed.append(f"{type(error).__name__}: {error}")
            return
        with lock:
            if not abandoned.is_set():
                opened.append(assoc)
                return
        end(assoc, abort=True)

    threads = [threading.Thread(target=one, name="getsh-open", daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        with lock:
            abandoned.set()
            left = list(opened)
        end_all(left, abort=True)
        raise
    return opened, list(dict.fromkeys(failed))


def end_all(assocs: list[Association], abort: bool = False, within: float = RELEASE_WAIT) -> None:
    """End them all at once, waiting ``within`` seconds all told: a release the peer has not answered
    by then is aborted (dcmqrscp now and then leaves an A-RELEASE-RQ unanswered for the whole ACSE timeout)."""
    threads = [threading.Thread(target=end, args=(assoc, abort), name="getsh-end", daemon=True) for assoc in assocs]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + within
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    for assoc in assocs:
        if assoc.is_established:
            assoc.abort()


class Spares:
    """The session's extra associations between retrieves (thread-safe: lanes hand theirs back as they end)."""

    def __init__(self) -> None:
        self._kept: list[Kept] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)

    def keep(self, assoc: Association, request: AssociationRequest, message_id: int) -> None:
        """Park ``assoc`` (opened for ``request``) until a retrieve takes it."""
        dul = assoc.dul
        kept = Kept(assoc, request, message_id, dul._run_loop_delay)
        assoc._reactor_checkpoint.clear()  # as pynetdicom pauses it for a request of its own
        dul._run_loop_delay = PARKED_LOOP_DELAY
        with self._lock:
            self._kept.append(kept)

    def take(self, wanted: AssociationRequest, count: int) -> list[tuple[Association, int]]:
        """Up to ``count`` kept associations that ``wanted`` would open, awake, with their last Message ID;
        the others (closed by the peer meanwhile, opened for other settings, more than asked for) are
        ended. Each is checked while still parked: woken, pynetdicom's reactor could take what the peer
        sent before the check sees it."""
        with self._lock:
            kept, self._kept = self._kept, []
        taken: list[tuple[Association, int]] = []
        unwanted: list[Association] = []
        checked = 0
        try:
            for item in kept:
                fits = len(taken) < count and item.request == wanted and usable(item.assoc)
                _wake(item)
                if fits:
                    taken.append((item.assoc, item.message_id))
                else:
                    unwanted.append(item.assoc)
                checked += 1
        except BaseException:  # Ctrl-C: nothing taken, nothing left behind
            for item in kept[checked:]:
                _wake(item)
            unwanted += [assoc for assoc, _ in taken] + [item.assoc for item in kept[checked:]]
            raise
        finally:
            end_all(unwanted)
        return taken

    def close(self, abort: bool = False) -> int:
        """End every kept association (with the session's); how many there were."""
        with self._lock:
            kept, self._kept = self._kept, []
        for item in kept:
            _wake(item)
        end_all([item.assoc for item in kept], abort)
        return len(kept)


def _wake(item: Kept) -> None:
    item.assoc.dul._run_loop_delay = item.loop_delay
    item.assoc._reactor_checkpoint.set()
