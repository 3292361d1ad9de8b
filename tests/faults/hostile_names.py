"""Objects whose text values are built to drive a terminal or a rich console, for the display tests.

Each names what it tries (markup, an escape sequence, OSC 52, a C1 control, a bidi override, an
emoji code) and what the user must see instead: the characters themselves, with every control
shown as ``getsh.literal`` writes it. The values travel in UTF-8 (``ISO_IR 192``), as a hostile
peer would send them, so that C1 and bidi characters survive the trip.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from pydicom import Dataset

from tests.faults.fake_peers import make_objects

ESC = "\x1b"


@dataclass(frozen=True)
class Hostile:
    what: str  # what it tries
    patient_id: str  # ASCII only: getsh's header scan reads Patient ID as Latin-1
    patient_name: str  # in UTF-8, decoded with the data set's character set
    patient_cell: str  # what the received table's patient column must show, exactly


HOSTILE = (
    Hostile("a closing tag with nothing to close", "[/]", "", "[/]"),
    Hostile("markup that colours", "[bold red]X[/]", "", "[bold red]X[/]"),
    Hostile("a hyperlink", "[link=file:///etc/passwd]a[/link]", "", "[link=file:///etc/passw…"),
    Hostile("clear the screen, then red", f"{ESC}[2J{ESC}[31mRED", "", "\\x1b[2J\\x1b[31mRED"),
    Hostile("OSC 52 writes the clipboard", f"{ESC}]52;c;aGk=\x07", "", "\\x1b]52;c;aGk=\\x07"),
    Hostile("C1 controls (0x80, CSI)", "P6", "C1\u0080\u009b2J", "P6 (C1\\x80\\x9b2J)"),
    Hostile("a bidi override, DEL", "P7", "abc\u202eevil\x7f", "P7 (abc\\u202eevil\\x7f)"),
    Hostile("an emoji code, a tab", ":warning:\t", "", ":warning:\\t"),
)
STUDY_DESCRIPTION = f"{ESC}]52;c;cm0gLXJmIH4=\x07{ESC}[2J[link=file:///etc/passwd]a[/link]\u009d\u202e"
STUDY_DESCRIPTION_SHOWN = "\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J[link=file:///etc/passwd]a[/link]\\x9d\\u202e"


def hostile_objects() -> list[Dataset]:
    """One object per ``HOSTILE`` entry (in order), each with the same hostile Study Description."""
    objects = make_objects(len(HOSTILE), tag="66")
    with warnings.catch_warnings():  # pydicom says these values are invalid: that is the point
        warnings.simplefilter("ignore")
        for ds, hostile in zip(objects, HOSTILE, strict=True):
            ds.SpecificCharacterSet = "ISO_IR 192"
            ds.PatientID, ds.PatientName = hostile.patient_id, hostile.patient_name
            ds.StudyDescription = STUDY_DESCRIPTION
    return objects


def raw_controls(text: str) -> list[str]:
    """Every character in ``text`` a terminal would act on (line feeds aside): what must never be shown."""
    return [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in BIDI)]


BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
