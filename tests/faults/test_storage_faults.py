"""Real write failures: a full disk (a small tmpfs), no inodes, a read-only file system, permission
denied (as another user: root ignores modes), the output directory removed mid-retrieve.

Each must give a StorageError with a precise message and the C-STORE status to answer, leave no
partial or truncated file, and leave the Storage able to store the next object.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from getsh.dicom.storage.outcomes import Action, ObjectMeta, OutputDirError, StorageError
from getsh.dicom.storage.store import Storage

CT = "1.2.840.10008.5.1.4.1.1.2"
NOBODY = 65534


def make_ds(uid: str, pixels: int = 16, patient: str = "PAT1") -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.PatientID = CT, uid, patient
    ds.BitsAllocated, ds.PixelData = 8, b"\x5a" * pixels
    return ds


def raw(ds: Dataset) -> bytes:
    """The data set as a peer sends it (Explicit VR Little Endian), without File Meta."""
    from io import BytesIO

    from pydicom import dcmwrite

    out, full = BytesIO(), Dataset(ds)
    full.file_meta, full.preamble = FileMetaDataset(), b"\0" * 128
    full.file_meta.FileMetaInformationGroupLength = 0
    full.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dcmwrite(out, full, enforce_file_format=False)
    data = out.getvalue()
    return data[144 + int.from_bytes(data[140:144], "little") :]


def meta(ds: Dataset) -> ObjectMeta:
    return ObjectMeta(ds.SOPClassUID, ds.SOPInstanceUID, ExplicitVRLittleEndian)


def stream(storage: Storage, ds: Dataset, chunk: int = 65536) -> object:
    data = raw(ds)
    with storage.open_object(meta(ds)) as writer:
        for start in range(0, len(data), chunk):
            writer.write(data[start : start + chunk])
        return writer.commit()


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A private tmpfs at ``path`` (root only); skips when this machine will not mount one."""
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command")
    path.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([mount, "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): {run.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run([mount.replace("mount", "umount"), "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    subprocess.run([shutil.which("mount") or "mount", "-o", f"remount,{mode}", str(path)], check=True)


def intact(root: Path, stored: list[str]) -> None:
    """Every earlier object is complete and nothing partial is left."""
    assert not [name for name in listing(root) if ".getsh-" in name]
    for name in stored:
        assert dcmread(root / name).PixelData  # a truncated file would not decode


def test_disk_full_while_streaming(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "size=1m") as out:
        storage = Storage(out, "bit-preserving")
        stored = [stream(storage, make_ds(f"1.2.{n}", 1000)).path for n in range(3)]  # type: ignore[attr-defined]
        with pytest.raises(StorageError) as caught:
            stream(storage, make_ds("1.2.99", 2 * 2**20))
        error = caught.value
        assert error.dimse_status == 0xA700 and error.errno == errno.ENOSPC
        assert f"cannot store 1.2.99: no space left in {out}" in error.message and "free space" in error.hint
        assert listing(out) == sorted(stored)
        intact(out, stored)
        assert stream(storage, make_ds("1.2.100", 1000)).action is Action.WRITTEN  # type: ignore[attr-defined]


def test_disk_full_in_normal_mode_and_when_copying_a_received_file(tmp_path: Path) -> None:
    big = make_ds("1.2.98", 2 * 2**20)
    received = tmp_path / "received.dcm"  # as pynetdicom's dataset_path would be, on another file system
    received.write_bytes(
        b"\0" * 128 + b"DICM" + Storage(tmp_path, "bit-preserving").file_meta_bytes(meta(big))[132:] + raw(big)
    )
    with tmpfs(tmp_path / "small", "size=1m") as out:
        for attempt in (
            lambda: Storage(out, "normal").store_dataset(big, meta(big)),
            lambda: Storage(out, "bit-preserving").store_file(received, meta(big), move=True),
        ):
            with pytest.raises(StorageError) as caught:
                attempt()
            assert caught.value.dimse_status == 0xA700 and "no space left" in caught.value.message
            assert listing(out) == []
        assert received.exists()  # a failed store never eats its source
        small = make_ds("1.2.1", 100)
        assert Storage(out, "normal").store_dataset(small, meta(small)).path == "CT.1.2.1"


def test_out_of_inodes(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "few", "size=1m,nr_inodes=6") as out:
        storage = Storage(out, "bit-preserving", "{PatientID}/{SOPInstanceUID}")
        stored, error = [], None
        for n in range(10):
            try:
                stored.append(stream(storage, make_ds(f"1.2.{n}", 10, patient=f"P{n}")).path)  # type: ignore[attr-defined]
            except StorageError as exc:
                error = exc
                break
        assert error is not None and error.dimse_status == 0xA700 and "no space left" in error.message
        intact(out, stored)


def test_read_only_file_system(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "size=1m") as out:
        storage = Storage(out, "bit-preserving")
        remount(out, "ro")
        with pytest.raises(OutputDirError, match="not writable"):
            Storage(out, "normal")  # checked up front, before a retrieve
        with pytest.raises(StorageError) as caught:
            stream(storage, make_ds("1.2.1"))
        assert caught.value.dimse_status == 0x0110 and caught.value.errno == errno.EROFS
        assert caught.value.message == f"cannot store 1.2.1: {out} is on a read-only file system"
        remount(out, "rw")
        assert listing(out) == [] and stream(storage, make_ds("1.2.2")).path == "CT.1.2.2"  # type: ignore[attr-defined]


def as_nobody(work: Callable[[], object]) -> object:
    """Run ``work`` in a child process that dropped root (root ignores permission bits)."""
    if os.geteuid() != 0:
        return work()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = json.dumps(work())
        except BaseException as exc:
            result = json.dumps({"crash": repr(exc)})
        os.write(writer, result.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's own tree is 0700 for root)."""
    with tempfile.TemporaryDirectory(prefix="getsh-perm-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


def test_permission_denied(public_dir: Path) -> None:
    locked_root = public_dir / "locked_root"  # the output dir itself is not ours to write
    locked_root.mkdir(mode=0o755)
    shared = public_dir / "shared"  # ours, but one patient directory in it is not
    shared.mkdir()
    (shared / "LOCKED").mkdir(mode=0o555)
    if os.geteuid() == 0:
        os.chown(shared, NOBODY, NOBODY)
    else:
        locked_root.chmod(0o555)
    root_storage = Storage(locked_root, "bit-preserving")  # validated while we may still write there
    per_patient = Storage(shared, "normal", "{PatientID}/{SOPInstanceUID}")

    def work() -> dict[str, object]:
        outcome: dict[str, object] = {}
        for key, attempt in (
            ("root", lambda: stream(root_storage, make_ds("1.2.1"))),
            ("locked", lambda: per_patient.store_dataset(make_ds("1.2.2", patient="LOCKED"), meta(make_ds("1.2.2")))),
        ):
            try:
                attempt()
                outcome[key] = "stored?!"
            except StorageError as exc:
                outcome[key] = [exc.dimse_status, exc.message, exc.hint]
        ok = per_patient.store_dataset(make_ds("1.2.3", patient="OPEN"), meta(make_ds("1.2.3")))
        outcome["after"] = [ok.path, ok.action.value]
        return outcome

    outcome = as_nobody(work)
    assert isinstance(outcome, dict) and "crash" not in outcome, outcome
    for key, where in (("root", locked_root), ("locked", shared)):
        status, message, hint = outcome[key]
        assert status == 0x0110 and message.startswith(
            f"cannot store 1.2.{1 if key == 'root' else 2}: permission denied in {where}"
        )
        assert "check its permissions" in hint
    assert outcome["after"] == ["OPEN/1.2.3", "written"]
    assert listing(locked_root) == [] and listing(shared) == ["LOCKED", "OPEN", "OPEN/1.2.3"]


def test_output_directory_removed_during_a_retrieve(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    storage = Storage(out, "bit-preserving")
    first = stream(storage, make_ds("1.2.1")).path  # type: ignore[attr-defined]
    data = raw(make_ds("1.2.2", 100_000))
    writer = storage.open_object(meta(make_ds("1.2.2")))
    writer.write(data[:50_000])
    shutil.rmtree(out)  # mid-object
    writer.write(data[50_000:])
    with pytest.raises(StorageError) as caught:
        writer.commit()
    assert caught.value.dimse_status == 0x0110
    assert caught.value.message == f"cannot store 1.2.2: output directory {out} no longer exists"
    assert "create it again" in caught.value.hint
    with pytest.raises(StorageError, match="no longer exists"):
        stream(storage, make_ds("1.2.3"))  # between objects
    assert os.listdir(tmp_path) == []
    out.mkdir()
    assert stream(storage, make_ds("1.2.4")).path == "CT.1.2.4" and first == "CT.1.2.1"  # type: ignore[attr-defined]
