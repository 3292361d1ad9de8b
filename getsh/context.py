"""What a command handler may touch: the session, the settings and the environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.events import Associated, FindDone, Received, Released
from getsh.dicom.keys.identifier import default_identifier
from getsh.dicom.net.association import Link
from getsh.dicom.net.identity import identity_of
from getsh.dicom.net.presentation import plan_contexts
from getsh.dicom.net.request import AssociationRequest, Peer, Timeouts
from getsh.dicom.net.sopclasses import classes_for
from getsh.dicom.query.browse import Location
from getsh.dicom.retrieve.plan import ClassGroup
from getsh.env import Environment
from getsh.errors import UsageError
from getsh.script.state import ScriptState
from getsh.settings import Settings

_Event = TypeVar("_Event", Associated, Associated | None)


@dataclass
class Session:
    """State that lives as long as the shell: the peer, the association, the identifier, history."""

    peer: Peer | None = None
    link: Link = field(default_factory=Link)
    identifier: Dataset = field(default_factory=lambda: default_identifier("patient"))
    history: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    message_id: int = 0  # of the last DIMSE request we sent
    discovered: tuple[str, ...] = ()  # storage classes 'accept auto' learned for the current get
    found: FindDone | None = None  # the last find's matches: what 'results', 'get N' and 'cd N' read
    browse: Location = field(default_factory=lambda: Location("patient"))  # where ls and cd stand
    quit_requested: bool = False
    script: ScriptState = field(default_factory=ScriptState)  # recording, what expect looks at, replays

    def next_message_id(self) -> int:
        self.message_id += 1
        return self.message_id

    def seen_values(self, keyword: str = "") -> list[str]:
        """IDs and UIDs of what arrived in this session, newest first, for value completion: those of
        ``keyword`` when it is one of them (StudyInstanceUID: the studies), else all of them."""
        fields = (_SEEN[keyword],) if keyword in _SEEN else tuple(_SEEN.values())
        values: dict[str, None] = {}
        for item in reversed(self.received):
            for name in fields:
                value = getattr(item, name)
                if value:
                    values[value] = None
        return list(values)


_SEEN = {"PatientID": "patient_id", "StudyInstanceUID": "study_uid", "SeriesInstanceUID": "series_uid",
         "SOPInstanceUID": "sop_instance_uid"}


@dataclass
class Context:
    env: Environment
    settings: Settings = field(default_factory=Settings)
    session: Session = field(default_factory=Session)
    # Who answers a question a command must ask before it acts (a get that may retrieve a whole archive):
    # ask(why, question) is the shell's y/N while a typed line runs; None when nobody is there to ask
    # (-c, piped input, scripts).
    ask: Callable[[str, str], bool] | None = None
    getscu_words: bool = False  # one-shot 'getsh get': send what getscu would send, the warnings on stderr

    def wanted_association(self, group: ClassGroup | None = None) -> AssociationRequest | None:
        """The association the current settings ask for (None before any peer is known); with ``group``,
        one association of a retrieve split over several, proposing that group's storage classes."""
        peer = self.session.peer
        if peer is None:
            return None
        s = self.settings
        because = [(x.name, s.show(x.name)) for x in s if x.renegotiate]
        classes = self.storage_classes()
        if self.session.discovered and s["accept"] == "auto":
            because.append(("storage classes:", f"{len(classes)} found by accept auto"))
        if group is not None:
            classes = group.classes
            because.append(("storage classes", group.label))
        return AssociationRequest(
            peer=peer,
            calling_ae=s["aet"],
            called_ae=s["aec"],
            plan=plan_contexts(s["model"], s["propose"], s["prefer"], classes),
            max_pdu=s["max-pdu"],
            because=tuple(because),
            identity=identity_of(s["user-type"], s["user"], s["user-secret"], s["user-response"]),
        )

    def storage_classes(self) -> tuple[str, ...]:
        """The storage classes the settings ask to accept (accept auto: what the peer named)."""
        if self.settings["accept"] == "auto" and self.session.discovered:
            return self.session.discovered
        return classes_for(self.settings["accept"])

    def archive(self) -> str:
        """Who answers a C-FIND: the called AE title at the peer (nothing before a peer is known)."""
        peer = self.session.peer
        return f"{self.settings['aec']}@{peer}" if peer is not None else ""

    def timeouts(self) -> Timeouts:
        s = self.settings
        return Timeouts(connect=s["connect-timeout"], acse=s["acse-timeout"], dimse=s["dimse-timeout"])

    def associate(self, group: ClassGroup | None = None) -> tuple[Association, Associated | None]:
        """The open association, renewed if it went stale or was lost (or ``group`` asks for other
        storage classes); the event says if it was."""
        wanted = self.wanted_association(group)
        if wanted is None:
            raise UsageError("not connected to a peer", "connect HOST PORT first (or start with: getsh --demo)")
        assoc, event = self.session.link.ensure(wanted, self.timeouts())
        return assoc, self._announced(event)

    def reconnect(self) -> tuple[Released | None, Associated]:
        """Associate afresh now (``connect``), whatever state the current association is in. The new
        association replaces the current one only once it is established (which is then released, or
        aborted under the abort setting); if it fails, the current one is left as it was."""
        wanted = self.wanted_association()
        if wanted is None:
            raise UsageError("not connected to a peer", "connect HOST PORT first")
        released, event = self.session.link.replace(wanted, self.timeouts(), abort=self.settings["abort"])
        return released, self._announced(event)

    def _announced(self, event: _Event) -> _Event:
        if event is not None and self.settings["verbose-pc"]:
            event = replace(event, show_contexts=True)
        return event
