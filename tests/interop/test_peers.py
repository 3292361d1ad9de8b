"""The peer fixtures work, judged by DCMTK's own tools rather than by getsh.

If these fail, no interop failure of getsh means anything: the archive, the peers and
their AE titles are checked here with echoscu and getscu first.
"""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from pydicom.uid import RLELossless

from tests import peers
from tests.peers import (
    Dcmqrscp,
    Orthanc,
    PeerStartError,
    PeerUnavailable,
    dcmtk_env,
    port_listening,
    port_open,
)

if TYPE_CHECKING:
    from getsh.dicom.demo.data import ArchiveEntry

pytestmark = pytest.mark.interop

RLE_LOSSLESS = str(RLELossless)


def studies(archive: Sequence[ArchiveEntry]) -> dict[str, set[str]]:
    """Study Instance UID -> its SOP Instance UIDs."""
    by_study: dict[str, set[str]] = defaultdict(set)
    for entry in archive:
        by_study[entry.study_uid].add(entry.sop_instance_uid)
    return dict(by_study)


def rle_studies(archive: Sequence[ArchiveEntry]) -> set[str]:
    return {e.study_uid for e in archive if e.transfer_syntax_uid == RLE_LOSSLESS}


def run(argv: Sequence[str | os.PathLike[str]]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.fspath(a) for a in argv],
        env=dcmtk_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def getscu_study(
    getscu: Path, port: int, aec: str, study_uid: str, out: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """C-GET one study with DCMTK getscu (study root); return the result and the SOP
    Instance UIDs found in the output directory."""
    out.mkdir(parents=True, exist_ok=True)
    result = run(
        [
            getscu, "-S", "-aec", aec, *extra, "-od", out,
            "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
            "127.0.0.1", str(port),
        ]
    )  # fmt: skip
    received = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in out.iterdir()}
    return result, received


# (fixture, must getscu propose RLE for an RLE study?) — only Orthanc transcodes.
PEERS = [("dcmqrscp", True), ("orthanc", False), ("demo_server", True)]


@dataclass(frozen=True)
class Target:
    port: int
    ae_title: str
    entries: list[ArchiveEntry]


def target(request: pytest.FixtureRequest, name: str, archive: list[ArchiveEntry]) -> Target:
    """The started peer behind a fixture name, with the instances it serves."""
    peer = request.getfixturevalue(name)
    entries = peer.entries if name == "demo_server" else archive
    return Target(peer.port, peer.ae_title, entries)


@pytest.mark.parametrize("name", [name for name, _ in PEERS])
def test_echoscu(
    name: str, request: pytest.FixtureRequest, archive: list[ArchiveEntry], dcmtk: Callable[[str], Path]
) -> None:
    peer = target(request, name, archive)
    result = run([dcmtk("echoscu"), "-aec", peer.ae_title, "127.0.0.1", str(peer.port)])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("name", "needs_rle_proposal"), PEERS)
def test_getscu_each_study(
    name: str,
    needs_rle_proposal: bool,
    request: pytest.FixtureRequest,
    archive: list[ArchiveEntry],
    dcmtk: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    """Exactly each study's instances arrive. dcmqrscp and the demo cannot transcode, so
    their RLE study needs getscu to propose RLE (+xr); uncompressed studies get getscu's
    default proposal, since the dcmqrscp fixture's +xr makes it pick RLE whenever offered."""
    getscu = dcmtk("getscu")
    peer = target(request, name, archive)
    rle = rle_studies(peer.entries)
    assert rle, "the archive should hold an RLE Lossless study"
    for study_uid, expected in studies(peer.entries).items():
        extra = ("+xr",) if needs_rle_proposal and study_uid in rle else ()
        result, received = getscu_study(getscu, peer.port, peer.ae_title, study_uid, tmp_path / study_uid, *extra)
        assert result.returncode == 0, result.stderr
        assert received == expected, f"{study_uid} {extra}: {result.stderr}"


def test_orthanc_holds_the_archive(orthanc: Orthanc, archive: list[ArchiveEntry]) -> None:
    assert orthanc.instances() == sorted(e.sop_instance_uid for e in archive)


def test_dcmqrscp_rejects_wrong_called_ae(
    dcmqrscp: Dcmqrscp,
    archive: list[ArchiveEntry],
    dcmtk: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    """getscu names the reason only at debug level; without -d it says just "Rejected"."""
    result, received = getscu_study(dcmtk("getscu"), dcmqrscp.port, "NOT-TESTQR", archive[0].study_uid, tmp_path, "-d")
    assert result.returncode == 1
    assert received == set()
    output = result.stdout + result.stderr
    assert "Could not negotiate association: DUL Association Rejected" in output
    assert "Reason: Called AE Title Not Recognized" in output


def test_dcmqrscp_stop_closes_port(make_dcmqrscp: Callable[..., Dcmqrscp], archive: list[ArchiveEntry]) -> None:
    peer = make_dcmqrscp([archive[0].path], ae_title="OTHERQR")
    assert port_listening(peer.port) and peer.running
    peer.stop()
    assert not peer.running
    assert not port_open(peer.port)
    peer.stop()  # idempotent


def test_orthanc_stop_closes_ports(make_orthanc: Callable[..., Orthanc]) -> None:
    peer = make_orthanc(ae_title="OTHER")
    assert peer.running and port_open(peer.port) and port_open(peer.http_port)
    peer.stop()
    assert not peer.running
    assert not port_open(peer.port) and not port_open(peer.http_port)


def test_dcmqrscp_start_failure_reports_its_log(tmp_path: Path, dcmtk: Callable[[str], Path]) -> None:
    """A peer that dies on start-up says why (its own stderr), and leaves nothing running."""
    dcmtk("dcmqrscp")
    peer = Dcmqrscp([], extra_args=["--no-such-option"], workdir=tmp_path)
    with pytest.raises(PeerStartError, match="Unknown option --no-such-option"):
        peer.start()
    assert not peer.running


def test_missing_binaries_raise_peer_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(peers, "DCMTK_BIN", tmp_path)
    monkeypatch.setattr(peers, "ORTHANC_BIN", tmp_path / "Orthanc")
    with pytest.raises(PeerUnavailable, match="dcmqrscp"):
        Dcmqrscp([], workdir=tmp_path / "q").start()
    with pytest.raises(PeerUnavailable, match="Orthanc"):
        Orthanc([], workdir=tmp_path / "o").start()
