"""What an object without an image holds, in words: an SR's content tree, an encapsulated document's size
and title, a waveform's channels, and for anything else its SOP class and the sequences it carries.

Bounded whatever the object claims: at most ``MAX_NODES`` content items and ``MAX_DEPTH`` levels of
an SR tree are shown (the rest is counted), and an encapsulated document is never read into memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from getsh.dicom.image.views import Description, Node

if TYPE_CHECKING:
    from pydicom import Dataset

MAX_NODES = 500
MAX_DEPTH = 32
_DOCUMENTS = {"1.2.840.10008.5.1.4.1.1.104.1": "PDF", "1.2.840.10008.5.1.4.1.1.104.2": "CDA",
              "1.2.840.10008.5.1.4.1.1.104.3": "STL", "1.2.840.10008.5.1.4.1.1.104.4": "OBJ",
              "1.2.840.10008.5.1.4.1.1.104.5": "MTL"}
_WAVEFORMS = "1.2.840.10008.5.1.4.1.1.9."


def describe(header: Dataset, number: int, document_size: int | None) -> Description:
    """``header`` (read without its bulk) in words; ``document_size``: the Encapsulated Document's length."""
    uid = str(header.get("SOPClassUID", "") or "")
    title = sop_class_name(uid)
    label = str(header.get("Modality", "") or "") or "?"
    if uid in _DOCUMENTS or "EncapsulatedDocument" in header or document_size is not None:
        return Description(number, title, _DOCUMENTS.get(uid, "DOC"), tuple(_document(header, document_size)), ())
    if "ContentSequence" in header or header.get("ValueType") == "CONTAINER":
        counter = [0]
        tree = _content(header, 0, counter)
        lines = [f"{counter[0]} content items" + (f" (the first {MAX_NODES} shown)" if counter[0] > MAX_NODES else "")]
        flags = [f"{k} {header.get(k)}" for k in ("CompletionFlag", "VerificationFlag") if header.get(k)]
        return Description(number, title, label, tuple(lines + flags), (tree,))
    if uid.startswith(_WAVEFORMS) or "WaveformSequence" in header:
        return Description(number, title, label, tuple(_waveform(header)), ())
    return Description(number, title, label, tuple(_holdings(header)), ())


def sop_class_name(uid: str) -> str:
    from pydicom.uid import UID

    name = UID(uid).name if uid else ""
    return name if name and name != uid else (f"SOP class {uid}" if uid else "an object without a SOP Class UID")


def _document(header: Dataset, size: int | None) -> list[str]:
    lines = [f"document title: {header.get('DocumentTitle') or '(none)'}"]
    mime = header.get("MIMETypeOfEncapsulatedDocument")
    if mime:
        lines.append(f"MIME type: {mime}")
    lines.append(f"encapsulated document: {size:,} bytes" if size is not None else "no Encapsulated Document element")
    return lines


def _code(item: Dataset, keyword: str) -> str:
    codes = item.get(keyword)
    if not codes:
        return ""
    code = codes[0]
    return str(code.get("CodeMeaning") or code.get("CodeValue") or "")


def _value(item: Dataset) -> str:
    kind = str(item.get("ValueType", "") or "")
    if kind == "TEXT":
        return str(item.get("TextValue", ""))
    if kind == "CODE":
        return _code(item, "ConceptCodeSequence")
    if kind == "NUM":
        measured = item.get("MeasuredValueSequence")
        if not measured:
            return "(no value)"
        return f"{measured[0].get('NumericValue', '')} {_code(measured[0], 'MeasurementUnitsCodeSequence')}".strip()
    if kind in ("DATE", "TIME", "DATETIME", "PNAME", "UIDREF"):
        keyword = {"DATE": "Date", "TIME": "Time", "DATETIME": "DateTime", "PNAME": "PersonName", "UIDREF": "UID"}
        return str(item.get(keyword[kind], ""))
    if kind in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        refs = item.get("ReferencedSOPSequence")
        if refs:
            return f"{sop_class_name(str(refs[0].get('ReferencedSOPClassUID', '')))} " \
                   f"{refs[0].get('ReferencedSOPInstanceUID', '')}"
    return ""


def _content(item: Dataset, depth: int, counter: list[int]) -> Node:
    """One content item and what it contains, as (text, children)."""
    counter[0] += 1
    relationship = str(item.get("RelationshipType", "") or "")
    kind = str(item.get("ValueType", "") or "")
    concept = _code(item, "ConceptNameCodeSequence") or "(no concept name)"
    value = _value(item)
    text = f"{relationship.lower() + ' ' if relationship else ''}{concept}" + (f" ({kind})" if kind else "")
    if value:
        text += f": {value}"
    children: list[Node] = []
    for child in item.get("ContentSequence") or []:
        if depth + 1 >= MAX_DEPTH or counter[0] >= MAX_NODES:
            counter[0] += _count(child)
            continue
        children.append(_content(child, depth + 1, counter))
    return text, tuple(children)


def _count(item: Dataset, depth: int = 0) -> int:
    if depth > MAX_DEPTH * 4:
        return 1
    return 1 + sum(_count(child, depth + 1) for child in item.get("ContentSequence") or [])


def _waveform(header: Dataset) -> list[str]:
    groups = header.get("WaveformSequence") or []
    lines = [f"{len(groups)} multiplex group{'s' if len(groups) != 1 else ''}"]
    for number, group in enumerate(groups[:16], 1):
        channels = group.get("ChannelDefinitionSequence") or []
        labels = [_code(c, "ChannelSourceSequence") or str(c.get("ChannelLabel", "") or "?") for c in channels[:24]]
        rate = group.get("SamplingFrequency")
        lines.append(f"group {number}: {group.get('NumberOfWaveformChannels', len(channels))} channels × "
                     f"{group.get('NumberOfWaveformSamples', '?')} samples"
                     + (f" at {_number(rate)} Hz" if rate else "") + (f": {', '.join(labels)}" if labels else ""))
    return lines


def _number(value: object) -> str:
    try:
        return f"{float(str(value)):g}"
    except ValueError:
        return str(value)


def _holdings(header: Dataset) -> list[str]:
    """An object of another kind: no pixel data, and its top-level sequences with their item counts."""
    lines = ["no pixel data"]
    sequences = []
    for tag in header.keys():  # by tag: a deferred value (a large blob) is never read
        raw = header.get_item(tag)
        if raw.VR not in ("SQ", None) or getattr(raw, "value", b"") is None:
            continue
        element = header[tag]
        if element.VR == "SQ" and element.value:
            count = len(element.value)
            sequences.append(f"{element.keyword or element.tag} ({count} item{'s' if count != 1 else ''})")
    if sequences:
        lines.append("holds " + ", ".join(sequences[:20]) + (f" and {len(sequences) - 20} more" if len(sequences) > 20
                                                             else ""))
    return lines
