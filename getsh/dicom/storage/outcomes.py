"""What storing a received object can come to: modes, policies, outcomes, and failures with the
C-STORE status to answer. Separate from store.py so events, tables and settings can use the
vocabulary without the writer.

Statuses (PS3.4 B.2.3, PS3.7 C.4): 0xA700 Refused: Out of Resources for a full disk or quota, which
a sender may retry later; 0x0110 Processing failure for causes waiting will not cure (permission,
read-only or vanished directory, I/O error); 0xC000 Error: Cannot understand when the received
object cannot be encoded; 0xC210 (pynetdicom's storescp and qrscp use it for "unable to decode the
dataset") when the received bytes are not a data set we can read: normal storage refuses them, and
bit-preserving storage under ``malformed refuse``; 0xC000 for a C-STORE-RQ whose Affected SOP
Instance UID is empty: nothing identifies the object, the defect is in the request and not in its data
set (so not 0xA900, "data set does not match SOP class"), and DCMTK's storescp answers 0xC000 likewise
when it cannot find an object's UIDs.
"""

from __future__ import annotations

import errno as _errno
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from getsh.dicom.events import Remark
from getsh.errors import GetshError, UsageError

STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_PROCESSING_FAILURE = 0x0110
STATUS_CANNOT_UNDERSTAND = 0xC000
STATUS_CANNOT_DECODE = 0xC210


class Malformed(str, Enum):
    """What bit-preserving storage does with bytes that are not a well-formed data set."""

    FLAG = "flag"  # keep them as received, and say so
    REFUSE = "refuse"  # answer 0xC210, keep nothing


class StorageMode(str, Enum):
    NORMAL = "normal"  # getscu -B: decode, then write in the transfer syntax received
    BIT_PRESERVING = "bit-preserving"  # getscu +B: the received bytes, untouched
    IGNORE = "ignore"  # getscu --ignore: receive and discard


class ExistingPolicy(str, Enum):
    """What to do when the layout's name is taken."""

    KEEP = "keep"  # keep the existing file, discard the received object
    OVERWRITE = "overwrite"  # replace the existing file (getscu's silent behaviour, but reported)
    RENAME = "rename"  # store under the next free numbered name: CT.1.2.3_1


# The only policy that discards neither the received object nor the existing file.
DEFAULT_POLICY = ExistingPolicy.RENAME


class Action(str, Enum):
    WRITTEN = "written"
    OVERWRITTEN = "overwritten"
    RENAMED = "renamed"
    KEPT = "kept existing"
    IGNORED = "ignored"


@dataclass(frozen=True)
class ObjectMeta:
    """What the C-STORE request says about its object: enough to name it and build its File Meta."""

    sop_class_uid: str  # Affected SOP Class UID
    sop_instance_uid: str  # Affected SOP Instance UID
    transfer_syntax: str  # of the accepted presentation context it arrived on

    def as_fields(self) -> dict[str, str]:
        return {
            "SOPClassUID": self.sop_class_uid,
            "SOPInstanceUID": self.sop_instance_uid,
            "TransferSyntaxUID": self.transfer_syntax,
        }


@dataclass(frozen=True)
class StoredFile:
    """The outcome for one received object."""

    path: str | None  # where it is, relative to the output dir ('/'-separated); None when ignored
    action: Action
    size: int  # bytes of the file (preamble, File Meta, data set); bytes discarded when ignored
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    wanted: str | None = None  # the layout's name, when the object was renamed because it was taken
    remarks: tuple[Remark, ...] = ()  # what is wrong with it, though it was kept (storage/checks.py)

    def describe(self) -> str:
        """What happened, in words for a table."""
        if self.action is Action.RENAMED:
            return f"renamed to {self.path} ({self.wanted} exists)"
        if self.action is Action.KEPT:
            return f"{self.path} exists, kept (received copy discarded)"
        return self.action.value


class StorageError(GetshError):
    """Storing one object failed. ``dimse_status`` is the C-STORE status to answer with; nothing
    partial is left behind, and the Storage stays usable for the next object."""

    def __init__(self, message: str, hint: str = "", *, dimse_status: int, errno: int | None = None) -> None:
        super().__init__(message, hint)
        self.dimse_status = dimse_status
        self.errno = errno


class OutputDirError(UsageError):
    """The output directory cannot be used: bad input, like getscu's "-od: directory does not exist"
    (which exits 1: the CLI maps a UsageError from its options to ExitStatus.USAGE)."""


def one_line(exc: BaseException) -> str:
    """An exception's first line: pydicom puts a whole traceback into some of its messages."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


_RESOURCES = {_errno.EFBIG, _errno.ENOMEM, _errno.EMFILE, _errno.ENFILE}


def storage_error(
    exc: OSError, uid: str, where: os.PathLike[str] | str, written: int, dir_exists: bool
) -> StorageError:
    """One precise line per cause of a failed write, and the C-STORE status that fits it."""
    exc = _original(exc)
    code, hint = exc.errno, "choose another: output DIR"
    if code in (_errno.ENOSPC, _errno.EDQUOT):
        reason = "no space left" if code == _errno.ENOSPC else "disk quota exceeded"
        message, hint, status = f"{reason} in {where} (after {written:,} bytes)", f"free space or {hint}", 0xA700
    elif code in _RESOURCES:
        message, status = f"out of resources in {where}: {exc.strerror}", STATUS_OUT_OF_RESOURCES
    elif code == _errno.ENOENT and not dir_exists:
        message, hint, status = f"output directory {where} no longer exists", f"create it again or {hint}", 0x0110
    elif code in (_errno.EACCES, _errno.EPERM):
        message, hint = f"permission denied in {where} ({exc.filename})", f"check its permissions or {hint}"
        status = STATUS_PROCESSING_FAILURE
    elif code == _errno.EROFS:
        message, status = f"{where} is on a read-only file system", STATUS_PROCESSING_FAILURE
    else:
        name = _errno.errorcode.get(code or 0, "error")
        message, status = f"{exc.strerror or exc} ({name}) in {where}", STATUS_PROCESSING_FAILURE
    return StorageError(f"cannot store {uid}: {message}", hint, dimse_status=status, errno=code)


def _original(exc: OSError) -> OSError:
    """The OSError that carries the errno: pydicom re-raises a write error as ``OSError(text)``
    without one (pydicom.tag.tag_in_exception), keeping the original as ``__cause__``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def check_output_dir(path: Path) -> None:
    """An output directory we can write into, or OutputDirError saying what is wrong with it."""
    hint = f"create it or choose another: output DIR (now {path})"
    if not os.path.exists(path):  # False, not an OSError, for a name too long to be one
        raise OutputDirError(f"output directory {path} does not exist", hint)
    if not os.path.isdir(path):
        raise OutputDirError(f"output {path} is not a directory", hint)
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputDirError(f"output directory {path} is not writable", f"check its permissions or {hint}")
