"""``get`` against peers that misbehave: they abort mid-retrieve, send hostile SOP Instance UIDs,
stall, or send more than the disk holds.

Each test asserts what the user sees (one precise line, the exit status), what is on disk (the
objects that arrived, complete; nothing partial; nothing outside the output directory), and that
the shell carries on (the next command works, re-associating when it must).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread

from getsh.exitstatus import ExitStatus
from tests.faults.fake_peers import FakeQR, make_objects, sends, sends_partial_data, sends_raw_after, stalls
from tests.shell_driver import Shell

GET = "get QueryRetrieveLevel=PATIENT PatientID=FAKE001"
LAYOUT = "{PatientID}/{SOPInstanceUID}.dcm"


def start(fakes: list[FakeQR], peer: FakeQR) -> FakeQR:
    fakes.append(peer)
    peer.start()
    return peer


def connect(shell: Shell, peer: FakeQR, out: Path, *settings: str) -> None:
    status, shown = shell.run("; ".join([*settings, f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title}",
                                         f"output {out}"]))
    assert status is ExitStatus.SUCCESS, shown


def everything(root: Path) -> list[str]:
    """Every path below root, hidden ones included, relative and sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def assert_complete(out: Path, sent: list[Dataset]) -> None:
    """Exactly ``sent`` is on disk, each file whole, and nothing else (no partial, no hidden file)."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or "partial" in p.name], everything(out)
    assert len(files) == len(sent), everything(out)
    by_uid = {str(ds.SOPInstanceUID): ds for ds in sent}
    for path in files:
        got = dcmread(path)
        held = by_uid.pop(str(got.SOPInstanceUID))
        assert got.PixelData == held.PixelData and got.PatientID == held.PatientID
        assert got.file_meta.MediaStorageSOPInstanceUID == held.SOPInstanceUID
    assert not by_uid


@pytest.fixture(autouse=True, params=["direct", "pynetdicom"])
def receive_path(request: pytest.FixtureRequest, shell: Shell) -> str:
    """Every fault, on both receive paths: getsh's direct one (the default, ``receive auto``) and
    pynetdicom's own (debug logging, ``receive pynetdicom``)."""
    shell.ctx.settings.set("receive", "pynetdicom" if request.param == "pynetdicom" else "auto")
    return str(request.param)


def error_lines(shown: str) -> list[str]:
    return [line for line in shown.splitlines() if line.startswith("error:")]


# --- 1. the peer aborts in the middle of a get -------------------------------------------------

@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
@pytest.mark.parametrize(("how", "words"), [
    ("abort_after", "aborted by the peer (service user)"),
    ("close_after", "the peer closed the connection"),
])
def test_peer_aborts_mid_get(shell: Shell, fake: list[FakeQR], tmp_path: Path, private_tmp: Path,
                             storage: str, how: str, words: str) -> None:
    objects = make_objects(6)
    peer = start(fake, FakeQR(sends(objects, **{how: 3})))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, f"storage {storage}")
    assoc = shell.ctx.session.link.assoc

    status, shown = shell.run(GET)

    assert status is ExitStatus.NETWORK, shown
    (line,) = error_lines(shown)
    assert re.fullmatch(
        rf"error: C-GET: {re.escape(words)} after \d+\.\d s, before the final response; "
        r"3 objects received before that were kept — the next command re-associates", line), line
    assert_complete(out, objects[:3])
    assert [r.sop_instance_uid for r in shell.ctx.session.received] == [ds.SOPInstanceUID for ds in objects[:3]]
    assert everything(private_tmp) == []
    assert assoc is not None and not assoc.is_established

    again = tmp_path / "again"
    again.mkdir()
    status, shown = shell.run(f"output {again}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    assert "associated with FAKE-QR" in shown and "the peer closed" not in shown  # re-associated, quietly
    assert shell.ctx.session.link.assoc is not assoc and peer.associations == 2
    assert_complete(again, objects)


@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
def test_peer_aborts_half_way_through_an_objects_data(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                      private_tmp: Path, storage: str) -> None:
    """The worst moment: the C-STORE's data set is half-sent when the peer aborts."""
    objects = make_objects(3)
    peer = start(fake, FakeQR(sends_partial_data(objects[:2], objects[2], then="abort")))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, f"storage {storage}")
    status, shown = shell.run(GET)
    assert status is ExitStatus.NETWORK, shown
    assert "aborted by the peer (service user)" in shown and "2 objects received before that were kept" in shown
    assert_complete(out, objects[:2])
    assert everything(private_tmp) == [], "pynetdicom's spool file of the half object was left behind"


# --- 2. hostile SOP Instance UIDs ----------------------------------------------------------------

def hostile_objects(token: str) -> list[Dataset]:
    """SOP Instance UIDs (command and data set alike) and Patient IDs built to escape a directory.

    A backslash is DICOM's value separator: in a UID it makes a multi-valued element, of which
    pynetdicom keeps the first value (``..``, tried on its own); it is tried in a Patient ID. UIDs over
    64 characters cannot reach storage at all (next test); the 300-character Patient ID can."""
    uids = [f"../../../../tmp/getsh-evil-{token}", "1.2.3/../../../x", f"/tmp/getsh-abs-{token}",
            f"1.2.3\x00/../../{token}", "..", ".", "9" * 64, f"//{token}/x"]
    patients = ["../" * 100, f"/tmp/getsh-pid-{token}", "..", "a/../../b", f"x\x00/../{token}", "..\\..\\x",
                "COM1", "."]
    objects = make_objects(len(uids))
    for ds, uid, patient in zip(objects, uids, patients, strict=True):
        ds.SOPInstanceUID, ds.PatientID = uid, patient
    return objects


@pytest.mark.filterwarnings("ignore:.*VR (UI|LO)")  # pydicom, on several threads: the values are invalid indeed
@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
@pytest.mark.parametrize("layout", ["getscu", LAYOUT])
def test_hostile_uids_stay_inside_the_output_directory(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                       storage: str, layout: str) -> None:
    token = uuid.uuid4().hex[:12]
    objects = hostile_objects(token)
    peer = start(fake, FakeQR(sends(objects), lenient_uids=True))
    out = tmp_path / "one" / "two" / "out"
    out.mkdir(parents=True)
    connect(shell, peer, out, f"storage {storage}", f"layout {layout}")
    status, shown = shell.run(GET)

    assert status is ExitStatus.WARNING, shown  # stored, and reported: all but '9'*64 are not UIDs
    assert "7 objects had UIDs that are not valid UIDs — first, #1: the request's SOP Instance UID " \
           f"'../../../../tmp/getsh-evil-{token}' is not a valid UID (not digits and dots)" in shown, shown
    assert peer.store_statuses == [0] * len(objects)
    # Nothing outside: the parents hold only the way down, and no absolute path was created.
    assert everything(tmp_path) == ["one", "one/two", "one/two/out"] + [f"one/two/out/{p}" for p in everything(out)]
    for absolute in (f"/tmp/getsh-evil-{token}", f"/tmp/getsh-abs-{token}", f"/tmp/getsh-pid-{token}", f"/{token}"):
        assert not os.path.lexists(absolute)
    assert not [p for p in Path("/tmp").iterdir() if token in p.name]
    # Each object is in a file of its own with a clean name, and its content is what was sent.
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == len(objects)
    for path in out.rglob("*"):
        name = path.name
        assert name not in (".", "..") and not name.startswith(".") and "\0" not in name and "\\" not in name
        assert len(name.encode()) <= 255 and path.resolve().is_relative_to(out.resolve())
    got = {str(dcmread(p).SOPInstanceUID) for p in files}
    assert got == {str(ds.SOPInstanceUID) for ds in objects}
    if layout == LAYOUT:
        assert len({p.parent for p in files}) > 1 and all(p.name.endswith("dcm") for p in files)
    rows = shell.ctx.session.received
    assert all(r.path and (out / r.path).is_file() for r in rows)


@pytest.mark.filterwarnings("ignore:.*VR UI")
def test_a_300_character_uid_is_refused_by_the_protocol_layer(shell: Shell, fake: list[FakeQR],
                                                              tmp_path: Path) -> None:
    """UIDs longer than 64 characters never reach storage: pynetdicom rejects the message and aborts;
    getsh says so, keeps what came before, and carries on."""
    objects = make_objects(3)
    objects[1].SOPInstanceUID = "1." + "../" * 100
    peer = start(fake, FakeQR(sends(objects), lenient_uids=True))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out)
    status, shown = shell.run(GET)
    assert status is ExitStatus.NETWORK, shown
    (line,) = error_lines(shown)
    assert line.startswith("error: C-GET: the peer sent an invalid DIMSE message: Invalid 'Affected SOP Instance "
                           "UID' value '1.../../"), line
    assert line.endswith("; 1 object received before that was kept — the peer is at fault: check its log"), line
    assert everything(tmp_path) == ["out", f"out/CT.{objects[0].SOPInstanceUID}"]
    assert_complete(out, objects[:1])
    status, shown = shell.run("echo")
    assert status is ExitStatus.SUCCESS and "associated with FAKE-QR" in shown, shown


@pytest.mark.parametrize(("raw", "why"), [
    (b"\x09\x00\x00\x00\x00\x02ab", "a PDU of unknown type 0x09"),
    (b"\x02\x00\x00\x00\x00\x02ab", "an A-ASSOCIATE-AC PDU in the middle of a C-GET"),
    (b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x09\x01\x03",
     "an invalid P-DATA-TF PDU: a PDV item's length (9) does not fit"),
])
def test_a_pdu_no_peer_should_send_ends_the_get_with_a_diagnosis(
        shell: Shell, fake: list[FakeQR], tmp_path: Path, receive_path: str, raw: bytes, why: str) -> None:
    objects = make_objects(3)
    peer = start(fake, FakeQR(sends_raw_after(objects[:2], raw)))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, "set dimse-timeout 5")
    began = time.monotonic()
    status, shown = shell.run(GET)
    assert status is ExitStatus.NETWORK, shown
    assert time.monotonic() - began < 4.5  # the diagnosis, not the DIMSE timeout
    (line,) = error_lines(shown)
    assert "2 objects received before that were kept" in line, line
    if receive_path == "direct":  # pynetdicom's own path says only that it aborted
        assert line.startswith(f"error: C-GET: the peer sent {why}"), line
    assert_complete(out, objects[:2])
    status, shown = shell.run("echo")
    assert status is ExitStatus.SUCCESS and "associated with FAKE-QR" in shown, shown


# --- 3. the peer stalls -----------------------------------------------------------------------

@pytest.mark.parametrize("before", [0, 2])
def test_a_stalled_peer_is_named_after_the_dimse_timeout(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                         before: int) -> None:
    objects = make_objects(4)
    script = stalls() if before == 0 else sends(objects, stall_after=before)
    peer = start(fake, FakeQR(script))
    connect(shell, peer, tmp_path, "set dimse-timeout 2")
    began = time.monotonic()
    status, shown = shell.run(GET)
    took = time.monotonic() - began
    assert status is ExitStatus.NETWORK, shown
    assert 1.9 <= took < 4.5, took
    (line,) = error_lines(shown)
    kept = f"; {before} objects received before that were kept" if before else ""
    assert line == (f"error: C-GET: no response within 2 s (dimse-timeout); the association was aborted{kept}"
                    " — check the peer, or raise the limit: set dimse-timeout SECONDS")
    assert_complete(tmp_path, objects[:before])
    status, shown = shell.run("echo")
    assert status is ExitStatus.SUCCESS, shown
    assert "associated with FAKE-QR" in shown and "closed the connection" not in shown


@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
def test_a_peer_that_stalls_inside_an_objects_data(shell: Shell, fake: list[FakeQR], tmp_path: Path,
                                                   private_tmp: Path, storage: str) -> None:
    """A C-STORE whose data set stops half-way (a P-DATA fragment that says more follows): the DIMSE
    timeout still fires, and the half object leaves nothing behind."""
    objects = make_objects(3)
    peer = start(fake, FakeQR(sends_partial_data(objects[:2], objects[2])))
    out = tmp_path / "out"
    out.mkdir()
    connect(shell, peer, out, "set dimse-timeout 1", f"storage {storage}")
    began = time.monotonic()
    status, shown = shell.run(GET)
    assert status is ExitStatus.NETWORK, shown
    assert 0.9 <= time.monotonic() - began < 3.5
    assert "no response within 1 s (dimse-timeout)" in shown and "2 objects received before that were kept" in shown
    assert_complete(out, objects[:2])
    assert everything(private_tmp) == [], "pynetdicom's spool file of the half object was left behind"


def test_a_slow_peer_within_the_timeout_is_not_a_stall(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    """The DIMSE timeout is per message, not for the whole retrieve."""
    objects = make_objects(5)
    peer = start(fake, FakeQR(sends(objects, delay=0.4)))
    connect(shell, peer, tmp_path, "set dimse-timeout 1")
    status, shown = shell.run(GET)
    assert status is ExitStatus.SUCCESS, shown
    assert_complete(tmp_path, objects)


# --- 4. a write fails ---------------------------------------------------------------------------

@contextlib.contextmanager
def small_disk(path: Path, free: int) -> Iterator[Path]:
    """A private tmpfs at ``path`` with about ``free`` bytes left; skips where mounting is not allowed."""
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command")
    path.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([mount, "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): {run.stderr.strip()}")
    try:
        filler = path / "filler"  # named so the output directory, a sibling, is the only thing we look at
        stat = os.statvfs(path)
        filler.write_bytes(b"\0" * max(stat.f_bavail * stat.f_frsize - free, 0))
        (path / "out").mkdir()
        yield path / "out"
    finally:
        subprocess.run([mount.replace("mount", "umount"), "-l", str(path)], check=False)


@pytest.mark.parametrize("storage", ["normal", "bit-preserving"])
def test_disk_full_mid_retrieve_refuses_the_rest_and_keeps_the_association(
    shell: Shell, fake: list[FakeQR], tmp_path: Path, storage: str,
) -> None:
    objects = make_objects(8, pixels=20_000)  # ~20 KB files: 3 fit in 64 KB of a tmpfs with 4 KB pages
    peer = start(fake, FakeQR(sends(objects)))
    with small_disk(tmp_path / "disk", 64 * 1024) as out:
        connect(shell, peer, out, f"storage {storage}")
        assoc = shell.ctx.session.link.assoc
        status, shown = shell.run(GET)

        stored = [s for s in peer.store_statuses if s == 0]
        assert 0 < len(stored) < len(objects), shown
        assert peer.store_statuses == [0] * len(stored) + [0xA700] * (len(objects) - len(stored))
        assert status is ExitStatus.SUBOPS_FAILED, shown  # the peer answered 0xB000: some failed
        assert "C-GET Warning" in shown and "(0xB000)" in shown
        assert f"sub-operations: {len(stored)} completed, {len(objects) - len(stored)} failed" in shown
        refused = objects[len(stored):]
        for ds in refused:
            assert f"refused {ds.SOPInstanceUID} (0xA700): cannot store {ds.SOPInstanceUID}: no space left in {out}" \
                in shown
        assert f"why: we refused {len(refused)}: cannot store {refused[0].SOPInstanceUID}: no space left" in shown
        assert_complete(out, objects[: len(stored)])

        assert shell.ctx.session.link.assoc is assoc and assoc is not None and assoc.is_established
        (out.parent / "filler").unlink()
        status, shown = shell.run(GET)
        assert status is ExitStatus.SUCCESS, shown
        assert shell.ctx.session.link.assoc is assoc and "associated" not in shown
        assert "renamed" in shown  # the ones already stored were taken: rename, never overwrite


def test_nothing_fits_the_peer_says_failure(shell: Shell, fake: list[FakeQR], tmp_path: Path) -> None:
    objects = make_objects(3, pixels=20_000)
    peer = start(fake, FakeQR(sends(objects)))
    with small_disk(tmp_path / "disk", 0) as out:
        connect(shell, peer, out)
        status, shown = shell.run(GET)
        assert peer.store_statuses == [0xA700] * 3
        assert status is ExitStatus.FAILURE, shown  # 0xA702: every sub-operation failed
        assert "(0xA702)" in shown and "why: we refused 3: cannot store" in shown
        assert everything(out) == []
        assert shell.ctx.session.link.is_open


def test_disk_full_against_dcmqrscp(shell: Shell, dcmqrscp, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A real peer's view of our refusals: dcmqrscp counts them as failed and says Warning."""
    series = [e for e in archive if e.patient_id == "DEMO001" and e.modality == "CT"]
    half = sum(e.path.stat().st_size for e in series) // 2
    with small_disk(tmp_path / "disk", half) as out:
        connect(shell, dcmqrscp, out, "model study")
        assoc = shell.ctx.session.link.assoc
        status, shown = shell.run(f"get QueryRetrieveLevel=SERIES StudyInstanceUID={series[0].study_uid} "
                                  f"SeriesInstanceUID={series[0].series_uid}")
        received = shell.ctx.session.received
        assert 0 < len(received) < len(series), shown
        assert status is ExitStatus.SUBOPS_FAILED, shown
        assert "(0xB000)" in shown and f"{len(series) - len(received)} failed" in shown
        assert "no space left" in shown
        files = [p for p in out.rglob("*") if p.is_file()]
        assert {str(dcmread(p).SOPInstanceUID) for p in files} == {r.sop_instance_uid for r in received}
        assert not [p for p in out.rglob(".*")]
        assert shell.ctx.session.link.assoc is assoc and assoc.is_established
