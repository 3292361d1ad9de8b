"""Whether the peer's sub-operation counts and what getsh saw add up: the one place that says so.

Why: the final C-GET-RSP's counts are the peer's word. A broken or hostile peer can report 7
completed and 9 failed for the one object it sent, or Success for objects that never arrived; and
when getsh refuses objects itself, the peer's counts alone do not show it. Here the peer's counts
(``PeerCounts``) meet getsh's own (``GetshCounts``: each C-STORE sub-operation that arrived, answered
with success or refused) and a disagreement becomes one line. A C-MOVE (objects arriving on another
association), a parallel retrieve (several requests' counts summed) or a completeness check against
a C-FIND's count feed the same two values.

What must hold, for a peer that counts as the standard says (PS3.4 C.4.3.3): every object getsh
answered with success is completed or warning at the peer, and every one getsh refused is failed
there (the peer may fail more: objects it could not send at all). So completed + warning equals
what getsh accepted, and failed is at least what getsh refused. When the pending responses
announced a number of sub-operations, the final counts (with those not started) add up to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom import Dataset


@dataclass(frozen=True)
class PeerCounts:
    """The sub-operation counts of a C-GET-RSP (absent ones as 0)."""

    completed: int = 0
    failed: int = 0
    warning: int = 0
    remaining: int = 0

    @classmethod
    def of(cls, status: Dataset) -> PeerCounts:
        def count(keyword: str) -> int:
            return int(status.get(keyword, 0) or 0)

        return cls(count("NumberOfCompletedSuboperations"), count("NumberOfFailedSuboperations"),
                   count("NumberOfWarningSuboperations"), count("NumberOfRemainingSuboperations"))

    @property
    def words(self) -> str:
        """"7 completed + 9 failed" (warning and not started only when there are any)."""
        parts = [f"{self.completed} completed", f"{self.failed} failed"]
        if self.warning:
            parts.append(f"{self.warning} warning")
        if self.remaining:
            parts.append(f"{self.remaining} not started")
        return " + ".join(parts)


@dataclass(frozen=True)
class GetshCounts:
    """What getsh saw of the same request: objects it accepted (stored, or kept as the storage mode
    says) and objects it refused."""

    accepted: int = 0
    refused: int = 0

    @property
    def received(self) -> int:
        """C-STORE sub-operations that arrived."""
        return self.accepted + self.refused

    @property
    def words(self) -> str:
        refused = f" and refused {self.refused}" if self.refused else ""
        return f"getsh received {self.received}{refused}"


def announced_by(completed: int, failed: int, warning: int, remaining: int | None) -> int | None:
    """The number of sub-operations a pending response announces (None when it leaves out those remaining)."""
    return None if remaining is None else completed + failed + warning + remaining


def disagreement(peer: PeerCounts, ours: GetshCounts, *, announced: int | None = None, cancelled: bool = False) -> str:
    """'' when the counts add up; else one line: "the peer reports 7 completed + 9 failed, getsh
    received 1" (and what the peer had announced, when that does not add up either). ``cancelled``:
    the peer answered a C-CANCEL; one more accepted than it counts is then the object in flight."""
    succeeded = peer.completed + peer.warning
    wrong = succeeded != ours.accepted or peer.failed < ours.refused
    total = peer.completed + peer.failed + peer.warning + peer.remaining
    unannounced = announced is not None and total != announced
    if not (wrong or unannounced):
        return ""
    line = f"the peer reports {peer.words}, {ours.words}"
    if unannounced:
        line += f"; it had announced {announced} sub-operation{'s' * (announced != 1)}"
    elif cancelled and ours.accepted == succeeded + 1 and peer.failed >= ours.refused:
        line += ": the object in flight at the C-CANCEL arrived whole and was kept; the peer does not count it"
    return line


def missing(peer: PeerCounts, ours: GetshCounts) -> int:
    """Objects the peer says it delivered (completed or warning) beyond those that arrived and were accepted."""
    return max(0, peer.completed + peer.warning - ours.accepted)
