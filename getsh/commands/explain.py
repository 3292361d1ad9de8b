"""explain (also dict): a DIMSE status, a keyword or tag, a UID, an association's reject or abort — in words,
with what usually causes it and what to try. The knowledge is in dicom/explain/ and dicom/keys/; here each
kind of answer becomes a card."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import SimpleNamespace

from pydicom import Dataset

from getsh.cmdline.dcmtk import findscu_line, getscu_line, model_flag
from getsh.commands.request_checks import follow_keys
from getsh.completion.keys import complete_path
from getsh.context import Context
from getsh.dicom import explain as know
from getsh.dicom.keys import qr_keys
from getsh.dicom.keys.charset import with_charset
from getsh.dicom.keys.dictionary import Entry, enumerated, lookup
from getsh.dicom.keys.dictionary import explain as explain_key
from getsh.dicom.keys.qr_keys import open_unique_keys
from getsh.errors import UsageError, excerpt
from getsh.registry import Arg, Suggestion, command
from getsh.results import Card, CardSection, PlainText
from getsh.script.recording import key_expressions
from getsh.settings import BY_NAME

ENDINGS = ("reject", "abort")
MODEL_NAMES = {"patient": "patient root", "study": "study root", "psonly": "patient/study only"}
FORMS = ("explain A702 (a status), PatientID or 0010,0020 (an attribute), 1.2.840.10008.1.2.1 or "
         "CTImageStorage (a UID), reject, abort")


def _complete_word(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    for word in ENDINGS:
        if word.startswith(text.lower()):
            yield Suggestion(word, "why an association was refused" if word == "reject" else "why one was aborted")
    yield from (Suggestion(code, meta) for code, meta in know.status_words(text))
    model = ctx.settings["model"]
    level = str(ctx.session.identifier.get("QueryRetrieveLevel", "") or "").strip().upper() or None
    keys = complete_path(text, model, level) if text[:1].isalpha() or not text else []
    yield from keys
    shown = {s.text for s in keys}
    yield from (Suggestion(word, meta) for word, meta in know.uid_words(text) if word not in shown)


def _complete_detail(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    which = (prior.get("word") or [""])[0].lower()
    if which in ENDINGS:
        for ending in know.explain_endings(which):
            if ending.name.startswith(text.lower()):
                yield Suggestion(ending.name, ending.words)


@command(
    "explain",
    "a status code, keyword or tag, UID, or association reject in words: what it means, causes, what to try",
    help="""
explain STATUS: a DIMSE status (A702, 0xB000, C211, FE00; a range: A7xx, Cxxx): its
category, what it means to each service that uses it (C-GET, C-MOVE, C-FIND, C-STORE,
C-ECHO …), what usually causes it at an archive and what to try.
explain KEYWORD or TAG (as 'dict' did): VR, VM, whether it is retired, its role at each
level of each query/retrieve model (unique, required, optional key), and its values.
explain UID (or a UID keyword): SOP class, transfer syntax, information model, well-known
frame …, and what getsh does with it (proposed by default? which prefer/propose option?).
explain reject [REASON], explain abort [REASON]: why an association is refused or ended.

Examples:
  explain A702
  explain 0xB000
  explain StudyInstanceUID
  explain 0008,0052
  explain 1.2.840.10008.1.2.4.50
  explain CTImageStorage
  explain reject called-ae
""",
    args=[Arg("word", "a status code, keyword, tag, UID, or reject/abort", complete=_complete_word,
              metavar="STATUS|KEYWORD|TAG|UID"),
          Arg("detail", "for reject and abort: one reason", required=False, complete=_complete_detail,
              metavar="REASON")],
    aliases=("dict",),
    category="general",
    record=False,
)
def explain(ctx: Context, args: SimpleNamespace) -> Iterator[Card]:
    word = args.word.strip()
    if word.lower() in ENDINGS:
        yield _endings_card(word.lower(), args.detail or "")
        return
    if args.detail:
        raise UsageError(f"explain {excerpt(word)} takes nothing after it (only reject and abort take a reason)",
                         f"explain {word}")
    statuses = know.status_of(word)
    if statuses is not None:
        yield from (_status_card(s) for s in statuses)
        return
    yield _word_card(ctx, word)


def _word_card(ctx: Context, word: str) -> Card:
    """A keyword or tag; else a UID or a UID's keyword; else one line naming every form."""
    if know.looks_like_uid(word):
        return _uid_card(ctx, know.explain_uid(word))
    try:
        return _key_card(ctx, lookup(word))
    except UsageError as error:
        uid = know.uid_of(word)
        if uid is not None:
            return _uid_card(ctx, know.explain_uid(uid))
        if any(c in word for c in "(,") or word[:1].isdigit():
            raise  # meant as a tag: the dictionary's words say what is wrong with it
        guess = error.hint if error.hint.startswith("did you mean") else ""
        raise UsageError(f"explain: {excerpt(word)} is no status code, keyword, tag or UID getsh knows",
                         f"{guess} e.g. {FORMS}".strip()) from None


def _status_card(status: know.StatusExplanation) -> Card:
    title = f"0x{status.code:04X} {status.category}"
    if len(status.meanings) == 1 and status.meanings[0].words:
        title += f": {status.meanings[0].words}"
    sections = []
    for meaning in status.meanings:
        rows = [("meaning", meaning.meaning), ("usual cause", meaning.cause), ("try", meaning.remedy)]
        if meaning.codes:
            rows.append(("codes", f"{meaning.codes}: one meaning for the whole range"))
        heading = ", ".join(meaning.services)
        if len(status.meanings) > 1 and meaning.words:
            heading += f": {meaning.words}"
        sections.append(CardSection(heading, tuple(rows)))
    return Card(title, tuple(sections))


def _key_card(ctx: Context, entry: Entry) -> Card:
    model = ctx.settings["model"]
    info = explain_key(entry.label, model)
    rows = [("VR / VM", f"{entry.vr} / {entry.vm}"), ("retired", "yes" if entry.retired else "no")]
    if entry.keyword:
        rows.append(("keyword", entry.keyword))
    roles = []
    for each in qr_keys.MODELS:
        found = explain_key(entry.label, each).roles
        roles.append((MODEL_NAMES[each] + (" (now)" if each == model else ""),
                      ", ".join(f"{level} {role or '–'}" for level, role in found) or "–"))
    sections = [CardSection("", tuple(rows))]
    if entry.keyword:
        sections.append(CardSection("role at each query level (PS3.4 C.6)", tuple(roles)))
    values = tuple(enumerated(entry))
    if values:
        closed = "enumerated values" if entry.keyword in qr_keys.CLOSED else "defined terms"
        shown = ", ".join(f"{v} ({m})" if m else v for v, m in values[:40]) + (" …" if len(values) > 40 else "")
        sections.append(CardSection("", ((closed, shown),)))
    if info.notes:
        sections.append(CardSection("", tuple(("note", note) for note in info.notes)))
    return Card(f"{entry.tag_text} {entry.keyword or entry.label}: {entry.name}", tuple(sections))


def _flags(setting: str, names: tuple[str, ...]) -> str:
    choices = {c.value: c.flags for c in BY_NAME[setting].choices}
    return ", ".join(f"{setting} {n} ({choices[n][0]})" if choices.get(n) else f"{setting} {n}" for n in names)


def _uid_card(ctx: Context, uid: know.UidExplanation) -> Card:
    rows = [("kind", uid.kind or "not in the dictionary")]
    if uid.keyword:
        rows.append(("keyword", uid.keyword))
    if uid.info:
        rows.append(("note", uid.info))
    if uid.retired:
        rows.append(("retired", "yes: retired from the standard"))
    rows += [("getsh", use) for use in uid.uses]
    first = tuple(n for n in uid.prefer if _first_choice(n, uid.uid))
    if first:
        rows.append(("first choice of", _flags("prefer", first)))
    later = tuple(n for n in uid.prefer if n not in first)
    if later:
        rows.append(("also accepted by", f"{len(later)} other prefer values, after their first choice"))
    if uid.propose:
        rows.append(("proposed by", _flags("propose", uid.propose)))
    rows += _seen(ctx, uid.uid)
    return Card(f"{uid.uid}: {uid.name or 'a UID getsh does not know by name'}", (CardSection("", tuple(rows)),))


def _first_choice(name: str, uid: str) -> bool:
    from getsh.dicom.net.syntaxes import PREFER

    return PREFER[name][0] == uid


def _seen(ctx: Context, uid: str) -> list[tuple[str, str]]:
    """Where the UID turns up among the objects this session received."""
    fields = {"study_uid": "the study of", "series_uid": "the series of", "sop_instance_uid": "the SOP instance of",
              "sop_class_uid": "the SOP class of", "transfer_syntax": "the transfer syntax of"}
    rows = []
    for name, what in fields.items():
        numbers = [str(n) for n, item in enumerate(ctx.session.received, 1) if getattr(item, name, "") == uid]
        if numbers:
            listed = ", ".join(numbers[:10]) + (" …" if len(numbers) > 10 else "")
            rows.append(("this session", f"{what} {len(numbers)} received object(s): {listed} (show N)"))
    return rows


def _endings_card(which: str, name: str) -> Card:
    endings = know.explain_endings(which, name)
    sections = tuple(CardSection(f"{e.name} ({e.pdu} {e.numbers})",
                                 (("getsh says", e.words), ("usual cause", e.cause), ("try", e.remedy)))
                     for e in endings)
    title = ("A-ASSOCIATE-RJ: the peer refused the association" if which == "reject"
             else "A-ABORT: the association was ended at once")
    if not name:
        title += f" — {len(endings)} reasons (explain {which} REASON for one)"
    return Card(title, sections)


# --- show getscu, show findscu: the DCMTK line for the session's state ------------------------------------

TOOLS = ("getscu", "findscu")


def dcmtk_line(ctx: Context, tool: str) -> PlainText:
    """The getscu line for a get of the current keys, or the findscu line of the last find, with what it
    cannot say as comments."""
    peer = ctx.session.peer
    if peer is None:
        raise UsageError(f"show {tool}: not connected, so there is no peer to name", "connect HOST PORT first")
    if tool == "getscu":
        identifier, notes = _get_identifier(ctx)
        keys, key_notes = _key_words(identifier)
        line = getscu_line(ctx.settings, peer.host, peer.port, keys, [*notes, *key_notes])
    else:
        sent = ctx.session.last_find
        if sent is None:
            raise UsageError("show findscu: no find yet in this session", "find first (for example: find, or ls)")
        keys, key_notes = _key_words(sent.identifier)
        notes = ["the -k keys are all getsh sent: yours, the level's return keys (the table's columns) and the "
                 "unique keys of the levels above", *key_notes]
        line = findscu_line(ctx.settings, peer.host, peer.port, model_flag(sent.model), keys, sent.limit, notes)
    return PlainText(line.text())


def _get_identifier(ctx: Context) -> tuple[Dataset, list[str]]:
    """The identifier a plain ``get`` would send now (the level its keys imply, the charset), and notes."""
    model = ctx.settings["model"]
    identifier = with_charset(copy.deepcopy(ctx.session.identifier), ctx.settings["charset"])
    notes = [f"getsh would send this {notice.text.removeprefix('get ')}" for notice in
             follow_keys(identifier, model, "get")]
    wide = open_unique_keys(identifier, model)
    if wide:
        notes.append(f"{' and '.join(wide)} may retrieve the whole archive: getsh asks first (get --force sends "
                     "it); getscu sends it as it is")
    return identifier, notes


def _key_words(identifier: Dataset) -> tuple[list[str], list[str]]:
    """Each element as getscu's -k expression; what -k cannot carry (binary values, private VRs) as notes."""
    keys: list[str] = []
    notes: list[str] = []
    for expression in key_expressions(identifier):
        if expression.startswith("#"):
            notes.append(f"{expression.lstrip('# ')}: -k cannot carry it; save FILE and give getscu the file")
        elif expression.startswith("("):
            notes.append(f"{expression}: a private key; -k cannot give it its VR (DCMTK sends it as UN): save "
                         "FILE and give the file to the DCMTK tool (dcmfile-in)")
        else:
            bare = "=" not in expression and not expression.endswith(("]", "Sequence"))
            keys.append(f"{expression}=" if bare else expression)
    return keys, notes
