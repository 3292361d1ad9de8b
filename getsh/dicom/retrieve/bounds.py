"""How long and how much a retrieve may take, and when a C-CANCEL is given up on.

Why: a peer decides how a retrieve ends. One that answers Pending for ever, trickles a byte now and
then under the DIMSE timeout, or sends C-STOREs without end keeps getsh waiting as long as it likes,
and one that ignores C-CANCEL keeps it after the user asked to stop. ``Bounds`` are the limits, as
plain values from the settings; a ``Watch`` measures one request against them and says what to do:
cancel (a limit was reached) or abort (a C-CANCEL was not answered within the grace period).
``Brakes`` put Ctrl-C and the limits on the one cancel mechanism (net/cancellation.py), which acts on
either receive path, and word what happened.

Progress is an object completed (stored, or kept as the storage mode says), or another MiB of data
received (``PROGRESS_BYTES``: a 1.5 GB object on a slow link is progress); pending responses and a
trickle of bytes are not. Caps count objects and bytes received; the object
that reaches a cap is kept whole, and so is anything the peer sends before its final response.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from getsh.dicom.events import Notice
from getsh.dicom.net.cancellation import Cancellation

AT_YOUR_REQUEST = "at your request"  # the reason Ctrl-C gives the cancel mechanism
PROGRESS_BYTES = 1024 * 1024  # this much data received counts as progress, object completed or not


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """The limits of one retrieve (None: none). All off but the grace unless the settings say so."""

    no_progress: float | None = None  # seconds with no object completed while the request runs
    retrieve_timeout: float | None = None  # seconds for the whole retrieve, every request of it
    max_objects: int | None = None  # objects received by the whole retrieve
    max_bytes: int | None = None  # bytes of the objects received by the whole retrieve
    cancel_grace: float | None = 5.0  # seconds a C-CANCEL may go unanswered before the association is aborted


def size_words(count: int) -> str:
    """Bytes as a person reads them (1 KB = 1024 bytes, as the progress line)."""
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{count} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} bytes"  # not reached


class Watch:
    """One request measured against its retrieve's bounds. ``object_done`` is called on the worker
    thread as each object completes; ``due`` on the caller's thread at each pass of its loop."""

    def __init__(self, bounds: Bounds, *, started: float, objects: int = 0, nbytes: int = 0) -> None:
        """``started``: when the retrieve began (monotonic); ``objects``/``nbytes``: what its earlier
        requests already received (the caps are the retrieve's, not one request's)."""
        self.bounds = bounds
        self.started = started
        self.objects, self.nbytes = objects, nbytes
        self.last_object = time.monotonic()  # the request's start counts as progress
        self._mark = 0  # the bytes received when progress was last counted for data
        self._capped = False
        self._lock = threading.Lock()

    def begin(self) -> None:
        """The request goes out now: no-progress counts from here."""
        self.last_object = time.monotonic()

    def object_done(self, size: int) -> str:
        """One object completed (worker thread). Returns the words of the cap it reached, once."""
        with self._lock:
            self.objects += 1
            self.nbytes += size
            self.last_object = time.monotonic()
            reason = self._cap()
            if reason and not self._capped:
                self._capped = True
                return reason
            return ""

    @property
    def capped(self) -> bool:
        """Whether a cap (max-objects, max-bytes) was reached: a parallel retrieve starts no share after it."""
        return self._capped

    def _cap(self) -> str:
        b = self.bounds
        if b.max_objects is not None and self.objects >= b.max_objects:
            return f"at {self.objects} object{'s' * (self.objects != 1)} (max-objects {b.max_objects})"
        if b.max_bytes is not None and self.nbytes >= b.max_bytes:
            return f"at {size_words(self.nbytes)} received (max-bytes {b.max_bytes})"
        return ""

    def due(self, now: float, cancelled_at: float | None, received_bytes: int = 0) -> tuple[str, str]:
        """What the caller must do now: ("cancel", why), ("abort", why) or ("", ""). ``cancelled_at``:
        when C-CANCEL was sent, by anyone (None: it was not); ``received_bytes``: all the request's
        bytes so far. The words follow "cancelled"/"aborted"."""
        b = self.bounds
        if received_bytes - self._mark >= PROGRESS_BYTES:
            with self._lock:
                self.last_object, self._mark = now, received_bytes
        if cancelled_at is not None:
            if b.cancel_grace is not None and now - cancelled_at >= b.cancel_grace:
                return "abort", (f"when the peer had not ended the retrieve {b.cancel_grace} s after the "
                                 f"C-CANCEL (cancel-grace {b.cancel_grace})")
            return "", ""
        if b.retrieve_timeout is not None and now - self.started >= b.retrieve_timeout:
            return "cancel", f"because the retrieve took {b.retrieve_timeout} s (retrieve-timeout {b.retrieve_timeout})"
        with self._lock:
            idle = now - self.last_object
        if b.no_progress is not None and idle >= b.no_progress:
            return "cancel", f"because no object completed in {b.no_progress} s (no-progress-timeout {b.no_progress})"
        return "", ""


class Brakes:
    """What ends one request early, all through its ``Cancellation``: Ctrl-C (first press C-CANCEL,
    second A-ABORT), a limit reached (C-CANCEL), a C-CANCEL unanswered past the grace (A-ABORT).
    Each returns the Notice to show, or None."""

    def __init__(self, cancellation: Cancellation, watch: Watch, received: Callable[[], int]) -> None:
        self.cancellation, self.watch, self.received = cancellation, watch, received
        self.interrupts = 0  # Ctrl-Cs so far
        self.limit = ""  # the limit that cancelled the request, in words ('' if none did)
        self.at_cancel = 0  # objects received when C-CANCEL was sent

    def interrupt(self) -> Notice:
        """A Ctrl-C (the caller's thread)."""
        self.interrupts += 1
        if self.interrupts == 1:
            at = self.received()
            if not self.cancellation.cancel(AT_YOUR_REQUEST):
                return Notice(f"C-CANCEL was sent already: {self._waiting()}")
            self.at_cancel = at
            return Notice("C-CANCEL sent: waiting for the peer's final response (Ctrl-C again aborts the "
                          f"association){self._grace()}")
        if self.interrupts == 2:
            self.cancellation.abort(AT_YOUR_REQUEST)
            return Notice("association aborted")
        return Notice("stopping…")

    def object_done(self, size: int) -> Notice | None:
        """An object completed (the worker's thread): a cap it reaches cancels at once."""
        reached = self.watch.object_done(size)
        return self._cancel(reached) if reached else None

    def check(self, received_bytes: int) -> Notice | None:
        """At each pass of the caller's loop: a deadline passed cancels; the grace passed aborts.
        ``received_bytes``: what the request received so far, whole PDUs or not."""
        what, why = self.watch.due(time.monotonic(), self.cancellation.cancelled_at, received_bytes)
        if what == "cancel":
            return self._cancel(why)
        if what == "abort" and not self.cancellation.aborted:
            self.cancellation.abort(why)
            return Notice(f"association aborted {why}")
        return None

    def cancel_for(self, reason: str) -> Notice | None:
        """Cancel for a limit another request of the same retrieve reached (``parallel``)."""
        return self._cancel(reason)

    def _cancel(self, reason: str) -> Notice | None:
        at = self.received()
        if not self.cancellation.cancel(reason):
            return None
        self.limit, self.at_cancel = reason, at
        return Notice(f"C-CANCEL sent {reason}: {self._waiting()}")

    def _waiting(self) -> str:
        grace = self.watch.bounds.cancel_grace
        return "waiting for the peer's final response" + ("" if grace is None else f" up to {grace} s (cancel-grace)")

    def _grace(self) -> str:
        grace = self.watch.bounds.cancel_grace
        return "" if grace is None else f", up to {grace} s (cancel-grace)"
