"""C-FIND responses as DICOM files, as findscu ``-X`` writes them: ``rsp0001.dcm``, ``rsp0002.dcm`` …
in one directory, one a match, numbered as the rows are.

What findscu 3.6.7 writes (dcmdump of its files): a preamble, a File Meta Information header (a
fresh Media Storage SOP Instance UID per file, Explicit VR Little Endian) and the response's data
set as it came (Specific Character Set, Query/Retrieve Level and Retrieve AE Title included),
re-encoded Explicit VR Little Endian. getsh writes the same, with one difference: the Media Storage
SOP Class UID is the C-FIND SOP class the response answered (findscu puts DCMTK's private "generic
file" UID there), and the implementation is getsh's. Each file goes through a temporary file beside
it and ``os.replace``: a reader never sees half a file; an existing ``rspNNNN.dcm`` is replaced, as
findscu does.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydicom import Dataset, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from getsh.dicom.net.presentation import FIND_MODELS
from getsh.dicom.storage.diskio import association_implementation_uid, current_umask
from getsh.dicom.storage.store import IMPLEMENTATION_VERSION_NAME
from getsh.errors import UsageError


def response_name(number: int) -> str:
    """findscu's name for the ``number``-th response: rsp0001.dcm (more digits past 9999)."""
    return f"rsp{number:04d}.dcm"


def check_extract_dir(directory: str | os.PathLike[str]) -> Path:
    """The directory responses will be written to; a UsageError, before anything is sent, when it does
    not exist or getsh may not write into it."""
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise UsageError(f"--extract: {directory} is not a directory",
                         "name an existing directory (create it first: mkdir)")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"--extract: cannot write into {directory}", "name a directory you may write into")
    return path


class ResponseFiles:
    """Writes each response handed to it (``FindRun``'s ``keep`` hook) as ``rspNNNN.dcm``.

    A write that fails is not raised into the find (the matches keep arriving and are shown): the
    first failure is kept in ``failure`` and no further file is attempted.
    """

    def __init__(self, directory: str | os.PathLike[str], model: str) -> None:
        self.directory = check_extract_dir(directory)
        self.sop_class = FIND_MODELS[model]
        self.implementation_uid = association_implementation_uid()
        self.mode = 0o666 & ~current_umask()  # as a plain open() would make it, not mkstemp's 0600
        self.written: list[Path] = []
        self.failure = ""

    def __call__(self, number: int, response: Dataset) -> None:
        if self.failure:
            return
        target = self.directory / response_name(number)
        try:
            write_response(target, response, self.sop_class, self.implementation_uid, self.mode)
        except (OSError, ValueError, TypeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.failure = f"cannot write {target}: {reason}"
            return
        self.written.append(target)

    def summary(self) -> str:
        """What was written, in one line."""
        if not self.written:
            return f"no response written to {self.directory}"
        names = self.written[0].name if len(self.written) == 1 else \
            f"{self.written[0].name} … {self.written[-1].name}"
        plural = "response" if len(self.written) == 1 else "responses"
        return f"{len(self.written)} {plural} written to {self.directory} ({names})"


def file_meta(sop_class: str, implementation_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(implementation_uid)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def write_response(target: Path, response: Dataset, sop_class: str, implementation_uid: str,
                   mode: int = 0o644) -> None:
    """``response`` as a DICOM file at ``target``, through a temporary file beside it."""
    dataset = Dataset(response)  # a shallow copy: the caller's data set keeps its own meta
    dataset.file_meta = file_meta(sop_class, implementation_uid)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            dcmwrite(stream, dataset, enforce_file_format=True)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
