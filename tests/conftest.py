"""Shared test wiring: markers, an isolated GETSH_HOME, and the real DICOM peers.

Peers are real processes (DCMTK dcmqrscp, Orthanc, getsh's own demo SCP) on 127.0.0.1.
Session fixtures start each once; the factories give a test a private peer. Whether a
missing peer skips or fails is decided in one place, peer_missing().
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

# `python -m pytest` puts the repo root on sys.path; plain `pytest` does not.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.peers import Dcmqrscp, Orthanc, PeerUnavailable, dcmtk_tool  # noqa: E402

if TYPE_CHECKING:
    from getsh.dicom.demo import data as demo_data
    from getsh.dicom.demo import server as demo

REQUIRE_PEERS_ENV = "GETSH_REQUIRE_PEERS"

# dcmqrscp cannot transcode; +xr lets it accept RLE storage contexts so RLE-only studies
# can be retrieved by an SCU that proposes RLE (in a context of its own).
DCMQRSCP_RLE_ARGS = ("+xr",)

# Orthanc's graceful stop takes ~3.4 s (fixed internal polling); its data here is throwaway,
# so fixtures kill it at once. test_peers checks the graceful path.
ORTHANC_FIXTURE_STOP_TIMEOUT = 0.0

_P = TypeVar("_P", Dcmqrscp, Orthanc)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: needs real DICOM peers (dcmqrscp, Orthanc)")
    config.addinivalue_line("markers", "repl: drives the terminal UI")


def peer_missing(reason: str) -> NoReturn:
    """The one rule: CI (GETSH_REQUIRE_PEERS=1) must not silently skip interop, so it fails;
    a developer machine without DCMTK or Orthanc skips."""
    if os.environ.get(REQUIRE_PEERS_ENV) == "1":
        pytest.fail(f"required DICOM peer unavailable: {reason}", pytrace=False)
    pytest.skip(f"DICOM peer unavailable: {reason}")


def _started(peer: _P) -> _P:
    try:
        peer.start()
    except PeerUnavailable as exc:
        reason = str(exc)
    else:
        return peer
    peer_missing(reason)  # outside the except: no chained traceback in the report


@pytest.fixture(autouse=True)
def _isolated_getsh_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No test may read or write the real user's getsh data (history, settings)."""
    home = tmp_path_factory.mktemp("getsh-home")
    monkeypatch.setenv("GETSH_HOME", str(home))
    return home


@pytest.fixture
def dcmtk() -> Callable[[str], Path]:
    """Absolute path of a DCMTK tool (never the pynetdicom shim), under the missing-peer rule."""

    def find(name: str) -> Path:
        try:
            return dcmtk_tool(name)
        except PeerUnavailable as exc:
            reason = str(exc)
        peer_missing(reason)

    return find


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> list[demo_data.ArchiveEntry]:
    """getsh's deterministic sample archive, written once per session."""
    from getsh.dicom.demo.data import build_archive

    return build_archive(tmp_path_factory.mktemp("archive"))


@pytest.fixture(scope="session")
def dcmqrscp(archive: list[demo_data.ArchiveEntry], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dcmqrscp]:
    """dcmqrscp (AE TESTQR) serving the archive, RLE storage contexts accepted."""
    peer = Dcmqrscp(
        [entry.path for entry in archive],
        extra_args=DCMQRSCP_RLE_ARGS,
        workdir=tmp_path_factory.mktemp("dcmqrscp"),
    )
    _started(peer)
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def orthanc(archive: list[demo_data.ArchiveEntry], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc (AE ORTHANC) loaded with the archive over REST."""
    peer = Orthanc([entry.path for entry in archive], workdir=tmp_path_factory.mktemp("orthanc"))
    _started(peer)
    try:
        yield peer
    finally:
        peer.stop(timeout=ORTHANC_FIXTURE_STOP_TIMEOUT)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[demo.DemoServer]:
    """getsh's embedded demo SCP (AE GETSH-DEMO) on a free loopback port."""
    from getsh.dicom.demo.server import DemoServer

    server = DemoServer(host="127.0.0.1", port=0, data_dir=tmp_path_factory.mktemp("demo"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def _peer_factory(make_one: Callable[..., _P], stop_timeout: float = 10.0) -> Iterator[Callable[..., _P]]:
    """A factory that starts peers for one test and stops every one of them at teardown."""
    started: list[_P] = []

    def make(*args: Any, **kwargs: Any) -> _P:
        peer = make_one(*args, **kwargs)
        started.append(peer)
        return _started(peer)

    try:
        yield make
    finally:
        for peer in started:
            peer.stop(timeout=stop_timeout)


@pytest.fixture
def make_dcmqrscp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Dcmqrscp]]:
    """Factory for a test's own started dcmqrscp: make(files, ae_title="TESTQR", extra_args=(), …)."""

    def one(files: Iterable[Path | str], ae_title: str = "TESTQR", extra_args: Sequence[str] = (),
            **kwargs: Any) -> Dcmqrscp:
        return Dcmqrscp(files, ae_title=ae_title, extra_args=extra_args,
                        workdir=tmp_path_factory.mktemp("dcmqrscp"), **kwargs)

    with _peer_factory(one) as make:
        yield make


@pytest.fixture
def make_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Orthanc]]:
    """Factory for a test's own started Orthanc (~0.07 s up; killed at teardown)."""

    def one(files: Iterable[Path | str] = (), ae_title: str = "ORTHANC", **kwargs: Any) -> Orthanc:
        return Orthanc(files, ae_title=ae_title, workdir=tmp_path_factory.mktemp("orthanc"), **kwargs)

    with _peer_factory(one, ORTHANC_FIXTURE_STOP_TIMEOUT) as make:
        yield make


@pytest.fixture
def make_demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Factory for a test's own started demo archive, on 127.0.0.1: make(cls=DemoServer, **DemoServer's
    keywords) — a TLS context, Move Destinations, GET switched off …; every one is stopped at teardown."""
    from getsh.dicom.demo.server import DemoServer

    started: list[DemoServer] = []

    def make(cls: type[DemoServer] = DemoServer, **kwargs: Any) -> DemoServer:
        server = cls(host="127.0.0.1", port=0, data_dir=tmp_path_factory.mktemp("demo"), **kwargs)
        started.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def fake() -> Iterator[list[Any]]:
    """Fake peers (tests/faults/fake_peers.FakeQR) a test starts go here; all are stopped at teardown."""
    started: list[Any] = []
    try:
        yield started
    finally:
        for peer in started:
            peer.stop()


@pytest.fixture
def shell() -> Iterator[Any]:
    """getsh's runner on in-memory streams (what ``-c`` uses); its association is aborted at the end."""
    from tests.shell_driver import Shell

    s = Shell()
    try:
        yield s
    finally:
        s.close()
