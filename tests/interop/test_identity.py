"""User identity negotiation against the demo archive told to require one (issue 18, acceptance 3):
a user name, a user name and password (from the environment and from a file), a JWT; a wrong password
rejected with the diagnosis; the peer's positive response shown; the shell re-associating when the
identity changes; and the secret in no recording, history, log, ``settings`` or ``status``. Typed into
the real REPL (tests/shell_driver.ShellDriver), and on the command line (storescu's options)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from getsh.dicom.demo.identity import RESPONSE, Requirement
from getsh.dicom.demo.server import DemoServer
from getsh.dicom.net.identity import SecretSource
from getsh.exitstatus import ExitStatus
from tests.faults.rejecting_peers import RejectingPeer
from tests.peers import free_port
from tests.shell_driver import Shell, ShellDriver, run_getsh

pytestmark = [pytest.mark.interop, pytest.mark.repl]

ALICE_PASSWORD = "pw-Alice-3f9c1e"  # distinctive: found wherever it leaks
CAROL_PASSWORD = "pw-Carol-77a0d2"
TOKEN = "eyJhbGciOiJub25lIn0.Z2V0c2gtdGVzdC1qd3Q.c2lnLTkxYjQ"
SERVER_ENV = "GETSH_TEST_DEMO_CAROL_PASSWORD"  # what the archive reads carol's password from
CLIENT_ENV = "GETSH_TEST_PASSWORD"  # what getsh reads the password from


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "alice.pw").write_text(ALICE_PASSWORD + "\n")  # as `echo pw > file` writes it
    (folder / "wrong.pw").write_text("not-alices-password\n")
    (folder / "token.jwt").write_text(TOKEN + "\n")
    return folder


@pytest.fixture(scope="module")
def archive(secrets_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo archive requiring a user identity: bob by name, alice and carol with their passwords
    (from a file and from the environment), or the JWT."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SERVER_ENV, CAROL_PASSWORD)
        required = Requirement(
            users={"bob": None, "alice": SecretSource("file", str(secrets_dir / "alice.pw")),
                   "carol": SecretSource("env", SERVER_ENV)},
            tokens=(SecretSource("file", str(secrets_dir / "token.jwt")),))
        server = DemoServer(data_dir=tmp_path_factory.mktemp("demo"), require_identity=required)
        server.start()  # the secrets are read here, while the variable is set
    try:
        yield server
    finally:
        server.stop()


def connect_line(archive: DemoServer) -> str:
    return f"connect 127.0.0.1 {archive.port} --aec GETSH-DEMO"


def test_a_user_name_alone_then_a_password_from_the_environment_and_from_a_file(
        archive: DemoServer, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_ENV, CAROL_PASSWORD)
    with ShellDriver(key_delay=0.1) as shell:
        shell.line("set user bob")
        shown = shell.line(connect_line(archive))
        assert f"associated with GETSH-DEMO @ 127.0.0.1:{archive.port}" in shown
        assert "user identity: user bob (user name only); accepted (no positive response requested" in shown
        shown = shell.line("find PatientID=*")
        assert "error" not in shown.lower() and "matches" in shown

        # a change of identity: said at once, and the next command re-associates by itself
        shown = shell.line(f"set user carol; set user-secret env:{CLIENT_ENV}")
        assert "user = carol  (negotiated: the next command re-associates)" in shown
        shown = " ".join(shell.line("status").split())  # the table folds a long cell
        assert f"stale (user carol, user-secret env:{CLIENT_ENV})" in shown
        assert f"the next association: user carol with a password from ${CLIENT_ENV}" in shown
        shown = shell.line("echo")
        assert f"settings changed (user carol, user-secret env:{CLIENT_ENV}): re-associating" in shown
        assert f"user identity: user carol with a password from ${CLIENT_ENV}; accepted" in shown
        assert "C-ECHO Success" in shown

        shown = shell.line(f"set user alice; set user-secret file:{secrets_dir / 'alice.pw'}; echo")
        assert "re-associating" in shown
        assert f"user identity: user alice with a password from {secrets_dir / 'alice.pw'}; accepted" in shown
        assert "C-ECHO Success" in shown
        assert shell.alive


def test_a_jwt_with_a_positive_response_is_confirmed_and_status_says_so(archive: DemoServer,
                                                                         secrets_dir: Path) -> None:
    with ShellDriver(key_delay=0.1) as shell:
        shell.line(f"set user-type jwt; set user-secret file:{secrets_dir / 'token.jwt'}; set user-response on")
        shown = shell.line(connect_line(archive))
        assert (f"user identity: a JSON Web Token from {secrets_dir / 'token.jwt'}; the peer confirmed it "
                f"(a server response of {len(RESPONSE)} bytes)") in shown
        shown = shell.line("status")
        assert "user identity" in shown and "the peer confirmed it" in shown
        assert TOKEN not in shown


def test_a_positive_response_the_peer_does_not_send_is_said(archive: DemoServer) -> None:
    """pynetdicom's acceptor answers a user name or password with no server response, even when asked."""
    with ShellDriver(key_delay=0.1) as shell:
        shown = shell.line(f"set user bob; set user-response on; {connect_line(archive)}")
        assert ("user identity: user bob (user name only); positive response requested, but the peer sent none: "
                "it did not confirm the identity") in shown


def test_a_wrong_password_is_rejected_with_the_diagnosis_and_the_shell_goes_on(
        archive: DemoServer, secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_ENV, ALICE_PASSWORD)
    wrong = secrets_dir / "wrong.pw"
    with ShellDriver(key_delay=0.1) as shell:
        shown = shell.line(f"set user alice; set user-secret file:{wrong}; {connect_line(archive)}")
        errors = [line for line in shown.splitlines() if line.startswith("error:")]
        assert errors == [
            f"error: association rejected transiently by the service provider (ACSE): no reason given (GETSH-DEMO @ "
            f"127.0.0.1:{archive.port}): most likely the peer refused the user identity (user alice with a password "
            f"from {wrong}) — check the user name and the password from {wrong}, or associate without one: "
            "set user-type off"], shown
        assert not shell.ctx.session.link.is_open

        shown = shell.line(f"set user-secret env:{CLIENT_ENV}; echo")  # fixed: the shell went on
        assert "C-ECHO Success" in shown

        shown = shell.line(f"set user-type off; {connect_line(archive)}")  # none sent: it wants one
        assert "no reason given" in shown and "or it wants a user identity (see: help user)" in shown
        assert "user identity (user" not in shown


def test_the_secret_is_in_no_recording_history_log_settings_or_status(
        archive: DemoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(CLIENT_ENV, ALICE_PASSWORD)
    script = tmp_path / "session.getsh"
    with ShellDriver(key_delay=0.1) as shell:
        shell.line(f"record {script}")
        shell.line("set user alice")
        shell.line(f"set user-secret env:{CLIENT_ENV}")
        pynetdicom = logging.getLogger("pynetdicom")  # its debug log, as -d shows it (getsh stops its propagation)
        caplog.set_level(logging.DEBUG, logger="pynetdicom")
        pynetdicom.addHandler(caplog.handler)
        try:
            shown = shell.line(connect_line(archive))
        finally:
            pynetdicom.removeHandler(caplog.handler)
        assert "user alice with a password from $GETSH_TEST_PASSWORD; accepted" in shown
        # typed by mistake where the source belongs: refused without repeating it, kept out of the history
        shown = shell.line(f"set user-secret {ALICE_PASSWORD}")
        assert "error: user-secret takes env:VAR or file:PATH, where the secret is, never the secret itself" in shown
        assert shell.ctx.settings["user-secret"] == f"env:{CLIENT_ENV}"
        settings = shell.line("settings")
        assert f"env:{CLIENT_ENV}" in settings
        status = shell.line("status")
        assert "from $GETSH_TEST_PASSWORD" in status
        history = shell.line("history")
        assert "set user-secret ********" in history
        shell.line("echo")
        shell.line("record stop")
        everything = shell.out.getvalue() + shell.err.getvalue()
        history_file = shell.ctx.env.history_path
    recorded = script.read_text()
    assert f"set user-secret env:{CLIENT_ENV}" in recorded and "connect " in recorded
    assert "# set user-secret ********" in recorded
    assert "Password: [********]" in caplog.text  # pynetdicom's line, masked (sent and received)
    on_disk = history_file.read_text()
    assert "set user alice" in on_disk and "set user-secret" in on_disk
    kept = "\n".join(shell.ctx.session.history)
    for where, text in (("the screen", everything), ("the recording", recorded), ("the history file", on_disk),
                        ("the debug log", caplog.text), ("the session's history", kept)):
        assert ALICE_PASSWORD not in text, where


def test_storescu_options_on_the_command_line(archive: DemoServer, secrets_dir: Path) -> None:
    target = ["-aec", "GETSH-DEMO", "127.0.0.1", str(archive.port)]
    done = run_getsh(["echo", "-usr", "alice", "-pwd", f"env:{CLIENT_ENV}", *target],
                     env={CLIENT_ENV: ALICE_PASSWORD})
    assert done.returncode == 0, done.stderr
    assert "user identity: user alice with a password from $GETSH_TEST_PASSWORD; accepted" in done.stdout

    done = run_getsh(["find", "--jwt", str(secrets_dir / "token.jwt"), "-rsp", "-k", "PatientID=*", *target])
    assert done.returncode == 0, done.stderr
    assert "the peer confirmed it" in done.stdout

    done = run_getsh(["echo", "-usr", "alice", "-pwd", ALICE_PASSWORD, *target])  # storescu's habit
    assert done.returncode == ExitStatus.USAGE
    assert "getsh takes no password on its command line" in done.stderr
    assert ALICE_PASSWORD not in done.stdout + done.stderr


def test_serve_demo_requires_the_user_it_is_told_to(monkeypatch: pytest.MonkeyPatch) -> None:
    """``getsh serve --demo --require-user NAME:env:VAR``, as the tutorial starts it."""
    monkeypatch.setenv("GETSH_TEST_SERVE_PW", "serve-pw-5d1c")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "getsh", "serve", "--demo", "--port", str(port),
                               "--require-user", "dave:env:GETSH_TEST_SERVE_PW"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shell = Shell()
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert f"on 127.0.0.1:{port}" in first, first
        assert "it requires a user identity: user dave (password from $GETSH_TEST_SERVE_PW)" in first
        status, shown = shell.run(f"connect 127.0.0.1 {port}")
        assert status is ExitStatus.NETWORK and "or it wants a user identity" in shown
        status, shown = shell.run("set user dave; set user-secret env:GETSH_TEST_SERVE_PW; echo")
        assert status is ExitStatus.SUCCESS, shown
        assert "user identity: user dave with a password from $GETSH_TEST_SERVE_PW; accepted" in shown
    finally:
        shell.close()
        server.send_signal(signal.SIGINT)
        try:
            _, errors = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            _, errors = server.communicate(timeout=5)
    assert "serve-pw-5d1c" not in errors


@pytest.mark.parametrize(("result", "source", "reason", "blamed"), [
    (1, 1, 1, True), (1, 2, 1, True), (2, 1, 1, True),  # no reason given: most likely the identity
    (1, 1, 7, False), (1, 1, 3, False), (2, 3, 2, False)])  # a reason of its own: not the identity
def test_only_a_reject_without_a_reason_blames_the_identity(result: int, source: int, reason: int,
                                                            blamed: bool) -> None:
    """Another archive's rejections (a raw peer answering every A-ASSOCIATE-RQ with one A-ASSOCIATE-RJ)."""
    shell = Shell()
    try:
        shell.run("set user bob")
        with RejectingPeer(result, source, reason) as peer:
            status, shown = shell.run(f"connect 127.0.0.1 {peer.port} --aec SOME-SCP")
    finally:
        shell.close()
    assert status is ExitStatus.NETWORK
    assert ("most likely the peer refused the user identity (user bob (user name only)) — check the user name "
            "(set user NAME), or associate without one: set user-type off" in shown) == blamed, shown
