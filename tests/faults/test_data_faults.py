"""``get`` against peers whose objects are not what they claim (issue 14, items 5 and 6): data sets
cut short, random bytes, trailing garbage, command UIDs that are empty, not UIDs, or disagree with
the data set. On both receive paths and in both storage modes, each test asserts the C-STORE status
the peer saw, what is on disk (names, File Meta, bytes), the lines shown and the exit status.
"""

from __future__ import annotations

import os
import random
import re
import struct
import time
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.filereader import read_file_meta_info
from pydicom.sequence import Sequence
from pydicom.uid import RLELossless
from pynetdicom.sop_class import CTImageStorage, MRImageStorage

from getsh.dicom.events import Received, Remark
from getsh.dicom.storage.checks import check_bytes, check_file, uid_problem
from getsh.dicom.storage.diskio import dataset_offset
from getsh.exitstatus import ExitStatus
from getsh.shell.tables import remarks_line
from tests.faults.bad_objects import Bad, ct, encoded, sends_bad
from tests.faults.fake_peers import UID_ROOT, FakeQR
from tests.faults.test_get_faults import GET, connect, error_lines, everything, start
from tests.shell_driver import Shell

U = f"{UID_ROOT}.14"


@pytest.fixture(autouse=True, params=["direct", "pynetdicom"])
def receive_path(request: pytest.FixtureRequest, shell: Shell) -> str:
    """Every case on both receive paths: getsh's direct one (``receive auto``) and pynetdicom's own."""
    shell.ctx.settings.set("receive", "pynetdicom" if request.param == "pynetdicom" else "auto")
    return str(request.param)


def data_of(path: Path) -> bytes:
    """A stored file's data set bytes (after preamble and File Meta)."""
    return path.read_bytes()[dataset_offset(path) :]


def malformed() -> tuple[list[Dataset | Bad], dict[str, bytes]]:
    """A whole object, one cut in half, random bytes, one with trailing garbage, a whole one; and the
    data set bytes each (by its request's UID) was sent with."""
    whole, last = ct(f"{U}.1"), ct(f"{U}.5")
    cut = encoded(ct(f"{U}.2"))[:2200]  # half of it: the cut falls inside the pixel data
    noise = random.Random(1).randbytes(600)  # pydicom cannot read it either (show)
    tail = encoded(ct(f"{U}.4")) + b"GARBAGE!"
    items: list[Dataset | Bad] = [whole, Bad(CTImageStorage, f"{U}.2", cut), Bad(CTImageStorage, f"{U}.3", noise),
                                  Bad(CTImageStorage, f"{U}.4", tail), last]
    sent = {f"{U}.1": encoded(whole), f"{U}.2": cut, f"{U}.3": noise, f"{U}.4": tail, f"{U}.5": encoded(last)}
    return items, sent


REASONS = {f"{U}.2": "truncated: (7FE0,0010) declares 4,096 bytes, ",
           f"{U}.3": "not a data set: ",
           f"{U}.4": "trailing garbage: (4147,4252) at byte "}


def refused_lines(shown: str) -> list[str]:
    return [line for line in shown.splitlines() if line.startswith("refused ")]


def assert_one_line_each(shown: str) -> None:
    """No traceback, nothing of Python's, anywhere in what was shown."""
    assert "Traceback" not in shown and 'File "' not in shown and "Error:" not in shown, shown


# --- item 5: data sets that are not data sets ----------------------------------------------------

def test_normal_storage_refuses_what_does_not_decode(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    items, _ = malformed()
    peer = start(fake, FakeQR(sends_bad(items)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out)
    status, shown = shell.run(GET)

    assert peer.store_statuses == [0, 0xC210, 0xC210, 0xC210, 0], shown
    assert status is ExitStatus.SUBOPS_FAILED, shown
    assert_one_line_each(shown)
    lines = refused_lines(shown)
    assert len(lines) == 3, shown
    for line, uid in zip(lines, (f"{U}.2", f"{U}.3", f"{U}.4"), strict=True):
        assert line.startswith(f"refused {uid} (0xC210): cannot store {uid}: {REASONS[uid]}"), line
    assert f"why: we refused 3: cannot store {U}.2: truncated: (7FE0,0010) declares 4,096 bytes" in shown
    assert everything(out) == [f"CT.{U}.1", f"CT.{U}.5"]
    for n in (1, 5):
        got = dcmread(out / f"CT.{U}.{n}")
        assert got.SOPInstanceUID == got.file_meta.MediaStorageSOPInstanceUID == f"{U}.{n}"
        assert len(got.PixelData) == 4096


@pytest.mark.parametrize("policy", ["flag", "refuse"])
def test_bit_preserving_storage_checks_the_structure(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                     private_tmp: Path, policy: str) -> None:
    """Flag (the default): the bytes are kept exactly as sent, each marked with its fault in the table,
    counted in the summary, exit status 4. Refuse: 0xC210 and nothing kept, as normal storage does."""
    items, sent = malformed()
    peer = start(fake, FakeQR(sends_bad(items)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, "storage bit-preserving", f"set malformed {policy}")
    status, shown = shell.run(GET)
    assert_one_line_each(shown)
    assert everything(private_tmp) == [], "pynetdicom's spool file was left behind"

    if policy == "refuse":
        assert peer.store_statuses == [0, 0xC210, 0xC210, 0xC210, 0], shown
        assert status is ExitStatus.SUBOPS_FAILED, shown
        for line, uid in zip(refused_lines(shown), (f"{U}.2", f"{U}.3", f"{U}.4"), strict=True):
            assert line.startswith(f"refused {uid} (0xC210): cannot store {uid}: {REASONS[uid]}"), line
        assert everything(out) == [f"CT.{U}.1", f"CT.{U}.5"]
        return

    assert peer.store_statuses == [0] * 5, shown
    assert status is ExitStatus.WARNING, shown
    assert refused_lines(shown) == []
    assert everything(out) == sorted(f"CT.{uid}" for uid in sent)
    for uid, data in sent.items():
        path = out / f"CT.{uid}"
        assert data_of(path) == data  # bit for bit, whatever it is
        meta = read_file_meta_info(path)
        assert meta.MediaStorageSOPInstanceUID == uid and meta.MediaStorageSOPClassUID == CTImageStorage
    rows = {r.sop_instance_uid: r for r in shell.ctx.session.received}
    for uid, kind in ((f"{U}.2", "truncated"), (f"{U}.3", "not a data set"), (f"{U}.4", "trailing garbage")):
        assert [m.kind for m in rows[uid].remarks] == [kind]
        (row,) = [line for line in shown.splitlines() if line.startswith(f"│ {rows[uid].index} │")]
        assert f"written; {kind}" in row, row
    assert not rows[f"{U}.1"].remarks and not rows[f"{U}.5"].remarks
    status, shown_now = shell.run(f"show {rows[f'{U}.3'].index}")  # random bytes: one line, the shell carries on
    assert status is ExitStatus.ERROR, shown_now
    (line,) = shown_now.strip().splitlines()
    assert line.startswith(f"error: cannot read {out / f'CT.{U}.3'}: "), line
    assert re.search(r" — it was kept as received, but not a data set: \([0-9A-F]{4},[0-9A-F]{4}\) at byte 0 ", line)
    assert ("\n3 objects are not well-formed data sets (kept as received: set malformed refuse to refuse them) — "
            "first, #2: kept as received, but truncated: (7FE0,0010) declares 4,096 bytes") in \
        re.sub(r"[ \t]+\n(?!3 objects)", " ", shown), shown  # the line wraps on a 200-column console


def test_the_structure_walk_reads_headers_only(tmp_path: Path) -> None:
    """A 1.5 GB object is walked in milliseconds (a sparse file: its pixel data is never read), and
    sequences and encapsulated pixel data of undefined length are walked to their delimiters."""
    ds = ct(f"{U}.9")
    del ds.PixelData
    head = encoded(ds)
    big = 1536 * 1024 * 1024
    path = tmp_path / "big.dcm"
    with open(path, "wb") as fp:
        fp.write(head + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, big))
        fp.truncate(len(head) + 12 + big)
    began = time.monotonic()
    whole = check_file(path, 0, "1.2.840.10008.1.2.1")
    assert time.monotonic() - began < 1.0
    assert whole.problem == "" and whole.sop_instance_uid == f"{U}.9"
    os.truncate(path, len(head) + 12 + big - 1)
    assert check_file(path, 0, "1.2.840.10008.1.2.1").problem == \
        f"truncated: (7FE0,0010) declares {big:,} bytes, {big - 1:,} remain"

    nested = ct(f"{U}.10")
    item = Dataset()
    item.ReferencedSOPInstanceUID = f"{U}.11"
    inner = Dataset()
    inner.CodeValue = "X"
    item.ConceptNameCodeSequence = Sequence([inner])
    nested.ReferencedImageSequence = Sequence([item, item])
    nested.PixelData = encapsulate([b"\1" * 100, b"\2" * 51 + b"\0"])
    nested["PixelData"].VR = "OB"
    nested["PixelData"].is_undefined_length = True
    nested.file_meta.TransferSyntaxUID = RLELossless
    for implicit in (False, True):
        from pydicom.filebase import DicomBytesIO
        from pydicom.filewriter import write_dataset

        fp = DicomBytesIO()
        fp.is_implicit_VR, fp.is_little_endian = implicit, True
        write_dataset(fp, nested)  # sequences of undefined length, as pydicom writes them
        data = fp.getvalue()
        syntax = "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.5"
        assert check_bytes(data, syntax).problem == "", implicit
        assert check_bytes(data[:-3], syntax).kind == "truncated"
        assert check_bytes(data + b"\0" * 9, syntax).kind == "trailing garbage"
    assert check_bytes(b"", "1.2.840.10008.1.2.1").problem == "not a data set: it is empty"


@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
def test_an_image_cut_at_an_element_boundary_is_kept_and_said_to_lack_pixels(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, private_tmp: Path, storage: str) -> None:
    """A cut that falls between two elements leaves a well-formed data set: nothing to refuse. But an
    image (its IOD makes Pixel Data Type 1) that ends before its pixels is said to, in the table, the
    summary and the exit status — and a non-image without pixels is not."""
    whole = ct(f"{U}.1")
    data = encoded(ct(f"{U}.2"))
    cut = data[: data.index(b"\xe0\x7f\x10\x00")]  # everything before (7FE0,0010)
    report = Dataset()
    report.SOPClassUID, report.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.88.11", f"{U}.3"  # Basic Text SR
    report.PatientID, report.Modality = "FAKE001", "SR"
    items: list[Dataset | Bad] = [whole, Bad(CTImageStorage, f"{U}.2", cut),
                                  Bad("1.2.840.10008.5.1.4.1.1.88.11", f"{U}.3", encoded(report))]
    peer = start(fake, FakeQR(sends_bad(items)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, f"storage {storage}")
    status, shown = shell.run(GET)

    assert peer.store_statuses == [0, 0, 0], shown
    assert status is ExitStatus.WARNING, shown
    flat = " ".join(shown.split())
    assert "1 object is an image without pixel data — first, #2:" in flat, shown
    assert ("an image (CT Image Storage) whose data set ends without pixel data (7FE0,0010): cut short by the "
            "peer?") in flat
    rows = [line for line in shown.splitlines() if "no pixel data" in line]
    assert len(rows) == 1 and rows[0].startswith("│ 2 │"), shown
    assert data_of(out / f"CT.{U}.2") == cut if storage == "bit-preserving" else "PixelData" not in dcmread(
        out / f"CT.{U}.2")
    assert len(list(out.iterdir())) == 3


# --- item 6: UIDs that are not UIDs ----------------------------------------------------------------

def test_the_summary_counts_each_kind_once_per_get() -> None:
    def row(index: int, *kinds: str) -> Received:
        return Received(index, CTImageStorage, f"{U}.{index}", "1.2.840.10008.1.2.1", f"CT.{U}.{index}", "written", 1,
                        remarks=tuple(Remark(k, f"{k} #{index}") for k in kinds))

    assert remarks_line([row(1)]) == ""
    assert remarks_line([row(1), row(2, "UIDs differ"), row(3, "UIDs differ")]) == (
        "2 objects' data sets disagree with their C-STORE requests — first, #2: UIDs differ #2; 'received' marks them")
    assert remarks_line([row(1, "not a UID", "UIDs differ"), row(2, "truncated")]) == (
        "1 object had UIDs that are not valid UIDs, 1 object's data set disagrees with its C-STORE request, 1 object "
        "is not a well-formed data set (kept as received: set malformed refuse to refuse them) — first, #1: "
        "not a UID #1; 'received' marks them")


def test_uid_grammar() -> None:
    assert uid_problem("1.2.840.10008.5.1.4.1.1.2") == "" and uid_problem("0.0") == ""
    assert uid_problem("1.02.3") == uid_problem("1..3") == "an empty component or one with a leading zero"
    assert uid_problem("../../..") == uid_problem("C:") == uid_problem("/abs") == "not digits and dots"
    assert uid_problem("1." * 40) == "80 characters, over 64"
    assert uid_problem("") == "it is empty"


# (request's Affected SOP Instance UID, data set's SOP Instance UID, SOP class of the request; its file name)
ODD_UIDS = [
    (f"{U}.20", f"{U}.21", CTImageStorage, f"CT.{U}.20"),  # the data set names another object
    (f"{U}.22", f"{U}.22", MRImageStorage, f"MR.{U}.22"),  # a CT data set sent as MR
    ("../../..", "../../..", CTImageStorage, "CT..._..___"),
    ("/abs", "/abs", CTImageStorage, "CT._abs"),
    ("..", "..", CTImageStorage, "CT___"),
    ("C:\\x", "C:\\x", CTImageStorage, "CT.C_"),  # a backslash separates values: both paths keep 'C:'
    (f"{U}.023", f"{U}.023", CTImageStorage, f"CT.{U}.023"),
]


@pytest.mark.filterwarnings("ignore:.*VR UI")  # pydicom, on the fake's threads: the values are invalid indeed
@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
def test_uids_that_are_not_uids_are_reported_and_named_alike(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                             storage: str) -> None:
    items: list[Dataset | Bad] = [ct(f"{U}.19")]
    for request_uid, data_uid, sop_class, _ in ODD_UIDS:
        items.append(Bad(sop_class, request_uid, encoded(ct(data_uid))))
    peer = start(fake, FakeQR(sends_bad(items), lenient_uids=True))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, f"storage {storage}")
    status, shown = shell.run(GET)

    assert peer.store_statuses == [0] * len(items), shown
    assert status is ExitStatus.WARNING, shown
    # The same names on both receive paths, in both modes; the File Meta says what the request said.
    assert everything(out) == sorted([f"CT.{U}.19", *(name for *_, name in ODD_UIDS)])
    for request_uid, _, sop_class, name in ODD_UIDS:
        meta = dcmread(out / name, force=True).file_meta
        assert meta.MediaStorageSOPInstanceUID == request_uid.split("\\")[0]
        assert meta.MediaStorageSOPClassUID == sop_class
    kinds = {r.sop_instance_uid: [m.kind for m in r.remarks] for r in shell.ctx.session.received}
    assert kinds == {f"{U}.19": [], f"{U}.20": ["UIDs differ"], f"{U}.22": ["UIDs differ"],
                     "../../..": ["not a UID"], "/abs": ["not a UID"], "..": ["not a UID"],
                     "C:": ["not a UID", "UIDs differ"], f"{U}.023": ["not a UID"]}, kinds
    flat = re.sub(r"\s+", " ", shown)  # the summary line wraps on a 200-column console
    assert ("5 objects had UIDs that are not valid UIDs, 3 objects' data sets disagree with their "
            f"C-STORE requests — first, #2: the data set's SOP Instance UID '{U}.21' differs from the "
            f"request's '{U}.20' (which names the file and its File Meta); 'received' marks them") in flat, shown
    received = shell.ctx.session.received
    class_remark = next(m.text for r in received for m in r.remarks if r.sop_instance_uid == f"{U}.22")
    assert "'1.2.840.10008.5.1.4.1.1.2' (CT Image Storage) differs from the request's " \
           "'1.2.840.10008.5.1.4.1.1.4' (MR Image Storage)" in class_remark
    assert re.search(r"│ \.\./\.\./\.\. +│.*│ written; not a UID", shown), shown  # the table row says it too


@pytest.mark.parametrize("storage", ["normal", "bit-preserving", "ignore"])
def test_an_empty_affected_sop_instance_uid_is_refused(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                       private_tmp: Path, storage: str) -> None:
    items: list[Dataset | Bad] = [ct(f"{U}.30"), Bad(CTImageStorage, "", encoded(ct(f"{U}.31"))), ct(f"{U}.32")]
    peer = start(fake, FakeQR(sends_bad(items)))
    out = tmp_path / "out"
    out.mkdir()
    # Bounded: before, pynetdicom's reader thread died on this request (bit-preserving) and the get hung.
    connect(shell, peer, out, f"storage {storage}", "set dimse-timeout 10")
    assoc = shell.ctx.session.link.assoc
    status, shown = shell.run(GET)

    assert peer.store_statuses == [0, 0xC000, 0], shown
    assert status is ExitStatus.SUBOPS_FAILED, shown
    assert refused_lines(shown) == [
        "refused an object without a SOP Instance UID (0xC000): the C-STORE request's Affected SOP Instance UID "
        "is empty: nothing identifies the object"], shown
    assert error_lines(shown) == []
    assert everything(out) == ([] if storage == "ignore" else [f"CT.{U}.30", f"CT.{U}.32"])  # no CT.unknown, CT.None
    assert everything(private_tmp) == []
    status, shown = shell.run("echo")  # the same association carries on
    assert status is ExitStatus.SUCCESS and shell.ctx.session.link.assoc is assoc, shown
