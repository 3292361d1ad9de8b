"""C-FIND as a generator of matches; a failure status raises, in the words status.py gives it."""

from __future__ import annotations

from collections.abc import Iterator

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.net.presentation import FIND_MODELS
from getsh.dicom.status import decode, failure_hint
from getsh.errors import NetworkError, PeerFailure


def find(assoc: Association, identifier: Dataset, model: str) -> Iterator[Dataset]:
    """The C-FIND matches for ``identifier``; PeerFailure or NetworkError when it fails."""
    for status, match in assoc.send_c_find(identifier, FIND_MODELS[model]):
        if "Status" not in status:
            raise NetworkError("C-FIND: no valid response; the association was aborted",
                               "the next command re-associates")
        decoded = decode(int(status.Status), "find")
        if decoded.category == "Pending":
            if match is not None:
                yield match
        elif decoded.category not in ("Success", "Cancel"):
            raise PeerFailure(f"C-FIND {decoded}", failure_hint("find"))
