"""The program: argv → settings and a mode — the shell, ``-c`` commands, piped stdin, ``get``
(getscu's one-shot retrieve), ``find`` (findscu's one-shot query), ``echo``, ``run`` a script, or
``serve`` — then help, version, the config file, and the hand-over to the shell or the composition root (app.py).

Each mode's options are one table (cmdline/modes.py; cmdline/argv.py reads every mode with the same loop,
and ``--help`` lists the same tables). Options are getscu's: every setting's flags come from
the settings table, so ``getsh -aec ARCHIVE +xr`` presets exactly what ``set aec ARCHIVE; set
prefer rle`` would; ``getsh run``'s options come from the ``source`` command's declaration. As in
DCMTK, when mutually exclusive options are given the rightmost wins, and ``@file`` arguments are
replaced by the words of that command file (no nesting). A bad command line is one line worded
by ``GetshError.plain`` (``getsh: message — hint``) and exit status 1, as getscu's.
"""

from __future__ import annotations

import configparser
import functools
import sys
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from getsh import WELCOME, __version__
from getsh.cmdline.identity import IDENTITY_OPTIONS
from getsh.cmdline.modes import (
    COMMAND_FILE_HELP,
    FIND_OPTIONS,
    FIND_SETTINGS,
    GENERAL,
    SERVE_OPTIONS,
    SERVE_USAGE,
    TLS_OPTIONS,
    arguments_text,
    parse_args,
    run_mode,
    setting_options,
)
from getsh.cmdline.options import Options
from getsh.env import HOME_VARIABLE, Environment
from getsh.errors import GetshError
from getsh.exitstatus import ExitStatus
from getsh.literal import literal
from getsh.nodes import read_nodes, write_template
from getsh.setting import Origin
from getsh.settings import SETTINGS, Settings

if TYPE_CHECKING:
    from getsh.runner import Runner

__all__ = ["arguments_text", "help_text", "main", "parse_args"]

# --- help and version --------------------------------------------------------------------------------


def _rows(rows: Iterable[tuple[str, str]]) -> list[str]:
    return [f"  {label:<28} {text}" for label, text in rows]


def _settings_help() -> list[str]:
    lines = []
    for setting in SETTINGS:
        header = f"{setting.name}: {setting.help}"
        if setting.flags:
            lines.append(f"  {', '.join(setting.flags) + ' ' + setting.metavar:<28} {header}")
        else:
            lines.append(f"  {header}")
        for choice in setting.choices:
            if choice.flags:
                lines.append(f"    {', '.join(choice.flags):<26} {choice.value}: {choice.help.split(', then')[0]}")
        if setting.name == "user-type":  # storescu's options that set it with user-secret
            lines += [f"    {o.label:<26} {o.help}" for o in IDENTITY_OPTIONS]
    return lines


def help_text() -> str:
    lines = [
        f"getsh {__version__} — an interactive shell for DICOM C-GET retrieval (after DCMTK getscu)",
        "",
        "usage: getsh [options] [peer port [dcmfile-in]]   the shell (connected to peer when given)",
        "       getsh get [options] peer port [dcmfile-in…]  as getscu: one C-GET per query file (else one",
        "                                        from the -k keys), --repeat times, then exit",
        "       getsh find [options] peer port [dcmfile-in…]  as findscu: one C-FIND per query file (else",
        "                                        one from the -k keys), the matches as a table, then exit",
        "       getsh move [options] peer port [dcmfile-in…]  as movescu: one C-MOVE per query file (else one",
        "                                        from the -k keys) to getsh's receiver (+P PORT) or -aem, then exit",
        "       getsh echo [options] peer port   as echoscu: C-ECHO, then exit",
        "       getsh --demo [options]           the shell, on the embedded demo archive",
        "       getsh -n NAME [options]          the shell, connected to a node of the config file",
        "       getsh --init-config              write a commented config file (settings, nodes), then exit",
        "       getsh [options] -c 'cmd; cmd'    run commands and exit (also: commands on stdin)",
        "       getsh run FILE [run options]     replay a script (docs/scripting.md), then exit",
        "       getsh serve --demo [--port N]    run the demo Query/Retrieve archive in the foreground",
        "                  [--tls KEY CERT]      (over DICOM TLS: getsh serve --help)",
        "",
        "general options",
        *_rows([*((o.label, o.help) for o in GENERAL), COMMAND_FILE_HELP]),
        "",
        "settings (the same as 'set NAME VALUE' in the shell; rightmost option wins)",
        *_settings_help(),
        "",
        "DICOM over TLS, in DCMTK's words (docs/tls.md; and the tls settings above)",
        *_rows((o.label, o.help) for o in TLS_OPTIONS),
        "",
        "run options (as 'source FILE …' in the shell; settings options apply before the script's first line)",
        *_rows((o.label, o.help) for o in run_mode().options),
        "",
        *textwrap.wrap("find options (with the general options but -c and --demo, and the options of the settings "
                       f"findscu has too: {', '.join(FIND_SETTINGS)}; and storescu's user identity options)", 100),
        *_rows((o.label, o.help) for o in FIND_OPTIONS if o.help),
        "  (no -W: the default model is patient root, -P; findscu's default is the worklist model)",
        "",
        "serve options (and -h and the log-level options)",
        *_rows((o.label, o.help) for o in SERVE_OPTIONS),
        "",
        "exit status: 0 success, 1 bad command line, 2 a command failed, 3 script error, 4 warning,",
        "             5 sub-operations failed, 6 failure status from the peer, 7 network/association failure,",
        "             8 a retrieve cancelled at a limit (max-objects, max-bytes, retrieve-timeout …)",
        "             getsh get, getsh find: the worst outcome (unlike getscu and findscu, which exit 0",
        "             after a failure status)",
        "             getsh run: 0 every command ran and every expectation held, 1 an expectation failed,",
        "             2 a command failed, 3 a bad script line or an unreadable script",
        f"files: history and config in ${HOME_VARIABLE} (default: the user data directory); "
        "getsh --init-config writes the config",
    ]
    return "\n".join(lines)


def serve_help_text() -> str:
    """``getsh serve --help``: serve's own usage and options, not the shell's."""
    log_levels = [(o.label, o.help) for o in setting_options(s for s in SETTINGS if s.name == "log-level")]
    return "\n".join([
        f"getsh {__version__} serve — the embedded demo Query/Retrieve archive, in the foreground (Ctrl-C stops it)",
        "",
        SERVE_USAGE,
        "",
        "It listens on 127.0.0.1 only and answers C-ECHO, C-FIND, C-GET and C-MOVE (to the --move-dest",
        "destinations); other tools (getscu, findscu, movescu, another getsh) can use it as an archive. The",
        "port it listens on is printed at start.",
        "",
        "serve options",
        *_rows([(o.label, o.help) for o in SERVE_OPTIONS]),
        *_rows([("-h, --help", "print this help text and exit")]),
        "",
        "logging options",
        *_rows(log_levels),
        "",
        "the other modes: getsh --help",
    ])


def version_text() -> str:
    import pydicom
    import pynetdicom

    return f"getsh {__version__}\npynetdicom {pynetdicom.__version__}\npydicom {pydicom.__version__}"


# --- the program ----------------------------------------------------------------------------------


def load_config(env: Environment, settings: Settings) -> list[str]:
    """Apply ``$GETSH_HOME/config`` ([settings] name = value); return warnings for bad lines."""
    path = env.config_path
    if not path.is_file():
        return []
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot read: {exc}"]
    warnings = []
    for name, value in parser.items("settings") if parser.has_section("settings") else []:
        try:
            settings.set(name, value, Origin.CONFIG)
        except GetshError as exc:
            warnings.append(f"{path}: {exc.message} (ignored)")
    return warnings + read_nodes(path)[1]


def init_config(env: Environment) -> int:
    """``getsh --init-config``: the commented template where the config is read; never over a file."""
    try:
        write_template(env.config_path)
    except GetshError as exc:
        env.stderr.write(literal(exc.plain(lead="getsh")) + "\n")
        return ExitStatus.ERROR
    env.stdout.write(f"wrote {literal(str(env.config_path))}: every line is a comment; uncomment and edit "
                     "(a node: [nodes.NAME], then connect NAME or getsh -n NAME)\n")
    return ExitStatus.SUCCESS


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    env = env or Environment()
    try:
        opts = parse_args(sys.argv[1:] if argv is None else argv)
        settings = Settings.for_mode(opts.mode)
        warnings = load_config(env, settings)
        for name, value in opts.settings:
            settings.set(name, value, Origin.COMMAND_LINE)
    except GetshError as exc:
        env.stderr.write(exc.plain(lead="getsh") + "\n")
        return ExitStatus.USAGE
    if opts.show_arguments:
        env.stderr.write(literal(arguments_text(opts.expanded), newlines=True) + "\n")  # from @files: shown as is
    if opts.mode == "help":
        env.stdout.write((serve_help_text() if opts.help_for == "serve" else help_text()) + "\n")
        return ExitStatus.SUCCESS
    if opts.mode == "version":
        env.stdout.write(version_text() + "\n")
        return ExitStatus.SUCCESS
    if opts.mode == "init-config":
        return init_config(env)
    from getsh import logs

    logs.configure(settings["log-level"], opts.log_config)
    for warning in warnings:
        env.stderr.write(f"getsh: warning: {literal(warning)}\n")  # the config file's words, shown as they are
    if _plain_shell(opts, env):  # the prompt first, pydicom and pynetdicom behind it
        from getsh.shell.deferred import run_deferred_shell

        return run_deferred_shell(env, WELCOME, functools.partial(_load_session, env, settings))
    from getsh.app import run  # pydicom, pynetdicom and every command

    return run(env, settings, opts)


def _load_session(env: Environment, settings: Settings) -> Runner:
    """The deferred shell's session, built on its loader thread (importing app is the slow part)."""
    from getsh.app import start

    return start(env, settings)


def _plain_shell(opts: Options, env: Environment) -> bool:
    """An interactive shell with nothing to do before its first prompt."""
    return (opts.mode == "shell" and env.stdin_isatty and not opts.demo and opts.peer is None and not opts.node
            and not (opts.commands or opts.query_files or opts.keys))
