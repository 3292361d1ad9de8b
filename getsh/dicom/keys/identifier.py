"""getscu's ``-k`` language and query files → the pydicom Dataset a C-GET sends.

A key is ``PATH[=VALUE]``. PATH is dcmodify's tag path, ``{node[n].}*node[[n]]``, where a node
is a keyword, ``(gggg,eeee)``, ``gggg,eeee`` or ``ggggeeee`` (private: ``(gggg,eeee,VR)``, see
:mod:`getsh.dicom.keys.dictionary`) and ``[n]`` an item number counting from 0. Behaviour mirrors
DCMTK 3.6.7 (dcmodify ``-i``, getscu ``-k``), checked against the real tools:

- missing sequences and items are created; ``Seq[2].X=v`` with no items first adds empty items
  0 and 1; an existing sequence or item given without a value is left as it is;
- without ``=`` or with an empty value a key is a return key (zero length); a sequence key is
  an empty sequence; ``Seq[0]`` alone makes an empty item; a value on a sequence or item is an
  error, as is ``Seq.X`` (no item number) or ``Seq[*]`` (getscu disables item wildcards);
- everything after the first ``=`` is the value, verbatim; ``\\`` separates multiple values.

Unlike getscu, which reports a bad key and then sends the rest (a half-built identifier can
retrieve a whole archive), a bad key here is a UsageError and nothing changes; values are
checked against VR and VM first (:mod:`getsh.dicom.keys.vr`). Completion of keys as they are typed
is in :mod:`getsh.completion.keys`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from getsh.dicom.keys import qr_keys
from getsh.dicom.keys.dictionary import Entry, lookup, validate
from getsh.dicom.keys.vr import Value
from getsh.dicom.portable import NotRegularFile, open_regular
from getsh.errors import UsageError, excerpt

__all__ = [
    "KeyAssignment",
    "Node",
    "Step",
    "apply",
    "canonical",
    "check",
    "default_identifier",
    "describe",
    "format_path",
    "load_query",
    "parse_key",
    "parse_path",
    "remove",
    "save_query",
]

PATH_HINT = "keys look like PatientID=X, (0010,0020)=X or ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.3"
# What DCMTK's dcmodify --create-file writes as the SOP class of a query file it creates.
DCMTK_GENERIC_FILE_CLASS = "1.2.276.0.7230010.3.1.0.1"
MAX_QUERY_FILE = 16 * 2**20  # bytes: an identifier is a few keys; getscu's own files are under a kilobyte
MAX_ITEM_DIGITS = 9  # items counted from 0: a sequence of 10⁹ items is no identifier
_ITEM = re.compile(r"\[([^\]]*)\]")
check = qr_keys.check


@dataclass(frozen=True)
class Step:
    """One node of a path: the attribute, and the item number after it, if any."""

    entry: Entry
    item: int | None = None


@dataclass(frozen=True)
class KeyAssignment:
    """A parsed, checked key: where it goes, the value pydicom gets (None: return key), the
    value as typed, and warnings worth showing (retired keyword, odd value)."""

    path: tuple[Step, ...]
    value: Value
    text: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def entry(self) -> Entry:
        return self.path[-1].entry


# ---- parsing ----------------------------------------------------------------------------------
def _bad(expr: str, pos: int, problem: str, hint: str = PATH_HINT) -> UsageError:
    rest = expr[pos:]
    where = f"at {excerpt(rest)}" if rest else "at the end"
    return UsageError(f"key {excerpt(expr)}: {problem} {where}", hint)


def parse_path(expr: str, *, need_vr: bool = True) -> tuple[Step, ...]:
    """The steps of a tag path; ``need_vr=False`` lets a private tag go without its VR (unkey)."""
    steps: list[Step] = []
    pos = 0
    while True:
        if expr.startswith("(", pos):
            end = expr.find(")", pos)
            end = len(expr) if end < 0 else end + 1
        else:
            end = pos
            while end < len(expr) and expr[end] not in "[.":
                end += 1
        word = expr[pos:end]
        if not word:
            raise _bad(expr, pos, "missing keyword or tag")
        entry = _node(expr, word, need_vr)
        item = None
        match = _ITEM.match(expr, end)
        if match:
            item = _item_number(expr, end, match.group(1))
            end = match.end()
        elif expr.startswith("[", end):
            raise _bad(expr, end, "unclosed item number")
        if item is not None and entry.write_vr != "SQ" and entry.vr != "UN":
            raise _bad(expr, pos, f"{entry.label} is not a sequence ({entry.vr}), so it has no items")
        steps.append(Step(entry, item))
        if end == len(expr):
            return tuple(steps)
        if expr[end] != ".":
            raise _bad(expr, end, "expected '.' or '['")
        if item is None:
            what = f"{entry.label} is not a sequence ({entry.vr})" if entry.vr != "SQ" else "an item number is missing"
            raise _bad(expr, end, f"{what}: paths go Sequence[n].Keyword")
        pos = end + 1


def _node(expr: str, word: str, need_vr: bool) -> Entry:
    try:
        return lookup(word)
    except UsageError as exc:
        bare = word.strip("()")
        if not need_vr and "needs its VR" in exc.message:  # removing: the VR does not matter
            return lookup(f"({bare[:4]},{bare[4:]},UN)" if "," not in bare else f"({bare},UN)")
        raise UsageError(f"key {excerpt(expr)}: {exc.message}", exc.hint) from None


def _item_number(expr: str, pos: int, text: str) -> int:
    number = text.strip()
    if number == "*":
        raise _bad(expr, pos, "item wildcards are not supported (getscu disables them too)")
    if number.startswith("-") and number[1:].isdigit():
        raise _bad(expr, pos, "item numbers cannot be negative (they count from 0)")
    if not number.isdigit():
        raise _bad(expr, pos, "an item number must be 0, 1, 2, …")
    if len(number) > MAX_ITEM_DIGITS:
        raise _bad(expr, pos, f"an item number of {len(number):,} digits: a sequence never holds that many items")
    return int(number)


def parse_key(expr: str) -> KeyAssignment:
    """``PATH[=VALUE]`` checked against the dictionary, VR and VM; raise UsageError if wrong."""
    key, sep, text = expr.partition("=")
    key = key.strip()
    if not key:
        raise _bad(expr, 0, "missing keyword or tag")
    path = parse_path(key)
    entry = path[-1].entry
    if entry.tag >> 16 in (0x0000, 0x0002):
        raise UsageError(
            f"key {excerpt(expr)}: {entry.label} belongs to the command or file meta, not an identifier",
            "groups 0000 and 0002 are written by the protocol; leave them out",
        )
    if path[-1].item is not None and text:
        raise UsageError(f"key {excerpt(expr)}: an item holds elements, not a value",
                        f"write {format_path(path)}.Keyword=VALUE")
    warnings: list[str] = [f"{s.entry.keyword} is retired: peers may ignore it" for s in path if s.entry.retired]
    value = None if path[-1].item is not None else validate(entry, text or None, warnings)
    return KeyAssignment(path, value, text if sep and text else None, tuple(warnings))


# ---- the dataset --------------------------------------------------------------------------------
def _sequence(dataset: Dataset, step: Step) -> Sequence:
    """The step's sequence in ``dataset``, created (with its items up to ``step.item``) if missing."""
    tag = step.entry.tag
    if tag not in dataset:
        dataset.add_new(tag, "SQ", Sequence())
    elem = dataset[tag]
    if elem.VR != "SQ":
        raise UsageError(f"{step.entry.label} is in the identifier as {elem.VR}, not a sequence", "unkey it first")
    while step.item is not None and len(elem.value) <= step.item:
        elem.value.append(Dataset())
    return elem.value


def apply(dataset: Dataset, assignment: KeyAssignment) -> Dataset:
    """Override or insert the key, like getscu ``-k``; returns ``dataset`` (changed in place)."""
    current = dataset
    for step in assignment.path[:-1]:
        current = _sequence(current, step)[step.item or 0]
    last = assignment.path[-1]
    if last.item is not None or last.entry.write_vr == "SQ":
        _sequence(current, last)
    else:
        current.add_new(last.entry.tag, last.entry.write_vr, assignment.value)
    return dataset


def remove(dataset: Dataset, path: str) -> None:
    """Remove an element or item (``unkey``); UsageError when the path is not in the identifier."""
    steps = parse_path(path.strip(), need_vr=False)
    current = dataset
    for index, step in enumerate(steps):
        tag = step.entry.tag
        last = index == len(steps) - 1
        if tag not in current:
            break
        if last and step.item is None:
            del current[tag]
            return
        items = current[tag].value
        if current[tag].VR != "SQ" or step.item is None or step.item >= len(items):
            break
        if last:
            del items[step.item]
            return
        current = items[step.item]
    raise UsageError(f"{format_path(steps)} is not in the identifier", "keys shows what is set")


def format_path(steps: Iterable[Step]) -> str:
    return ".".join(s.entry.label + ("" if s.item is None else f"[{s.item}]") for s in steps)


def canonical(assignment: KeyAssignment) -> str:
    """The key as one shell word in keyword form, quoted as needed (for history and scripts);
    getscu ``-k`` reads the same text unquoted."""
    text = format_path(assignment.path)
    if assignment.text:
        text += "=" + assignment.text
    return shlex.quote(text)


def default_identifier(model: str) -> Dataset:
    """What ``reset-keys`` goes back to: only the model's top level (PATIENT for patient root and
    patient/study only, STUDY for study root), the one level where a single unique key makes a
    complete C-GET identifier. No empty unique key: on a C-GET that would match everything."""
    dataset = Dataset()
    dataset.QueryRetrieveLevel = qr_keys.levels(model)[0]
    return dataset


# ---- query files --------------------------------------------------------------------------------
def load_query(path: str | os.PathLike[str]) -> Dataset:
    """A query file's data set, like getscu's dcmfile-in: DICOM with or without file meta."""
    where = os.fspath(path)
    try:
        data = open_regular(where, MAX_QUERY_FILE)  # a FIFO or a device is refused, not waited on
    except NotRegularFile as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror}", "a query file is a DICOM file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror or exc}", "check the file name") from None
    if len(data) > MAX_QUERY_FILE:
        raise UsageError(f"{where} is over {MAX_QUERY_FILE // 2**20} MiB: not a query file",
                         "a query file holds an identifier: a few keys")
    try:
        with warnings.catch_warnings():  # pydicom warns about each odd element of a non-DICOM file
            warnings.simplefilter("ignore")
            read = dcmread(io.BytesIO(data), force=True)
            elements = list(read)  # decode now, so a damaged file fails here and not at send time
    except (InvalidDicomError, ValueError, KeyError, EOFError, TypeError, NotImplementedError) as exc:
        raise UsageError(f"{where} is not a DICOM file: {exc}", "load reads a query file (DICOM)") from None
    framed = getattr(read, "preamble", None) is not None or "TransferSyntaxUID" in read.file_meta
    tags = {int(e.tag) for e in elements}
    plausible = all(_plausible(tag, tags) for tag in tags)
    if not framed and (not elements or not plausible):
        raise UsageError(
            f"{where} is not a DICOM file (no DICM header and no readable data set)",
            "load reads a query file: a DICOM data set, e.g. one written by save or dcmodify",
        )
    dataset = Dataset()
    for elem in elements:
        if elem.tag.group != 0x0002:
            dataset.add(elem)
    return dataset


def _plausible(tag: int, tags: set[int]) -> bool:
    """Whether a tag could be in a real data set: known, a group length, a private creator, or
    private data whose creator is present (bytes of a text file read as tags rarely are)."""
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        if group < 0x0009 or group == 0xFFFF or 0 < element < 0x10:
            return False
        return element < 0x100 or (group << 16 | element >> 8) in tags
    try:
        lookup(f"{tag:08X}")
    except UsageError:
        return (tag & 0xFFFF) == 0
    return True


def save_query(dataset: Dataset, path: str | os.PathLike[str], model: str | None = None) -> None:
    """Write the identifier as DCMTK writes query files: file meta and Explicit VR Little Endian
    (so private and ambiguous VRs survive). The SOP class in the meta is the model's C-GET
    class when ``model`` is given, else DCMTK's generic-file class. Written atomically."""
    from getsh.dicom.net.presentation import GET_MODELS  # pynetdicom: imported only when saving

    target = Path(path)
    if os.path.isdir(target):  # False, not an error, for a name too long to be one
        raise UsageError(f"cannot write {target}: it is a directory", "give a file name, e.g. save q.dcm")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(GET_MODELS[model] if model else DCMTK_GENERIC_FILE_CLASS)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out = Dataset(dataset)
    out.file_meta = meta
    temp = None
    try:
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".getsh-", suffix=".dcm", delete=False) as fh:
            temp = fh.name
            dcmwrite(fh, out, enforce_file_format=True)
        os.replace(temp, target)
    except OSError as exc:
        if temp:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}", "choose a writable directory") from None


# ---- a render-independent view for ``keys`` ------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """One line of the ``keys`` tree: an element (children: its items) or an item (children: its
    elements). ``path`` is what ``unkey`` takes to remove it."""

    tag: int
    keyword: str
    name: str
    vr: str
    value: str
    path: str
    children: tuple[Node, ...] = ()
    item: int | None = None


def describe(dataset: Dataset, prefix: str = "") -> list[Node]:
    nodes = []
    for elem in dataset:
        tag = int(elem.tag)
        label = elem.keyword or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        path = prefix + label
        if elem.VR == "SQ":
            items = tuple(
                Node(0xFFFEE000, "Item", f"Item {i}", "", "", f"{path}[{i}]", tuple(describe(item, f"{path}[{i}].")), i)
                for i, item in enumerate(elem.value)
            )
            nodes.append(Node(tag, elem.keyword, elem.name, "SQ", "", path, items))
        else:
            nodes.append(Node(tag, elem.keyword, elem.name, elem.VR, _value_text(elem.value), path))
    return nodes


def _value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value)

