"""argv → settings and a mode: the shell, ``-c`` commands, piped stdin, ``get`` (getscu's one-shot
retrieve), ``run`` a script, or ``serve``.

Options are getscu's: every setting's flags come from the settings table, so
``getsh -aec ARCHIVE +xr`` presets exactly what ``set aec ARCHIVE; set prefer rle`` would.
As in DCMTK, when mutually exclusive options are given the rightmost wins, and ``@file``
arguments are replaced by the words of that command file (no nesting).
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from getsh import WELCOME, __version__
from getsh.argfiles import expand_command_files
from getsh.env import HOME_VARIABLE, Environment
from getsh.errors import GetshError, UsageError
from getsh.exitstatus import ExitStatus
from getsh.settings import SETTINGS, Origin, Settings


@dataclass
class Options:
    """What the command line asked for, after the settings it named were applied."""

    settings: list[tuple[str, str]] = field(default_factory=list)  # (setting, value) in order
    commands: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # -k, applied after the query file, in order
    query_files: list[str] = field(default_factory=list)
    demo: bool = False
    peer: tuple[str, str] | None = None
    log_config: Path | None = None
    mode: str = "shell"  # shell | get | run | serve | help | version
    show_arguments: bool = False  # --arguments: print the expanded command line (as DCMTK)
    expanded: list[str] = field(default_factory=list)  # argv after @file expansion
    run_words: list[str] = field(default_factory=list)  # getsh run: the 'source' command's words
    serve_port: int = 0
    serve_aet: str = "GETSH-DEMO"
    serve_require_aet: bool = False


# spelling -> (setting name, fixed value or None when the option takes an argument)
def _setting_flags() -> dict[str, tuple[str, str | None]]:
    table: dict[str, tuple[str, str | None]] = {}
    for setting in SETTINGS:
        for flag in setting.flags:
            table[flag] = (setting.name, None)
        for choice in setting.choices:
            for flag in choice.flags:
                table[flag] = (setting.name, choice.value)
    return table


SETTING_FLAGS = _setting_flags()

GENERAL_OPTIONS = (
    ("-h, --help", "print this help text and exit"),
    ("--version", "print version information and exit"),
    ("--arguments", "print expanded command line arguments (after @file expansion, long forms)"),
    ("-c, --command CMDS", "run these commands (separated by ';') instead of the shell, then exit"),
    ("--demo", "start the embedded demo archive on 127.0.0.1 and connect to it"),
    ("-k, --key KEY", "set a query key, as 'key KEY' in the shell (getscu's forms; repeatable)"),
    ("-lc, --log-config FILE", "configure logging from a Python logging configuration file (fileConfig format)"),
    ("@FILE", "replaced by the words in FILE (whitespace-separated, quotes respected; no nesting)"),
)

# the long form of each short option, as DCMTK prints them for --arguments
_LONG_FORMS = {"-h": "--help", "-c": "--command", "-k": "--key", "-lc": "--log-config"}
for _setting in SETTINGS:
    for _flags in (_setting.flags, *(c.flags for c in _setting.choices)):
        if len(_flags) == 2:
            _LONG_FORMS[_flags[0]] = _flags[1]

GET_USAGE = "usage: getsh get [options] peer port [dcmfile-in…]"
ECHO_USAGE = "usage: getsh echo [options] peer port"

SERVE_OPTIONS = (
    ("--demo", "serve the embedded demo archive (the default and, for now, only archive)"),
    ("--port N", "TCP port on 127.0.0.1 (default: a free port, printed at start)"),
    ("--aet TITLE", "the archive's AE title (default GETSH-DEMO)"),
    ("--require-called-ae", "reject associations whose called AE title is not the archive's"),
)

RUN_OPTIONS = (
    ("--var NAME=VALUE", "a value for ${NAME} in the script (repeatable; the environment gives the rest)"),
    ("--keep-going", "go on after a failed command or expectation (the exit status still says it)"),
    ("--dry-run", "read and parse every line, then stop: nothing runs, nothing is sent"),
    ("--step", "ask before each command: y(es), n(o: skip it), q(uit)"),
    ("--junit FILE", "also write a JUnit XML report (one testcase per command and per expect)"),
)
RUN_USAGE = "usage: getsh run FILE [--var NAME=VALUE…] [--keep-going] [--dry-run] [--step] [--junit FILE]"


def _setting_flag(word: str, args: list[str], index: int, opts: Options) -> int:
    """Record a setting's getscu option (with its value, if it takes one); the next index to read."""
    name, fixed = SETTING_FLAGS[word]
    if fixed is not None:
        opts.settings.append((name, fixed))
        return index
    opts.settings.append((name, _take(args, index, word)))
    return index + 1


def _take(argv: list[str], index: int, option: str) -> str:
    if index >= len(argv):
        raise UsageError(f"option {option} needs a value", "see: getsh --help")
    return argv[index]


def arguments_text(args: Sequence[str]) -> str:
    """What ``--arguments`` prints, like DCMTK: the expanded arguments, short options in their long form."""
    quoted = " ".join(f"'{_LONG_FORMS.get(word, word)}'" for word in args)
    return f"I: calling 'getsh' with {len(args)} arguments: {quoted}\nI: "


def _check_port(text: str) -> None:
    from getsh.commands.connection import port_number

    try:
        port_number(text)
    except ValueError as exc:
        raise UsageError(f"port: {exc}", "the peer's TCP port, e.g. 104 or 11112") from None


def _check_query_file(path: str) -> None:
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise UsageError(f"cannot access query file: {path}", "dcmfile-in is a readable DICOM query file")


def _check_output_directory(opts: Options) -> None:
    given = [value for name, value in opts.settings if name == "output"]
    if given and not os.path.isdir(os.path.expanduser(given[-1])):
        raise UsageError(f"specified output directory does not exist: {given[-1]}",
                         "-od names an existing directory (as getscu)")


def parse_args(argv: Sequence[str]) -> Options:
    """Parse the command line; UsageError (exit 1, as getscu) when it does not make sense."""
    args = expand_command_files(argv)
    opts = Options(expanded=list(args))
    if args and args[0] == "serve":
        return _parse_serve(args[1:], opts)
    if args and args[0] == "run":
        return _parse_run(args[1:], opts)
    if args and args[0] in ("get", "echo"):
        opts.mode = args[0]
        args = args[1:]
    positionals: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word in ("-h", "--help"):
            opts.mode = "help"
        elif word == "--version":
            if opts.mode != "help":
                opts.mode = "version"
        elif word == "--arguments":
            opts.show_arguments = True
        elif word in ("-c", "--command", "--demo") and opts.mode in ("get", "echo"):
            raise UsageError(f"{opts.mode}: {word} does not apply to a one-shot {opts.mode}",
                             GET_USAGE if opts.mode == "get" else ECHO_USAGE)
        elif word in ("-c", "--command"):
            opts.commands.append(_take(args, index, word))
            index += 1
        elif word == "--demo":
            opts.demo = True
        elif word in ("-k", "--key"):
            from getsh.dicom.keys.identifier import parse_key

            key = _take(args, index, word)
            parse_key(key)  # a bad key is a bad command line: refuse it before anything is sent
            opts.keys.append(key)
            index += 1
        elif word in ("-lc", "--log-config"):
            opts.log_config = Path(_take(args, index, word))
            index += 1
        elif word in SETTING_FLAGS:
            index = _setting_flag(word, args, index, opts)
        elif word.startswith(("-", "+")) and len(word) > 1 and not word.lstrip("-").isdigit():
            raise UsageError(f"unknown option {word}", "see: getsh --help")
        else:
            positionals.append(word)
    if opts.mode in ("help", "version"):
        return opts
    if opts.mode in ("get", "echo") and not positionals:
        raise UsageError(f"{opts.mode}: missing parameter peer", GET_USAGE if opts.mode == "get" else ECHO_USAGE)
    if opts.mode == "echo" and len(positionals) > 2:
        raise UsageError(f"echo: unexpected argument {positionals[2]!r}", ECHO_USAGE)
    if positionals:
        if len(positionals) < 2:
            raise UsageError(
                f"expected 'peer port', got {' '.join(positionals)!r}",
                GET_USAGE if opts.mode == "get" else "usage: getsh [options] [peer port [dcmfile-in…]]",
            )
        opts.peer = (positionals[0], positionals[1])
        _check_port(positionals[1])
        opts.query_files = positionals[2:]
        for path in opts.query_files:
            _check_query_file(path)
    _check_output_directory(opts)
    if opts.mode == "get":
        if not opts.query_files and not opts.keys:
            raise UsageError("get: either query file or override keys (or both) must be specified", GET_USAGE)
        return opts
    if len(opts.query_files) > 1:
        raise UsageError("the shell holds one identifier: give it one query file",
                         "to send one C-GET per file, use: get FILE FILE… in the shell")
    if opts.demo and opts.peer:
        raise UsageError("--demo and a peer exclude each other", "give one of them")
    return opts


def _parse_serve(args: list[str], opts: Options) -> Options:
    opts.mode = "serve"
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word in ("-h", "--help"):
            opts.mode = "help"
        elif word == "--demo":
            opts.demo = True
        elif word == "--port":
            text = _take(args, index, word)
            index += 1
            if not text.isdigit() or not 0 <= int(text) <= 65535:
                raise UsageError(f"--port: {text!r} is not a port number (0..65535)", "e.g. --port 11112")
            opts.serve_port = int(text)
        elif word == "--aet":
            from getsh.dicom.keys.aetitle import validate_ae_title

            try:
                opts.serve_aet = validate_ae_title(_take(args, index, word))
            except ValueError as exc:
                raise UsageError(f"--aet: {exc}") from None
            index += 1
        elif word == "--require-called-ae":
            opts.serve_require_aet = True
        elif word in SETTING_FLAGS and SETTING_FLAGS[word][0] == "log-level":
            index = _setting_flag(word, args, index, opts)
        else:
            raise UsageError(f"serve: unknown argument {word}", "usage: getsh serve --demo [--port N] [--aet TITLE]")
    return opts


def _parse_run(args: list[str], opts: Options) -> Options:
    """``getsh run FILE …``: the words of the equivalent ``source`` line, plus getscu setting options."""
    from getsh.script.reading import variable

    opts.mode = "run"
    files: list[str] = []
    words: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word in ("-h", "--help"):
            opts.mode = "help"
        elif word == "--var" or word.startswith("--var="):
            if word == "--var":
                text = _take(args, index, word)
                index += 1
            else:
                text = word[len("--var="):]
            try:
                variable(text)
            except ValueError as exc:
                raise UsageError(f"--var: {exc}", RUN_USAGE) from None
            words.append(text)
        elif word in ("--keep-going", "--dry-run", "--step"):
            words.append(word)
        elif word == "--junit":
            words += [word, _take(args, index, word)]
            index += 1
        elif word in SETTING_FLAGS:
            index = _setting_flag(word, args, index, opts)
        elif word.startswith(("-", "+")) and len(word) > 1:
            raise UsageError(f"run: unknown option {word}", RUN_USAGE)
        else:
            files.append(word)
    if opts.mode == "run" and len(files) != 1:
        raise UsageError("run: give one script" if not files else f"run: one script at a time, not {len(files)}",
                         RUN_USAGE)
    opts.run_words = ["source", *files, *words]
    return opts


def help_text() -> str:
    lines = [
        f"getsh {__version__} — an interactive shell for DICOM C-GET retrieval (after DCMTK getscu)",
        "",
        "usage: getsh [options] [peer port [dcmfile-in]]   the shell (connected to peer when given)",
        "       getsh get [options] peer port [dcmfile-in…]  as getscu: one C-GET per query file (else one",
        "                                        from the -k keys), --repeat times, then exit",
        "       getsh echo [options] peer port   as echoscu: C-ECHO, then exit",
        "       getsh --demo [options]           the shell, on the embedded demo archive",
        "       getsh [options] -c 'cmd; cmd'    run commands and exit (also: commands on stdin)",
        "       getsh run FILE [run options]     replay a script (docs/scripting.md), then exit",
        "       getsh serve --demo [--port N]    run the demo Query/Retrieve archive in the foreground",
        "",
        "general options",
    ]
    lines += [f"  {flag:<28} {text}" for flag, text in GENERAL_OPTIONS]
    lines += ["", "settings (the same as 'set NAME VALUE' in the shell; rightmost option wins)"]
    for setting in SETTINGS:
        header = f"{setting.name}: {setting.help}"
        if setting.flags:
            lines.append(f"  {', '.join(setting.flags) + ' ' + setting.metavar:<28} {header}")
        else:
            lines.append(f"  {header}")
        for choice in setting.choices:
            if choice.flags:
                lines.append(f"    {', '.join(choice.flags):<26} {choice.value}: {choice.help.split(', then')[0]}")
    lines += ["", "run options (settings options apply before the script's first line)"]
    lines += [f"  {flag:<28} {text}" for flag, text in RUN_OPTIONS]
    lines += ["", "serve options"]
    lines += [f"  {flag:<28} {text}" for flag, text in SERVE_OPTIONS]
    lines += [
        "",
        "exit status: 0 success, 1 bad command line, 2 a command failed, 3 script error, 4 warning,",
        "             5 sub-operations failed, 6 failure status from the peer, 7 network/association failure",
        "             getsh get: the worst outcome (unlike getscu, which exits 0 after a failed C-GET)",
        "             getsh run: 0 every command ran and every expectation held, 1 an expectation failed,",
        "             2 a command failed, 3 a bad script line or an unreadable script",
        f"files: history and config in ${HOME_VARIABLE} (default: the user data directory)",
    ]
    return "\n".join(lines)


def version_text() -> str:
    import pydicom
    import pynetdicom

    return f"getsh {__version__}\npynetdicom {pynetdicom.__version__}\npydicom {pydicom.__version__}"


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
    return warnings


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    env = env or Environment()
    try:
        opts = parse_args(sys.argv[1:] if argv is None else argv)
        settings = Settings()
        warnings = load_config(env, settings)
        for name, value in opts.settings:
            settings.set(name, value, Origin.COMMAND_LINE)
    except GetshError as exc:
        env.stderr.write(f"getsh: {exc.message}" + (f" — {exc.hint}" if exc.hint else "") + "\n")
        return ExitStatus.USAGE
    if opts.show_arguments:
        env.stderr.write(arguments_text(opts.expanded) + "\n")
    if opts.mode == "help":
        env.stdout.write(help_text() + "\n")
        return ExitStatus.SUCCESS
    if opts.mode == "version":
        env.stdout.write(version_text() + "\n")
        return ExitStatus.SUCCESS
    from getsh import logs

    logs.configure(settings["log-level"], opts.log_config)
    for warning in warnings:
        env.stderr.write(f"getsh: warning: {warning}\n")
    if _plain_shell(opts, env):  # the prompt first, pydicom and pynetdicom behind it
        from getsh.shell.deferred import run_deferred_shell

        return run_deferred_shell(env, settings, WELCOME)
    from getsh.app import run
    from getsh.context import Context

    return run(Context(env, settings), opts)


def _plain_shell(opts: Options, env: Environment) -> bool:
    """An interactive shell with nothing to do before its first prompt."""
    return (opts.mode == "shell" and env.stdin_isatty and not opts.demo and opts.peer is None
            and not (opts.commands or opts.query_files or opts.keys))
