"""What a command handler may touch: the session, the settings and the environment."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.events import Associated, FindDone, Received, Released
from getsh.dicom.keys.identifier import default_identifier
from getsh.dicom.net.association import Link, open_another
from getsh.dicom.net.identity import identity_of
from getsh.dicom.net.presentation import plan_contexts
from getsh.dicom.net.request import AssociationRequest, Peer, Timeouts
from getsh.dicom.net.sopclasses import classes_for
from getsh.dicom.net.spares import end, open_together
from getsh.dicom.net.tls import TlsOptions
from getsh.dicom.query.browse import Location
from getsh.dicom.retrieve.plan import ClassGroup
from getsh.dicom.retrieve.receiver import Receiver
from getsh.env import Environment
from getsh.errors import UsageError
from getsh.script.state import ScriptState
from getsh.settings import Settings

_Event = TypeVar("_Event", Associated, Associated | None)


@dataclass(frozen=True)
class SentFind:
    """The last C-FIND sent, as it went: what ``show findscu`` writes as a findscu line."""

    model: str
    identifier: Dataset
    limit: int | None


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
    last_find: SentFind | None = None  # the last C-FIND as sent (show findscu)
    browse: Location = field(default_factory=lambda: Location("patient"))  # where ls and cd stand
    quit_requested: bool = False
    script: ScriptState = field(default_factory=ScriptState)  # recording, what expect looks at, replays
    receiver: Receiver | None = None  # getsh's storage SCP for C-MOVE, while a move runs or listen is on
    # what happened between commands that the next one shows first (listen: objects that arrived, refusals)
    between_commands: Callable[[], Iterable[Any]] | None = None

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

    def wanted_association(self, group: ClassGroup | None = None, move: bool = False) -> AssociationRequest | None:
        """The association the current settings ask for (None before any peer is known); with ``group``,
        one association of a retrieve split over several, proposing that group's storage classes. The
        C-MOVE context is proposed under retrieve move or auto, or for ``move``; without storage classes
        when only C-MOVE is wanted (its objects come to the receiver, not on this association)."""
        peer = self.session.peer
        if peer is None:
            return None
        s = self.settings
        tls = self.tls_options()
        because = [(x.name, s.show(x.name)) for x in s if x.renegotiate and (tls or not x.name.startswith("tls-"))]
        classes = self.storage_classes()
        if self.session.discovered and s["accept"] == "auto":
            because.append(("storage classes:", f"{len(classes)} found by accept auto"))
        if group is not None:
            classes = group.classes
            because.append(("storage classes", group.label))
        moving = move or (s["retrieve"] != "get" and group is None)  # a split C-GET's groups fill their budget
        if moving and (s["retrieve"] == "move" or (move and s["retrieve"] == "get")):
            classes = ()
            because += [("contexts for", "C-MOVE")] * (s["retrieve"] == "get")
        return AssociationRequest(
            peer=peer,
            calling_ae=s["aet"],
            called_ae=s["aec"],
            plan=plan_contexts(s["model"], s["propose"], s["prefer"], classes, moving),
            max_pdu=s["max-pdu"],
            because=tuple(because),
            tls=tls,

            identity=identity_of(s["user-type"], s["user"], s["user-secret"], s["user-response"]),
        )

    def tls_options(self) -> TlsOptions | None:
        """What the tls settings ask of an association (None: plain TCP); the tls-* words only count with TLS on."""
        s = self.settings
        if s["tls"] == "off":
            return None
        return TlsOptions(s["tls"], s["tls-key"], s["tls-cert"], s["tls-ca"], s["tls-verify"], s["tls-password"],
                          s["tls-profile"])

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

    def associate(self, group: ClassGroup | None = None, move: bool = False) -> tuple[Association, Associated | None]:
        """The open association, renewed if it went stale or was lost (or ``group`` asks for other
        storage classes, or ``move`` for the C-MOVE context); the event says if it was."""
        wanted = self.wanted_association(group, move)
        if wanted is None:
            raise UsageError("not connected to a peer", "connect HOST PORT first (or start with: getsh --demo)")
        assoc, event = self.session.link.ensure(wanted, self.timeouts())
        if self.settings["parallel"] == 1 and len(self.session.link.spares):  # parallel back to 1: not wanted
            self.session.link.spares.close(self.settings["abort"])
        return assoc, self._announced(event)

    def associate_another(self) -> Association:
        """Another association like the session's (a parallel retrieve's; its caller releases it)."""
        wanted = self.wanted_association()
        if wanted is None:
            raise UsageError("not connected to a peer", "connect HOST PORT first")
        return open_another(wanted, self.timeouts())

    def kept_associations(self, count: int) -> list[tuple[Association, int]]:
        """Up to ``count`` extra associations kept from the last parallel retrieve (or opened by
        ``connect``) that the settings would open now, with the last Message ID each sent."""
        wanted = self.wanted_association()
        if wanted is None:
            return []
        taken = self.session.link.spares.take(wanted, count)
        timeouts = self.timeouts()  # not negotiated: they may have changed since it was kept
        for assoc, _ in taken:
            assoc.acse_timeout, assoc.dimse_timeout = timeouts.acse, timeouts.dimse
            assoc.connection_timeout = timeouts.connect
        return taken

    def keep_association(self, assoc: Association, message_id: int) -> None:
        """A parallel retrieve's extra association, in step, kept for the next one (net/spares.py)."""
        wanted = self.wanted_association()
        if wanted is None:
            end(assoc)
            return
        self.session.link.spares.keep(assoc, wanted, message_id)

    def open_spares(self, count: int) -> tuple[int, list[str]]:
        """``count`` extra associations for parallel N, opened now and kept: how many, and why the
        others could not be opened."""
        opened, failed = open_together(self.associate_another, count)
        for assoc in opened:
            self.keep_association(assoc, 0)
        return len(opened), failed

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
