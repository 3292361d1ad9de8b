"""Wires a parsed command line to the runner: the shell, ``-c``, piped stdin, ``get``, ``run``, or ``serve``."""

from __future__ import annotations

import contextlib
import shlex
from typing import TYPE_CHECKING

import getsh.commands  # noqa: F401  (registers every command)
from getsh import WELCOME
from getsh.context import Context
from getsh.dicom.events import Notice
from getsh.dicom.keys.identifier import default_identifier
from getsh.exitstatus import ExitStatus, worst
from getsh.runner import Runner
from getsh.shell.render import Renderer

if TYPE_CHECKING:
    from getsh.cli import Options
    from getsh.dicom.demo.server import DemoServer
    from getsh.dicom.events import Released


def make_runner(ctx: Context) -> Runner:
    """The runner every mode uses; the identifier starts as the default of the model the command
    line (or config) chose."""
    ctx.session.identifier = default_identifier(ctx.settings["model"])
    return Runner(ctx, Renderer(ctx.env.console, ctx.env.err_console))


def close_session(ctx: Context) -> Released | None:
    """What every mode does at its end: stop a recording (what was recorded is on disk already) and
    release (or, with the abort setting, abort) the association."""
    if ctx.session.script.recording is not None:
        with contextlib.suppress(OSError):
            ctx.session.script.recording.stop()
    return ctx.session.link.close(abort=ctx.settings["abort"])


def run(ctx: Context, opts: Options) -> int:
    if opts.mode == "serve":
        return serve(ctx, opts)
    runner = make_runner(ctx)
    renderer = runner.renderer
    if opts.mode == "get":
        return one_shot_get(ctx, runner, opts)
    if opts.mode == "echo":
        return one_shot(ctx, runner, opts, ["echo"])
    demo = None
    outcome = ExitStatus.SUCCESS
    try:
        if opts.demo:
            from getsh.dicom.demo.server import DemoServer

            demo = DemoServer(ae_title=opts.serve_aet)
            port = demo.start()
            renderer.show(Notice(describe_demo(demo, port)))
            outcome = runner.run_line(f"connect 127.0.0.1 {port} --aec {shlex.quote(demo.ae_title)}")
        elif opts.peer:
            host, port_text = opts.peer
            outcome = runner.run_line(f"connect {shlex.quote(host)} {shlex.quote(port_text)}")
        if opts.mode == "run":  # the same replay as 'source FILE …' in the shell
            return int(runner.run_one(shlex.join(opts.run_words)))
        for path in opts.query_files:  # getscu's order: the query file first, then each -k
            outcome = worst(outcome, runner.run_line(f"load {shlex.quote(path)}"))
        for key in opts.keys:
            outcome = worst(outcome, runner.run_line(f"key {shlex.quote(key)}"))
        if opts.commands:
            for text in opts.commands:
                outcome = worst(outcome, runner.run_line(text))
        elif not ctx.env.stdin_isatty:
            outcome = worst(outcome, runner.run_lines(ctx.env.stdin))
        else:
            from getsh.shell.repl import run_shell

            renderer.show(Notice(WELCOME))
            run_shell(ctx, runner)
            outcome = ExitStatus.SUCCESS  # an interactive session that ends normally succeeded
    except KeyboardInterrupt:
        outcome = worst(outcome, ExitStatus.ERROR)
    finally:
        close_session(ctx)
        if demo is not None:
            demo.stop()
    return int(outcome)


def one_shot_get(ctx: Context, runner: Runner, opts: Options) -> int:
    """``getsh get …``: what getscu does — connect, one C-GET per query file (else one from the -k keys),
    each ``repeat`` times — through the shell's own commands; the exit status is the worst outcome."""
    from pydicom import Dataset

    assert opts.peer is not None  # parse_args insists on peer and port in this mode
    host, port_text = opts.peer
    outcome = ExitStatus.SUCCESS
    try:
        outcome = runner.run_line(f"connect {shlex.quote(host)} {shlex.quote(port_text)}")
        if outcome is not ExitStatus.SUCCESS:
            return int(outcome)  # not associated: nothing to retrieve (the error says why)
        if opts.query_files:  # each file's data set with the -k keys on top, as getscu
            outcome = worst(outcome, runner.run_line(shlex.join(["get", *opts.query_files, *opts.keys])))
        else:  # the identifier is exactly the -k keys, as getscu builds it
            ctx.session.identifier = Dataset()
            outcome = worst(outcome, runner.run_line(shlex.join(["key", *opts.keys])))
            if outcome is ExitStatus.SUCCESS:
                outcome = worst(outcome, runner.run_line("get"))
    except KeyboardInterrupt:
        outcome = worst(outcome, ExitStatus.ERROR)
    finally:
        ctx.session.link.close(abort=ctx.settings["abort"])
    return int(outcome)


def one_shot(ctx: Context, runner: Runner, opts: Options, lines: list[str]) -> int:
    """``getsh echo peer port``: connect, run the lines, release; the exit status is the worst outcome."""
    assert opts.peer is not None
    host, port_text = opts.peer
    try:
        outcome = runner.run_line(f"connect {shlex.quote(host)} {shlex.quote(port_text)}")
        for line in lines if outcome is ExitStatus.SUCCESS else ():
            outcome = worst(outcome, runner.run_line(line))
    except KeyboardInterrupt:
        outcome = ExitStatus.ERROR
    finally:
        ctx.session.link.close(abort=ctx.settings["abort"])
    return int(outcome)


def describe_demo(server: DemoServer, port: int) -> str:
    patients = len({e.patient_id for e in server.entries})
    studies = len({e.study_uid for e in server.entries})
    return (
        f"demo archive {server.ae_title} on 127.0.0.1:{port}: "
        f"{patients} patients, {studies} studies, {len(server.entries)} objects"
    )


def serve(ctx: Context, opts: Options) -> int:
    from getsh.dicom.demo.server import DemoServer

    server = DemoServer(port=opts.serve_port, ae_title=opts.serve_aet, require_called_ae=opts.serve_require_aet)
    port = server.start()
    ctx.env.stdout.write(f"{describe_demo(server, port)}; Ctrl-C stops it\n")
    ctx.env.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return ExitStatus.SUCCESS
