"""User Identity Negotiation (PS3.7 D.3.3.7), as pynetdicom supports it: what is sent, where its secret
comes from, what the peer answered, and why a rejection is most likely the identity's fault.

A secret (a password, a Kerberos ticket, a SAML assertion, a JWT) is never a setting's value: the
setting names where it is (``env:VAR`` or ``file:PATH``) and it is read only when an association is
requested, so it reaches no recording, history, log or screen. pynetdicom's debug log prints a
password as it sends or receives it: ``hide_secrets_in_logs`` masks it.

Light at import (the settings table parses a source with it): pynetdicom is imported only to build the
negotiation item.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from getsh.errors import UsageError

# user-type's values: what each sends (PS3.7 Table D.3-14), and the number on the wire
KINDS = {"username": 1, "password": 2, "kerberos": 3, "saml": 4, "jwt": 5}
WHAT = {"password": "a password", "kerberos": "a Kerberos service ticket", "saml": "a SAML assertion",
        "jwt": "a JSON Web Token"}
MAX_FIELD = 65535  # a field's length is two bytes on the wire
MASKED = "********"


class SourceError(ValueError):
    """A value that is no source of a secret. Its words never repeat the value: it may be the secret itself."""


@dataclass(frozen=True)
class SecretSource:
    """Where a secret is: an environment variable or a file. Never the secret itself."""

    kind: str  # "env" or "file"
    where: str  # the variable's name, or the path as given (~ expanded when read)

    def __str__(self) -> str:
        return f"{self.kind}:{self.where}"

    @property
    def described(self) -> str:
        """``from $PACS_PASSWORD`` or ``from ~/.pacs/password``: how status and the association line name it."""
        return f"from ${self.where}" if self.kind == "env" else f"from {self.where}"

    def read(self, binary: bool = False) -> bytes:
        """The secret's bytes. A file's one trailing line ending is dropped (``echo x > file`` writes one),
        unless ``binary`` (a Kerberos ticket is read as it is). UsageError naming the source, never its content."""
        if self.kind == "env":
            value = os.environ.get(self.where)
            if value is None:
                raise UsageError(f"user-secret: the environment variable {self.where} is not set",
                                 f"export {self.where}=… before starting getsh, or set user-secret file:PATH")
            data = value.encode("utf-8", "surrogateescape")
        else:
            path = os.path.expanduser(self.where)
            try:
                with open(path, "rb") as stream:
                    data = stream.read(MAX_FIELD + 3)
            except OSError as exc:
                raise UsageError(f"user-secret: cannot read {self.where}: {exc.strerror or exc}",
                                 "name a readable file: set user-secret file:PATH (or env:VAR)") from None
            if not binary:
                data = data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith(b"\n") else data
        if not data:
            raise UsageError(f"user-secret: {self} is empty", "put the secret there, or name another source")
        if len(data) > MAX_FIELD:
            raise UsageError(f"user-secret: {self} holds more than {MAX_FIELD} bytes, more than user identity "
                             "negotiation can carry", "check that it names the right file")
        return data


def parse_source(text: str) -> SecretSource:
    """``env:VAR`` or ``file:PATH``; SourceError, without repeating ``text``, for anything else."""
    kind, sep, where = text.strip().partition(":")
    kind = kind.lower()
    if not sep or kind not in ("env", "file"):
        raise SourceError("takes env:VAR or file:PATH, where the secret is, never the secret itself")
    if kind == "env" and not (where and all(c.isalnum() or c == "_" for c in where) and not where[0].isdigit()):
        raise SourceError("env: takes the name of an environment variable (letters, digits, _), e.g. env:PACS_PASSWORD")
    if kind == "file" and not where.strip():
        raise SourceError("file: takes a path, e.g. file:~/.pacs-password")
    return SecretSource(kind, where)


def is_source(text: str) -> bool:
    try:
        parse_source(text)
    except SourceError:
        return False
    return True


@dataclass(frozen=True)
class UserIdentity:
    """What an association request carries: the kind, the user name (username, password), where the
    secret is (password, kerberos, saml, jwt), and whether a positive response is asked for."""

    kind: str  # a key of KINDS, or "" when the settings do not say (a secret without a user name)
    user: str | None
    secret: SecretSource | None
    response: bool

    def problem(self) -> tuple[str, str]:
        """Why this cannot be sent, and the fix; ('', '') when it can."""
        if not self.kind:
            return ("user-secret is set but user is none: a password goes with a user name",
                    "set user NAME, or say what the secret is: set user-type jwt (saml, kerberos)")
        if self.kind in ("username", "password") and not self.user:
            return f"user-type {self.kind} needs a user name", "set user NAME (or set user-type off)"
        if self.kind != "username" and self.secret is None:
            return f"user-type {self.kind} needs {WHAT[self.kind]}", "set user-secret env:VAR or file:PATH"
        return "", ""

    @property
    def described(self) -> str:
        """``user alice with a password from $PACS_PW``, ``a JSON Web Token from ~/token.jwt``: never the secret."""
        if self.kind == "username":
            return f"user {self.user} (user name only)"
        what = WHAT.get(self.kind, "a secret")
        source = f" {self.secret.described}" if self.secret else ""
        return f"user {self.user} with {what}{source}" if self.kind == "password" else f"{what}{source}"

    def negotiation_item(self) -> Any:
        """pynetdicom's UserIdentityNegotiation, the secret read now; UsageError when it cannot be sent."""
        message, hint = self.problem()
        if message:
            raise UsageError(message, hint)
        from pynetdicom.pdu_primitives import UserIdentityNegotiation

        hide_secrets_in_logs()
        item = UserIdentityNegotiation()
        item.user_identity_type = KINDS[self.kind]
        item.positive_response_requested = self.response
        if self.kind in ("username", "password"):
            assert self.user is not None  # problem() said so
            item.primary_field = self.user.encode("utf-8")
        if self.secret is not None and self.kind != "username":
            secret = self.secret.read(binary=self.kind == "kerberos")
            remember(secret)
            if self.kind == "password":
                item.secondary_field = secret
            else:
                item.primary_field = secret
        return item

    def outcome(self, response: Any) -> str:
        """The association line's words for it, once accepted: ``response`` is the A-ASSOCIATE-AC's user
        identity item (pynetdicom's ``acceptor.user_identity``) or None. The server response itself is
        not shown: for a JWT or a Kerberos ticket it is a credential too."""
        sent = f"user identity: {self.described}"
        got = getattr(response, "server_response", None)
        if got is not None:
            return f"{sent}; the peer confirmed it (a server response of {len(got)} bytes)"
        if self.response:
            return f"{sent}; positive response requested, but the peer sent none: it did not confirm the identity"
        return f"{sent}; accepted (no positive response requested: set user-response on to ask for one)"


def identity_of(kind: str, user: str | None, secret: str | None, response: bool) -> UserIdentity | None:
    """The identity the settings ask for (user-type, user, user-secret, user-response); None for none.
    ``auto`` follows DCMTK: a user name alone is type 1, with a secret type 2. Never raises: what cannot
    be sent is said when associating (``UserIdentity.problem``)."""
    if kind == "off":
        return None
    source = parse_source(secret) if secret else None
    if kind == "auto":
        if not user and source is None:
            return None
        kind = ("password" if source else "username") if user else ""
    return UserIdentity(kind, user, source, response)


def pending_words(identity: UserIdentity | None) -> str:
    """What the next association would send as user identity (``status`` before there is one)."""
    return f"user identity: {_next(identity)}, sent with the next association" if identity is not None else ""


def status_words(sent: UserIdentity | None, response: Any, wanted: UserIdentity | None, stale: bool) -> str:
    """``status`` of an open association: the identity it was opened with and what the peer said; when the
    settings changed it, what the next association will send (or what it still lacks)."""
    words = sent.outcome(response) if sent is not None else ""
    if not stale or wanted == sent:
        return words
    return f"{words or 'user identity: none'}; the next association: {_next(wanted) if wanted else 'none'}"


def _next(identity: UserIdentity | None) -> str:
    if identity is None:
        return "none"
    problem, fix = identity.problem()
    return f"{problem} ({fix})" if problem else identity.described


def refused_words(identity: UserIdentity | None, message: str, hint: str) -> tuple[str, str]:
    """An A-ASSOCIATE-RJ without a reason (pynetdicom's acceptor answers a refused user identity so:
    transient, ACSE provider, no reason given): the message and hint, naming the identity when one was
    sent, and saying that one may be wanted when none was."""
    if identity is None:
        return message, f"{hint}; or it wants a user identity (see: help user)"
    source = identity.secret.described if identity.secret else ""
    check = {"username": "check the user name (set user NAME)",
             "password": f"check the user name and the password {source}"}.get(
        identity.kind, f"check {WHAT.get(identity.kind, 'the secret')} {source}")
    return (f"{message}: most likely the peer refused the user identity ({identity.described})",
            f"{check.strip()}, or associate without one: set user-type off")


# --- pynetdicom's debug log: a password it prints is masked ------------------------------------------

_SECRETS: set[str] = set()  # the secrets read in this process, as text, masked wherever pynetdicom logs them
_LOCK = threading.Lock()
_INSTALLED: list[logging.Logger] = []


def remember(secret: bytes) -> None:
    with _LOCK:
        _SECRETS.add(secret.decode("utf-8", "replace"))


class _HideSecrets(logging.Filter):
    """pynetdicom logs ``Password: [the password]`` for every A-ASSOCIATE-RQ it sends or receives (at
    debug level), and its PDU items print their fields: the value is masked in the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = message
        if "Password: [" in shown:
            shown = shown[: shown.index("Password: [")] + f"Password: [{MASKED}]"
        with _LOCK:
            for secret in _SECRETS:
                if secret and secret in shown:
                    shown = shown.replace(secret, MASKED)
        if shown != message:
            record.msg, record.args = shown, ()
        return True


def hide_secrets_in_logs() -> None:
    """Put the mask on every pynetdicom logger (a logger's filter sees only its own records). Idempotent;
    called before a user identity is sent or checked."""
    import pynetdicom  # noqa: F401  (its modules' loggers exist once it is imported)

    names = [name for name in logging.Logger.manager.loggerDict if name.split(".")[0] == "pynetdicom"]
    with _LOCK:
        for name in names:
            logger = logging.getLogger(name)
            if logger not in _INSTALLED:
                logger.addFilter(_HideSecrets())
                _INSTALLED.append(logger)
