"""Storage of received objects: getscu's names, safe layouts, atomic writes, every mode and policy."""

from __future__ import annotations

import ctypes
import errno
import io
import os
import signal
import subprocess
import threading
import tracemalloc
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.dsutils import create_file_meta

from getsh.dicom.net.modalities import MODALITY_PREFIXES, modality_prefix
from getsh.dicom.storage import diskio
from getsh.dicom.storage.diskio import dataset_offset
from getsh.dicom.storage.naming import Layout, LayoutError
from getsh.dicom.storage.outcomes import Action, ObjectMeta, OutputDirError, StorageError, storage_error
from getsh.dicom.storage.store import Storage
from getsh.errors import UsageError

CT, MR, SR, SC = (f"1.2.840.10008.5.1.4.1.1.{n}" for n in ("2", "4", "88.11", "7"))
DCMDUMP = Path("/usr/bin/dcmdump")
LIBDCMDATA = Path("/usr/lib/x86_64-linux-gnu/libdcmdata.so.17")
TEMPLATE = "{PatientID}/{StudyInstanceUID}/{SeriesInstanceUID}/{SOPInstanceUID}.dcm"
ALL_TS = [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian]


def make_ds(uid: str = "1.2.3.4", cls: str = CT, pixels: bytes = b"\x01\x02" * 64, **values: object) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = cls, uid
    ds.PatientID, ds.PatientName = "PAT1", "Doe^Jane"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3", "1.2.3.1"
    ds.Modality, ds.InstanceNumber, ds.ImageType = "CT", 7, ["ORIGINAL", "PRIMARY"]
    item = Dataset()
    item.ReferencedSOPInstanceUID = "1.2.3.9"
    ds.ReferencedImageSequence = Sequence([item])
    ds.Rows, ds.Columns, ds.BitsAllocated = 8, 8, 16
    ds.PixelData = pixels
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def encode(ds: Dataset, ts: str) -> bytes:
    """The data set bytes as a peer would send them in ``ts`` (deflated too)."""
    out = io.BytesIO()
    full = Dataset(ds)
    full.file_meta, full.preamble = FileMetaDataset(), b"\0" * 128
    full.file_meta.FileMetaInformationGroupLength = 0
    full.file_meta.TransferSyntaxUID = ts
    dcmwrite(out, full, enforce_file_format=False)
    data = out.getvalue()
    return data[144 + int.from_bytes(data[140:144], "little") :]


def meta_of(ds: Dataset, ts: str = ExplicitVRLittleEndian) -> ObjectMeta:
    return ObjectMeta(ds.SOPClassUID, ds.SOPInstanceUID, ts)


def stream(storage: Storage, raw: bytes, meta: ObjectMeta, chunk: int = 7):
    with storage.open_object(meta) as writer:
        for start in range(0, len(raw), chunk):
            writer.write(raw[start : start + chunk])
        return writer.commit()


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "sandbox" / "out"
    path.mkdir(parents=True)
    return path


# --- names -----------------------------------------------------------------------------------------


@pytest.mark.skipif(not LIBDCMDATA.exists(), reason="DCMTK's libdcmdata is not installed")
def test_prefix_table_is_dcmtks_own() -> None:
    lookup = ctypes.CDLL(str(LIBDCMDATA))._Z24dcmSOPClassUIDToModalityPKcS0_
    lookup.restype, lookup.argtypes = ctypes.c_char_p, [ctypes.c_char_p, ctypes.c_char_p]
    for uid, prefix in MODALITY_PREFIXES.items():
        assert lookup(uid.encode(), b"UNKNOWN").decode() == prefix, uid
    assert lookup(b"1.2.3.4.5", b"UNKNOWN") == b"UNKNOWN"


@pytest.mark.parametrize(("cls", "prefix"), [(CT, "CT"), (MR, "MR"), (SR, "SRt"), (SC, "SC"), ("1.2.9.9", "UNKNOWN")])
@pytest.mark.parametrize("mode", ["normal", "bit-preserving"])
def test_default_names_are_getscus(out: Path, cls: str, prefix: str, mode: str) -> None:
    # getscu -B writes <dcmSOPClassUIDToModality(class, "UNKNOWN")>.<SOP Instance UID>, no extension
    ds = make_ds("1.2.840.99.7", cls)
    storage = Storage(out, mode)
    result = (
        storage.store_dataset(ds, meta_of(ds))
        if mode == "normal"
        else stream(storage, encode(ds, ExplicitVRLittleEndian), meta_of(ds))
    )
    assert result.path == f"{prefix}.1.2.840.99.7" and result.action is Action.WRITTEN
    assert modality_prefix(cls + "\0") == prefix
    assert files(out) == [result.path]


def test_layout_renders_keywords_formats_and_placeholders(out: Path) -> None:
    ds = make_ds(PatientID="", InstanceNumber="12")
    layout = "{PatientID}/{Modality}_{prefix}/{InstanceNumber:04d}_{ImageType}_{sop_class}.dcm"
    result = Storage(out, "normal", layout).store_dataset(ds, meta_of(ds))
    assert result.path == "unknown/CT_CT/0012_ORIGINAL_PRIMARY_CT Image Storage.dcm"
    assert Layout(TEMPLATE).dataset_keywords == {"PatientID", "StudyInstanceUID", "SeriesInstanceUID"}
    assert not Layout().needs_dataset


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{PatientId}/{SOPInstanceUID}", "did you mean PatientID"),
        ("", "empty layout"),
        ("/abs/{SOPInstanceUID}", "absolute"),
        ("../{SOPInstanceUID}", "'..'"),
        ("a//{SOPInstanceUID}", "empty"),
        ("a\\{SOPInstanceUID}", "separate directories with /"),
        ("{SOPInstanceUID", "not a valid template"),
        ("{ReferencedImageSequence}", "cannot be part of a file name"),
        ("{PixelData}", "cannot be part of a file name"),
        ("{InstanceNumber:q}", "bad format"),
        ("{PatientName.family}", "not an attribute keyword"),
        ("{}", "not an attribute keyword"),
        ("{PatientID!r}", "conversions"),
        (".hidden/{SOPInstanceUID}", "reserved for partial files"),
        ("a:{SOPInstanceUID}", "reserved characters"),
    ],
)
def test_bad_layouts_fail_up_front_with_a_hint(tmp_path: Path, template: str, words: str) -> None:
    with pytest.raises(LayoutError) as caught:
        Storage(tmp_path, "normal", template)
    assert words in f"{caught.value.message} {caught.value.hint}"
    assert isinstance(caught.value, UsageError)


HOSTILE = [
    "../../etc/passwd",
    "1.2/../../x",
    "/etc/passwd",
    "..\\..\\windows",
    "a\0b",
    "\x01\x1f\x7f",
    ".",
    "..",
    "",
    ".hidden",
    "CON",
    "x" * 300,
    "9" * 300,
    "ü/../ü",
]


@pytest.mark.filterwarnings("ignore:.*(VR UI|VR LO|allowed for VR):UserWarning")
@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "field", ["PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"]
)
@pytest.mark.parametrize("mode", ["normal", "bit-preserving"])
def test_hostile_values_stay_inside_with_clean_names(out: Path, value: str, field: str, mode: str) -> None:
    ds = make_ds()
    setattr(ds, field, value)
    template = TEMPLATE if field != "SOPClassUID" else "{prefix}/{sop_class}/{SOPInstanceUID}"
    storage = Storage(out, mode, template)
    if mode == "normal":
        result = storage.store_dataset(ds, meta_of(ds))
    else:
        result = stream(storage, encode(ds, ExplicitVRLittleEndian), meta_of(ds), chunk=4096)
    assert result.path is not None and (out / result.path).is_file()
    assert (out / result.path).resolve().is_relative_to(out.resolve())
    for part in result.path.split("/"):
        assert part not in ("", ".", "..") and not part.startswith(".")
        assert not set(part) & set('\\\0\x01\x1f\x7f<>:"|?*') and len(part.encode()) <= 200
        assert part.split(".")[0].upper() != "CON"
    assert os.listdir(out.parent) == ["out"]  # nothing escaped into the sandbox
    assert not [f for f in files(out) if ".getsh-" in f]


@pytest.mark.filterwarnings("ignore:.*VR UI:UserWarning")
def test_long_names_keep_extension_and_differ_by_hash(out: Path) -> None:
    storage = Storage(out, "normal", "{SOPInstanceUID}.dcm")
    a, b = (storage.store_dataset(make_ds(u), meta_of(make_ds(u))) for u in ("1." * 150 + "1", "1." * 150 + "2"))
    assert a.path != b.path and a.path.endswith(".dcm") and "~" in a.path  # type: ignore[union-attr]


# --- symlinks ----------------------------------------------------------------------------------------


def test_symlink_leading_outside_is_refused(out: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (out / "PAT1").symlink_to(outside)
    with pytest.raises(StorageError) as caught:
        Storage(out, "normal", TEMPLATE).store_dataset(make_ds(), meta_of(make_ds()))
    assert caught.value.dimse_status == 0x0110 and "leads outside" in caught.value.message
    assert list(outside.iterdir()) == [] and files(out) == ["PAT1"]


def test_symlinks_inside_and_a_symlinked_output_dir_are_fine(out: Path, tmp_path: Path) -> None:
    (out / "real").mkdir()
    (out / "PAT1").symlink_to(out / "real")
    alias = tmp_path / "alias"
    alias.symlink_to(out)
    result = Storage(alias, "normal", "{PatientID}/{SOPInstanceUID}").store_dataset(make_ds(), meta_of(make_ds()))
    assert result.path == "PAT1/1.2.3.4" and (out / "real" / "1.2.3.4").is_file()


def test_overwrite_replaces_a_symlink_never_writes_through_it(out: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (out / "CT.1.2.3.4").symlink_to(victim)
    result = Storage(out, "normal", existing="overwrite").store_dataset(make_ds(), meta_of(make_ds()))
    assert result.action is Action.OVERWRITTEN and victim.read_bytes() == b"precious"
    assert not (out / "CT.1.2.3.4").is_symlink()


# --- atomicity -------------------------------------------------------------------------------------


def test_an_exception_mid_stream_leaves_nothing(out: Path) -> None:
    raw = encode(make_ds(), ExplicitVRLittleEndian)
    with pytest.raises(RuntimeError), Storage(out, "bit-preserving").open_object(meta_of(make_ds())) as writer:
        writer.write(raw[:50])
        raise RuntimeError("peer aborted")
    assert os.listdir(out) == []


def test_a_write_error_after_n_bytes_leaves_nothing_and_says_why(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = Storage(out, "bit-preserving").open_object(meta_of(make_ds()))
    real_write, budget = writer.file.write, [300]

    def failing(data: bytes) -> int:
        budget[0] -= len(data)
        if budget[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(data)

    broken = type("F", (), {"write": staticmethod(failing), "close": writer.file.close})
    monkeypatch.setattr(writer, "_buffered", broken)
    with pytest.raises(StorageError) as caught:
        for _ in range(10):
            writer.write(b"x" * 100)
    assert caught.value.dimse_status == 0xA700 and "no space left" in caught.value.message
    with pytest.raises(StorageError):
        writer.write(b"more")  # the failure sticks: the caller drains the network and answers it
    writer.abort()
    assert os.listdir(out) == []


def test_a_failure_while_placing_removes_the_partial(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(source: str, target: str) -> bool:
        raise OSError(errno.EIO, "Input/output error", target)

    monkeypatch.setattr(diskio, "link_new", broken)
    with pytest.raises(StorageError) as caught:
        stream(Storage(out, "bit-preserving"), b"\x08\x00\x05\x00CS\x00\x00", meta_of(make_ds()))
    assert caught.value.dimse_status == 0x0110 and "EIO" in caught.value.message
    assert os.listdir(out) == []


def test_a_killed_process_leaves_no_file_under_a_final_name(out: Path) -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        writer = Storage(out, "bit-preserving").open_object(meta_of(make_ds()))
        writer.write(b"\0" * 100_000)
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    assert all(name.startswith(".getsh-") and name.endswith(".partial") for name in os.listdir(out))


def test_a_forked_process_takes_partial_names_of_its_own(out: Path) -> None:
    """Names come from a per-process tag and a counter (no random call an object): a child made by
    fork must not walk the parent's sequence of names."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        fd, path = diskio.new_partial(str(out))
        os.write(write, os.path.basename(path).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 200).decode()
    os.close(read)
    os.close(write)
    fd, path = diskio.new_partial(str(out))
    os.close(fd)
    ours, theirs = os.path.basename(path), child
    assert ours.startswith(".getsh-") and theirs.startswith(".getsh-") and ours.endswith(".partial")
    assert ours.split("-")[1] != theirs.split("-")[1], (ours, theirs)


def test_the_file_meta_goes_out_with_the_first_write_many_or_alone(out: Path) -> None:
    """The direct path writes File Meta and the first fragments in one writev; an object whose data
    set is empty still gets its File Meta; either way the bytes are those of a whole Part 10 file."""
    ds = make_ds()
    raw = encode(ds, ExplicitVRLittleEndian)
    storage = Storage(out, "bit-preserving")
    with storage.open_object(meta_of(ds)) as writer:
        writer.write_many([memoryview(raw[:10]), memoryview(raw[10:])])
        stored = writer.commit()
    assert stored.size == (out / stored.path).stat().st_size
    assert dcmread(out / stored.path).SOPInstanceUID == ds.SOPInstanceUID
    assert (out / stored.path).read_bytes().endswith(raw)
    empty = make_ds(uid="1.2.3.5")
    with storage.open_object(meta_of(empty)) as writer:
        stored = writer.commit()
    data = (out / stored.path).read_bytes()
    assert data[128:132] == b"DICM" and stored.size == len(data) and dataset_offset(out / stored.path) == len(data)


# --- existing names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "action", "path", "text"),
    [
        ("overwrite", Action.OVERWRITTEN, "CT.1.2.3.4", "overwritten"),
        ("keep", Action.KEPT, "CT.1.2.3.4", "CT.1.2.3.4 exists, kept (received copy discarded)"),
        ("rename", Action.RENAMED, "CT.1.2.3.4_1", "renamed to CT.1.2.3.4_1 (CT.1.2.3.4 exists)"),
    ],
)
def test_existing_file_policies_say_what_happened(out: Path, policy: str, action: Action, path: str, text: str) -> None:
    (out / "CT.1.2.3.4").write_bytes(b"old")
    result = Storage(out, "normal", existing=policy).store_dataset(make_ds(), meta_of(make_ds()))
    assert (result.action, result.path, result.describe()) == (action, path, text)
    assert ((out / "CT.1.2.3.4").read_bytes() == b"old") is (policy != "overwrite")


def test_rename_numbers_before_the_extension_and_is_race_free(out: Path) -> None:
    storage = Storage(out, "bit-preserving", "{SOPInstanceUID}.dcm")
    raw, meta = encode(make_ds(), ExplicitVRLittleEndian), meta_of(make_ds())
    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: results.extend(stream(storage, raw, meta, 512).path for _ in range(10)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(["1.2.3.4.dcm", *(f"1.2.3.4_{n}.dcm" for n in range(1, 60))])  # type: ignore[type-var]


def test_a_directory_under_the_name(out: Path) -> None:
    (out / "CT.1.2.3.4").mkdir()
    with pytest.raises(StorageError, match="a directory has that name"):
        Storage(out, "normal", existing="keep").store_dataset(make_ds(), meta_of(make_ds()))
    assert Storage(out, "normal").store_dataset(make_ds(), meta_of(make_ds())).path == "CT.1.2.3.4_1"
    (out / "PAT1").write_bytes(b"")
    with pytest.raises(StorageError, match="a file has that name"):
        Storage(out, "normal", TEMPLATE).store_dataset(make_ds(), meta_of(make_ds()))


def test_without_hard_links_policies_still_hold(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(*_: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    storage = Storage(out, "normal")
    actions = [storage.store_dataset(make_ds(), meta_of(make_ds())).path for _ in range(3)]
    assert actions == ["CT.1.2.3.4", "CT.1.2.3.4_1", "CT.1.2.3.4_2"] and len(files(out)) == 3


# --- bit-preserving, normal, ignore -------------------------------------------------------------------


def dcmdump_ok(path: Path) -> None:
    if not DCMDUMP.exists():
        pytest.skip("DCMTK dcmdump not installed")
    run = subprocess.run([DCMDUMP, "-q", path], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "E:" not in run.stderr and "W:" not in run.stderr, run.stderr


def same_values(a: Dataset, b: Dataset) -> None:
    assert [(e.tag, e.value) for e in a if e.VR != "SQ"] == [(e.tag, e.value) for e in b if e.VR != "SQ"]
    assert (
        a.ReferencedImageSequence[0].ReferencedSOPInstanceUID == b.ReferencedImageSequence[0].ReferencedSOPInstanceUID
    )


@pytest.mark.parametrize("ts", ALL_TS)
def test_bit_preserving_keeps_the_received_bytes(out: Path, ts: str) -> None:
    ds = make_ds()
    raw = encode(ds, ts)
    result = stream(Storage(out, "bit-preserving"), raw, meta_of(ds, ts), chunk=13)
    data = (out / result.path).read_bytes()  # type: ignore[operator]
    assert data[dataset_offset(out / result.path) :] == raw and result.size == len(data)  # type: ignore[operator]
    dcmdump_ok(out / result.path)  # type: ignore[operator]
    back = dcmread(out / result.path)  # type: ignore[operator]
    assert back.file_meta.TransferSyntaxUID == ts and back.file_meta.ImplementationVersionName.startswith("GETSH_")
    same_values(ds, back)


def test_hand_encoded_file_meta_equals_pydicoms(out: Path) -> None:
    meta = ObjectMeta(CT, "1.2.3.45", ExplicitVRBigEndian)
    ours = Storage(out, "bit-preserving").file_meta_bytes(meta)
    fm = create_file_meta(
        sop_class_uid=CT,
        sop_instance_uid="1.2.3.45",
        transfer_syntax=ExplicitVRBigEndian,
        implementation_uid=Storage(out).implementation_uid,
        implementation_version="GETSH_0.1.0",
    )
    buf = DicomBytesIO()
    write_file_meta_info(buf, fm)
    assert ours == b"\0" * 128 + b"DICM" + buf.getvalue()
    normal = Storage(out, "normal").store_dataset(make_ds("1.2.3.45"), meta)  # same File Meta in every mode
    assert (out / normal.path).read_bytes().startswith(ours)  # type: ignore[operator]
    with pytest.raises(StorageError) as caught:
        Storage(out, "bit-preserving").file_meta_bytes(ObjectMeta(CT, "1" * 70_000, ExplicitVRLittleEndian))
    assert caught.value.dimse_status == 0xC000


def pynetdicom_file(path: Path, ds: Dataset, ts: str) -> Path:
    """A file laid out exactly as pynetdicom's chunked receive writes event.dataset_path."""
    with path.open("wb") as fp:
        fp.write(b"\x00" * 128 + b"DICM")
        write_file_meta_info(
            fp, create_file_meta(sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID, transfer_syntax=ts)
        )
        fp.write(encode(ds, ts))
    path.chmod(0o600)
    return path


def test_store_file_moves_a_file_with_our_file_meta_and_copies_otherwise(out: Path, tmp_path: Path) -> None:
    ds, ts = make_ds(), ImplicitVRLittleEndian
    storage = Storage(out, "bit-preserving")
    src = tmp_path / "ours.dcm"
    src.write_bytes(storage.file_meta_bytes(meta_of(ds, ts)) + encode(ds, ts))
    inode = src.stat().st_ino
    moved = storage.store_file(src, meta_of(ds, ts), move=True)
    assert not src.exists() and (out / moved.path).stat().st_ino == inode  # type: ignore[operator]
    assert (out / moved.path).stat().st_mode & 0o777 == 0o666 & ~diskio.current_umask()  # type: ignore[operator]
    # pynetdicom's spool file names its own implementation: the data set is copied behind our File Meta,
    # so a bit-preserving file is the same on either receive path
    src = pynetdicom_file(tmp_path / "tmp1.dcm", ds, ts)
    spooled = Storage(out, "bit-preserving", existing="overwrite").store_file(src, meta_of(ds, ts), move=True)
    assert (out / spooled.path).read_bytes() == storage.file_meta_bytes(meta_of(ds, ts)) + encode(ds, ts)  # type: ignore[operator]
    src = pynetdicom_file(tmp_path / "tmp2.dcm", ds, ts)
    copied = Storage(out, "bit-preserving", existing="overwrite").store_file(src, meta_of(ds, ts))
    data = (out / copied.path).read_bytes()  # type: ignore[operator]
    assert src.exists() and data.endswith(encode(ds, ts)) and b"GETSH_" in data[:400]
    dcmdump_ok(out / copied.path)  # type: ignore[operator]


def test_store_file_in_normal_and_ignore_modes(out: Path, tmp_path: Path) -> None:
    ds = make_ds()
    src = pynetdicom_file(tmp_path / "tmp.dcm", ds, ExplicitVRBigEndian)
    normal = Storage(out, "normal").store_file(src, meta_of(ds, ExplicitVRBigEndian), move=True)
    same_values(ds, dcmread(out / normal.path))  # type: ignore[operator]
    bare = tmp_path / "bare"
    bare.write_bytes(encode(ds, ExplicitVRBigEndian))
    again = Storage(out, "normal", existing="overwrite").store_file(bare, meta_of(ds, ExplicitVRBigEndian))
    same_values(ds, dcmread(out / again.path))  # type: ignore[operator]
    ignored = Storage(tmp_path / "nowhere", "ignore").store_file(src, meta_of(ds))
    assert ignored.action is Action.IGNORED and ignored.path is None and src.exists()


def test_real_pynetdicom_chunked_receive(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pynetdicom import AE, _config, evt

    monkeypatch.setattr(_config, "STORE_RECV_CHUNKED_DATASET", True)
    storage, seen = Storage(out, "bit-preserving"), []

    def on_store(event: evt.Event) -> int:
        req = event.request
        meta = ObjectMeta(req.AffectedSOPClassUID, req.AffectedSOPInstanceUID, event.context.transfer_syntax)
        seen.append((event.dataset_path, storage.store_file(event.dataset_path, meta, move=True)))
        return 0x0000

    scp = AE()
    scp.add_supported_context(CT, ExplicitVRLittleEndian)
    server = scp.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        scu = AE()
        scu.add_requested_context(CT, ExplicitVRLittleEndian)
        assoc = scu.associate("127.0.0.1", server.server_address[1])
        ds = make_ds(pixels=bytes(range(256)) * 512)
        sent = Dataset(ds)
        sent.file_meta = FileMetaDataset()
        sent.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        assert assoc.send_c_store(sent).Status == 0x0000
        assoc.release()
    finally:
        server.shutdown()
    ((temp, result),) = seen
    assert not Path(temp).exists() and result.path == "CT.1.2.3.4"
    assert (out / "CT.1.2.3.4").read_bytes().endswith(encode(ds, ExplicitVRLittleEndian))


@pytest.mark.parametrize("ts", ALL_TS)
def test_normal_mode_round_trips_in_the_received_syntax(out: Path, ts: str) -> None:
    ds = make_ds()
    ds.set_original_encoding(True, True)  # as decoded from an implicit context: the meta's syntax wins
    storage = Storage(out, "normal", existing="overwrite")
    result = storage.store_dataset(ds, meta_of(ds, ts))
    back = dcmread(out / result.path)  # type: ignore[operator]
    assert back.file_meta.TransferSyntaxUID == ts and result.size == (out / result.path).stat().st_size  # type: ignore[operator]
    same_values(ds, back)
    assert not hasattr(ds, "file_meta")  # the caller's data set is untouched
    dcmdump_ok(out / result.path)  # type: ignore[operator]
    fed = stream(storage, encode(ds, ts), meta_of(ds, ts))  # raw chunks in normal mode: decoded, re-encoded
    same_values(ds, dcmread(out / fed.path))  # type: ignore[operator]
    with pytest.raises(ValueError, match="bit-preserving"):
        Storage(out, "bit-preserving").store_dataset(ds, meta_of(ds))


def test_ignore_writes_nothing_and_needs_no_directory(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "missing", "ignore")
    result = stream(storage, b"x" * 1000, meta_of(make_ds()), chunk=300)
    assert (result.action, result.path, result.size, result.describe()) == (Action.IGNORED, None, 1000, "ignored")
    assert storage.store_dataset(make_ds(), meta_of(make_ds())).action is Action.IGNORED
    assert os.listdir(tmp_path) == []


def test_output_directory_is_checked_up_front(tmp_path: Path) -> None:
    with pytest.raises(OutputDirError) as caught:
        Storage(tmp_path / "missing")
    assert "does not exist" in caught.value.message and "create it or choose another: output DIR" in caught.value.hint
    assert isinstance(caught.value, UsageError)  # the CLI's -od: exit 1 like getscu
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputDirError, match="not a directory"):
        Storage(tmp_path / "file", "bit-preserving")


def test_fsync_policy_syncs_file_and_directory(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real(fd))
    stream(Storage(out, "bit-preserving"), b"abc", meta_of(make_ds()))
    assert calls == []
    stream(Storage(out, "bit-preserving", fsync=True), b"abc", meta_of(make_ds()))
    assert len(calls) == 2


def test_errors_map_to_store_statuses(tmp_path: Path) -> None:
    def status(code: int) -> int:
        return storage_error(OSError(code, os.strerror(code), "/x"), "1.2", tmp_path, 10, True).dimse_status

    assert [status(c) for c in (errno.ENOSPC, errno.EDQUOT, errno.EMFILE)] == [0xA700] * 3
    assert [status(c) for c in (errno.EACCES, errno.EROFS, errno.EIO)] == [0x0110] * 3
    gone = storage_error(OSError(errno.ENOENT, "No such file"), "1.2", tmp_path, 0, False)
    assert "no longer exists" in gone.message and "create it again" in gone.hint


# --- memory stays flat -----------------------------------------------------------------------------


def test_a_200_mb_object_streams_with_flat_memory(out: Path, tmp_path: Path) -> None:
    ds = make_ds(pixels=b"")
    head = encode(ds, ExplicitVRLittleEndian)[:-12]  # without the empty Pixel Data element
    size = 200 * 1024 * 1024
    pixel_header = b"\xe0\x7f\x10\x00OW\x00\x00" + size.to_bytes(4, "little")
    chunk = memoryview(bytes(range(256)) * 256)  # 64 KiB, reused
    storage = Storage(out, "bit-preserving", TEMPLATE)  # naming reads the header back, not the pixels
    tracemalloc.start()
    try:
        with storage.open_object(meta_of(ds)) as writer:
            writer.write(head + pixel_header)
            for _ in range(size // len(chunk)):
                writer.write(chunk)
            result = writer.commit()
        streamed_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        copied = Storage(tmp_path / "sandbox", "bit-preserving").store_file(out / result.path, meta_of(ds))  # type: ignore[operator]
        copied_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.path == "PAT1/1.2.3/1.2.3.1/1.2.3.4.dcm" and result.size > size
    assert copied.size == result.size
    assert streamed_peak < 20 * 2**20 and copied_peak < 20 * 2**20, (streamed_peak, copied_peak)
