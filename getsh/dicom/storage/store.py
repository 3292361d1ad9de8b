"""The one path builder and writer for received objects, in every storage mode.

Why it is shaped this way:
- Names come from naming.Layout (getscu's ``<prefix>.<SOP Instance UID>`` by default); every
  directory on the way is checked, after resolving symlinks, to lie inside the output directory.
- Atomic: bytes go to a hidden ``.getsh-*.partial`` file in the output directory (same file system),
  then a hard link (or rename) gives it its final name. A crash, an abort or a full disk never leaves
  a truncated file under a final name, and a failure removes the partial file.
- Streaming: ``open_object`` takes the data set chunk by chunk (memory stays flat for any size);
  ``store_file`` takes pynetdicom's ``event.dataset_path`` and renames or copies it in-kernel.
- No fsync per file by default, like getscu: atomic rename already protects against a crashed
  process (the page cache survives it); only a power cut can lose recent files. ``fsync=True``
  syncs each file and its directory before reporting it, at a cost of milliseconds per object.
- Existing names: ``rename`` by default, the only policy that discards neither the new object nor
  the old file (``keep`` drops the new one, ``overwrite`` the old one; getscu overwrites silently).
- Failures raise StorageError carrying the C-STORE status to answer (see outcomes.py).
- Checks (checks.py): a request without UIDs is refused before anything is written (``admit``);
  what is kept is walked, headers only, and what is wrong with it travels in ``StoredFile.remarks``.
  Normal storage refuses bytes that are not a well-formed data set (it could only write a guess);
  bit-preserving storage keeps them and says so, or refuses them under ``malformed refuse``.
  Names and File Meta always take the request's UIDs (as DCMTK's storescp and getscu +B do): they
  are known before the data set arrives, so both receive paths and all modes name the same object
  the same way, and a data set that disagrees is reported, not silently renamed. (DCMTK's storescp
  refuses such an object with 0xA900 after writing it; getsh keeps it, since refusing would lose the
  only copy a C-GET brings, and says so once per get.)
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path, PurePosixPath

from pydicom import Dataset, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_dataset
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from getsh import __version__
from getsh.dicom.events import Remark
from getsh.dicom.net.syntaxes import syntax_uid
from getsh.dicom.storage import checks, diskio
from getsh.dicom.storage.bulk import DEFAULT_MAX_INFLATED, DEFAULT_STREAM_ABOVE, Source, Streamed, write_streamed
from getsh.dicom.storage.checks import Structure, check_file
from getsh.dicom.storage.diskio import dataset_offset
from getsh.dicom.storage.header_scan import read_head
from getsh.dicom.storage.naming import DEFAULT_LAYOUT, Layout, numbered
from getsh.dicom.storage.normal import store_received
from getsh.dicom.storage.outcomes import (
    DEFAULT_POLICY,
    STATUS_CANNOT_DECODE,
    STATUS_CANNOT_UNDERSTAND,
    STATUS_PROCESSING_FAILURE,
    Action,
    ExistingPolicy,
    Malformed,
    ObjectMeta,
    StorageError,
    StorageMode,
    StoredFile,
    check_output_dir,
    one_line,
    storage_error,
)
from getsh.dicom.storage.writer import Discard, ObjectWriter, ignored

IMPLEMENTATION_VERSION_NAME = f"GETSH_{__version__}"[:16]  # SH: at most 16 characters
_MAX_RENAMES = 9999


class Storage:
    """Where and how received objects are written; validated when made, so a bad output
    directory or layout fails before a retrieve starts. Safe to share between threads."""

    def __init__(
        self,
        output_dir: str | os.PathLike[str],
        mode: StorageMode | str = StorageMode.NORMAL,
        layout: Layout | str | None = None,
        existing: ExistingPolicy | str = DEFAULT_POLICY,
        *,
        fsync: bool = False,
        implementation_uid: str | None = None,
        implementation_version: str = IMPLEMENTATION_VERSION_NAME,
        malformed: Malformed | str = Malformed.FLAG,
        stream_above: int = DEFAULT_STREAM_ABOVE,
        max_inflated: int | None = DEFAULT_MAX_INFLATED,
    ) -> None:
        self.mode = StorageMode(mode)
        self.malformed = Malformed(malformed)
        self.existing = ExistingPolicy(existing)
        self.layout = layout if isinstance(layout, Layout) else Layout(DEFAULT_LAYOUT if layout is None else layout)
        self.fsync = fsync
        self.implementation_uid = implementation_uid or diskio.association_implementation_uid()
        self.implementation_version = implementation_version
        self.output_dir = Path(output_dir).expanduser()
        if self.mode is not StorageMode.IGNORE:
            check_output_dir(self.output_dir)
        self.root = os.path.realpath(self.output_dir)
        self._umask = diskio.current_umask()
        self.stream_above = stream_above  # normal mode: a data set past this goes to a spool file (bulk.py)
        self.max_inflated = max_inflated  # normal mode: a deflated data set is refused past this (None: never)

    # --- the three ways in ------------------------------------------------------------------

    def open_object(self, meta: ObjectMeta) -> ObjectWriter:
        """A writer to feed the received data set to, chunk by chunk; then commit() or abort()."""
        if self.mode is StorageMode.IGNORE:
            return Discard(self, meta)
        return ObjectWriter(self, meta)

    def admit(self, meta: ObjectMeta) -> None:
        """Refuse (StorageError, 0xC000) a request that does not say which object it brings."""
        missing = [what for what, uid in (("Instance", meta.sop_instance_uid), ("Class", meta.sop_class_uid))
                   if not uid]
        if missing:
            raise StorageError(f"the C-STORE request's Affected SOP {' and '.join(missing)} UID is empty: "
                               "nothing identifies the object", "the peer is at fault: check its log",
                               dimse_status=STATUS_CANNOT_UNDERSTAND)

    def check(self, meta: ObjectMeta, structure: Structure) -> tuple[Remark, ...]:
        """The remarks for an object about to be kept; StorageError (0xC210) when its bytes are not a
        well-formed data set and this storage refuses those (always in normal mode)."""
        refuse = self.mode is StorageMode.NORMAL or self.malformed is Malformed.REFUSE
        if structure.problem and refuse:
            hint = "the peer is at fault: check its log" + (
                "" if self.mode is StorageMode.NORMAL else "; to keep such bytes as received: set malformed flag")
            raise StorageError(f"cannot store {meta.sop_instance_uid}: {structure.problem}", hint,
                               dimse_status=STATUS_CANNOT_DECODE)
        return checks.remarks(meta.sop_class_uid, meta.sop_instance_uid, structure, flag_structure=True)

    def store_dataset(self, dataset: Dataset, meta: ObjectMeta, remarks: tuple[Remark, ...] = (),
                      bulk: Streamed | None = None) -> StoredFile:
        """Write a decoded data set like getscu -B: File Meta plus the data set in meta's transfer syntax.
        ``bulk``: the bulk elements ``dataset`` lacks, copied from where they arrived (bulk.py)."""
        if self.mode is StorageMode.IGNORE:
            return ignored(meta, 0)
        if self.mode is StorageMode.BIT_PRESERVING:
            raise ValueError("bit-preserving storage needs the received bytes: use open_object or store_file")
        deflated, implicit, little, compressed = _write_plan(str(meta.transfer_syntax))
        streamed = bulk is not None and (bool(bulk.elements) or syntax_uid(str(meta.transfer_syntax))
                                         == DeflatedExplicitVRLittleEndian)
        writer = ObjectWriter(self, meta, header=not deflated or streamed)
        if not deflated and compressed is not None and "PixelData" in dataset:
            dataset["PixelData"].is_undefined_length = compressed
        try:
            if streamed:
                assert bulk is not None
                write_streamed(writer, dataset, bulk, deflated, implicit, little)
            elif deflated:  # pydicom's dcmwrite knows how to deflate (and what to do with a private syntax)
                out = copy.copy(dataset)  # shallow: the caller's data set keeps its own file_meta
                out.file_meta, out.preamble = self._file_meta(meta), b"\0" * 128
                # Not enforce_file_format: it refuses empty UIDs, and a broken object is still stored.
                # The File Meta comes out byte-identical to file_meta_bytes() (a test checks it).
                dcmwrite(writer.file, out, enforce_file_format=False)
            else:  # what dcmwrite does after the File Meta, without its copies and checks (~0.5 ms an object)
                fp = DicomFileLike(writer.file)
                fp.is_implicit_VR, fp.is_little_endian = implicit, little
                write_dataset(fp, dataset)
            writer.size = writer.file.tell()
        except OSError as exc:
            writer.abort()
            raise self.write_error(exc, meta, writer.size) from exc
        except Exception as exc:
            writer.abort()
            raise StorageError(
                f"cannot encode {meta.sop_instance_uid} in {meta.transfer_syntax}: {one_line(exc)}",
                dimse_status=STATUS_CANNOT_UNDERSTAND,
            ) from exc
        return writer.commit(dataset, remarks)

    def store_received(self, source: Source, meta: ObjectMeta) -> tuple[StoredFile, dict[str, str] | Dataset]:
        """Normal mode: a received data set checked, decoded but for its bulk, written (normal.py);
        with the table's few values. ``source`` is closed."""
        try:
            return store_received(self, source, meta)
        finally:
            source.close()

    def store_file(self, path: str | os.PathLike[str], meta: ObjectMeta, *, move: bool = False) -> StoredFile:
        """Store a received file: pynetdicom's ``event.dataset_path`` (preamble, its File Meta, the
        data set as received) or a bare data set. Bit-preserving: with ``move`` and on the same file
        system and when it starts with our own File Meta it is renamed into place; otherwise the data
        set bytes are copied in-kernel behind our File Meta (pynetdicom's spool file names its own
        implementation). With ``move`` a stored file is consumed; a failed store leaves it as it was."""
        try:
            offset = dataset_offset(path)
        except (OSError, ValueError) as exc:
            raise StorageError(
                f"cannot read the received file {path}: {exc}", dimse_status=STATUS_PROCESSING_FAILURE
            ) from exc
        if self.mode is StorageMode.IGNORE:
            return ignored(meta, os.path.getsize(path) - offset)
        if self.mode is StorageMode.NORMAL:  # decoded from it, bulk copied: the file stays (the caller's)
            return self.store_received(Source.of_file(os.fspath(path), offset), meta)[0]
        if move and offset and self._movable(path, meta, offset):
            notes = self.check(meta, self._structure(path, offset, meta))
            os.chmod(path, 0o666 & ~self._umask)  # it was a mkstemp file (0600)
            return self.place(os.fspath(path), meta, os.path.getsize(path), None, notes)
        with self.open_object(meta) as writer:  # normal mode decodes it in commit()
            writer.copy_from(path, offset)
            stored = writer.commit()
        if move:  # copied into place: the source is consumed, as a rename would have
            diskio.remove(os.fspath(path))
        return stored

    # --- internals ------------------------------------------------------------------------------

    def _structure(self, path: str | os.PathLike[str], offset: int, meta: ObjectMeta) -> Structure:
        try:
            return check_file(path, offset, meta.transfer_syntax)
        except OSError as exc:
            raise StorageError(f"cannot read the received file {path}: {exc}",
                               dimse_status=STATUS_PROCESSING_FAILURE) from exc

    def file_meta_bytes(self, meta: ObjectMeta) -> bytes:
        """Preamble and File Meta Information for ``meta``, as written before a received data set."""
        try:
            return diskio.file_meta_bytes(
                meta.sop_class_uid,
                meta.sop_instance_uid,
                meta.transfer_syntax,
                self.implementation_uid,
                self.implementation_version,
            )
        except ValueError as exc:
            raise StorageError(
                f"cannot store {meta.sop_instance_uid[:64]}…: {exc}", dimse_status=STATUS_CANNOT_UNDERSTAND
            ) from exc

    def _file_meta(self, meta: ObjectMeta) -> FileMetaDataset:
        fm = FileMetaDataset()
        fm.FileMetaInformationGroupLength = 0  # pydicom fills it in
        fm.FileMetaInformationVersion = b"\x00\x01"
        fm.MediaStorageSOPClassUID = UID(meta.sop_class_uid)
        fm.MediaStorageSOPInstanceUID = UID(meta.sop_instance_uid)
        fm.TransferSyntaxUID = UID(meta.transfer_syntax)
        fm.ImplementationClassUID = UID(self.implementation_uid)
        fm.ImplementationVersionName = self.implementation_version
        return fm

    def _movable(self, path: str | os.PathLike[str], meta: ObjectMeta, offset: int) -> bool:
        """Same file system, and the file starts with exactly the File Meta we would write: a
        bit-preserving file is the same whichever receive path brought it (pynetdicom's spool
        file carries its own implementation version, so it is copied behind ours instead)."""
        try:
            ours = self.file_meta_bytes(meta)
            if offset != len(ours) or os.stat(path).st_dev != os.stat(self.root).st_dev:
                return False
            with open(path, "rb") as fp:
                return fp.read(len(ours)) == ours
        except (OSError, StorageError):
            return False

    def place(self, partial: str, meta: ObjectMeta, size: int, dataset: Dataset | None,
              remarks: tuple[Remark, ...] = ()) -> StoredFile:
        """Name the finished partial file and put it in place; on failure nothing is left."""
        try:
            lookup = None
            if self.layout.needs_dataset:
                source = dataset if dataset is not None else _header(partial, self.layout.dataset_keywords)
                lookup = source.get if source is not None else None
            wanted = self.layout.render(meta.as_fields(), lookup)
            final, action = self._link(partial, wanted)
        except BaseException as exc:
            diskio.remove(partial)
            if isinstance(exc, OSError):
                raise self.write_error(exc, meta, size) from exc
            raise
        return StoredFile(
            final.as_posix(),
            action,
            size,
            meta.sop_class_uid,
            meta.sop_instance_uid,
            meta.transfer_syntax,
            wanted.as_posix() if action is Action.RENAMED else None,
            remarks,
        )

    def _link(self, partial: str, wanted: PurePosixPath) -> tuple[PurePosixPath, Action]:
        parent = self._directory(wanted.parent)
        if parent != self.root and os.stat(parent).st_dev != os.stat(partial).st_dev:
            partial = diskio.copy_to_partial(partial, parent)  # a mount point below the output dir
        n = 0
        while True:
            name = wanted.name if n == 0 else numbered(wanted.name, n)
            target = os.path.join(parent, name)
            if diskio.link_new(partial, target):
                action = Action.RENAMED if n else Action.WRITTEN
                break
            if self.existing is not ExistingPolicy.RENAME and os.path.isdir(target) and not os.path.islink(target):
                raise StorageError(
                    f"cannot store {wanted}: a directory has that name", dimse_status=STATUS_PROCESSING_FAILURE
                )
            if self.existing is ExistingPolicy.KEEP:
                diskio.remove(partial)
                return wanted, Action.KEPT
            if self.existing is ExistingPolicy.OVERWRITE:
                os.replace(partial, target)  # replaces a symlink itself, never writes through it
                action = Action.OVERWRITTEN
                break
            n += 1
            if n > _MAX_RENAMES:
                raise StorageError(
                    f"cannot store {wanted}: {_MAX_RENAMES} numbered names taken",
                    dimse_status=STATUS_PROCESSING_FAILURE,
                )
        if self.fsync:
            diskio.fsync_dir(parent)
        return wanted.parent / name, action

    def _directory(self, relative: PurePosixPath) -> str:
        """The real directory for ``relative`` inside the output dir, made if missing; refuses a
        symlink that leads outside (checked before anything is created through it)."""
        current = self.root
        for part in relative.parts:
            step = os.path.join(current, part)
            try:
                os.mkdir(step)
                current = step
                continue
            except FileExistsError:
                pass
            real = os.path.realpath(step)
            if os.path.commonpath([real, self.root]) != self.root:
                raise StorageError(
                    f"refusing to write through {step}: it leads outside the output directory (to {real})",
                    "remove the link or choose another: output DIR",
                    dimse_status=STATUS_PROCESSING_FAILURE,
                )
            if not os.path.isdir(real):
                raise StorageError(
                    f"cannot make directory {step}: a file has that name", dimse_status=STATUS_PROCESSING_FAILURE
                )
            current = real
        return current

    def write_error(self, exc: OSError, meta: ObjectMeta, written: int) -> StorageError:
        return storage_error(exc, meta.sop_instance_uid, self.output_dir, written, os.path.isdir(self.root))


# --- helpers -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _write_plan(transfer_syntax: str) -> tuple[bool, bool, bool, bool | None]:
    """How store_dataset writes a syntax: (through dcmwrite: deflated or not a known syntax,
    implicit VR, little endian, pixel data of undefined length or None to leave it as it is).
    pydicom's UID properties look these up on every access; an object needs them once."""
    syntax = syntax_uid(transfer_syntax)
    through_dcmwrite = syntax == DeflatedExplicitVRLittleEndian or not syntax.is_transfer_syntax
    compressed = None if syntax.is_private else bool(syntax.is_compressed)
    return through_dcmwrite, bool(syntax.is_implicit_VR), bool(syntax.is_little_endian), compressed


def _header(path: str, keywords: frozenset[str]) -> Dataset | None:
    """Only the attributes a layout needs, read from the partial file (no pixel data)."""
    try:
        return read_head(path, list(sorted(keywords)), force=True)
    except Exception:
        return None  # unreadable: the layout names what it cannot read 'unknown'
