"""The real prompt_toolkit application, typed into key by key (pipe input)."""

from __future__ import annotations

import pytest

from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.repl


def test_connect_echo_help_completion_and_quit(demo_server) -> None:  # type: ignore[no-untyped-def]
    with ShellDriver() as shell:
        shown = shell.line(f"connect 127.0.0.1 {demo_server.port}")
        assert f"associated with ANY-SCP @ 127.0.0.1:{demo_server.port} as GETSCU" in shown
        assert shell.ctx.session.link.is_open

        # Tab completes a command name: "ech" + Tab runs echo.
        shell.type("ech", "\t")
        shown = shell.line("")
        assert "C-ECHO Success" in shown
        assert shell.ctx.session.history[-1] == "echo"

        shown = shell.line("help")
        for name in ("connect", "echo", "status", "disconnect", "set", "settings", "quit"):
            assert name in shown

        # Tab completes a setting value: "set prefer rl" + Tab.
        shell.type("set prefer rl", "\t")
        shown = shell.line("")
        assert "prefer = rle" in shown and "re-associates" in shown
        assert shell.ctx.settings["prefer"] == "rle"
        assert shell.ctx.session.link.state(shell.ctx.wanted_association()) == "stale"

        shown = shell.line("echo")
        assert "settings changed (prefer rle): re-associating" in shown
        assert "C-ECHO Success" in shown

        assoc = shell.ctx.session.link.assoc
        shell.line("quit")
        assert shell.finish() is not None
        assert not shell.alive
    assert assoc is not None and assoc.is_released


def test_bad_input_leaves_state_and_shell_alive(demo_server) -> None:  # type: ignore[no-untyped-def]
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {demo_server.port}")
        assoc = shell.ctx.session.link.assoc
        for line, message in [
            ("set max-pdu 12", "error: max-pdu: 12 is out of range (4096..131072)"),
            ("aet THIS-TITLE-IS-TOO-LONG", "error: aet: AE title 'THIS-TITLE-IS-TOO-LONG' is 22 characters long"),
            ("connect 127.0.0.1 notaport", "error: connect: PORT: 'notaport' is not a port number"),
            ("frobnicate", "error: unknown command 'frobnicate'"),
            ("set prefer 'unclosed", "error: cannot read the line"),
        ]:
            shown = shell.line(line)
            assert message in shown
            assert shown.count("\n") == 1, shown
        assert shell.alive
        assert shell.ctx.settings["max-pdu"] == 16384 and shell.ctx.settings["aet"] == "GETSCU"
        assert shell.ctx.session.link.assoc is assoc and assoc.is_established
        assert "C-ECHO Success" in shell.line("echo")
        assert shell.ctx.session.link.assoc is assoc  # reused, not renegotiated


def test_ctrl_c_clears_the_line_and_ctrl_d_leaves(demo_server) -> None:  # type: ignore[no-untyped-def]
    with ShellDriver() as shell:
        shell.type("connect 127.0.0.1 1", "\x03")  # Ctrl-C: the line is dropped, not run
        shell.line("status")
        assert shell.ctx.session.peer is None
        shell.type("\x04")  # Ctrl-D
        shell.finish()
        assert not shell.alive


def test_status_shows_the_negotiation(demo_server) -> None:  # type: ignore[no-untyped-def]
    with ShellDriver() as shell:
        shell.line(f"connect 127.0.0.1 {demo_server.port} --aec GETSH-DEMO --aet TEACHER")
        shown = shell.line("status")
        assert "GETSH-DEMO" in shown and "TEACHER" in shown and "open" in shown
        assert "presentation contexts: 123/128 proposed" in shown
        assert "Verification SOP Class" in shown and "accepted" in shown
        assert "Study Root Query/Retrieve Information Model - GET" not in shown  # model is patient
        assert "Patient Root Query/Retrieve Information Model - GET" in shown
        assert "peer implementation" in shown and "max PDU" in shown
