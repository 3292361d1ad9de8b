"""Every mode's command line as tables of options, read by argv.py's one loop: the shell's and
the one-shot ``get``/``echo``'s (getscu's options; each setting's flags come from the settings
table), ``find``'s (findscu's: its own few and the settings findscu has too), ``run``'s (from the
``source`` command's declaration), and ``serve``'s. The same tables
make ``--help`` (cli.py) and ``--arguments``' long forms.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from getsh.cmdline.argfiles import expand_command_files
from getsh.cmdline.argv import Mode, Option, Store, append, assign, extend, parse_words
from getsh.cmdline.identity import IDENTITY_OPTIONS, SERVE_IDENTITY_OPTIONS
from getsh.cmdline.options import Options
from getsh.cmdline.tls import TLS_OPTIONS
from getsh.dicom.keys.aetitle import validate_ae_title
from getsh.errors import UsageError
from getsh.setting import Setting
from getsh.settings import BY_NAME, SETTINGS

if TYPE_CHECKING:
    from getsh.registry import Arg

# --- the general options (the shell, getsh get, getsh echo) -------------------------------------


def _help(opts: Options, _: None) -> None:
    if opts.mode != "help":
        opts.help_for = opts.mode  # getsh serve --help: serve's own help
    opts.mode = "help"


def _version(opts: Options, _: None) -> None:
    if opts.mode != "help":  # --help wins, wherever it stands
        opts.mode = "version"


def _init_config(opts: Options, _: None) -> None:
    if opts.mode != "help":
        opts.mode = "init-config"


def _node_name(text: str) -> str:
    if not text or any(c.isspace() or c in "@:" for c in text):
        raise ValueError(f"{text!r} is not a node name (a [nodes.NAME] section of the config file)")
    return text


def _key(text: str) -> str:
    """A bad key is a bad command line: refuse it before anything is sent."""
    from getsh.dicom.keys.identifier import parse_key  # pydicom: only when -k is given

    parse_key(text)
    return text


HELP = Option(("-h", "--help"), "print this help text and exit", _help)

GENERAL = (
    HELP,
    Option(("--version",), "print version information and exit", _version),
    Option(("--arguments",), "print expanded command line arguments (after @file expansion, long forms)",
           assign("show_arguments", True)),
    Option(("-c", "--command"), "run these commands (separated by ';') instead of the shell, then exit",
           append("commands"), metavar="CMDS"),
    Option(("--demo",), "start the embedded demo archive on 127.0.0.1 and connect to it", assign("demo", True)),
    Option(("-n", "--node"), "start connected to a node of the config file ([nodes.NAME]; 'nodes' lists them)",
           assign("node"), metavar="NAME", convert=_node_name, hint="e.g. -n pacs1 (see: nodes, in the shell)"),
    Option(("--init-config",), "write a commented config file (settings, the node book) where getsh reads it, "
           "then exit", _init_config),
    Option(("-k", "--key"), "set a query key, as 'key KEY' in the shell (getscu's forms; repeatable)",
           append("keys"), metavar="KEY", convert=_key),
    Option(("-lc", "--log-config"), "configure logging from a Python logging configuration file (fileConfig format)",
           assign("log_config"), metavar="FILE", convert=Path),
)
COMMAND_FILE_HELP = ("@FILE", "replaced by the words in FILE (whitespace-separated, quotes respected; no nesting)")


def _setting_value(name: str, fixed: str | None = None) -> Store:
    """A setting option records (setting, value); Settings checks the value once the line is read."""

    def store(opts: Options, given: str | None) -> None:
        value = fixed if given is None else given
        assert value is not None  # a flag has its fixed value, an option its word
        opts.settings.append((name, value))

    return store


def setting_options(settings: Iterable[Setting]) -> tuple[Option, ...]:
    """Each setting's getscu options: one that takes its value, and one per choice that selects it."""
    options = []
    for setting in settings:
        if setting.flags:
            options.append(Option(setting.flags, f"set {setting.name} {setting.metavar}", _setting_value(setting.name),
                                  metavar=setting.metavar))
        for choice in setting.choices:
            if choice.flags:
                options.append(Option(choice.flags, f"set {setting.name} {choice.value}",
                                      _setting_value(setting.name, choice.value)))
    return tuple(options)


# DCMTK's TLS and storescu's identity options that set two settings at once (cmdline/tls.py, identity.py)
SETTING_OPTIONS = (*setting_options(SETTINGS), *TLS_OPTIONS, *IDENTITY_OPTIONS)

# the long form of each short option, as DCMTK prints them for --arguments
LONG_FORMS = {o.spellings[0]: o.spellings[1] for o in (*GENERAL, *SETTING_OPTIONS) if len(o.spellings) == 2}

SHELL_USAGE = "usage: getsh [options] [peer port [dcmfile-in…]]"
GET_USAGE = "usage: getsh get [options] peer port [dcmfile-in…]"
MOVE_USAGE = "usage: getsh move [options] peer port [dcmfile-in…]"
FIND_USAGE = "usage: getsh find [options] peer port [dcmfile-in…]"
ECHO_USAGE = "usage: getsh echo [options] peer port"
ONE_SHOT_USAGE = {"get": GET_USAGE, "move": MOVE_USAGE, "find": FIND_USAGE, "echo": ECHO_USAGE}


def _refused(mode: str, spelling: str, usage: str) -> Option:
    """An option of the shell that a one-shot mode names in its error (``get: -c does not apply …``)."""

    def store(opts: Options, _: None) -> None:
        if opts.mode == mode:  # after --help, nothing runs: no need to refuse
            raise UsageError(f"{mode}: {spelling} does not apply to a one-shot {mode}", usage)

    return Option((spelling,), "", store)


def one_shot_options(mode: str, usage: str) -> tuple[Option, ...]:
    refused = ("-c", "--command", "--demo", "-n", "--node", "--init-config")
    kept = tuple(o for o in GENERAL if not set(o.spellings) & set(refused))
    return kept + tuple(_refused(mode, spelling, usage) for spelling in refused)


def _operand(word: str) -> bool:
    """A word that does not look like an option (a negative number does not) is an operand."""
    return not (word.startswith(("-", "+")) and len(word) > 1 and not word.lstrip("-").isdigit())


# --- getsh find: findscu's words ------------------------------------------------------------------

# the settings findscu has an option for (the rest are getscu's: getsh find does not take them)
FIND_SETTINGS = ("aet", "aec", "model", "propose", "connect-timeout", "acse-timeout", "dimse-timeout", "max-pdu",
                 "repeat", "abort", "output", "log-level", "cancel-grace", "tls", "tls-key", "tls-cert",
                 "tls-password", "tls-ca", "tls-verify", "tls-profile")
# and storescu's user identity (findscu 3.6.7 has none), for the archives that want one
IDENTITY_SETTINGS = ("user", "user-secret", "user-response")


def _responses(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{text!r} is not a number of responses (1 or more)")
    return int(text)


def _worklist(opts: Options, _: None) -> None:
    if opts.mode == "find":  # after --help, nothing runs
        raise UsageError("find: -W (the modality worklist model) is not supported",
                         "query an archive with -P (patient root, the default), -S (study root) "
                         "or -O (patient/study only)")


FIND_OPTIONS = (
    Option(("-X", "--extract"), "write each response as a DICOM file, rsp0001.dcm … (in -od, default .)",
           assign("extract", True)),
    Option(("--cancel",), "send C-CANCEL after N responses and keep those N", assign("cancel"), metavar="N",
           convert=_responses, hint="e.g. --cancel 10"),
    Option(("-W", "--worklist"), "", _worklist),
)
LONG_FORMS.update({o.spellings[0]: o.spellings[1] for o in FIND_OPTIONS if len(o.spellings) == 2})


# --- the checks of a whole general command line -------------------------------------------------


def _check_port(text: str) -> None:
    from getsh.nodes import port_number

    try:
        port_number(text)
    except ValueError as exc:
        raise UsageError(f"port: {exc}", "the peer's TCP port, e.g. 104 or 11112") from None


def _check_query_file(path: str) -> None:
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise UsageError(f"cannot access query file: {path}", "dcmfile-in is a readable DICOM query file")


def _check_settings_given(opts: Options) -> None:
    """Each setting's own check of the value the command line gave it (the rightmost), before anything is
    associated: getscu refuses an -od that does not exist."""
    for name, value in dict(opts.settings).items():
        check = BY_NAME[name].check_given
        if check is not None:
            check(value)


def _peer(opts: Options, operands: list[str]) -> None:
    """``peer port [dcmfile-in…]``: in the shell, get and echo alike."""
    usage = ONE_SHOT_USAGE.get(opts.mode, SHELL_USAGE)
    if opts.mode in ONE_SHOT_USAGE and not operands:
        raise UsageError(f"{opts.mode}: missing parameter peer", usage)
    if opts.mode == "echo" and len(operands) > 2:
        raise UsageError(f"echo: unexpected argument {operands[2]!r}", ECHO_USAGE)
    if not operands:
        return
    if len(operands) < 2:
        raise UsageError(f"expected 'peer port', got {' '.join(operands)!r}", usage)
    opts.peer = (operands[0], operands[1])
    _check_port(operands[1])
    opts.query_files = operands[2:]
    for path in opts.query_files:
        _check_query_file(path)


def _finish_general(opts: Options, operands: list[str]) -> None:
    if opts.mode in ("help", "version", "init-config"):
        if opts.mode == "init-config" and operands:
            raise UsageError(f"--init-config takes no peer ({' '.join(operands)!r})", "getsh --init-config")
        return
    _peer(opts, operands)
    _check_settings_given(opts)
    if opts.mode in ("get", "move", "find"):
        if not opts.query_files and not opts.keys:
            raise UsageError(f"{opts.mode}: either query file or override keys (or both) must be specified",
                             ONE_SHOT_USAGE[opts.mode])
        if opts.extract and len(opts.query_files) > 1:
            raise UsageError(f"find: -X with {len(opts.query_files)} query files would write each one's responses "
                             "over the last one's (rsp0001.dcm …)", "run one query file at a time, each with its -od")
        return
    if len(opts.query_files) > 1:
        raise UsageError("the shell holds one identifier: give it one query file",
                         "to send one C-GET per file, use: get FILE FILE… in the shell")
    if sum(map(bool, (opts.demo, opts.peer, opts.node))) > 1:
        given = [name for name, on in (("--demo", opts.demo), ("a peer", opts.peer), ("-n", opts.node)) if on]
        raise UsageError(f"{' and '.join(given)} exclude each other", "give one of them")


# --- getsh run: the 'source' command's arguments, from its declaration ---------------------------


def _checked(convert: Callable[[str], Any]) -> Callable[[str], str]:
    """The source line gets the word as typed; the command line only checks it early."""

    def check(text: str) -> str:
        convert(text)
        return text

    return check


def _option_words(spelling: str) -> Callable[[str | None], list[str]]:
    return lambda value: [spelling] if value is None else [spelling, value]


def run_options(args: Iterable[Arg], spellings: Mapping[str, str]) -> tuple[Option, ...]:
    """``source``'s options as they are, and its positional words by their ``spellings`` (``--var``)."""
    options = []
    for arg in args:
        if arg.option:
            options.append(Option((arg.option,), arg.help, extend("run_words", _option_words(arg.option)),
                                  metavar="" if arg.flag else arg.label, convert=_checked(arg.type)))
        elif arg.name in spellings:
            options.append(Option((spellings[arg.name],), f"{arg.help} (repeatable)", append("run_words"),
                                  metavar=arg.label, convert=_checked(arg.type), repeatable=True))
    return tuple(options)


@functools.cache
def run_mode() -> Mode:
    """``getsh run FILE …``, built when first asked for: the registry is not needed for other modes."""
    from getsh.script.arguments import RUN_SPELLINGS, SOURCE, SOURCE_ARGS

    options = run_options(SOURCE_ARGS, RUN_SPELLINGS)
    operands = [a.label for a in SOURCE_ARGS if not a.option and a.name not in RUN_SPELLINGS]
    usage = f"usage: getsh run {' '.join([*operands, *(o.usage for o in options)])}"

    def finish(opts: Options, files: list[str]) -> None:
        if opts.mode == "run" and len(files) != 1:
            raise UsageError("run: give one script" if not files else f"run: one script at a time, not {len(files)}",
                             usage)
        opts.run_words = [SOURCE, *files, *opts.run_words]

    return Mode("run", options, (HELP, *SETTING_OPTIONS), usage, "run: unknown option {word}",
                lambda word: not (word.startswith(("-", "+")) and len(word) > 1), finish, inline_values=True)


# --- getsh serve ----------------------------------------------------------------------------------


def _serve_port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ValueError(f"{text!r} is not a port number (0..65535)")
    return int(text)


def _move_dest(text: str) -> tuple[str, str, int]:
    """``AE=HOST:PORT``: a Move Destination the demo archive knows (as an archive's table of nodes)."""
    title, _, address = text.partition("=")
    host, _, port = address.rpartition(":")
    if not (title and host and port.isdigit() and 0 < int(port) <= 65535):
        raise ValueError(f"{text!r} is not AE=HOST:PORT")
    return validate_ae_title(title), host, int(port)


SERVE_OPTIONS = (
    Option(("--demo",), "serve the embedded demo archive (the default and, for now, only archive)",
           assign("demo", True)),
    Option(("--port",), "TCP port on 127.0.0.1 (default: a free port, printed at start)", assign("serve_port"),
           metavar="N", convert=_serve_port, hint="e.g. --port 11112"),
    Option(("--aet",), "the archive's AE title (default GETSH-DEMO)", assign("serve_aet"), metavar="TITLE",
           convert=validate_ae_title, hint=""),
    Option(("--require-called-ae",), "reject associations whose called AE title is not the archive's",
           assign("serve_require_aet", True)),
    Option(("--move-dest",), "a C-MOVE destination the archive knows: its AE title, host and port (repeatable)",
           append("serve_move_dests"), metavar="AE=HOST:PORT", convert=_move_dest, hint="e.g. --move-dest "
           "GETSCU=127.0.0.1:11113", repeatable=True),
    Option(("--no-get",), "offer no C-GET (the Q/R GET models are refused): an archive with C-MOVE only",
           assign("serve_no_get", True)),
    Option(("--tls",), "serve DICOM over TLS with this private key and certificate (PEM files)", assign("serve_tls"),
           metavar="KEY CERT", convert=tuple, arity=2),
    Option(("+cf", "--add-cert-file"), "with --tls: the CA certificates that clients' certificates are checked "
           "against (PEM)", assign("serve_trust"), metavar="FILE"),
    Option(("--require-client-cert",), "with --tls and +cf: refuse clients without a certificate signed by that CA",
           assign("serve_require_client_cert", True)),
    Option(("--move-tls",), "with --tls: open C-MOVE's associations to the --move-dest destinations over TLS too "
           "(the --tls certificate; theirs checked against +cf)", assign("serve_move_tls", True)),
    *SERVE_IDENTITY_OPTIONS,
)
SERVE_USAGE = ("usage: getsh serve --demo [--port N] [--aet TITLE] [--move-dest AE=HOST:PORT] [--no-get] "
               "[--tls KEY CERT [+cf CA] [--require-client-cert] [--move-tls]] [--require-user NAME[:SOURCE]…]")


def _finish_nothing(opts: Options, operands: list[str]) -> None:
    """serve takes no operands (the loop refuses them)."""


# --- the modes --------------------------------------------------------------------------------------

SHELL = Mode("shell", GENERAL, SETTING_OPTIONS, SHELL_USAGE, "unknown option {word}", _operand, _finish_general,
             unknown_hint="see: getsh --help")
ONE_SHOT = {
    name: Mode(name, one_shot_options(name, usage), SETTING_OPTIONS, usage, "unknown option {word}", _operand,
               _finish_general, unknown_hint="see: getsh --help")
    for name, usage in (("get", GET_USAGE), ("move", MOVE_USAGE), ("echo", ECHO_USAGE))
}
FIND = Mode("find", (*one_shot_options("find", FIND_USAGE), *FIND_OPTIONS),
            (*setting_options(s for s in SETTINGS if s.name in FIND_SETTINGS + IDENTITY_SETTINGS), *TLS_OPTIONS,
             *IDENTITY_OPTIONS),
            FIND_USAGE, "unknown option {word}",
            _operand, _finish_general, unknown_hint="see: getsh --help")
MODES = {
    **ONE_SHOT,
    "find": FIND,
    "serve": Mode("serve", SERVE_OPTIONS, (HELP, *setting_options(s for s in SETTINGS if s.name == "log-level")),
                  SERVE_USAGE, "serve: unknown argument {word}", lambda word: False, _finish_nothing),
}


def mode_named(word: str) -> Mode | None:
    """The mode a first word names (get, find, echo, run, serve); None: the shell's, and the word is its own."""
    return run_mode() if word == "run" else MODES.get(word)


def parse_args(argv: Sequence[str]) -> Options:
    """Parse the command line; UsageError (exit 1, as getscu) when it does not make sense."""
    args = expand_command_files(argv)
    opts = Options(expanded=list(args))
    named = mode_named(args[0]) if args else None
    mode = SHELL if named is None else named
    words = args if named is None else args[1:]
    opts.mode = mode.name
    mode.finish(opts, parse_words(words, mode, opts))
    return opts


def arguments_text(args: Sequence[str]) -> str:
    """What ``--arguments`` prints, like DCMTK: the expanded arguments, short options in their long form."""
    quoted = " ".join(f"'{LONG_FORMS.get(word, word)}'" for word in args)
    return f"I: calling 'getsh' with {len(args)} arguments: {quoted}\nI: "
