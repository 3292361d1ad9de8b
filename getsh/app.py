"""The composition root: a parsed command line becomes a session and runs in its mode — the shell,
``-c``, piped stdin, ``get``, ``find``, ``echo``, ``run``, or ``serve``. Every mode but serve ends through
``SessionLifetime`` (getsh/lifetime.py), which also answers Ctrl-C."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import getsh.commands  # noqa: F401  (registers every command)
from getsh import WELCOME
from getsh.context import Context
from getsh.dicom.events import Notice
from getsh.dicom.keys.identifier import default_identifier
from getsh.errors import GetshError
from getsh.exitstatus import ExitStatus
from getsh.lifetime import SessionLifetime
from getsh.runner import Runner
from getsh.setting import Origin
from getsh.shell.render import Renderer

if TYPE_CHECKING:
    from getsh.cmdline.options import Options
    from getsh.dicom.demo.server import DemoServer
    from getsh.env import Environment
    from getsh.settings import Settings


DEMO_OUTPUT = "demo-received"  # under getsh's data directory: --demo's output unless the user set one


def make_runner(ctx: Context, *, next_steps: bool = True) -> Runner:
    """The runner every mode uses; the identifier starts as the default of the model the command
    line (or config) chose. ``next_steps``: the renderer suggests the shell's next commands (not in
    a one-shot mode, where there is no next command)."""
    ctx.session.identifier = default_identifier(ctx.settings["model"])

    def paging() -> str:  # the pager: for a line typed at the prompt (someone to ask), never in a replay
        if ctx.ask is None or ctx.session.script.replaying:
            return "off"
        return str(ctx.settings["pager"])

    return Runner(ctx, Renderer(ctx.env.console, ctx.env.err_console, next_steps=next_steps, paging=paging))


def start(env: Environment, settings: Settings, *, next_steps: bool = True) -> Runner:
    """A session ready for its first line (the deferred shell builds it this way, on its loader thread)."""
    return make_runner(Context(env, settings), next_steps=next_steps)


def run(env: Environment, settings: Settings, opts: Options) -> int:
    if opts.mode == "serve":
        return serve(env, opts)
    runner = start(env, settings, next_steps=opts.mode not in ("get", "move", "find", "echo"))
    if opts.mode in ("get", "move"):
        return one_shot_get(runner, opts, opts.mode)
    if opts.mode == "find":
        return one_shot_find(runner, opts)
    if opts.mode == "echo":
        return one_shot(runner, opts, ["echo"])
    return session(runner, opts)


def _connect_line(peer: tuple[str, str]) -> str:
    host, port_text = peer
    return f"connect {shlex.quote(host)} {shlex.quote(port_text)}"


def session(runner: Runner, opts: Options) -> int:
    """The shell, ``-c``, piped stdin or ``getsh run``: connect if asked, then the lines."""
    env = runner.ctx.env
    with SessionLifetime(runner) as life:
        if opts.demo:
            _start_demo(runner, opts, life)
        elif opts.peer:
            connected = life.update(runner.run_line(_connect_line(opts.peer))) is ExitStatus.SUCCESS
            if not connected and opts.mode != "run" and (opts.commands or not env.stdin_isatty):
                # -c or piped lines would each meet the same refusal (and print it again): not run
                runner.renderer.show(Notice("the commands were not run: no association with the peer given",
                                            stderr=True))
                return int(life.outcome)
        elif opts.node:  # getsh -n NAME: as 'connect NAME' typed first
            life.update(runner.run_line(f"connect {shlex.quote(opts.node)}"))
        if opts.mode == "run":  # the same replay as 'source FILE …' in the shell
            return int(runner.run_one(shlex.join(opts.run_words)))
        for path in opts.query_files:  # getscu's order: the query file first, then each -k
            life.update(runner.run_line(f"load {shlex.quote(path)}"))
        for key in opts.keys:
            life.update(runner.run_line(f"key {shlex.quote(key)}"))
        if opts.commands:
            for text in opts.commands:
                life.update(runner.run_line(text))
        elif not env.stdin_isatty:
            life.update(runner.run_lines(env.stdin))
        else:
            from getsh.shell.repl import run_shell

            runner.renderer.show(Notice(WELCOME))
            run_shell(runner.ctx, runner)  # the shell's own lifetime shows the release
            life.outcome = ExitStatus.SUCCESS  # an interactive session that ends normally succeeded
    return int(life.outcome)


def _start_demo(runner: Runner, opts: Options, life: SessionLifetime) -> None:
    """``--demo``: the embedded archive, connected to; it stops once the session is closed. It checks
    the called AE title as a real archive does, so ``aec WRONG`` shows a student a real reject."""
    from getsh.dicom.demo.server import DemoServer

    demo = DemoServer(ae_title=opts.serve_aet, require_called_ae=True)
    life.after_close(demo.stop)
    port = demo.start()
    runner.renderer.show(Notice(describe_demo(demo, port)))
    settings = runner.ctx.settings
    if settings.origin("output") is Origin.DEFAULT:  # not into whatever directory the demo was started from
        output = demo_output(runner.ctx.env.home)
        settings.set("output", str(output), Origin.DEMO)
        runner.renderer.show(Notice(f"received objects go to {output} (the demo's own directory; output DIR "
                                    "chooses another)"))
    life.update(runner.run_line(f"connect 127.0.0.1 {port} --aec {shlex.quote(demo.ae_title)}"))


def demo_output(home: Path) -> Path:
    """Where ``--demo`` stores what it retrieves unless told otherwise: a directory of its own under
    getsh's data directory (GETSH_HOME), made now, so a clone or the home directory gets no files."""
    output = home / DEMO_OUTPUT
    output.mkdir(parents=True, exist_ok=True)
    return output


def one_shot_get(runner: Runner, opts: Options, verb: str = "get") -> int:
    """``getsh get …``: what getscu does — connect, one C-GET per query file (else one from the -k keys),
    each ``repeat`` times — through the shell's own commands; the exit status is the worst outcome.
    ``getsh move …`` (``verb`` move): what movescu does, the same way, with C-MOVE."""
    from pydicom import Dataset

    assert opts.peer is not None  # parse_args insists on peer and port in this mode
    runner.ctx.getscu_words = True  # no one to ask: what getscu would send is sent, with warnings on stderr
    with SessionLifetime(runner) as life:
        if life.update(runner.run_line(_connect_line(opts.peer))) is not ExitStatus.SUCCESS:
            return int(life.outcome)  # not associated: nothing to retrieve (the error says why)
        if opts.query_files:  # each file's data set with the -k keys on top, as getscu
            life.update(runner.run_line(shlex.join([verb, *opts.query_files, *opts.keys])))
        else:  # the identifier is exactly the -k keys, as getscu builds it
            runner.ctx.session.identifier = Dataset()
            if life.update(runner.run_line(shlex.join(["key", *opts.keys]))) is ExitStatus.SUCCESS:
                life.update(runner.run_line(verb))
    return int(life.outcome)


def find_line(opts: Options, output: str) -> str:
    """The shell's ``find`` line that a findscu command line means: its -k keys for this request,
    ``--cancel N`` as ``--limit N``, ``-X`` as ``--extract`` into the output directory (-od)."""
    words = ["find", *opts.keys]
    if opts.cancel is not None:
        words += ["--limit", str(opts.cancel)]
    if opts.extract:
        words += ["--extract", output]
    return shlex.join(words)


def one_shot_find(runner: Runner, opts: Options) -> int:
    """``getsh find …``: what findscu does — connect, one C-FIND per query file (else one from the -k
    keys), each ``repeat`` times — as the shell's ``find`` line; the exit status is the worst outcome."""
    from pydicom import Dataset

    assert opts.peer is not None  # parse_args insists on peer and port in this mode
    settings = runner.ctx.settings
    line = find_line(opts, str(settings["output"]))
    with SessionLifetime(runner) as life:
        if life.update(runner.run_line(_connect_line(opts.peer))) is not ExitStatus.SUCCESS:
            return int(life.outcome)  # not associated: nothing to ask (the error says why)
        for _ in range(settings["repeat"]):
            for path in opts.query_files or [""]:
                if not path:  # the identifier is exactly the -k keys, as findscu builds it
                    runner.ctx.session.identifier = Dataset()
                elif life.update(runner.run_line(f"load {shlex.quote(path)}")) is not ExitStatus.SUCCESS:
                    continue  # the error says why; the next file may still be read
                life.update(runner.run_line(line))
    return int(life.outcome)


def one_shot(runner: Runner, opts: Options, lines: list[str]) -> int:
    """``getsh echo peer port``: connect, run the lines, release; the exit status is the worst outcome."""
    assert opts.peer is not None
    with SessionLifetime(runner) as life:
        if life.update(runner.run_line(_connect_line(opts.peer))) is ExitStatus.SUCCESS:
            for line in lines:
                life.update(runner.run_line(line))
    return int(life.outcome)


def describe_demo(server: DemoServer, port: int) -> str:
    patients = len({e.patient_id for e in server.entries})
    studies = len({e.study_uid for e in server.entries})
    over = " over TLS" if server.ssl_context is not None else ""
    over += " (its C-MOVE associations too)" if server.move_ssl_context is not None else ""
    return (
        f"demo archive {server.ae_title} on 127.0.0.1:{port}{over}: "
        f"{patients} patients, {studies} studies, {len(server.entries)} objects"
    )


def serve(env: Environment, opts: Options) -> int:
    """``getsh serve``: no session to close, and Ctrl-C is how it ends (with success)."""
    from getsh.dicom.demo.identity import requirement_of
    from getsh.dicom.demo.server import DemoServer
    from getsh.dicom.net.tls import TlsOptions, client_context, server_context
    from getsh.dicom.net.tls_server import HANDSHAKE_LIMIT

    context = moving = None
    if opts.serve_tls is not None:
        try:
            context = server_context(*opts.serve_tls, trust=opts.serve_trust,
                                     require_client_cert=opts.serve_require_client_cert)
            if opts.serve_move_tls:  # its C-MOVE associations: the same certificate, theirs checked against +cf
                moving = client_context(TlsOptions("on", *opts.serve_tls, trust=opts.serve_trust), HANDSHAKE_LIMIT)
        except GetshError as error:
            env.stderr.write(error.plain(lead="getsh") + "\n")
            return ExitStatus.USAGE
    elif opts.serve_trust or opts.serve_require_client_cert or opts.serve_move_tls:
        env.stderr.write("getsh: error: serve: +cf, --require-client-cert and --move-tls go with --tls KEY CERT\n")
        return ExitStatus.USAGE
    required = requirement_of(opts.serve_users, opts.serve_tokens)
    server = DemoServer(port=opts.serve_port, ae_title=opts.serve_aet, require_called_ae=opts.serve_require_aet,
                        move_destinations={aet: (host, port) for aet, host, port in opts.serve_move_dests},
                        offer_get=not opts.serve_no_get, ssl_context=context, require_identity=required,
                        move_ssl_context=moving)
    try:
        port = server.start()
    except GetshError as error:  # a secret it cannot read
        env.stderr.write(error.plain(lead="getsh") + "\n")
        return ExitStatus.USAGE
    wanted = f"; it requires a user identity: {required.described}" if required else ""
    env.stdout.write(f"{describe_demo(server, port)}{wanted}; Ctrl-C stops it\n")
    env.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return ExitStatus.SUCCESS
