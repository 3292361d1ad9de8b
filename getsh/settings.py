"""THE table of settings.

One entry per setting: its ``set`` name, type, default, allowed values, help, the getscu
options that set it, and whether changing it needs a new association. The command line,
``set``/``settings``, the toolbar and the docs all read this table, so a setting is
declared exactly once.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from getsh import logs
from getsh.completion.paths import directory_words, path_words
from getsh.dicom.keys.aetitle import validate_ae_title
from getsh.dicom.net.syntaxes import PREFER, PROPOSE, describe
from getsh.errors import UsageError
from getsh.setting import Choice, Origin, Setting
from getsh.setting_values import (
    USER_TYPES,
    check_secret_source,
    int_between,
    looks_secret,
    parse_ae_list,
    parse_ae_or_none,
    parse_bool,
    parse_count,
    parse_host,
    parse_parallel,
    parse_password_source,
    parse_path,
    parse_port,
    parse_seconds,
    parse_secret_source,
    parse_size,
    parse_user,
    secret_source_words,
    show_ae_list,
    show_bool,
    show_limit,
    show_none,
    show_parallel,
    show_path,
    show_seconds,
    show_size,
)


def _existing_directory(text: str) -> None:
    """As getscu: ``-od`` names a directory that exists and that we may write into, or the command line
    is wrong (exit 1), before anything is associated (a read-only mount included: access() says EROFS)."""
    path = os.path.expanduser(text)
    if not os.path.isdir(path):
        raise UsageError(f"specified output directory does not exist: {text}",
                         "-od names an existing directory (as getscu)")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"specified output directory is not writeable: {text}",
                         "-od names a directory getsh may write into (as getscu)")


def _accept(text: str) -> str:
    from getsh.dicom.net.sopclasses import parse_accept  # loaded when first used: see _accept_words

    return parse_accept(text)


def _accept_words(text: str) -> Iterator[tuple[str, str]]:
    """The modes, modality words and SOP class keywords ``accept`` takes.

    sopclasses is imported here, when first completed, not at the top: it loads pydicom and
    pynetdicom, which the command line and the first prompt do not wait for (a lazy load for
    start-up speed; sopclasses does not import this module).
    """
    from getsh.dicom.net.sopclasses import suggestions

    return suggestions(text)


def _charset(text: str) -> str | None:
    from getsh.dicom.keys.charset import parse_charset  # pydicom's defined terms, loaded when first set

    return parse_charset(text)


def _charset_words(text: str) -> Iterator[tuple[str, str]]:
    from getsh.dicom.keys.charset import charset_words

    return charset_words(text)


def _parse_layout(text: str) -> str:
    """``getscu`` (modality prefix + SOP Instance UID, as getscu names files) or a checked template."""
    from getsh.dicom.storage.naming import Layout

    template = text.strip()
    if template.lower() in ("getscu", "default"):
        return "getscu"
    try:
        return Layout(template).template
    except UsageError as error:
        raise ValueError(error.message) from None


def _prefer_choices(table: dict[str, tuple[str, ...]], flags: Mapping[str, tuple[str, ...]]) -> tuple[Choice, ...]:
    return tuple(Choice(name, flags[name], functools.partial(describe, table, name)) for name in table)


_PREFER_FLAGS = {
    "uncompr": ("+x=", "--prefer-uncompr"),
    "little": ("+xe", "--prefer-little"),
    "big": ("+xb", "--prefer-big"),
    "lossless": ("+xs", "--prefer-lossless"),
    "jpeg8": ("+xy", "--prefer-jpeg8"),
    "jpeg12": ("+xx", "--prefer-jpeg12"),
    "j2k-lossless": ("+xv", "--prefer-j2k-lossless"),
    "j2k-lossy": ("+xw", "--prefer-j2k-lossy"),
    "jls-lossless": ("+xt", "--prefer-jls-lossless"),
    "jls-lossy": ("+xu", "--prefer-jls-lossy"),
    "mpeg2": ("+xm", "--prefer-mpeg2"),
    "mpeg2-high": ("+xh", "--prefer-mpeg2-high"),
    "mpeg4": ("+xn", "--prefer-mpeg4"),
    "mpeg4-bd": ("+xl", "--prefer-mpeg4-bd"),
    "mpeg4-2-2d": ("+x2", "--prefer-mpeg4-2-2d"),
    "mpeg4-2-3d": ("+x3", "--prefer-mpeg4-2-3d"),
    "mpeg4-2-st": ("+xo", "--prefer-mpeg4-2-st"),
    "hevc": ("+x4", "--prefer-hevc"),
    "hevc10": ("+x5", "--prefer-hevc10"),
    "rle": ("+xr", "--prefer-rle"),
    "deflated": ("+xd", "--prefer-deflated"),
    "implicit": ("+xi", "--implicit"),
}

_PROPOSE_FLAGS = {
    "uncompr": ("-x=", "--propose-uncompr"),
    "little": ("-xe", "--propose-little"),
    "big": ("-xb", "--propose-big"),
    "deflated": ("-xd", "--propose-deflated"),
    "implicit": ("-xi", "--propose-implicit"),
}

MASK = "********"  # how a secret setting's value is shown

LOG_LEVELS = ("fatal", "error", "warn", "info", "debug", "trace")
_tls_path = functools.partial(Setting, default="", parse=parse_path, show=show_path, renegotiate=True,
                              complete=path_words)  # a file or directory of TLS's

SETTINGS: tuple[Setting, ...] = (
    Setting("aet", "my calling AE title; FINDSCU in 'getsh find', as findscu", "GETSCU", validate_ae_title,
            flags=("-aet", "--aetitle"), metavar="AETITLE", renegotiate=True,
            mode_defaults=(("find", "FINDSCU"), ("move", "MOVESCU"))),  # findscu's, movescu's default
    Setting("aec", "called AE title of the peer", "ANY-SCP", validate_ae_title,
            flags=("-aec", "--call"), metavar="AETITLE", renegotiate=True),
    Setting("model", "query/retrieve information model", "patient", choices=(
        Choice("patient", ("-P", "--patient"), "Patient Root Query/Retrieve Information Model - GET"),
        Choice("study", ("-S", "--study"), "Study Root Query/Retrieve Information Model - GET"),
        Choice("psonly", ("-O", "--psonly"), "Patient/Study Only Query/Retrieve Information Model - GET"),
    ), renegotiate=True),
    Setting("prefer", "preferred transfer syntaxes for incoming objects (C-STORE sub-operations)",
            "uncompr", choices=_prefer_choices(PREFER, _PREFER_FLAGS), renegotiate=True),
    Setting("propose", "transfer syntaxes proposed for the query/retrieve request itself",
            "uncompr", choices=_prefer_choices(PROPOSE, _PROPOSE_FLAGS), renegotiate=True),
    Setting("accept", "storage SOP classes accepted for the objects a get brings: default, all, auto, or classes",
            "default", _accept, metavar="CLASSES", renegotiate=True, complete=_accept_words),
    Setting("connect-timeout", "timeout for connection requests, seconds", None, parse_seconds,
            show_seconds, flags=("-to", "--timeout"), metavar="SECONDS"),
    Setting("acse-timeout", "timeout for ACSE messages (association set-up and release), seconds", 30,
            parse_seconds, show_seconds, flags=("-ta", "--acse-timeout"), metavar="SECONDS"),
    Setting("dimse-timeout", "timeout for DIMSE messages, seconds", None, parse_seconds, show_seconds,
            flags=("-td", "--dimse-timeout"), metavar="SECONDS"),
    Setting("no-progress-timeout", "cancel a retrieve when for this many seconds no object has completed and less "
            "than 1 MiB arrived while the peer keeps it going (pending responses, a trickle of bytes); unlimited in "
            "'getsh get', as getscu",
            300, parse_seconds, show_seconds, flags=("--no-progress-timeout",), metavar="SECONDS",
            mode_defaults=(("get", None), ("move", None))),
    Setting("retrieve-timeout", "cancel a retrieve (all its requests) that takes longer than this many seconds",
            None, parse_seconds, show_seconds, flags=("--retrieve-timeout",), metavar="SECONDS"),
    Setting("max-objects", "cancel a retrieve once it has received this many objects (they are kept)", None,
            parse_count, show_limit, flags=("--max-objects",), metavar="N"),
    Setting("max-bytes", "cancel a retrieve once the objects it received reach this many bytes (K, M, G: ×1024)",
            None, parse_size, show_limit, flags=("--max-bytes",), metavar="BYTES"),
    Setting("cancel-grace", "after a C-CANCEL (Ctrl-C or a limit), abort the association if the peer has not "
            "ended the retrieve within this many seconds", 5, parse_seconds, show_seconds,
            flags=("--cancel-grace",), metavar="SECONDS"),
    Setting("ls-limit", "ls lists at most this many rows, then sends C-CANCEL (ls --all lists every one)", 100,
            parse_count, show_limit, metavar="N"),
    Setting("max-pdu", "maximum receive PDU size, bytes (4096..131072)", 16384, int_between(4096, 131072),
            flags=("-pdu", "--max-pdu"), metavar="BYTES", renegotiate=True),
    Setting("user", "user identity negotiation: my user name, sent alone or with a password (user-secret); none: "
            "none sent (DCMTK storescu's --user)", None, parse_user, show_none, flags=("-usr", "--user"),
            metavar="NAME", renegotiate=True),
    Setting("user-type", "what the user identity sends (auto: the user name, and a password with user-secret)",
            "auto", choices=tuple(Choice(value, (), words) for value, words in USER_TYPES), renegotiate=True),
    Setting("user-secret", "where the password, ticket, assertion or token is: env:VAR or file:PATH, read at each "
            "association (the secret itself is never recorded or shown; where it is, is)", None, parse_secret_source,
            show_none, flags=("-pwd", "--password"), metavar="SOURCE", renegotiate=True,
            complete=secret_source_words, mask_if=looks_secret, check_given=check_secret_source),
    Setting("user-response", "ask the peer to confirm the user identity (a positive response)", False, parse_bool,
            show_bool, choices=(Choice("off", (), "ask for no response"),
                                Choice("on", ("-rsp", "--pos-response"), "ask for a positive response")),
            renegotiate=True),
    Setting("parallel", "spread one get over up to this many associations, each retrieving a share a C-FIND "
            "planned (1: one association, as getscu; auto: as the link's round trip says, measured with a C-ECHO: "
            "one under 2.5 ms, 4 under 10 ms, else 8); the shell keeps the N associations open between gets", 1,
            parse_parallel, show_parallel,
            flags=("--parallel",), metavar="N|auto",
            complete=lambda _text: [("1", "one association, as getscu"), ("2", ""), ("4", "a LAN, 1-10 ms"),
                                    ("8", "a remote archive, 10 ms or more"),
                                    ("auto", "measure the round trip at each get and decide")]),
    Setting("repeat", "send each request this many times", 1, int_between(1, 1_000_000),
            flags=("--repeat",), metavar="N"),
    Setting("charset", "the Specific Character Set that find and get send, in which the values you type are encoded: "
            "a DICOM defined term (ISO_IR 100, ISO_IR 192, \\ISO 2022 IR 87 …) or none (ASCII); "
            "a SpecificCharacterSet key you set wins",
            None, _charset, lambda value: value or "none", metavar="TERM", complete=_charset_words),
    Setting("abort", "abort the association instead of releasing it", False, parse_bool, show_bool,
            choices=(Choice("off", (), "release the association normally"),
                     Choice("on", ("--abort",), "abort the association instead of releasing it"))),
    Setting("output", "directory that received objects are written to", ".",
            flags=("-od", "--output-directory"), metavar="DIRECTORY", complete=directory_words,
            check_given=_existing_directory),
    Setting("storage", "what to do with received objects", "normal", choices=(
        Choice("normal", ("-B", "--normal"), "check, decode and write like getscu -B; one copy at most in memory "
                                             "(see stream-above)"),
        Choice("bit-preserving", ("+B", "--bit-preserving"), "receive directly to disk, bytes as sent"),
        Choice("ignore", ("--ignore",), "receive but do not store"),
    )),
    Setting("malformed", "bit-preserving storage, for received bytes that are not a well-formed data set "
            "(truncated, trailing garbage, not a data set at all; normal storage always refuses them: 0xC210)",
            "flag", choices=(
        Choice("flag", (), "keep the bytes as received and say so in the table and the summary"),
        Choice("refuse", (), "answer the C-STORE with 0xC210 (cannot understand) and keep nothing"),
    )),
    Setting("stream-above", "normal storage: a data set larger than this is gathered in a spool file in the output "
            "directory instead of memory; either way only its non-bulk elements are decoded and its bulk data "
            "(pixel data, an encapsulated document, any element of 1 MiB or more) is copied into the written file "
            "(K, M, G: ×1024)",
            32 * 1024**2, parse_size, show_size, flags=("--stream-above",), metavar="BYTES"),
    Setting("max-inflated", "normal storage: refuse (0xA700) a deflated data set that inflates past this size, "
            "a deflate bomb; bit-preserving storage keeps deflated bytes as sent (K, M, G: ×1024)",
            1024**3, parse_size, show_size, flags=("--max-inflated",), metavar="BYTES"),
    Setting("layout", "file names under the output directory: getscu's, or a template of {Keyword} fields",
            "getscu", _parse_layout, metavar="TEMPLATE"),
    Setting("existing", "when a received object's file name is taken", "rename", choices=(
        Choice("rename", (), "store it under the next free name (NAME_1, NAME_2 …)"),
        Choice("overwrite", (), "replace the existing file (getscu's behaviour), and say so"),
        Choice("keep", (), "keep the existing file and discard the received object, and say so"),
    )),
    Setting("receive", "how a get reads the objects from the network: getsh's own receive path or pynetdicom's",
            "auto", choices=(
        Choice("auto", (), "getsh's direct receive path when the association's socket can be borrowed (a "
                           "parallel get's planning C-FINDs too); pynetdicom's own with debug logging (-d: its "
                           "protocol log) or when it cannot"),
        Choice("pynetdicom", (), "always pynetdicom's own receive path (slower: the before/after comparison)"),
    )),
    Setting("retrieve", "how get retrieves: C-GET, C-MOVE to getsh's own receiver, or C-GET with C-MOVE when the "
            "peer has no C-GET", "get", choices=(
        Choice("get", (), "C-GET: the objects come back on the same association"),
        Choice("move", (), "C-MOVE: the archive sends them to getsh's receiver (listen-port), or to move-destination"),
        Choice("auto", (), "C-GET; C-MOVE when the peer refuses C-GET or answers 'not supported' (said in one line)"),
    ), renegotiate=True),
    Setting("move-destination", "a C-MOVE's Move Destination: none (getsh's own AE title: its receiver) or a third "
            "party's AE title, as movescu -aem (the objects go there; nothing arrives here)", None, parse_ae_or_none,
            show_none, flags=("-aem", "--move"), metavar="AETITLE"),
    Setting("listen-port", "the port getsh's receiver listens on for a C-MOVE's objects (the archive must know our AE "
            "title at this host and port); none: no receiver", None, parse_port, show_none, flags=("+P", "--port"),
            metavar="PORT"),
    Setting("listen-host", "the address the receiver listens on: 0.0.0.0 every interface, 127.0.0.1 this machine only",
            "0.0.0.0", parse_host, metavar="ADDRESS"),
    Setting("move-callers", "calling AE titles the receiver accepts from the peer's address (archives often open a "
            "C-MOVE's association under another title than the one called): any, or titles", (), parse_ae_list,
            show_ae_list, metavar="AETITLES"),
    Setting("listen-tls", "the receiver over TLS, for archives that open a C-MOVE's association over TLS", "off",
            choices=(
        Choice("off", (), "plain TCP (default; whatever tls says of getsh's own associations)"),
        Choice("on", (), "TLS with tls-key and tls-cert; under tls-verify require only archives whose certificate "
                         "tls-ca vouches for; tls-profile applies"),
    )),

    Setting("tls", "DICOM over TLS: off, on (our key and certificate: +tls KEY CERT) or anonymous", "off", choices=(
        Choice("off", ("-tls", "--disable-tls"), "plain TCP (default)"),
        Choice("on", (), "TLS with our key and certificate (tls-key, tls-cert): +tls KEY CERT"),
        Choice("anonymous", ("+tla", "--anonymous-tls"), "TLS without a certificate of ours"),
    ), renegotiate=True),
    _tls_path("tls-key", "TLS: our private key (PEM); +tls KEY CERT sets it", metavar="FILE"),
    _tls_path("tls-cert", "TLS: our certificate (PEM); +tls KEY CERT sets it", metavar="FILE"),
    Setting("tls-password", "TLS: where our key's password is, never the password: file:PATH (+ps), env:NAME (+pw), "
            "none (-pw)", "none", parse_password_source, metavar="SOURCE", renegotiate=True, secret=True),
    _tls_path("tls-ca", "TLS: the CA certificates we trust, a PEM file (+cf) or a directory (+cd); none: the system's",
              flags=("+cf", "--add-cert-file", "+cd", "--add-cert-dir"), metavar="PATH"),
    Setting("tls-verify", "TLS: verify the peer's certificate", "require", choices=(
        Choice("require", ("-rc", "--require-peer-cert"), "verify it and its host name; fail if absent (default)"),
        Choice("ignore", ("-ic", "--ignore-peer-cert"), "do not verify it"),
    ), renegotiate=True),
    Setting("tls-profile", "TLS: the security profile (DCMTK's)", "bcp195-nd", choices=(
        Choice("bcp195-nd", ("+py", "--profile-bcp195-nd"), "Non-downgrading BCP 195: TLS 1.2+, AES-GCM (default)"),
        Choice("bcp195", ("+px", "--profile-bcp195"), "BCP 195: also TLS 1.0, 1.1, AES-CBC, 3DES (if OpenSSL allows)"),
        Choice("bcp195-ex", ("+pz", "--profile-bcp195-ex"), "Extended BCP 195: TLS 1.2 only, AES-GCM only"),
    ), renegotiate=True),
    Setting("log-level", "how much getsh and pynetdicom log to stderr", "warn", choices=(
        Choice("fatal", ("-q", "--quiet"), "only fatal errors"),
        Choice("error", (), "errors"),
        Choice("warn", (), "warnings and errors (default)"),
        Choice("info", ("-v", "--verbose"), "processing details"),
        Choice("debug", ("-d", "--debug"), "debug information, with tracebacks"),
        Choice("trace", (), "everything, including PDU dumps"),
    ), flags=("-ll", "--log-level"), metavar="LEVEL", apply=logs.configure, recorded=False),
    Setting("pager", "long output at the shell's prompt (status, received, show, help, settings) through $PAGER "
            "(else less -RS); never in scripts, pipes, -c or replays", "auto", choices=(
        Choice("auto", (), "when it does not fit on the screen"),
        Choice("on", (), "always"),
        Choice("off", (), "never"),
    ), recorded=False),
    Setting("verbose-pc", "show presentation contexts when associating", False, parse_bool, show_bool,
            choices=(Choice("off", (), "do not list presentation contexts"),
                     Choice("on", ("+v", "--verbose-pc"), "list presentation contexts when associating")),
            recorded=False),
    Setting("trace", "show each association step and DIMSE message as one line as it happens, and the "
            "A-ASSOCIATE exchange as a table (independent of -v and -d; docs/trace.md)", "off", choices=(
        Choice("off", (), "show nothing of the protocol"),
        Choice("on", (), "one line a message; a long run of C-STOREs is folded after the first few"),
        Choice("all", (), "one line a message, every one of them"),
    ), recorded=False),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def secret_at(words: Sequence[str]) -> int | None:
    """The index of the first word that names a setting whose value (the words after it) is masked."""
    return next((i for i, w in enumerate(words) if w.lower() in BY_NAME and
                 BY_NAME[w.lower()].hides(" ".join(words[i + 1:]))), None)


def lookup(name: str) -> Setting:
    """The setting called ``name``; a UsageError with the closest names otherwise."""
    try:
        return BY_NAME[name.strip().lower()]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name.lower(), BY_NAME, n=3)
        hint = f"did you mean {' or '.join(close)}?" if close else "type 'settings' for the list"
        raise UsageError(f"unknown setting {name!r}", hint) from None


@dataclass
class Settings:
    """Current values and their origins. Values are always already parsed and valid."""

    _values: dict[str, Any] = field(default_factory=lambda: {s.name: s.default for s in SETTINGS})
    _origins: dict[str, Origin] = field(default_factory=lambda: {s.name: Origin.DEFAULT for s in SETTINGS})

    @classmethod
    def for_mode(cls, mode: str) -> Settings:
        """The defaults of ``mode`` (shell, get, echo, run …): a row's ``mode_defaults`` win."""
        return cls(_values={s.name: s.default_in(mode) for s in SETTINGS})

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def origin(self, name: str) -> Origin:
        return self._origins[name]

    def set(self, name: str, text: str, origin: Origin = Origin.TYPED) -> Any:
        """Parse ``text`` and store it; raise UsageError and change nothing if it is invalid."""
        setting = lookup(name)
        value = setting.convert(text)
        self._values[setting.name] = value
        self._origins[setting.name] = origin
        if setting.apply is not None:
            setting.apply(value)
        return value

    def show(self, name: str) -> str:
        """The value as ``set`` takes it; a secret is masked (code that sends it reads ``settings[name]``)."""
        setting = BY_NAME[name]
        if setting.secret:
            return MASK if self._values[name] else ""
        return setting.show(self._values[name])

    def __iter__(self) -> Iterator[Setting]:
        return iter(SETTINGS)

    def negotiation(self) -> tuple[Any, ...]:
        """The values that an association was negotiated with; a difference means stale."""
        return tuple(self._values[s.name] for s in SETTINGS if s.renegotiate)
