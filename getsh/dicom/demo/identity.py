"""The demo archive's check of a user identity, when it is told to require one (``getsh serve --demo
--require-user alice:env:DEMO_PASSWORD``, ``--require-jwt file:token.jwt``): the acceptor side of
dicom/net/identity.py, so the tests and the tutorial can show user identity negotiation.

pynetdicom calls ``on_user_id`` (evt.EVT_USER_ID) for each A-ASSOCIATE-RQ that carries a user
identity; one that carries none is rejected in ``on_requested`` (evt.EVT_REQUESTED). Both are answered
as pynetdicom answers a refused identity: A-ASSOCIATE-RJ, transient, by the ACSE provider, no reason
given. A positive response is sent, when asked for, for a JWT (pynetdicom sends one for types 3, 4
and 5 only, never for a user name or password).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from getsh.dicom.net.identity import SecretSource, SourceError, hide_secrets_in_logs, parse_source, remember

RESPONSE = b"GETSH-DEMO: identity accepted"  # the positive response's server response (a demo's, not a real JWT)


@dataclass(frozen=True)
class Requirement:
    """Who may associate: users (with the source of their password, or None: the name alone) and JWTs."""

    users: Mapping[str, SecretSource | None] = field(default_factory=dict)
    tokens: Sequence[SecretSource] = ()

    def __bool__(self) -> bool:
        return bool(self.users or self.tokens)

    @property
    def described(self) -> str:
        """``user alice (password from $DEMO_PW), user bob, a JWT from token.jwt``: never a secret."""
        words = [f"user {name}" + (f" (password {source.described})" if source else "")
                 for name, source in self.users.items()]
        words += [f"a JWT {source.described}" for source in self.tokens]
        return ", ".join(words)


def parse_user_requirement(text: str) -> tuple[str, SecretSource | None]:
    """``NAME`` or ``NAME:env:VAR`` / ``NAME:file:PATH`` (serve's --require-user); ValueError otherwise."""
    name, sep, rest = text.partition(":")
    if not name.strip():
        raise ValueError("names a user: NAME, NAME:env:VAR or NAME:file:PATH")
    if not sep:
        return name.strip(), None
    try:
        return name.strip(), parse_source(rest)
    except SourceError:
        raise ValueError("NAME:env:VAR or NAME:file:PATH: the password's source, never the password") from None


def requirement_of(users: Sequence[str], tokens: Sequence[str]) -> Requirement | None:
    """serve's ``--require-user`` and ``--require-jwt`` words (checked by the command line), or None."""
    if not users and not tokens:
        return None
    return Requirement(dict(parse_user_requirement(user) for user in users), tuple(map(parse_source, tokens)))


class IdentityCheck:
    """The secrets of a ``Requirement``, read once when the archive starts (UsageError if one cannot be)."""

    def __init__(self, requirement: Requirement) -> None:
        hide_secrets_in_logs()
        self.requirement = requirement
        self._passwords = {name: self._read(source) for name, source in requirement.users.items()}
        self._tokens = [self._read(source) for source in requirement.tokens]

    @staticmethod
    def _read(source: SecretSource | None) -> bytes | None:
        if source is None:
            return None
        secret = source.read()
        remember(secret)
        return secret

    def on_user_id(self, event: Any) -> tuple[bool, bytes | None]:
        """evt.EVT_USER_ID: (verified, the server response)."""
        kind, primary, secondary = event.user_id_type, event.primary_field or b"", event.secondary_field or b""
        if kind in (1, 2):
            name = primary.decode("utf-8", "replace")
            if name not in self._passwords:
                return False, None
            expected = self._passwords[name]
            verified = expected is None or (kind == 2 and hmac.compare_digest(secondary, expected))
            return verified, None
        if kind == 5 and any(token is not None and hmac.compare_digest(primary, token) for token in self._tokens):
            return True, RESPONSE
        return False, None

    def on_requested(self, event: Any) -> None:
        """evt.EVT_REQUESTED: a request that carries no user identity is rejected as one with a refused
        identity is (pynetdicom asks EVT_USER_ID only of a request that carries one)."""
        if event.assoc.requestor.user_identity is None:
            event.assoc.acse.send_reject(0x02, 0x02, 0x01)  # transient, ACSE provider, no reason given
            event.assoc.kill()  # as pynetdicom's own reject does: its DUL thread ends once the peer has closed
