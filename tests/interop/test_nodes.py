"""The node book ([nodes.NAME] in the config file), dcm4che's AET@HOST:PORT, getsh -n, --init-config,
getsh serve --help, and a replay of a recording made before 'clear' cleared the screen — against the
demo archive."""

from __future__ import annotations

import os
from pathlib import Path

from getsh.exitstatus import ExitStatus
from getsh.nodes import read_nodes
from tests.shell_driver import Shell, run_getsh


def _home() -> Path:
    home = Path(os.environ["GETSH_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    return home


def _book(port: int, extra: str = "") -> Path:
    config = _home() / "config"
    config.write_text(f"[nodes.demo]\nhost = 127.0.0.1\nport = {port}\naec = GETSH-DEMO\nmodel = study\n"
                      f"notes = the demo archive\n{extra}")
    return config


def test_connect_a_node_and_the_full_form_is_recorded(demo_server, shell: Shell, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _book(demo_server.port)
    script = tmp_path / "s.getsh"
    shell.run(f"record {script}")
    status, shown = shell.run("connect demo")
    assert status is ExitStatus.SUCCESS, shown
    assert f"node demo: GETSH-DEMO@127.0.0.1:{demo_server.port} — model study — the demo archive" in shown
    assert f"associated with GETSH-DEMO @ 127.0.0.1:{demo_server.port}" in shown
    assert shell.ctx.settings["aec"] == "GETSH-DEMO" and shell.ctx.settings["model"] == "study"
    shell.run("record stop")
    lines = script.read_text().splitlines()
    # the full form (no node book needed), the peer as variables with the recorded values as defaults
    assert (f"connect ${{GETSH_HOST:-127.0.0.1}} ${{GETSH_PORT:-{demo_server.port}}} "
            '--aec "${GETSH_AEC:-GETSH-DEMO}" --model study') in lines, lines

    status, shown = shell.run("nodes")
    assert status is ExitStatus.SUCCESS
    assert "demo" in shown and "GETSH-DEMO" in shown and "the demo archive" in shown


def test_connect_aet_at_host_port(demo_server, shell: Shell) -> None:  # type: ignore[no-untyped-def]
    status, shown = shell.run(f"connect GETSH-DEMO@127.0.0.1:{demo_server.port}; echo")
    assert status is ExitStatus.SUCCESS, shown
    assert f"associated with GETSH-DEMO @ 127.0.0.1:{demo_server.port}" in shown and "C-ECHO Success" in shown
    assert shell.ctx.session.history[0] == f"connect 127.0.0.1 {demo_server.port} --aec GETSH-DEMO"


def test_bad_node_and_address_forms_say_what_to_write(shell: Shell) -> None:
    _book(104, "\n[nodes.broken]\nhost = x\nport = 99999\n")
    status, shown = shell.run("connect nosuch")
    assert status is ExitStatus.ERROR
    assert "'nosuch' is no node of" in shown and "nodes: demo" in shown and "connect AET@HOST:PORT" in shown
    status, shown = shell.run("connect ARCHIVE@pacs")
    assert "'ARCHIVE@pacs' is not AET@HOST:PORT" in shown and "ARCHIVE@pacs.example.org:104" in shown
    status, shown = shell.run("connect ARCHIVE@pacs:http")
    assert "'http' is not a port number" in shown
    status, shown = shell.run("nodes")
    assert "[nodes.broken]: 99999 is out of range (1..65535) (ignored)" in shown
    assert shell.ctx.session.peer is None


def test_getsh_n_starts_connected(demo_server) -> None:  # type: ignore[no-untyped-def]
    _book(demo_server.port)
    result = run_getsh(["-n", "demo", "-c", "echo"])
    assert result.returncode == 0, result.stderr
    assert f"associated with GETSH-DEMO @ 127.0.0.1:{demo_server.port}" in result.stdout
    assert "C-ECHO Success" in result.stdout

    result = run_getsh(["-n", "nosuch", "-c", "echo"])
    assert result.returncode != 0
    assert "'nosuch' is no node of" in result.stderr
    result = run_getsh(["-n", "demo", "--demo"])
    assert result.returncode == 1 and "--demo and -n exclude each other" in result.stderr


def test_init_config_writes_a_commented_template_once() -> None:
    config = _home() / "config"
    config.unlink(missing_ok=True)
    result = run_getsh(["--init-config"])
    assert result.returncode == 0, result.stderr
    assert f"wrote {config}" in result.stdout
    text = config.read_text()
    assert "[settings]" in text and "# [nodes.pacs1]" in text
    assert read_nodes(config) == ({}, [])  # every example is a comment
    uncommented = "\n".join(line[2:] if line.startswith("# [nodes") or line.startswith("# host") or
                            line.startswith("# port") or line.startswith("# ae") or line.startswith("# model") or
                            line.startswith("# notes") else line for line in text.splitlines())
    nodes, warnings = read_nodes(_write(config.with_name("uncommented"), uncommented))
    assert sorted(nodes) == ["demo", "pacs1"] and not warnings
    assert nodes["pacs1"].address == "ARCHIVE@pacs.example.org:104" and nodes["pacs1"].model == "study"

    again = run_getsh(["--init-config"])
    assert again.returncode == 2 and "exists: it was left as it is" in again.stderr
    assert config.read_text() == text


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_serve_help_is_serves_own() -> None:
    result = run_getsh(["serve", "--help"])
    assert result.returncode == 0
    assert result.stdout.splitlines()[2].startswith("usage: getsh serve --demo [--port N] [--aet TITLE] ")
    assert "--require-called-ae" in result.stdout and "-c, --command" not in result.stdout
    assert "--move-tls" in result.stdout


OLD_RECORDING = """\
# getsh 0.1.0 recording, started 2026-11-01 10:00:00 +0000
# replay: getsh run FILE (or 'source FILE' in the shell); format: docs/scripting.md
set model patient
output {out}
connect 127.0.0.1 {port} --aec GETSH-DEMO
# the identifier (query keys) in force
clear
key QueryRetrieveLevel=PATIENT
# the session
key PatientID=DEMO001
get
expect received 17
clear
get
expect error "may retrieve the whole archive"
"""


def test_a_recording_without_a_format_keeps_the_old_clear(demo_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Recorded when 'clear' reset the keys: it still does there, so the second get has no PatientID and is
    refused, as when recorded. The same lines in format 2 mean the screen: the keys stay, the check fails."""
    old = _write(tmp_path / "old.getsh", OLD_RECORDING.format(out=tmp_path, port=demo_server.port))
    result = run_getsh(["run", str(old)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 expectations held" in result.stdout

    dry = run_getsh(["run", str(old), "--dry-run"])
    assert "old.getsh:13: reset-keys" in dry.stdout  # says what it will do

    lines = OLD_RECORDING.format(out=tmp_path, port=demo_server.port).splitlines()
    new = _write(tmp_path / "new.getsh", "\n".join([lines[0], "# getsh script format 2", *lines[1:]]) + "\n")
    result = run_getsh(["run", str(new)])
    assert result.returncode == 9, result.stdout + result.stderr  # an expectation did not hold
