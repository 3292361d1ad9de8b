"""getsh's C-MOVE receiver over TLS (listen-tls on), against the demo archive opening its move
sub-association over TLS (``move_ssl_context``), with certificates made here (tests/tls_certs.py).

The bytes that arrive over TLS are a plain C-MOVE's and a C-GET's; an archive that opens its
sub-association in plain TCP, or with a certificate tls-ca does not vouch for, is refused with the
diagnosis, and the move's summary says that nothing arrived and why; Ctrl-C leaves whole files only.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.demo.server import DemoServer
from getsh.dicom.events import Received
from getsh.dicom.net.tls import TlsOptions, client_context, server_context
from getsh.exitstatus import ExitStatus
from tests.interop.test_cancel import assert_kept, interrupt_when
from tests.interop.test_move import AET, SlowMoveDemo, files_in
from tests.peers import HOST, Orthanc, free_port, port_open, stop_serve
from tests.shell_driver import Shell
from tests.tls_certs import Pair, Pki, make_pki

pytestmark = pytest.mark.interop

PATIENT = "QueryRetrieveLevel=PATIENT PatientID=DEMO004"  # 8 objects
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki-move"))


@pytest.fixture
def receiver_port() -> int:
    return free_port()


def moving_context(pki: Pki, pair: Pair) -> ssl.SSLContext:
    """The archive's side of a sub-association over TLS: its certificate, ours checked against the test CA."""
    return client_context(TlsOptions("on", os.fspath(pair.key), os.fspath(pair.cert), os.fspath(pki.ca)), 10)


@pytest.fixture
def demo(make_demo_server: Callable[..., DemoServer], receiver_port: int) -> Callable[..., DemoServer]:
    """Demo archives for one test, knowing getsh's AE title at ``receiver_port``; stopped at teardown."""

    def make(cls: type[DemoServer] = DemoServer, **kwargs: Any) -> DemoServer:
        return make_demo_server(cls, move_destinations={AET: (HOST, receiver_port)}, **kwargs)

    return make


def tls_receiver(pki: Pki) -> str:
    """getsh's key and certificate (a node's: a client's and a server's), the test CA; the receiver over TLS."""
    return (f"set tls-key {pki.node.key}; set tls-cert {pki.node.cert}; set tls-ca {pki.ca}; "
            "set listen-tls on")


def test_a_move_over_tls_brings_the_bytes_of_a_plain_move_and_of_a_get(
    shell: Shell, pki: Pki, demo: Callable[..., DemoServer], tmp_path: Path, receiver_port: int,
) -> None:
    over_tls = demo(ssl_context=server_context(os.fspath(pki.server.key), os.fspath(pki.server.cert),
                                               trust=os.fspath(pki.ca), require_client_cert=True),
                    move_ssl_context=moving_context(pki, pki.client))
    plain = demo()
    by_get, by_move, by_tls = tmp_path / "get", tmp_path / "move", tmp_path / "tls"
    for folder in (by_get, by_move, by_tls):
        folder.mkdir()

    status, shown = shell.run(f"connect {HOST} {plain.port} --aec {plain.ae_title}; output {by_get}; "
                              f"set storage bit-preserving; set listen-host {HOST}; set listen-port {receiver_port}; "
                              f"get {PATIENT}; output {by_move}; move {PATIENT}")
    assert status is ExitStatus.SUCCESS, shown
    plain_line = f"receiver {AET} listening on {HOST}:{receiver_port} (loopback: this machine only)"
    assert f"{plain_line}\n" in shown and f"{plain_line} over TLS" not in shown, shown

    status, shown = shell.run(f"{tls_receiver(pki)}; set tls on; connect {HOST} {over_tls.port} --aec "
                              f"{over_tls.ae_title}; output {by_tls}; listen {receiver_port}")
    assert status is ExitStatus.SUCCESS, shown
    where = f"{HOST}:{receiver_port} (loopback: this machine only) over TLS (archives whose certificate tls-ca " \
            "vouches for)"
    assert f"receiver {AET} listening on {where}" in shown, shown
    status, shown = shell.run("status")
    assert f"{AET} on {where}, listen on" in shown, shown
    status, shown = shell.run(f"move {PATIENT}")
    assert status is ExitStatus.SUCCESS, shown
    assert "C-MOVE Success" in shown and "8 completed, 0 failed" in shown and "getsh received 8" in shown, shown
    assert "refused" not in shown
    shell.run("listen off")
    assert not port_open(receiver_port)

    assert len(files_in(by_tls)) == 8
    assert files_in(by_tls) == files_in(by_move) == files_in(by_get)  # the same names, the same bytes


@pytest.mark.parametrize("use_tls", [True, False], ids=["its-move-over-tls", "its-move-in-plain-tcp"])
def test_orthanc_over_tls_reaches_the_tls_receiver_only_when_told_to_use_tls_for_getsh(
    use_tls: bool, shell: Shell, pki: Pki, archive: list[ArchiveEntry], tmp_path: Path, receiver_port: int,
    make_orthanc: Callable[..., Orthanc],
) -> None:
    """Orthanc speaks TLS on its own port; whether its C-MOVE association to getsh is TLS is its
    DicomModalities entry's UseDicomTls (DCMTK's TLS layer on the archive's side)."""
    server = make_orthanc([e.path for e in archive if e.patient_id == "DEMO004"], config_overrides={
        "DicomTlsEnabled": True, "DicomTlsCertificate": os.fspath(pki.node.cert),
        "DicomTlsPrivateKey": os.fspath(pki.node.key), "DicomTlsTrustedCertificates": os.fspath(pki.ca),
        "DicomTlsRemoteCertificateRequired": True,
        "DicomModalities": {"getsh": {"AET": AET, "Host": HOST, "Port": receiver_port, "UseDicomTls": use_tls}}})
    by_get, by_move = tmp_path / "get", tmp_path / "move"
    by_get.mkdir()
    by_move.mkdir()
    status, shown = shell.run(f"{tls_receiver(pki)}; set tls on; connect {HOST} {server.port} --aec "
                              f"{server.ae_title}; set storage bit-preserving; set listen-host {HOST}; "
                              f"set listen-port {receiver_port}; output {by_get}; get {PATIENT}")
    assert status is ExitStatus.SUCCESS and "over TLS: TLSv1" in shown, shown
    status, shown = shell.run(f"output {by_move}; move {PATIENT}")
    if use_tls:
        assert status is ExitStatus.SUCCESS and "getsh received 8" in shown and "refused" not in shown, shown
        assert len(files_in(by_move)) == 8 and files_in(by_move) == files_in(by_get)
        return
    assert status is ExitStatus.FAILURE, shown
    refused = [line for line in shown.splitlines() if line.startswith("receiver: refused")]
    assert refused and all("it spoke plain DICOM (an A-ASSOCIATE-RQ)" in line for line in refused), shown
    assert "why: nothing arrived: getsh's receiver refused the archive's" in shown and "does not know" not in shown
    assert not list(by_move.iterdir())


def test_plain_tcp_from_the_archive_to_a_tls_receiver_is_refused_and_the_summary_says_why(
    shell: Shell, pki: Pki, demo: Callable[..., DemoServer], tmp_path: Path, receiver_port: int,
) -> None:
    server = demo()  # it opens its sub-association in plain TCP
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}; {tls_receiver(pki)}; "
              f"set listen-host {HOST}; set listen-port {receiver_port}")
    status, shown = shell.run(f"move {PATIENT}")
    assert status is ExitStatus.FAILURE, shown  # pynetdicom's archive answers 0xA801 when it cannot associate
    refused = [line for line in shown.splitlines() if line.startswith("receiver: refused")]
    assert refused == [f"receiver: refused a connection from {HOST}: it spoke plain DICOM (an A-ASSOCIATE-RQ) to our "
                       "TLS port: configure the archive to use TLS for getsh, or set listen-tls off"], shown
    assert "getsh received 0" in shown
    assert "why: nothing arrived: getsh's receiver refused the archive's association: it spoke plain DICOM" in shown
    assert "does not know" not in shown  # it called us: it knows where getsh is
    assert not list(tmp_path.iterdir()) and not port_open(receiver_port)


def test_an_archive_certificate_tls_ca_does_not_vouch_for_is_refused(
    shell: Shell, pki: Pki, demo: Callable[..., DemoServer], tmp_path: Path, receiver_port: int,
) -> None:
    server = demo(move_ssl_context=moving_context(pki, pki.untrusted_client))
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}; {tls_receiver(pki)}; "
              f"set listen-host {HOST}; set listen-port {receiver_port}")
    status, shown = shell.run(f"move {PATIENT}")
    assert status is ExitStatus.FAILURE, shown
    refused = [line for line in shown.splitlines() if line.startswith("receiver: refused")]
    assert refused == [f"receiver: refused a connection from {HOST}: the archive's certificate is not trusted "
                       "(unable to get local issuer certificate): set tls-ca to the CA that signed it"], shown
    assert "why: nothing arrived: getsh's receiver refused the archive's association: the archive's certificate" \
           in shown
    assert not list(tmp_path.iterdir())

    status, shown = shell.run(f"set tls-ca {pki.other_ca}; move {PATIENT}")  # the CA that did sign it
    assert status is ExitStatus.SUCCESS and "getsh received 8" in shown, shown
    assert len(list(tmp_path.iterdir())) == 8


@pytest.mark.parametrize(("who", "said"), [
    ("theirs-a-server-certificate", "the archive's certificate is not one a client may use (unsuitable certificate "
                                    "purpose): the archive needs a certificate that allows TLS Web Client"),
    ("ours-not-trusted", "the archive does not accept our certificate (tlsv1_alert_unknown_ca): it must trust the CA "
                         "that signed tls-cert"),
])
def test_the_other_certificate_failures_are_named(
    who: str, said: str, shell: Shell, pki: Pki, demo: Callable[..., DemoServer], tmp_path: Path, receiver_port: int,
) -> None:
    pair, trust = (pki.server, pki.ca) if who == "theirs-a-server-certificate" else (pki.client, pki.other_ca)
    context = client_context(TlsOptions("on", os.fspath(pair.key), os.fspath(pair.cert), os.fspath(trust)), 10)
    server = demo(move_ssl_context=context)
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}; {tls_receiver(pki)}; "
              f"set listen-host {HOST}; set listen-port {receiver_port}")
    status, shown = shell.run(f"move {PATIENT}")
    assert status is ExitStatus.FAILURE, shown
    assert f"receiver: refused a connection from {HOST}: {said}" in shown.replace("\n", ""), shown
    assert not list(tmp_path.iterdir())


def test_listen_tls_without_a_key_or_a_ca_says_what_is_missing_before_anything_is_sent(
    shell: Shell, pki: Pki, receiver_port: int, demo: Callable[..., DemoServer],
) -> None:
    status, shown = shell.run(f"set listen-port {receiver_port}; set listen-tls on; move {PATIENT}")
    assert status is ExitStatus.ERROR, shown
    assert "listen-tls on: the receiver needs our private key and certificate to listen over TLS" in shown
    assert "set tls-key FILE and tls-cert FILE (+tls KEY CERT), or set listen-tls off" in shown
    status, shown = shell.run(f"set tls-key {pki.node.key}; set tls-cert {pki.node.cert}; listen {receiver_port}")
    assert status is ExitStatus.ERROR, shown
    assert "the receiver verifies the archive's certificate against tls-ca, and tls-ca is not set" in shown
    assert not port_open(receiver_port)
    status, shown = shell.run(f"set tls-verify ignore; listen {receiver_port}")
    assert status is ExitStatus.ERROR and "connect HOST PORT first, then listen" in shown, shown  # whose objects?
    assert not port_open(receiver_port)
    server = demo()
    status, shown = shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; listen {receiver_port}")
    assert status is ExitStatus.SUCCESS and "over TLS (any archive certificate: tls-verify ignore)" in shown, shown
    shell.run("listen off")


def test_ctrl_c_mid_move_over_tls_leaves_whole_files_only(
    shell: Shell, pki: Pki, demo: Callable[..., DemoServer], archive: list[ArchiveEntry], tmp_path: Path,
    receiver_port: int,
) -> None:
    server = demo(SlowMoveDemo, move_ssl_context=moving_context(pki, pki.client))
    assert isinstance(server, SlowMoveDemo)
    server.delay = 0.1
    total = sum(1 for e in archive if e.patient_id == "DEMO001")
    shell.run(f"connect {HOST} {server.port} --aec {server.ae_title}; output {tmp_path}; {tls_receiver(pki)}; "
              f"set listen-host {HOST}; set listen-port {receiver_port}")
    interrupt_when(shell, Received, 3)
    status, shown = shell.run("move QueryRetrieveLevel=PATIENT PatientID=DEMO001")
    assert status is ExitStatus.WARNING, shown
    assert "C-CANCEL sent" in shown and "C-MOVE Cancel" in shown, shown
    received = shell.ctx.session.received
    assert 3 <= len(received) < total
    assert_kept(tmp_path, archive, received)
    assert not port_open(receiver_port)  # stopped cleanly with the move


def test_getsh_serve_demo_move_tls_opens_its_move_association_over_tls(
    shell: Shell, pki: Pki, tmp_path: Path, receiver_port: int,
) -> None:
    """`getsh serve --demo --tls KEY CERT +cf CA --move-dest … --move-tls`, a process of its own: its C-MOVE
    association reaches the receiver over TLS with the node certificate (a client's too)."""
    argv = [sys.executable, "-m", "getsh", "serve", "--demo", "--tls", os.fspath(pki.node.key),
            os.fspath(pki.node.cert), "+cf", os.fspath(pki.ca), "--move-dest", f"{AET}={HOST}:{receiver_port}",
            "--move-tls"]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert " over TLS (its C-MOVE associations too): " in first, first + (
            server.stderr.read() if server.poll() is not None else "")
        port = first.split("127.0.0.1:")[1].split(" ")[0]
        status, shown = shell.run(f"{tls_receiver(pki)}; set tls on; connect {HOST} {port} --aec GETSH-DEMO; "
                                  f"output {tmp_path}; set listen-host {HOST}; set listen-port {receiver_port}; "
                                  f"move {PATIENT}")
        assert status is ExitStatus.SUCCESS and "getsh received 8" in shown and "refused" not in shown, shown
        assert len(list(tmp_path.iterdir())) == 8
    finally:
        returncode = stop_serve(server)  # Ctrl-C: how serve ends
    assert returncode == 0


def test_serve_move_tls_goes_with_tls() -> None:
    result = subprocess.run([sys.executable, "-m", "getsh", "serve", "--demo", "--move-tls"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode == ExitStatus.USAGE
    assert result.stderr == "getsh: error: serve: +cf, --require-client-cert and --move-tls go with --tls KEY CERT\n"
