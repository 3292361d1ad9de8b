"""What an association is asked for: the peer, AE titles, contexts, PDU size, and timeouts."""

from __future__ import annotations

from dataclasses import dataclass

from getsh.dicom.net.identity import UserIdentity
from getsh.dicom.net.presentation import ContextPlan
from getsh.dicom.net.tls import TlsOptions


@dataclass(frozen=True)
class Peer:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class AssociationRequest:
    """Everything that is negotiated; when it changes, an open association is stale."""

    peer: Peer
    calling_ae: str
    called_ae: str
    plan: ContextPlan
    max_pdu: int
    # The settings this request was built from, as (name, value) words: they say what changed.
    because: tuple[tuple[str, str], ...] = ()
    tls: TlsOptions | None = None  # DICOM over TLS (net/tls.py); None: plain TCP

    identity: UserIdentity | None = None  # user identity negotiation: what is sent (its secret is read when sent)


@dataclass(frozen=True)
class Timeouts:
    connect: float | None = None
    acse: float | None = 30
    dimse: float | None = None
