"""The DCMTK command line for the session's state (``show getscu``, ``show findscu``): the mapping that reads
getscu's words into settings (each setting's ``flags`` and its choices' flags, in settings.py, as modes.py
uses them) read the other way, so a session can be handed to someone who has only DCMTK.

What getscu or findscu cannot say is never dropped: each setting that would make getsh's result differ
from the line's comes back as a note saying how. Light, as the rest of cmdline/: no DICOM library; the
keys arrive as getscu's ``-k`` expressions, and notes that need the protocol layer arrive ready-made.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from getsh.cmdline.modes import FIND_SETTINGS
from getsh.setting import Setting
from getsh.settings import SETTINGS, Settings

# The options DCMTK 3.6.7 has (getscu --help, findscu --help), in their short spelling: which of a setting's
# flags the line may use. getsh's own extensions (--max-objects, --no-progress-timeout …) are not here.
GETSCU_OPTIONS = frozenset(
    "-q -v -d -ll +v -P -S -O -aet -aec -to -ta -td -pdu --repeat --abort -od -B +B --ignore "
    "+x= +xe +xb +xs +xy +xx +xv +xw +xt +xu +xm +xh +xn +xl +x2 +x3 +xo +x4 +x5 +xr +xd +xi "
    "-x= -xe -xb -xd -xi".split())
FINDSCU_OPTIONS = frozenset(
    "-q -v -d -ll -P -S -O -aet -aec -to -ta -td -pdu --repeat --abort -x= -xe -xb -xd -xi".split())
ALWAYS = ("model", "aet", "aec")  # written even at their defaults: the archive checks titles, findscu's model differs
WHOLE_SECONDS = ("connect-timeout", "acse-timeout", "dimse-timeout")  # getscu takes whole seconds, at least 1
DISPLAY_ONLY = ("pager",)  # how getsh shows things: nothing for getscu to do
ALSO_DIFFERS = ("prefer",)  # getscu has the option, but getsh proposes it otherwise


@dataclass(frozen=True)
class Equivalent:
    """A DCMTK command line as words, and what it cannot express (one note a line)."""

    words: tuple[str, ...]
    notes: tuple[str, ...]

    def text(self) -> str:
        lines = [shlex.join(self.words)]
        lines += [f"# {note}" for note in self.notes]
        return "\n".join(lines)


def _prefer(value: str) -> str:
    if value in ("uncompr", "little", "implicit"):
        return ""
    return (f"getsh proposes prefer {value}'s transfer syntax in a presentation context of its own ahead of the "
            "uncompressed one, getscu one context per class: the archive may send another encoding (same objects)")


def _accept(value: str) -> str:
    if value == "default":
        return ""
    if value == "all":
        how = "every storage class getsh knows, over several associations when they need more than 128 contexts"
    elif value == "auto":
        how = "the classes a C-FIND says the objects have (more than getscu's list, or fewer)"
    else:
        how = f"only the classes {value}"
    return (f"accept {value}: getsh proposes {how}; getscu proposes its fixed list of storage classes, so objects "
            "of a class outside it fail with getscu (0xB000/0xA702) and objects outside getsh's set fail with getsh")


def _limit(what: str) -> Callable[[str], str]:
    return lambda value: (f"{what} {value}: getsh cancels the retrieve (C-CANCEL) at this limit and keeps what "
                          "arrived; getscu has no such limit and retrieves everything")


# Settings getscu has no option for: how getsh's result differs at a given value ('' when it does not).
DIFFERENCES: dict[str, Callable[[str], str]] = {
    "retrieve": lambda v: (
        f"retrieve {v}: getsh retrieves with C-MOVE{' when the peer has no C-GET' if v == 'auto' else ''}; getscu "
        "only does C-GET — DCMTK's movescu does C-MOVE (-aem, +P PORT; getsh move takes its options), and the "
        "archive must know its AE title, host and port"),
    "prefer": _prefer,
    "accept": _accept,
    "no-progress-timeout": lambda v: (
        f"no-progress-timeout {v} s: getsh cancels a retrieve that completes no object for that long; getscu "
        "waits as long as the archive keeps it going (set no-progress-timeout unlimited for getscu's way)"),
    "retrieve-timeout": _limit("retrieve-timeout"),
    "max-objects": _limit("max-objects"),
    "max-bytes": _limit("max-bytes"),
    "cancel-grace": lambda v: f"cancel-grace {v}: how long getsh waits after its own C-CANCEL; getscu never cancels",
    "ls-limit": lambda v: f"ls-limit {v}: only for ls; no effect on a get",
    "charset": lambda v: (
        f"charset {v}: getsh encodes the values in it and sends SpecificCharacterSet (in the keys above); "
        "getscu sends the -k values' bytes as the shell gives them (the same for ASCII, and for ISO_IR 192 "
        "from a UTF-8 terminal)"),
    "malformed": lambda v: (
        f"malformed {v}: getsh refuses (0xC210) received bytes that are not a well-formed data set; getscu +B "
        "writes them as they came" if v == "refuse" else ""),
    "stream-above": lambda v: f"stream-above {v}: only where getsh gathers a large object (memory or a spool "
                              "file); the same files result",
    "max-inflated": lambda v: f"max-inflated {v}: getsh refuses (0xA700) a deflated object that inflates past it; "
                              "getscu has no such cap",
    "layout": lambda v: (f"layout {v}: getsh names the files by this template; getscu writes MODALITY.SOPInstanceUID "
                         "(e.g. CT.1.2.3…) in the output directory" if v != "getscu" else ""),
    "existing": lambda v: (
        f"existing {v}: when a file name is taken getsh "
        + ("stores the object under the next free name (NAME_1 …)" if v == "rename" else
           "keeps the existing file and discards the object") +
        "; getscu overwrites it (with --repeat, or an output directory that holds these objects already)"
        if v != "overwrite" else ""),
    "receive": lambda v: f"receive {v}: which of getsh's receive paths it uses; the same files result",
    "parallel": lambda v: (f"parallel {v}: getsh spreads a get over several associations (planned with C-FIND); "
                           "getscu uses one; the same files result" if v != "1" else ""),
}


def _value_words(setting: Setting, settings: Settings) -> tuple[list[str], str]:
    """The option words for a setting that takes a value (-aet X), and a note when they cannot say it all."""
    flag = setting.flags[0]
    value = settings[setting.name]
    if setting.name == "output":
        if settings["storage"] == "ignore":  # getscu refuses -od with --ignore: nothing is written anyway
            return [], ""
        return [flag, os.path.abspath(os.path.expanduser(str(value)))], ""
    if setting.name in WHOLE_SECONDS:
        if value is None:
            return [], (f"{setting.name} unlimited: {flag} takes whole seconds; the line keeps DCMTK's default "
                        f"({setting.default_in('get') or 'unlimited'})")
        whole = max(1, math.ceil(value))
        note = "" if whole == value else f"{setting.name} {value}: {flag} takes whole seconds, {whole} here"
        return [flag, str(whole)], note
    return [flag, settings.show(setting.name)], ""


def _setting_words(settings: Settings, known: frozenset[str], names: Iterable[str],
                   mode: str) -> tuple[list[str], list[str]]:
    """The options that say the settings ``names`` (those that differ from the tool's defaults, and those
    always written), and a note for each one the tool cannot say."""
    words: list[str] = []
    notes: list[str] = []
    for setting in SETTINGS:
        value = settings[setting.name]
        if setting.name not in names or setting.name in DISPLAY_ONLY:
            continue
        if setting.name not in (*ALWAYS, "output") and value == setting.default_in(mode):
            continue
        if setting.name.startswith("tls-") and settings["tls"] == "off":
            continue  # no effect without TLS: nothing would differ
        if setting.secret:
            notes.append(f"{setting.name} is set (not shown): DCMTK has no option for it")
            continue
        choice = next((c for c in setting.choices if setting.convert(c.value) == value), None)
        if choice is not None and choice.flags and choice.flags[0] in known:
            words.append(choice.flags[0])
            if setting.name in ALSO_DIFFERS:  # said, and still not quite the same
                note = DIFFERENCES[setting.name](settings.show(setting.name))
                notes += [note] if note else []
            continue
        if setting.flags and setting.flags[0] in known:
            more, note = _value_words(setting, settings)
            words += more
            notes += [note] if note else []
            continue
        shown = settings.show(setting.name)
        note = DIFFERENCES[setting.name](shown) if setting.name in DIFFERENCES else _unknown(setting.name, shown)
        notes += [note] if note else []
    return words, notes


def _unknown(name: str, shown: str) -> str:
    """A setting this module has no words for (one added since): said, never dropped."""
    if "tls" in name:
        return (f"{name} {shown}: getsh speaks TLS to the peer; getscu 3.6.7 has no TLS option and cannot reach a "
                "TLS-only port (a TLS proxy in front of it can)")
    return f"{name} {shown}: DCMTK has no option for it; getsh's result may differ"


def getscu_line(settings: Settings, host: str, port: int, keys: Sequence[str],
                notes: Sequence[str] = ()) -> Equivalent:
    """``getscu`` for a get of ``keys`` (getscu's -k expressions) under the settings."""
    names = [s.name for s in SETTINGS]
    options, setting_notes = _setting_words(settings, GETSCU_OPTIONS, names, "get")
    existing = DIFFERENCES["existing"](settings.show("existing"))  # getsh's default differs from getscu's way
    if existing and existing not in setting_notes:
        setting_notes.append(existing)
    words = ["getscu", *options, *_keys(keys), host, str(port)]
    return Equivalent(tuple(words), (*notes, *setting_notes))


def findscu_line(settings: Settings, host: str, port: int, model_flag: str, keys: Sequence[str],
                 limit: int | None, notes: Sequence[str] = ()) -> Equivalent:
    """``findscu`` for the last find: its model (-P/-S/-O), the keys it sent, --cancel for its limit."""
    names = [n for n in FIND_SETTINGS if n not in ("model", "output", "repeat")]
    options, setting_notes = _setting_words(settings, FINDSCU_OPTIONS, names, "shell")
    setting_notes = [n for n in setting_notes if not n.startswith(("cancel-grace", "ls-limit"))]
    if settings["charset"] is not None:
        setting_notes.append(DIFFERENCES["charset"](settings.show("charset")))
    cancel = ["--cancel", str(limit)] if limit else []
    if limit:
        setting_notes.append(f"--cancel {limit}: findscu also prints what the archive sent before the C-CANCEL "
                             f"reached it; getsh keeps exactly {limit}")
    words = ["findscu", model_flag, *options, *_keys(keys), *cancel, host, str(port)]
    return Equivalent(tuple(words), (*notes, *setting_notes))


def model_flag(model: str) -> str:
    """-P, -S or -O: the model's getscu option (the model setting's choices)."""
    setting = next(s for s in SETTINGS if s.name == "model")
    return next(c.flags[0] for c in setting.choices if c.value == model)


def _keys(keys: Iterable[str]) -> list[str]:
    words: list[str] = []
    for key in keys:
        words += ["-k", key]
    return words
