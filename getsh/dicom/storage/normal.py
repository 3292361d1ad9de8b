"""Normal storage of received bytes, on every path (the direct path's sinks, pynetdicom's spool file,
a file given to ``store_file``): walk them (checks.py), decode all but the bulk elements, write like
getscu -B with the bulk copied from where the bytes are (bulk.py). A deflated data set is inflated
first, in a stream and at most ``max-inflated`` bytes. The caller owns ``source`` and closes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydicom import Dataset

from getsh.dicom.net.syntaxes import syntax_encoding, syntax_uid
from getsh.dicom.storage.bulk import Source, Streamed, decode_rest, inflate, streamable
from getsh.dicom.storage.checks import check_source
from getsh.dicom.storage.header_scan import PREFIX, scan
from getsh.dicom.storage.outcomes import STATUS_CANNOT_DECODE, ObjectMeta, StorageError, StoredFile, one_line

if TYPE_CHECKING:
    from getsh.dicom.storage.writer import Destination

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def store_received(storage: Destination, source: Source,
                   meta: ObjectMeta) -> tuple[StoredFile, dict[str, str] | Dataset]:
    """Check, decode (all but the bulk) and write a received data set; the stored file and the table's
    few values (read from the bytes: pydicom would convert each element asked for)."""
    syntax = str(meta.transfer_syntax)
    implicit, little, deflated = syntax_encoding(syntax)
    inflated: Source | None = None
    try:
        if deflated:
            inflated = source = inflate(source, storage.root, storage.stream_above, storage.max_inflated,
                                        meta.sop_instance_uid)
            syntax, implicit, little = EXPLICIT_LE, False, True
        structure = check_source(source, syntax)
        notes = storage.check(meta, structure)
        known = syntax_uid(str(meta.transfer_syntax)).is_transfer_syntax  # else written through dcmwrite
        elements = streamable(structure.bulk, implicit, _compressed(str(meta.transfer_syntax))) if known else ()
        try:
            dataset = decode_rest(source, elements, implicit, little)
            dataset.set_original_encoding(implicit, little)
        except Exception as exc:
            raise StorageError(f"cannot decode the data set of {meta.sop_instance_uid}: {one_line(exc)}",
                               dimse_status=STATUS_CANNOT_DECODE) from exc
        stored = storage.store_dataset(dataset, meta, notes, Streamed(source, elements))
        header = scan(source.read(0, PREFIX), syntax, complete=source.size <= PREFIX)
        return stored, header or dataset
    finally:
        if inflated is not None:
            inflated.close()


def _compressed(transfer_syntax: str) -> bool | None:
    """What store.py makes of Pixel Data's length in this syntax: undefined (True), defined (False),
    left as received (None: deflated, private); ``streamable`` keeps only elements that agree."""
    uid = syntax_uid(transfer_syntax)
    if not uid.is_transfer_syntax or uid.is_private or uid.is_deflated:
        return None
    return bool(uid.is_compressed)
