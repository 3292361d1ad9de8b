"""pynetdicom's spool files, on its own receive path (``receive pynetdicom``, or ``-d``).

In bit-preserving and ignore storage, pynetdicom's chunked receive writes each incoming data set
to a temporary file instead of memory. Three things about those files are getsh's to handle, and
they live here rather than in the C-GET run that uses them: switching the chunked receive on for a
request (a global of pynetdicom's), writing the spool's File Meta leniently, and removing a spool
file pynetdicom forgets when an association ends half-way through a message. Pinned with
pynetdicom (<3.1), like ``receive/handover.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom import Dataset
from pynetdicom import _config

log = logging.getLogger("getsh.retrieve")

_chunked_lock = threading.Lock()
_chunked: list[bool] = []  # the value found before the first holder: one entry while anyone holds it
_holders = [0]  # C-GETs inside chunked_receive now


@contextmanager
def chunked_receive() -> Iterator[None]:
    """pynetdicom writes incoming data sets to a temporary file instead of memory (a global switch),
    inside the block. Several C-GETs at once (``parallel``) each hold it: the value found before the
    first is put back after the last."""
    with _chunked_lock:
        if not _chunked:
            _chunked.append(bool(_config.STORE_RECV_CHUNKED_DATASET))
        _holders[0] += 1
        _config.STORE_RECV_CHUNKED_DATASET = True
    try:
        yield
    finally:
        with _chunked_lock:
            _holders[0] -= 1
            if not _holders[0]:
                _config.STORE_RECV_CHUNKED_DATASET = _chunked.pop()


def drop_spool(assoc: Any) -> None:
    """pynetdicom spools an incoming data set to a temporary file (chunked receive) and forgets
    that file when the association ends half-way through the message: remove it."""
    message = getattr(assoc.dimse, "message", None)
    spool, path = getattr(message, "_data_set_file", None), getattr(message, "_data_set_path", None)
    if spool is None or not isinstance(path, Path):
        return
    try:
        spool.close()
        path.unlink(missing_ok=True)
    except OSError as error:
        log.debug("cannot remove pynetdicom's spool file %s: %s", path, error)


def lenient_spool_meta() -> None:
    """pynetdicom 3.0's chunked receive (bit-preserving and ignore on its path) writes the File Meta of
    its spool file with pydicom's checks on: a C-STORE-RQ with an empty Affected SOP Instance UID
    raises on its DUL thread, which dies, and the association hangs unanswered. Written without those
    checks, the request reaches EVT_C_STORE and is refused there, as on the direct path. Idempotent."""
    from pynetdicom import dimse_messages

    if dimse_messages.write_file_meta_info is not _write_meta:
        _originals.append(dimse_messages.write_file_meta_info)
        dimse_messages.write_file_meta_info = _write_meta


_originals: list[Callable[..., None]] = []


def _write_meta(fp: Any, file_meta: Dataset, enforce_standard: bool = True) -> None:
    _originals[0](fp, file_meta, enforce_standard=False)


class ChunkedHold:
    """pynetdicom's chunked receive kept on while getsh's receiver listens (receiver.py): its C-STOREs
    arrive on associations pynetdicom serves, whenever the archive sends them. ``off`` puts back what
    ``on`` found (a C-GET's ``chunked_receive`` meanwhile restores the same value it found)."""

    def __init__(self) -> None:
        self._before: bool | None = None

    def on(self) -> None:
        if self._before is None:
            self._before = bool(_config.STORE_RECV_CHUNKED_DATASET)
            _config.STORE_RECV_CHUNKED_DATASET = True

    def off(self) -> None:
        if self._before is not None:
            _config.STORE_RECV_CHUNKED_DATASET = self._before
            self._before = None
