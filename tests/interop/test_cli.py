"""The program as users run it: ``-c``, piped stdin, options, exit statuses, config, version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import free_port
from tests.shell_driver import run_getsh

pytestmark = pytest.mark.interop


def test_dash_c_success_is_zero(demo_server) -> None:  # type: ignore[no-untyped-def]
    result = run_getsh(["-c", f"connect 127.0.0.1 {demo_server.port}; echo; status"])
    assert result.returncode == 0, result.stderr
    assert "C-ECHO Success" in result.stdout
    assert result.stderr == ""


def test_dash_c_failed_command_is_non_zero(demo_server) -> None:  # type: ignore[no-untyped-def]
    result = run_getsh(["-c", f"connect 127.0.0.1 {demo_server.port}; set max-pdu 1; echo"])
    assert result.returncode == 2
    assert "error: max-pdu: 1 is out of range" in result.stderr
    assert "C-ECHO Success" in result.stdout  # the commands after it still ran


def test_dash_c_network_failure(tmp_path: Path) -> None:
    port = free_port()
    result = run_getsh(["-c", "echo"], env={})
    assert result.returncode == 2 and "not connected to a peer" in result.stderr
    result = run_getsh(["127.0.0.1", str(port), "-c", "echo"])
    assert result.returncode == 7
    assert f"connection refused by 127.0.0.1:{port}" in result.stderr


def test_piped_stdin_runs_each_line(demo_server) -> None:  # type: ignore[no-untyped-def]
    script = f"# a comment\n\nconnect 127.0.0.1 {demo_server.port}\necho\naet PIPED\necho\n"
    result = run_getsh([], stdin=script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("C-ECHO Success") == 2
    assert "settings changed (aet PIPED): re-associating" in result.stdout
    assert "getsh>" not in result.stdout  # no prompt UI when stdin is not a terminal

    result = run_getsh([], stdin=f"connect 127.0.0.1 {demo_server.port}\nfrobnicate\necho\n")
    assert result.returncode == 2
    assert "error: unknown command 'frobnicate'" in result.stderr
    assert "C-ECHO Success" in result.stdout


def test_peer_on_the_command_line_with_getscu_options(demo_server) -> None:  # type: ignore[no-untyped-def]
    result = run_getsh(["-aet", "CLI-SCU", "-aec", "GETSH-DEMO", "-S", "+xr", "-pdu", "32768",
                        "127.0.0.1", str(demo_server.port), "-c", "settings; status"], env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "associated with GETSH-DEMO @ 127.0.0.1" in out and "as CLI-SCU" in out
    for row in ("aet * ", "model * ", "prefer * ", "max-pdu * "):
        line = next(line for line in out.splitlines() if line.strip("│ ").startswith(row.strip()))
        assert "command line" in line
    assert "Study Root Query/Retrieve Information Model - GET" in out
    assert "ours 32768" in out


def test_rightmost_of_exclusive_options_wins() -> None:
    result = run_getsh(["-P", "-S", "-O", "-S", "+xi", "+xr", "-c", "model; prefer"])
    assert result.stdout.splitlines() == ["model = study (command line)", "prefer = rle (command line)"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "getsh: unknown option --bogus"),
        (["-pdu"], "getsh: option -pdu needs a value"),
        (["-pdu", "100"], "getsh: max-pdu: 100 is out of range (4096..131072)"),
        (["-aec", "A" * 17], "getsh: aec: AE title"),
        (["host"], "getsh: expected 'peer port'"),
        (["--demo", "host", "104"], "getsh: --demo and a peer exclude each other"),
        (["serve", "--port", "x"], "getsh: --port: 'x' is not a port number"),
    ],
)
def test_bad_command_lines_exit_1(args: list[str], message: str) -> None:
    result = run_getsh(args)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1


def test_port_not_a_number() -> None:
    result = run_getsh(["127.0.0.1", "eleven"])
    assert result.returncode != 0 and "'eleven' is not a port number" in result.stderr


def test_version_and_help() -> None:
    version = run_getsh(["--version"])
    assert version.returncode == 0
    assert version.stdout.startswith("getsh ") and "pynetdicom 3." in version.stdout and "pydicom 3." in version.stdout
    helped = run_getsh(["--help"])
    assert helped.returncode == 0
    for flag in ("-aet", "-aec", "-P", "-S", "-O", "+xr", "+xi", "-xd", "-to", "-ta", "-td", "-pdu", "--repeat",
                 "--abort", "-od", "+B", "--ignore", "-q", "-v", "-d", "-ll", "-lc", "+v", "--demo", "-c", "serve"):
        assert f" {flag}" in helped.stdout, flag


def test_config_file_sets_defaults_and_command_line_overrides(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config").write_text("[settings]\naet = FROMCONFIG\nmax-pdu = 65536\nbogus = 1\nmodel = nonsense\n")
    result = run_getsh(["-pdu", "32768", "-c", "aet; set max-pdu 32768; settings"], env={"GETSH_HOME": str(home)})
    assert "aet = FROMCONFIG (config)" in result.stdout
    assert "unknown setting 'bogus' (ignored)" in result.stderr
    assert "model: 'nonsense' is not one of its values (ignored)" in result.stderr
    assert result.returncode == 0


def test_log_config_file_is_used(tmp_path: Path) -> None:
    log_file = tmp_path / "getsh.log"
    config = tmp_path / "logging.ini"
    config.write_text(
        "[loggers]\nkeys=root\n[handlers]\nkeys=file\n[formatters]\nkeys=plain\n"
        "[logger_root]\nlevel=DEBUG\nhandlers=file\n"
        f"[handler_file]\nclass=FileHandler\nformatter=plain\nargs=({str(log_file)!r},)\n"
        "[formatter_plain]\nformat=%(name)s %(message)s\n"
    )
    port = free_port()
    result = run_getsh(["-lc", str(config), "127.0.0.1", str(port), "-c", "status"])
    assert result.returncode == 7
    assert "TCP Initialisation Error" in log_file.read_text()


def test_serve_demo_in_the_foreground_answers_dcmtk(dcmtk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "getsh", "serve", "--demo", "--port", str(port), "--require-called-ae"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "GETSH_HOME": str(tmp_path)},
    )
    try:
        banner = server.stdout.readline() if server.stdout else ""
        assert f"demo archive GETSH-DEMO on 127.0.0.1:{port}: 4 patients, 6 studies, 39 objects" in banner
        env = {**os.environ, "TCP_NODELAY": "1"}
        ok = subprocess.run([str(dcmtk("echoscu")), "-aec", "GETSH-DEMO", "127.0.0.1", str(port)],
                            capture_output=True, text=True, env=env, timeout=30)
        assert ok.returncode == 0, ok.stderr
        wrong = subprocess.run([str(dcmtk("echoscu")), "-aec", "OTHER", "127.0.0.1", str(port)],
                               capture_output=True, text=True, env=env, timeout=30)
        assert wrong.returncode != 0 and "Called AE Title Not Recognized" in wrong.stderr + wrong.stdout
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        finally:
            server.kill()
    assert server.returncode == 0


def test_the_identifier_starts_from_the_chosen_models_default() -> None:
    study = run_getsh(["-S", "-c", "keys"])
    assert "QueryRetrieveLevel  STUDY" in study.stdout and "has no" not in study.stdout
    patient = run_getsh(["-c", "keys"])
    assert "QueryRetrieveLevel  PATIENT" in patient.stdout


def test_one_shot_echo(demo_server) -> None:  # type: ignore[no-untyped-def]
    ok = run_getsh(["echo", "-aet", "PINGER", "127.0.0.1", str(demo_server.port)])
    assert ok.returncode == 0, ok.stderr
    assert "as PINGER" in ok.stdout and "C-ECHO Success" in ok.stdout and "getsh>" not in ok.stdout
    port = free_port()
    refused = run_getsh(["echo", "127.0.0.1", str(port)])
    assert refused.returncode == 7 and f"connection refused by 127.0.0.1:{port}" in refused.stderr
    assert run_getsh(["echo", "127.0.0.1"]).returncode == 1


def test_dash_c_with_a_wrong_called_ae_prints_the_rejection_once(dcmqrscp) -> None:  # type: ignore[no-untyped-def]
    """The peer on the command line refuses the association: -c's commands (or piped lines) would each
    meet the same refusal and print it again; they are not run, and the status is the refusal's."""
    rejection = ("association rejected permanently by the service user: called AE title not recognised "
                 f"(WRONGAE @ 127.0.0.1:{dcmqrscp.port})")
    for args, stdin in ((["-c", "echo; echo"], None), ([], "echo\necho\n")):
        result = run_getsh([*args, "-aec", "WRONGAE", "127.0.0.1", str(dcmqrscp.port)], stdin=stdin)
        assert result.returncode == 7, result.stderr
        assert result.stderr.count(rejection) == 1, result.stderr
        assert "the commands were not run: no association with the peer given" in result.stderr
        assert "C-ECHO" not in result.stdout
    ok = run_getsh(["-c", "echo", "-aec", dcmqrscp.ae_title, "127.0.0.1", str(dcmqrscp.port)])
    assert ok.returncode == 0 and "C-ECHO Success" in ok.stdout


def test_the_demo_output_is_its_own_unless_the_user_chose_one(tmp_path: Path) -> None:
    """--demo stores under GETSH_HOME/demo-received, not in the directory it was started from; -od (or a
    config file's output) wins, and then nothing is said about it."""
    home = tmp_path / "home"
    get = "get QueryRetrieveLevel=PATIENT PatientID=DEMO003; output"
    result = subprocess.run([sys.executable, "-m", "getsh", "--demo", "-c", get], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "GETSH_HOME": str(home), "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert f"received objects go to {home / 'demo-received'}" in result.stdout
    assert f"output = {home / 'demo-received'} (--demo)" in result.stdout, result.stdout
    assert len(list((home / "demo-received").iterdir())) == 4 and sorted(tmp_path.iterdir()) == [home]

    chosen = tmp_path / "chosen"
    chosen.mkdir()
    result = run_getsh(["--demo", "-od", str(chosen), "-c", get], env={"GETSH_HOME": str(home)})
    assert result.returncode == 0 and "received objects go to" not in result.stdout, result.stderr
    assert len(list(chosen.iterdir())) == 4
