"""DICOM over TLS against Orthanc (DicomTlsEnabled) and the demo archive over TLS, with certificates made
here (tests/tls_certs.py): echo, find and get on both receive paths with the bytes checked; the diagnosis
of each usual failure; the key's password from a file or the environment and never shown or recorded;
the BCP 195 profiles applied; the shell re-associating when a TLS setting changes."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from getsh.dicom.demo.data import ArchiveEntry
from getsh.dicom.demo.server import DemoServer
from getsh.dicom.net.tls import server_context
from getsh.exitstatus import ExitStatus
from tests.conftest import ORTHANC_FIXTURE_STOP_TIMEOUT, peer_missing
from tests.peers import Orthanc, PeerUnavailable, stop_serve
from tests.shell_driver import Shell
from tests.tls_certs import KEY_PASSWORD, Pki, make_pki

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_orthanc(pki: Pki, archive: list[ArchiveEntry], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc speaking DICOM over TLS only, wanting a client certificate signed by the test CA."""
    peer = Orthanc([e.path for e in archive], workdir=tmp_path_factory.mktemp("orthanc-tls"), config_overrides={
        "DicomTlsEnabled": True, "DicomTlsCertificate": os.fspath(pki.server.cert),
        "DicomTlsPrivateKey": os.fspath(pki.server.key), "DicomTlsTrustedCertificates": os.fspath(pki.ca),
        "DicomTlsRemoteCertificateRequired": True})
    try:
        peer.start()
    except PeerUnavailable as exc:
        peer_missing(str(exc))
    try:
        yield peer
    finally:
        peer.stop(timeout=ORTHANC_FIXTURE_STOP_TIMEOUT)


@contextmanager
def demo_over(context: ssl.SSLContext, data: Path) -> Iterator[DemoServer]:
    server = DemoServer(data_dir=data, ssl_context=context)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_demo(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo archive over TLS, wanting a client certificate signed by the test CA."""
    context = server_context(os.fspath(pki.server.key), os.fspath(pki.server.cert), trust=os.fspath(pki.ca),
                             require_client_cert=True)
    with demo_over(context, tmp_path_factory.mktemp("demo-tls")) as server:
        yield server


@pytest.fixture
def demo_with(make_demo_server: Callable[..., DemoServer]) -> Callable[..., DemoServer]:
    """A test's own demo archive over TLS with the context it makes (stopped at teardown)."""
    return lambda context: make_demo_server(ssl_context=context)


def tls_words(pki: Pki, key: Path | None = None, cert: Path | None = None) -> str:
    """The settings for TLS with our client certificate, trusting the test CA."""
    key, cert = key or pki.client.key, cert or pki.client.cert
    return f"set tls on; set tls-key {key}; set tls-cert {cert}; set tls-ca {pki.ca}"


def connect(peer: DemoServer | Orthanc) -> str:
    return f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title}"


def received(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def get_both_paths(peer: DemoServer | Orthanc, pki: Pki | None, patient: str, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch, label: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The same bit-preserving get on the direct path (asserted to run over TlsTransport with TLS) and on
    pynetdicom's; the files each stored."""
    from getsh.dicom.retrieve.receive import direct_get

    real_run = direct_get.DirectGet.run
    transports: list[str] = []

    def spying(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        transports.append(type(self.transport).__name__)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(direct_get.DirectGet, "run", spying)
    results = []
    for path in ("auto", "pynetdicom"):
        out = tmp_path / f"{label}-{path}"
        out.mkdir()
        shell = Shell()
        try:
            setup = f"{tls_words(pki)}; " if pki is not None else ""
            status, shown = shell.run(f"{setup}set receive {path}; {connect(peer)}; storage bit-preserving; "
                                      f"output {out}; get QueryRetrieveLevel=PATIENT PatientID={patient}")
        finally:
            shell.close()
        assert status is ExitStatus.SUCCESS, shown
        results.append(received(out))
    assert transports == ["TlsTransport" if pki is not None else "TcpTransport"], transports
    return results[0], results[1]


@pytest.mark.parametrize("peer_name", ["tls_orthanc", "tls_demo"])
def test_echo_find_and_get_over_tls_on_both_receive_paths_store_the_bytes_of_plain_tcp(
    request: pytest.FixtureRequest, peer_name: str, pki: Pki, archive: list[ArchiveEntry], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    peer = request.getfixturevalue(peer_name)
    plain = request.getfixturevalue("orthanc" if peer_name == "tls_orthanc" else "demo_server")
    patient = archive[0].patient_id
    expected = len([e for e in archive if e.patient_id == patient])
    shell = Shell()
    try:
        status, shown = shell.run(f"{tls_words(pki)}; {connect(peer)}; echo")
        assert status is ExitStatus.SUCCESS, shown
        assert "over TLS: TLSv1." in shown and "peer O=getsh tests, CN=localhost" in shown, shown
        status, shown = shell.run(f"find PatientID={patient}")
        assert status is ExitStatus.SUCCESS and patient in shown, shown
        status, shown = shell.run("status")
        assert "TLS" in shown and "TLSv1." in shown and "CN=localhost" in shown, shown
        from getsh.shell import toolbar

        narrow = "".join(text for _style, text in toolbar.toolbar(shell.ctx)())  # the test's 80 columns
        assert " TLSv1." in narrow, narrow
        monkeypatch.setattr(toolbar, "_columns", lambda: 300)
        wide = "".join(text for _style, text in toolbar.toolbar(shell.ctx)())
        assert "  TLSv1." in wide and "peer O=getsh tests, CN=localhost  GETSCU" in wide, wide
    finally:
        shell.close()
    direct, stock = get_both_paths(peer, pki, patient, tmp_path, monkeypatch, "tls")
    plain_direct, _ = get_both_paths(plain, None, patient, tmp_path, monkeypatch, "plain")
    assert len(direct) == expected
    assert direct == stock == plain_direct  # every file, byte for byte, over TLS on both paths and over TCP


def test_a_tls_setting_changed_re_associates_and_says_so(tls_demo: DemoServer, pki: Pki) -> None:
    shell = Shell()
    try:
        status, shown = shell.run(f"{tls_words(pki)}; {connect(tls_demo)}; echo")
        assert status is ExitStatus.SUCCESS and "TLSv1.3" in shown, shown
        status, shown = shell.run("set tls-profile bcp195-ex; echo")  # +pz: TLS 1.2 only
        assert status is ExitStatus.SUCCESS, shown
        assert "settings changed (tls-profile bcp195-ex): re-associating" in shown, shown
        assert "over TLS: TLSv1.2, ECDHE-RSA-AES" in shown, shown
    finally:
        shell.close()


def failure(lines: str) -> tuple[ExitStatus, str]:
    shell = Shell()
    try:
        return shell.run(lines)
    finally:
        shell.close()


@pytest.mark.parametrize("case", ["untrusted", "expired", "wrong-host"])
def test_a_peer_certificate_that_cannot_be_trusted_is_named(
    case: str, pki: Pki, demo_with: Callable[..., DemoServer],
) -> None:
    pair = {"untrusted": pki.server, "expired": pki.expired, "wrong-host": pki.wrong_host}[case]
    server = demo_with(server_context(os.fspath(pair.key), os.fspath(pair.cert)))
    trust = pki.other_ca if case == "untrusted" else pki.ca
    status, shown = failure(f"set tls anonymous; set tls-ca {trust}; {connect(server)}; echo")
    assert status is ExitStatus.NETWORK, shown
    wanted = {"untrusted": "the peer's certificate is not trusted (unable to get local issuer certificate)",
              "expired": "the peer's certificate has expired (certificate has expired)",
              "wrong-host": "the peer's certificate is not for 127.0.0.1"}[case]
    assert f"TLS with 127.0.0.1:{server.port}: {wanted}" in shown, shown
    assert "Traceback" not in shown
    # -ic: not verified, and said so
    status, shown = failure(f"set tls anonymous; set tls-verify ignore; {connect(server)}; echo")
    assert status is ExitStatus.SUCCESS and "peer certificate not verified (-ic)" in shown, shown


@pytest.mark.parametrize("peer_name", ["tls_orthanc", "tls_demo"])
def test_a_peer_that_wants_a_client_certificate_or_does_not_trust_ours_says_so(
    request: pytest.FixtureRequest, peer_name: str, pki: Pki,
) -> None:
    peer = request.getfixturevalue(peer_name)
    status, shown = failure(f"set tls anonymous; set tls-ca {pki.ca}; {connect(peer)}; echo")
    assert status is ExitStatus.NETWORK, shown
    assert "the peer wants a client certificate, and getsh sent none" in shown, shown
    status, shown = failure(f"{tls_words(pki, pki.untrusted_client.key, pki.untrusted_client.cert)}; "
                            f"{connect(peer)}; echo")
    assert status is ExitStatus.NETWORK, shown
    assert "the peer does not trust our certificate" in shown, shown


@pytest.mark.parametrize("peer_name", ["tls_orthanc", "tls_demo"])
def test_plain_tcp_to_a_tls_port_and_tls_to_a_plain_port_are_named(
    request: pytest.FixtureRequest, peer_name: str, pki: Pki,
) -> None:
    tls_peer = request.getfixturevalue(peer_name)
    plain = request.getfixturevalue("orthanc" if peer_name == "tls_orthanc" else "demo_server")
    status, shown = failure(f"set acse-timeout 5; {connect(tls_peer)}; echo")
    assert status is ExitStatus.NETWORK, shown
    assert "DICOM over TLS on that port: set tls" in shown or "the peer answered in TLS" in shown, shown
    status, shown = failure(f"set acse-timeout 5; {tls_words(pki)}; {connect(plain)}; echo")
    assert status is ExitStatus.NETWORK, shown
    assert f"TLS with 127.0.0.1:{plain.port}: the peer does not speak TLS on that port" in shown, shown


def test_a_handshake_that_never_ends_names_the_timeout_that_fired(pki: Pki) -> None:
    """A peer that accepts the connection and says nothing (what a real one cannot be made to do)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
        thread.start()
        try:
            status, shown = failure(f"set acse-timeout 1; {tls_words(pki)}; connect 127.0.0.1 {port}; echo")
        finally:
            thread.join(5)
            for sock in accepted:
                sock.close()
    assert status is ExitStatus.NETWORK, shown
    assert (f"TLS with 127.0.0.1:{port}: no TLS handshake within 1 s (acse-timeout): the peer may not speak TLS "
            "on that port") in shown, shown


def test_a_bcp195_profile_refuses_a_cipher_it_forbids(pki: Pki, demo_with: Callable[..., DemoServer]) -> None:
    """A server that offers only TLS_RSA_WITH_AES_128_CBC_SHA on TLS 1.2: BCP 195 (+px) allows it as its
    backward-compatible suite, the non-downgrading profile (+py, the default) refuses it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("AES128-SHA")
    context.load_cert_chain(pki.server.cert, pki.server.key)
    server = demo_with(context)
    setup = f"set tls anonymous; set tls-ca {pki.ca}; {connect(server)}"
    status, shown = failure(f"{setup}; echo")
    assert status is ExitStatus.NETWORK, shown
    assert "no TLS version or cipher in common with the peer under the bcp195-nd profile" in shown, shown
    status, shown = failure(f"set tls-profile bcp195; {setup}; echo")
    assert status is ExitStatus.SUCCESS, shown
    assert "over TLS: TLSv1.2, AES128-SHA" in shown, shown


def test_the_keys_password_comes_from_a_file_or_the_environment_and_is_never_shown_or_recorded(
    tls_demo: DemoServer, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret_file = tmp_path / "key-password"
    secret_file.write_text(KEY_PASSWORD + "\n")
    monkeypatch.setenv("GETSH_TEST_KEY_PASSWORD", KEY_PASSWORD)
    recording = tmp_path / "session.getsh"
    key, cert = pki.client_encrypted.key, pki.client_encrypted.cert
    shell = Shell()
    try:
        lines = [f"record {recording}", tls_words(pki, key, cert), connect(tls_demo)]
        status, shown = shell.run("; ".join(lines) + "; echo")
        assert status is ExitStatus.ERROR, shown
        assert f"TLS: the private key {key} is encrypted and no password was given" in shown, shown
        status, shown = shell.run("set tls-password env:GETSH_TEST_KEY_PASSWORD; echo")
        assert status is ExitStatus.SUCCESS and "over TLS" in shown, shown
        status, shown = shell.run(f"set tls-password file:{secret_file}; echo; settings; status; record stop")
        assert status is ExitStatus.SUCCESS, shown
        transcript = shell.out.getvalue() + shell.err.getvalue()
        status, shown = shell.run(f"set tls-password {KEY_PASSWORD}")  # the password typed where its source goes
        assert status is not ExitStatus.SUCCESS and KEY_PASSWORD not in shown, shown
        history = "\n".join(shell.ctx.session.history)
    finally:
        shell.close()
    text = recording.read_text()
    assert "# set tls-password ********\n# (this sets a secret: it is never recorded" in text, text
    assert "set tls-key" in text and "set tls-cert" in text, text
    for where in (text, transcript, history):
        assert KEY_PASSWORD not in where
    # the one-shot form, in DCMTK's words: +tls KEY CERT, +pw VARIABLE, +cf CA; a wrong password is named
    argv = [sys.executable, "-m", "getsh", "echo", "+tls", os.fspath(key), os.fspath(cert), "+pw",
            "GETSH_TEST_KEY_PASSWORD", "+cf", os.fspath(pki.ca), "-aec", tls_demo.ae_title, "127.0.0.1",
            str(tls_demo.port)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    assert KEY_PASSWORD not in done.stdout + done.stderr
    wrong = dict(os.environ, GETSH_TEST_KEY_PASSWORD="not-the-password")
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60, env=wrong)
    assert done.returncode != 0
    assert (f"cannot decrypt the private key {key} with the password from the environment variable "
            "GETSH_TEST_KEY_PASSWORD") in done.stderr, done.stderr


@pytest.mark.parametrize("peer_name", ["tls_orthanc", "tls_demo"])
def test_a_cancel_sent_while_the_direct_path_reads_tls_leaves_the_association_in_step(
    request: pytest.FixtureRequest, peer_name: str, pki: Pki, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """max-objects sends C-CANCEL from the shell's thread while the direct path's reader is in the TLS
    connection: the two must not interleave in the SSL object, or the peer sees garbage and the
    association is lost. It stays usable: the next commands run on it, without re-associating."""
    peer = request.getfixturevalue(peer_name)
    patient = max({e.patient_id for e in archive}, key=lambda p: sum(e.patient_id == p for e in archive))
    (tmp_path / "all").mkdir()
    shell = Shell()
    try:
        status, shown = shell.run(f"{tls_words(pki)}; {connect(peer)}; output {tmp_path}; set max-objects 2; "
                                  f"get QueryRetrieveLevel=PATIENT PatientID={patient}")
        assert status is ExitStatus.LIMIT, shown
        assert len(shell.ctx.session.received) == 2, shown
        status, shown = shell.run(f"set max-objects unlimited; echo; output {tmp_path / 'all'}; "
                                  f"get QueryRetrieveLevel=PATIENT PatientID={patient}")
        assert status is ExitStatus.SUCCESS, shown
        assert "associated" not in shown and "re-associating" not in shown, shown
        assert len(received(tmp_path / "all")) == sum(e.patient_id == patient for e in archive), shown
    finally:
        shell.close()


def test_getsh_serve_demo_over_tls_answers_dcmtks_echoscu_with_a_client_certificate_only(
    pki: Pki, dcmtk: Callable[[str], Path],
) -> None:
    """`getsh serve --demo --tls KEY CERT +cf CA --require-client-cert`, checked with DCMTK's own TLS
    client: echoscu with our client certificate is answered, echoscu without one is refused."""
    echoscu = dcmtk("echoscu")
    argv = [sys.executable, "-m", "getsh", "serve", "--demo", "--tls", os.fspath(pki.server.key),
            os.fspath(pki.server.cert), "+cf", os.fspath(pki.ca), "--require-client-cert"]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert " over TLS: " in first, first + (server.stderr.read() if server.poll() is not None else "")
        port = first.split("127.0.0.1:")[1].split(" ")[0]
        common = ["-aec", "GETSH-DEMO", "+cf", os.fspath(pki.ca), "127.0.0.1", port]
        with_cert = subprocess.run([echoscu, "+tls", pki.client.key, pki.client.cert, *common],
                                   capture_output=True, text=True, timeout=60)
        assert with_cert.returncode == 0, with_cert.stdout + with_cert.stderr
        without = subprocess.run([echoscu, "+tla", *common], capture_output=True, text=True, timeout=60)
        assert without.returncode != 0, without.stdout + without.stderr
    finally:
        returncode = stop_serve(server)  # Ctrl-C: how serve ends
    assert returncode == 0
