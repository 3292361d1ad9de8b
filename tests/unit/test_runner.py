"""The one error boundary: no exception from a command ends the shell."""

from __future__ import annotations

import logging

import pytest

from getsh.errors import GetshError, NetworkError
from getsh.exitstatus import ExitStatus
from getsh.registry import REGISTRY, Arg, Registry
from getsh.runner import Runner
from getsh.shell.render import Renderer
from tests.shell_driver import make_context


@pytest.fixture
def runner_and_streams():  # type: ignore[no-untyped-def]
    registry = Registry()

    @registry.command("boom", "raises a bug")
    def boom(ctx, args):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("division by zero")

    @registry.command("fail", "raises a user-facing error", args=[Arg("kind", "k")])
    def fail(ctx, args):  # type: ignore[no-untyped-def]
        if args.kind == "net":
            raise NetworkError("the peer went away", "connect again")
        raise GetshError("it did not work", "try this instead")

    @registry.command("stream", "yields, then fails half-way")
    def stream(ctx, args):  # type: ignore[no-untyped-def]
        yield "first result"
        raise GetshError("second step failed")

    @registry.command("ctrlc", "interrupted by the user")
    def ctrlc(ctx, args):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    ctx, out, err = make_context()
    return Runner(ctx, Renderer(ctx.env.console, ctx.env.err_console), registry), out, err


def test_a_bug_is_one_line_and_the_shell_goes_on(runner_and_streams, caplog) -> None:  # type: ignore[no-untyped-def]
    runner, _out, err = runner_and_streams
    with caplog.at_level(logging.DEBUG, logger="getsh"):
        status = runner.run_line("boom")
    assert status is ExitStatus.ERROR
    assert err.getvalue().splitlines() == [
        "error: boom: internal error: ZeroDivisionError: division by zero — this is a bug in getsh; "
        "run with -d to see the traceback, and please report it"
    ]
    assert any(r.exc_info for r in caplog.records)  # the traceback, at debug level only


def test_errors_map_to_exit_statuses_and_the_worst_wins(runner_and_streams) -> None:  # type: ignore[no-untyped-def]
    runner, _out, err = runner_and_streams
    assert runner.run_line("fail x") is ExitStatus.ERROR
    assert runner.run_line("fail net") is ExitStatus.NETWORK
    assert runner.run_line("fail net; fail x") is ExitStatus.NETWORK
    assert "error: it did not work — try this instead" in err.getvalue()


def test_results_before_a_failure_are_shown(runner_and_streams) -> None:  # type: ignore[no-untyped-def]
    runner, out, err = runner_and_streams
    assert runner.run_line("stream") is ExitStatus.ERROR
    assert out.getvalue() == "first result\n"
    assert "error: second step failed" in err.getvalue()


def test_ctrl_c_during_a_command_is_reported_not_fatal(runner_and_streams) -> None:  # type: ignore[no-untyped-def]
    runner, _out, err = runner_and_streams
    assert runner.run_line("ctrlc") is ExitStatus.ERROR
    assert "error: ctrlc: interrupted" in err.getvalue()


def test_history_records_canonical_forms_of_recorded_commands() -> None:
    ctx, _out, _err = make_context()
    runner = Runner(ctx, Renderer(ctx.env.console, ctx.env.err_console), REGISTRY)
    runner.run_line("set  MAX-PDU   65536; help; settings; model study")
    assert ctx.session.history == ["set max-pdu 65536", "model study"]
