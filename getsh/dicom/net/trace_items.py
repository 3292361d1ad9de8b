"""What ``trace`` reports (net/trace.py): a line per PDU or DIMSE message, and the A-ASSOCIATE exchange
as a table. Typed events like those of dicom/events.py, kept apart because only tracing makes them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


def _since(elapsed: float | None) -> str:
    if elapsed is None:
        return ""
    return f"+{elapsed * 1000:.0f} ms" if elapsed < 10 else f"+{elapsed:.1f} s"


class TraceItem(ABC):
    """What ``trace`` shows: a line (Traced) or the A-ASSOCIATE exchange (TracedAssociation)."""

    @abstractmethod
    def plain(self) -> str | list[str]:
        """The item as plain text (a recording's comment lines)."""


@dataclass(frozen=True)
class Traced(TraceItem):
    """One line of ``trace``: a PDU or DIMSE message as it went out (→) or came in (←), or getsh's
    own note (… a run of messages folded, ↻ re-associating). ``text`` holds the peer's strings as
    they came: whoever shows it shows it literally."""

    direction: str  # →, ←, …, ↻
    message: str  # C-STORE-RQ, A-ASSOCIATE-RJ, '' for a note
    text: str
    elapsed: float | None = None  # seconds since the request it belongs to went out
    category: str = ""  # its status's category (Success, Pending, Warning, Failure, Cancel), if it has one

    @property
    def since(self) -> str:
        return _since(self.elapsed)

    def plain(self) -> str:
        words = " ".join(part for part in (self.direction, self.message, self.text) if part)
        return f"{words}  ({self.since})" if self.elapsed is not None else words


@dataclass(frozen=True)
class TracedContext:
    """One proposed presentation context as the A-ASSOCIATE exchange settled it."""

    context_id: int
    abstract_syntax: str  # its name (or UID)
    proposed: tuple[str, ...]  # the transfer syntaxes proposed, by name
    answer: str  # accepted, or the peer's reason for rejecting it
    transfer_syntax: str  # the one accepted ('' when rejected)
    roles: str  # the SCP/SCU role selection asked for and answered, '' when none was asked

    @property
    def accepted(self) -> bool:
        return self.answer == "accepted"

    @property
    def ordinary(self) -> bool:
        """A storage context accepted as asked: the SCP role, the first transfer syntax proposed."""
        return (self.accepted and self.roles == "SCP asked, SCP accepted" and bool(self.proposed)
                and self.transfer_syntax == self.proposed[0])


TABLE_FOLD_AFTER = 3  # ordinary storage contexts shown before the rest are counted (trace on)


@dataclass(frozen=True)
class TracedAssociation(TraceItem):
    """The A-ASSOCIATE exchange (``trace``): our A-ASSOCIATE-RQ against the peer's A-ASSOCIATE-AC,
    context by context, with the maximum PDU lengths both ways and the peer's implementation."""

    calling_ae: str
    called_ae: str  # as the peer answered them
    contexts: tuple[TracedContext, ...]
    our_max_pdu: int
    peer_max_pdu: int
    our_implementation: str  # class UID and version name
    peer_implementation_uid: str
    peer_version: str
    elapsed: float | None = None
    every_row: bool = False  # trace all: every context; trace on: the ordinary ones after the first few counted

    def rows(self) -> tuple[list[TracedContext], int]:
        """The contexts to show (the services, every rejected or unusual one, the first few ordinary
        storage contexts) and how many ordinary ones are left out."""
        shown, ordinary = [], 0
        for cx in self.contexts:
            ordinary += cx.ordinary
            if self.every_row or not cx.ordinary or ordinary <= TABLE_FOLD_AFTER:
                shown.append(cx)
        return shown, len(self.contexts) - len(shown)

    @property
    def headline(self) -> str:
        accepted = sum(1 for cx in self.contexts if cx.accepted)
        return (f"{self.called_ae} accepts {accepted} of {len(self.contexts)} contexts; max PDU: peer "
                f"{self.peer_max_pdu or 'unlimited'}, ours {self.our_max_pdu or 'unlimited'}; peer implementation "
                f"{self.peer_implementation_uid or '(none)'} {self.peer_version or '(no version name)'}")

    def plain(self) -> list[str]:
        """The exchange as text lines: the headline, then a line per context."""
        lines = [f"← A-ASSOCIATE-AC {self.headline}  ({_since(self.elapsed)})"]
        shown, left_out = self.rows()
        for cx in shown:
            answer = f"accepted {cx.transfer_syntax}" if cx.accepted else f"rejected: {cx.answer}"
            roles = f"; roles {cx.roles}" if cx.roles else ""
            lines.append(f"  ctx {cx.context_id} {cx.abstract_syntax}: {answer}{roles} "
                         f"(proposed {', '.join(cx.proposed)})")
        if left_out:
            lines.append(f"  … {self.folded_words(left_out)}")
        return lines

    @staticmethod
    def folded_words(left_out: int) -> str:
        return f"{left_out} more storage classes accepted like these"
