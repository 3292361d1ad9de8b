"""``parallel N``: one get spread over several associations (issue 17), against real peers.

What a user gets must not depend on N: the same files under the same names with the same bytes,
the same objects in the ``received`` table, one summary whose per-association counts add up, and the
exit status of a serial get. And when it does not go smoothly: Ctrl-C leaves whole files and a true
summary, a peer that refuses extra associations or answers no C-FIND still gets the retrieve done, a
share the archive fails whole is retried smaller, a limit stops every association, and ``expect``
checks a spread get in a script as it checks a serial one.

The data is small (3 series of 12 tiny objects): plans of 5 shares (8 UIDs each at first), so N = 4
is really spread. The slow link for Ctrl-C is scripts/latency_relay.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_ROOT_UID, ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from getsh.dicom.demo.server import DemoServer
from getsh.dicom.events import GetProgress, Received
from getsh.exitstatus import ExitStatus
from scripts.latency_relay import LatencyRelay
from tests.conftest import peer_missing
from tests.peers import Dcmqrscp, Orthanc, PeerUnavailable
from tests.shell_driver import Shell, run_getsh

pytestmark = pytest.mark.interop

SERIES, PER_SERIES = 3, 12
WIDE = 1000  # the received table's UIDs whole, one row a line
UID_RE = r"[0-9]+(?:\.[0-9]+)+"


def _uid(*labels: object) -> str:
    return str(generate_uid(prefix=PYDICOM_ROOT_UID, entropy_srcs=["getsh-test-parallel", *map(str, labels)]))


@dataclass(frozen=True)
class Study:
    uid: str
    series: tuple[str, ...]
    instances: dict[str, tuple[str, ...]]  # series UID → its SOP Instance UIDs, in order
    files: dict[str, Path]  # SOP Instance UID → the source file

    def get(self) -> str:
        return f"get --exact QueryRetrieveLevel=STUDY StudyInstanceUID={self.uid}"


def write_study(folder: Path) -> Study:
    """SERIES × PER_SERIES small Secondary Capture objects of one study, each with its own pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    study = _uid("study")
    series = tuple(_uid("series", s) for s in range(SERIES))
    instances: dict[str, tuple[str, ...]] = {}
    files: dict[str, Path] = {}
    for s, series_uid in enumerate(series):
        instances[series_uid] = tuple(_uid("instance", s, i) for i in range(PER_SERIES))
        for i, sop_uid in enumerate(instances[series_uid]):
            ds = Dataset()
            ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, sop_uid
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series_uid
            ds.PatientName, ds.PatientID = "PARALLEL^TEST", "PAR001"
            ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20250101", "120000", "1", "PAR1"
            ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.ConversionType = "OT", s + 1, i + 1, "WSD"
            ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns = 1, "MONOCHROME2", 16, 16
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
            ds.PixelData = bytes((s * 31 + i * 7 + k) % 256 for k in range(256))
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, sop_uid
            files[sop_uid] = folder / f"s{s}_{i:02d}.dcm"
            dcmwrite(files[sop_uid], ds, enforce_file_format=True)
    return Study(study, series, instances, files)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return write_study(tmp_path_factory.mktemp("parallel-study"))


def _running(peer: Any) -> Any:
    try:
        peer.start()
    except PeerUnavailable as exc:
        peer_missing(str(exc))
    return peer


@pytest.fixture(scope="module")
def qr(study: Study, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dcmqrscp]:
    peer = _running(Dcmqrscp(study.files.values(), workdir=tmp_path_factory.mktemp("parallel-qr")))
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="module")
def orthanc_study(study: Study, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    peer = _running(Orthanc(study.files.values(), workdir=tmp_path_factory.mktemp("parallel-orthanc")))
    try:
        yield peer
    finally:
        peer.stop(timeout=0)


@dataclass(frozen=True)
class Target:
    """A peer and one request of it: how to connect, what to ask, and which source files it brings."""

    connect: str
    get: str
    files: dict[str, Path]


def target(request: pytest.FixtureRequest, name: str) -> Target:
    if name == "demo":  # patient root, from the PATIENT level down: C-FIND of studies, series, instances
        demo: DemoServer = request.getfixturevalue("demo_server")
        held = {e.sop_instance_uid: e.path for e in demo.entries if e.patient_id == "DEMO001"}
        return Target(f"connect 127.0.0.1 {demo.port} --aec {demo.ae_title}",
                      "get --exact QueryRetrieveLevel=PATIENT PatientID=DEMO001", held)
    data: Study = request.getfixturevalue("study")
    peer = request.getfixturevalue({"dcmqrscp": "qr", "orthanc": "orthanc_study"}[name])
    return Target(f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title}; set model study", data.get(), data.files)


@pytest.fixture
def shells() -> Iterator[list[Shell]]:
    """Shells a test opens (each a session of its own, wide enough for whole UIDs); all closed after."""
    opened: list[Shell] = []
    try:
        yield opened
    finally:
        for shell in opened:
            shell.close()


def session(shells: list[Shell], connect: str, out: Path, *settings: str) -> Shell:
    shell = Shell(width=WIDE)
    shells.append(shell)
    out.mkdir(parents=True, exist_ok=True)
    status, shown = shell.run("; ".join([connect, f"output {out}", *settings]))
    assert status is ExitStatus.SUCCESS, shown
    return shell


def files_in(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` by its relative name, with its bytes (hidden ones too: none may be left)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def table_uids(shell: Shell) -> list[str]:
    """The SOP Instance UID column of the ``received`` table, in its order (its # column 1, 2, 3 …)."""
    status, shown = shell.run("received --raw")
    assert status is ExitStatus.SUCCESS, shown
    header = next(line for line in shown.splitlines() if line.startswith("┃"))
    names = [cell.strip() for cell in header.strip("┃").split("┃")]
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in shown.splitlines()
            if line.startswith("│")]
    assert [row[names.index("#")] for row in rows] == [str(n) for n in range(1, len(rows) + 1)], shown
    return [row[names.index("SOP Instance UID")] for row in rows]


def spread_counts(shown: str) -> tuple[int, list[int]]:
    """The summary's "spread over N associations" line: N and the objects of each association."""
    flat = " ".join(shown.split())
    found = re.search(r"spread over (\d+) associations?: .*?C-GETs?; (.*?)(?: parallel:|$)", flat)
    assert found, shown
    lanes = re.findall(r"#(\d+) (\d+) objects?", found[2])
    assert [int(n) for n, _ in lanes] == list(range(1, int(found[1]) + 1)), shown
    return int(found[1]), [int(count) for _, count in lanes]


def received_line(shown: str) -> int:
    found = re.search(r"\breceived (\d+) objects?, ", shown)
    assert found, shown
    return int(found[1])


def dataset_bytes(path: Path) -> bytes:
    """The data set of a Part 10 file, after its File Meta Information (what bit-preserving keeps)."""
    raw = path.read_bytes()
    meta_length = int.from_bytes(raw[140:144], "little")  # (0002,0000) UL, right after DICM
    assert raw[128:132] == b"DICM" and raw[132:140] == b"\x02\x00\x00\x00UL\x04\x00"
    return raw[144 + meta_length:]


def same_as_source(out: Path, files: dict[str, Path]) -> list[str]:
    """Every file parses, is one of the source objects, and holds its data set byte for byte; their UIDs."""
    uids = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        uid = str(dcmread(path).SOPInstanceUID)
        assert dataset_bytes(path) == dataset_bytes(files[uid]), path
        uids.append(uid)
    return uids


# --- the same result, whatever N -------------------------------------------------------------------

MODES = {1: "normal", 2: "bit-preserving", 4: "normal"}


@pytest.mark.parametrize("n", [1, 2, 4])
@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc", "demo"])
def test_a_parallel_get_gives_what_a_serial_one_gives(request: pytest.FixtureRequest, shells: list[Shell], peer: str,
                                                      n: int, tmp_path: Path) -> None:
    """Against each peer, N = 1, 2, 4 (bit-preserving at 2, normal otherwise): the same names and bytes
    as a serial get of the same request into another directory, the same objects in the table, a
    summary whose associations add up, exit status 0."""
    to = target(request, peer)
    mode = f"storage {MODES[n]}"
    serial = session(shells, to.connect, tmp_path / "serial", mode, "set parallel 1")
    status, shown = serial.run(to.get)
    assert status is ExitStatus.SUCCESS and "spread over" not in shown, shown
    spread = session(shells, to.connect, tmp_path / "spread", mode, f"set parallel {n}")
    status, shown = spread.run(to.get)
    assert status is ExitStatus.SUCCESS, shown

    expected = files_in(tmp_path / "serial")
    assert len(expected) == len(to.files)
    assert files_in(tmp_path / "spread") == expected  # names and bytes
    assert sorted(same_as_source(tmp_path / "spread", to.files)) == sorted(to.files)
    assert sorted(table_uids(spread)) == sorted(table_uids(serial)) == sorted(to.files)
    assert received_line(shown) == len(to.files)
    if n == 1:
        assert "spread over" not in shown
    else:
        associations, counts = spread_counts(shown)
        assert associations == n and sum(counts) == len(to.files), shown
        assert "parallel:" not in shown and "not all retrieved" not in shown, shown


@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc"])
@pytest.mark.parametrize("level", ["SERIES", "IMAGE"])
def test_a_series_and_a_list_of_instances_spread(request: pytest.FixtureRequest, shells: list[Shell], study: Study,
                                                 peer: str, level: str, tmp_path: Path) -> None:
    """One series (12 objects: a C-FIND of its instances, two shares), and ten SOP Instance UIDs given
    at IMAGE level (no C-FIND: the list is cut as it is), with N = 2 and 4: what a serial get brings."""
    to = target(request, peer)
    series = study.series[1]
    if level == "SERIES":
        wanted = study.instances[series]
        get = f"get --exact QueryRetrieveLevel=SERIES StudyInstanceUID={study.uid} SeriesInstanceUID={series}"
        n = 2
    else:
        wanted = study.instances[series][1:11]
        listed = "\\".join(wanted)
        get = (f"get --exact QueryRetrieveLevel=IMAGE StudyInstanceUID={study.uid} SeriesInstanceUID={series} "
               f"SOPInstanceUID={listed}")
        n = 4
    serial = session(shells, to.connect, tmp_path / "serial", "set parallel 1")
    status, shown = serial.run(get)
    assert status is ExitStatus.SUCCESS, shown
    spread = session(shells, to.connect, tmp_path / "spread", f"set parallel {n}")
    status, shown = spread.run(get)
    assert status is ExitStatus.SUCCESS, shown
    assert files_in(tmp_path / "spread") == files_in(tmp_path / "serial")
    assert sorted(same_as_source(tmp_path / "spread", to.files)) == sorted(wanted)
    assert sorted(table_uids(spread)) == sorted(wanted)
    associations, counts = spread_counts(shown)
    assert associations >= 2 and sum(counts) == len(wanted), shown
    source = "a C-FIND listed" if level == "SERIES" else "the request listed"  # a list given: no C-FIND
    listed = re.search(rf"spread over \d+ associations: (\d+) SOP instances {source}", " ".join(shown.split()))
    assert listed and int(listed[1]) == len(wanted), shown


# --- Ctrl-C, a refused association, no C-FIND, a share failed whole, a limit -------------------------

def interrupt_once(shell: Shell, kind: type, after: int) -> None:
    """Ctrl-C (as the runner throws it in) while the shell draws the first ``kind`` event that comes
    once ``after`` objects have arrived."""
    show, received, pressed = shell.runner.renderer.show, [0], [False]

    def drawing(obj: object) -> None:
        show(obj)
        received[0] += isinstance(obj, Received)
        if isinstance(obj, kind) and received[0] >= after and not pressed[0]:
            pressed[0] = True
            raise KeyboardInterrupt

    shell.runner.renderer.show = drawing  # type: ignore[method-assign]


@pytest.mark.parametrize("drawn", [Received, GetProgress])
def test_ctrl_c_with_4_associations_leaves_whole_files_and_a_true_summary(
        shells: list[Shell], qr: Dcmqrscp, study: Study, drawn: type, tmp_path: Path) -> None:
    """Through a 20 ms link (each object a round trip), Ctrl-C while the 6th object — or the progress
    line after it — is drawn: every running C-GET is cancelled, every file on disk is whole and one of
    the archive's objects, no partial file is left, and the summary counts exactly what is on disk."""
    out = tmp_path / "out"
    with LatencyRelay(("127.0.0.1", qr.port), rtt_ms=20) as relay:
        # cancel-grace 1: dcmqrscp 3.6.7 now and then never answers a C-GET that a C-CANCEL follows
        # at once (its log shows neither); that association is aborted after the grace, and said so.
        shell = session(shells, f"connect 127.0.0.1 {relay.port} --aec {qr.ae_title}; set model study", out,
                        "storage bit-preserving", "set parallel 4", "set cancel-grace 1")
        interrupt_once(shell, drawn, 6)
        status, shown = shell.run(study.get())
        assert status is ExitStatus.WARNING, shown  # cancelled: not a complete retrieve
        flat = " ".join(shown.split())
        assert re.search(r"C-CANCEL sent on [1-4] associations?: waiting for their final responses", flat), shown
        assert "cancelled at your request" in flat, shown
        on_disk = same_as_source(out, study.files)
        assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no .getsh-*.partial left
        assert 0 < len(on_disk) < len(study.files)
        assert received_line(shown) == len(on_disk) == len(set(on_disk))
        assert sorted(table_uids(shell)) == sorted(on_disk)
        _, counts = spread_counts(shown)
        assert sum(counts) == len(on_disk), shown
        # a share's counts that do not add up (an object in flight at its C-CANCEL) say whose they are
        assert all(re.match(r"counts do not add up: on association [1-4]: ", line)
                   for line in shown.splitlines() if line.startswith("counts do not add up")), shown

        del shell.runner.renderer.show  # no more Ctrl-C: the session goes on, and gets the rest
        status, shown = shell.run("set existing keep; " + study.get())
        assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(out, study.files)) == sorted(study.files)


def test_ctrl_c_in_a_real_terminal_cancels_every_association(qr: Dcmqrscp, study: Study, tmp_path: Path) -> None:
    """C-c in tmux (a real SIGINT, taken by the retrieve's own loop) with 4 associations over a 20 ms
    link: the get is cancelled, the summary counts what is on disk, all of it whole, and the shell
    carries on."""
    from tests.interop.test_cancel import until
    from tests.repl.test_pty import start_terminal

    out = tmp_path / "out"
    out.mkdir()
    with LatencyRelay(("127.0.0.1", qr.port), rtt_ms=20) as relay:
        term = start_terminal(tmp_path, "")
        try:
            term.wait_for("getsh>", timeout=20)
            term.keys(f"output {out}; set model study; storage bit-preserving; set parallel 4; set cancel-grace 1; "
                      f"connect 127.0.0.1 {relay.port} --aec {qr.ae_title}", "Enter")
            term.wait_for("associated with")
            term.keys(study.get(), "Enter", pause=0)
            until(lambda: len(list(out.iterdir())) >= 6, "six objects on disk", term.screen, 20)
            term.keys("C-c")
            term.wait_for("spread over", timeout=15)
            time.sleep(0.5)
            shown = " ".join(term.screen(history=True).split())
            assert re.search(r"C-CANCEL sent on [1-4] associations?", shown), shown
            assert "cancelled at your request" in shown, shown
            on_disk = same_as_source(out, study.files)
            assert 0 < len(on_disk) < len(study.files)
            assert received_line(shown) == len(on_disk), shown
            assert not [p for p in out.rglob("*") if p.name.startswith(".")]
            term.keys("echo", "Enter")
            term.wait_for("C-ECHO Success")
        finally:
            term.close()


def test_parallel_auto_spreads_over_a_slow_link(shells: list[Shell], qr: Dcmqrscp, study: Study,
                                               tmp_path: Path) -> None:
    """parallel auto measures the round trip with a C-ECHO: over a 20 ms link it spreads over up to 8
    associations (one per share planned: 6 shares of 8 and 4 here) and brings what a serial get brings. (On loopback it
    should stay serial under 1 ms, but what pynetdicom adds to a C-ECHO is 2-3 ms there: not asserted.)"""
    serial = session(shells, f"connect 127.0.0.1 {qr.port} --aec {qr.ae_title}; set model study", tmp_path / "serial")
    status, shown = serial.run(study.get())
    assert status is ExitStatus.SUCCESS, shown
    with LatencyRelay(("127.0.0.1", qr.port), rtt_ms=20) as relay:
        slow = session(shells, f"connect 127.0.0.1 {relay.port} --aec {qr.ae_title}; set model study",
                       tmp_path / "slow", "set parallel auto")
        status, shown = slow.run(study.get())
    assert status is ExitStatus.SUCCESS, shown
    associations, counts = spread_counts(shown)
    assert 4 < associations <= 8 and sum(counts) == len(study.files), shown  # 8 at 20 ms; 4 would be < 10 ms
    assert files_in(tmp_path / "slow") == files_in(tmp_path / "serial")


def test_a_peer_that_refuses_the_third_association_still_gives_everything(
        make_dcmqrscp: Any, shells: list[Shell], study: Study, tmp_path: Path) -> None:
    """dcmqrscp with MaxAssociations 2: with N = 4 two of the three extra associations (opened at
    once: which two varies) are rejected (local limit exceeded); one line names each, and the other
    two bring every object."""
    peer = make_dcmqrscp(study.files.values(), max_associations=2)
    out = tmp_path / "out"
    # the model first: a re-association would leave dcmqrscp counting the old one a moment longer
    shell = session(shells, f"set model study; connect 127.0.0.1 {peer.port} --aec {peer.ae_title}", out,
                    "set parallel 4")
    status, shown = shell.run(study.get())
    assert status is ExitStatus.SUCCESS, shown
    assert sorted(same_as_source(out, study.files)) == sorted(study.files)
    flat = " ".join(shown.split())
    refused = re.findall(r"association (\d+) could not be opened \(association rejected .{0,80}?local limit exceeded",
                         flat)
    assert len(set(refused)) == len(refused) == 2 and set(refused) <= {"2", "3", "4"}, shown
    associations, counts = spread_counts(shown)
    assert associations == 4 and sum(counts) == len(study.files), shown
    assert all(counts[int(number) - 1] == 0 for number in refused), shown


def test_a_peer_without_c_find_is_retrieved_on_one_association(make_demo_server: Any, shells: list[Shell],
                                                                tmp_path: Path) -> None:
    """No C-FIND context to plan with: the get goes serial, and a note says why."""
    demo = make_demo_server(offer_find=False)
    held = {e.sop_instance_uid: e.path for e in demo.entries if e.patient_id == "DEMO001"}
    out = tmp_path / "out"
    shell = session(shells, f"connect 127.0.0.1 {demo.port} --aec {demo.ae_title}", out, "set parallel 4")
    status, shown = shell.run("get --exact QueryRetrieveLevel=PATIENT PatientID=DEMO001")
    assert status is ExitStatus.SUCCESS, shown
    flat = " ".join(shown.split())
    assert ("parallel 4: the peer accepted no C-FIND context to plan with: retrieving on one association"
            in flat), shown
    assert "spread over" not in shown
    assert sorted(same_as_source(out, held)) == sorted(held)


class AbortingDemo(DemoServer):
    """The demo archive, A-ABORTing the association of the first C-GET after the first one that asks
    for 4 objects or more, once two of them went out (once): an association lost under its share."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gets, self.aborted = 0, False
        self.lock = threading.Lock()

    def _on_get(self, event: Any) -> Iterator[Any]:
        items = super()._on_get(event)
        count = next(items)
        with self.lock:
            self.gets += 1
            aborts = self.gets >= 2 and count >= 4 and not self.aborted
            self.aborted = self.aborted or aborts
        yield count
        for n, item in enumerate(items):
            if aborts and n == 2:  # two objects, then the abort
                event.assoc.abort()
                return
            yield item


def test_an_association_lost_under_its_share_leaves_the_rest_to_the_others(make_demo_server: Any, shells: list[Shell],
                                                                          tmp_path: Path) -> None:
    """The peer aborts one of two associations half-way through its share: what had not arrived goes
    to the other, one line says so, and every object is on disk once, whole, counted once."""
    demo = make_demo_server(AbortingDemo)
    held = {e.sop_instance_uid: e.path for e in demo.entries if e.patient_id == "DEMO001"}
    out = tmp_path / "out"
    shell = session(shells, f"connect 127.0.0.1 {demo.port} --aec {demo.ae_title}", out, "set parallel 2")
    status, shown = shell.run("get --exact QueryRetrieveLevel=PATIENT PatientID=DEMO001")
    flat = " ".join(shown.split())
    assert demo.aborted and demo.gets >= 5, shown  # 4 shares, and the rest of the aborted one again
    assert re.search(r"association [12] ended \(.*?\): the rest of its share \(\d+ image UIDs?\) went to the others",
                     flat), shown
    assert status is ExitStatus.SUCCESS, shown
    on_disk = same_as_source(out, held)
    assert sorted(on_disk) == sorted(held)  # each once: no object twice, none partial
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
    assert received_line(shown) == len(held)
    _, counts = spread_counts(shown)
    assert sum(counts) == len(held), shown


def test_orthanc_fails_a_share_with_an_unknown_uid_whole_and_it_is_retried_smaller(
        shells: list[Shell], orthanc_study: Orthanc, study: Study, tmp_path: Path) -> None:
    """Orthanc answers a C-GET whose UID list holds one it does not know with 0xC000 and sends
    nothing. Spread, the shares are cut in halves until the unknown one stands alone: every known
    object arrives, the unknown one is named as failed, and the get exits 5 (sub-operations failed),
    as when an archive sends some objects of a request and fails others."""
    series = study.series[0]
    known = study.instances[series][:10]
    unknown = _uid("not in the archive")
    listed = "\\".join([*known[:5], unknown, *known[5:]])
    out = tmp_path / "out"
    shell = session(shells, f"connect 127.0.0.1 {orthanc_study.port} --aec {orthanc_study.ae_title}; set model study",
                    out, "set parallel 2")
    status, shown = shell.run(f"get --exact QueryRetrieveLevel=IMAGE StudyInstanceUID={study.uid} "
                              f"SeriesInstanceUID={series} SOPInstanceUID={listed}")
    assert status is ExitStatus.SUBOPS_FAILED, shown
    flat = " ".join(shown.split())
    assert sorted(same_as_source(out, study.files)) == sorted(known)
    assert f"failed SOP instances: {unknown}" in flat, shown
    assert "sub-operations: 10 completed, 1 failed" in flat, shown
    assert re.search(r"parallel: the archive failed \d+ shares? whole: retried in smaller ones", flat), shown
    _, counts = spread_counts(shown)
    assert sum(counts) == received_line(shown) == 10, shown


@pytest.mark.parametrize("peer", ["dcmqrscp", "orthanc"])
def test_max_objects_stops_every_association(request: pytest.FixtureRequest, shells: list[Shell], peer: str,
                                             tmp_path: Path) -> None:
    """set max-objects 10 with N = 4: the cap reached on one association cancels the others; exit 8
    (LIMIT); the summary counts what is on disk, at least 10 (objects in flight on other associations
    at the C-CANCEL arrive whole and are kept)."""
    to = target(request, peer)
    out = tmp_path / "out"
    shell = session(shells, to.connect, out, "set parallel 4", "set max-objects 10")
    status, shown = shell.run(to.get)
    assert status is ExitStatus.LIMIT, shown
    flat = " ".join(shown.split())
    assert re.search(r"C-GET Cancel: .* cancelled at \d+ objects \(max-objects 10\)", flat), shown
    on_disk = same_as_source(out, to.files)
    assert 10 <= len(on_disk) < len(to.files)
    assert received_line(shown) == len(on_disk)
    _, counts = spread_counts(shown)
    assert sum(counts) == len(on_disk), shown


def test_receive_pynetdicom_gives_the_same_files_as_the_direct_path(shells: list[Shell], qr: Dcmqrscp, study: Study,
                                                                    tmp_path: Path) -> None:
    connect = f"connect 127.0.0.1 {qr.port} --aec {qr.ae_title}; set model study"
    for receive in ("auto", "pynetdicom"):
        shell = session(shells, connect, tmp_path / receive, f"set receive {receive}", "set parallel 2")
        status, shown = shell.run(study.get())
        assert status is ExitStatus.SUCCESS, shown
        assert spread_counts(shown)[0] == 2
    assert files_in(tmp_path / "pynetdicom") == files_in(tmp_path / "auto")
    assert len(files_in(tmp_path / "auto")) == len(study.files)


# --- scripts and the one-shot command line -----------------------------------------------------------

def test_expect_holds_after_a_parallel_get_in_a_replayed_script(qr: Dcmqrscp, study: Study, tmp_path: Path) -> None:
    """getsh run: expect checks the spread get as it checks a serial one; one that does not hold fails (9)."""
    out = tmp_path / "out"
    out.mkdir()
    lines = [f"connect 127.0.0.1 {qr.port} --aec {qr.ae_title}", "set model study", f"output {out}",
             "set parallel 2", study.get(), "expect status success", f"expect received {len(study.files)}",
             f"expect completed {len(study.files)}", f"expect files {len(study.files)}", "expect failed 0"]
    script = tmp_path / "spread.getsh"
    script.write_text("\n".join(lines) + "\n")
    result = run_getsh(["run", str(script)], env={"COLUMNS": "300"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "spread over 2 associations" in " ".join(result.stdout.split()), result.stdout
    assert len(files_in(out)) == len(study.files)

    script.write_text("\n".join([*lines[:4], "set existing keep", study.get(),
                                 f"expect received {len(study.files) - 1}"]) + "\n")
    result = run_getsh(["run", str(script)], env={"COLUMNS": "300"})
    assert result.returncode == ExitStatus.EXPECTATION, result.stdout + result.stderr


def test_getsh_get_parallel_one_shot(qr: Dcmqrscp, study: Study, tmp_path: Path) -> None:
    """getsh get --parallel 4 (getscu's words and one more): every object, the spread line, exit 0."""
    out = tmp_path / "out"
    out.mkdir()
    result = run_getsh(["get", "--parallel", "4", "-S", "-k", "QueryRetrieveLevel=STUDY", "-k",
                        f"StudyInstanceUID={study.uid}", "-od", str(out), "-aec", qr.ae_title, "127.0.0.1",
                        str(qr.port)], env={"COLUMNS": "300"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "spread over 4 associations" in " ".join((result.stdout + result.stderr).split()), result.stdout
    assert sorted(same_as_source(out, study.files)) == sorted(study.files)
