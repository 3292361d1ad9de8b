"""User identity on the command line. DCMTK storescu's options that are no single setting's: ``-kt``,
``--saml`` and ``--jwt`` name the kind and the file at once (user-type and user-secret), and ``-epw``,
which pynetdicom cannot send (``-usr``, ``-pwd`` and ``-rsp`` are the settings' own, settings.py). And
``getsh serve --demo``'s ``--require-user`` and ``--require-jwt``: who the demo archive accepts."""

from __future__ import annotations

from collections.abc import Callable

from getsh.cmdline.argv import Option, append
from getsh.cmdline.options import Options
from getsh.dicom.net.identity import SourceError, parse_source
from getsh.errors import UsageError


def _file_source(text: str) -> str:
    """DCMTK reads the ticket, assertion or token from a file: a path (or env:VAR, file:PATH) as user-secret's."""
    value = text.strip()
    if value.lower().startswith(("env:", "file:")):
        return str(parse_source(value))
    if not value:
        raise ValueError("needs the name of a file")
    return f"file:{value}"


def _kind(kind: str) -> Callable[[Options, str], None]:
    def store(opts: Options, source: str) -> None:
        opts.settings += [("user-type", kind), ("user-secret", source)]

    return store


def _empty_password(opts: Options, _: None) -> None:
    if opts.mode != "help":  # after --help, nothing runs
        raise UsageError("-epw: pynetdicom (getsh's DICOM library) cannot send an empty password",
                         "send the user name alone (-usr NAME), or a password: -pwd env:VAR or -pwd file:PATH")


IDENTITY_OPTIONS = (
    Option(("-kt", "--kerberos"), "set user-type kerberos, user-secret FILE: read a Kerberos ticket from FILE "
           "(or env:VAR)", _kind("kerberos"), metavar="FILE", convert=_file_source),
    Option(("--saml",), "set user-type saml, user-secret FILE: read a SAML assertion from FILE (or env:VAR)",
           _kind("saml"), metavar="FILE", convert=_file_source),
    Option(("--jwt",), "set user-type jwt, user-secret FILE: read a JSON Web Token from FILE (or env:VAR)",
           _kind("jwt"), metavar="FILE", convert=_file_source),
    Option(("-epw", "--empty-password"), "(refused: pynetdicom cannot send an empty password)", _empty_password),
)


# --- getsh serve --demo: the user identities the demo archive requires -----------------------------


def _required_user(text: str) -> str:
    """``NAME``, ``NAME:env:VAR`` or ``NAME:file:PATH``, checked here and read by the archive."""
    name, sep, rest = text.partition(":")
    if not name.strip():
        raise ValueError("names a user: NAME, NAME:env:VAR or NAME:file:PATH")
    if sep:
        try:
            parse_source(rest)
        except SourceError:
            raise ValueError("NAME:env:VAR or NAME:file:PATH, where the password is, never the password") from None
    return text


def _required_token(text: str) -> str:
    parse_source(text)  # a SourceError is a ValueError, worded without the value
    return text


SERVE_IDENTITY_OPTIONS = (
    Option(("--require-user",), "accept only associations with a user identity: this user name alone (NAME), or "
           "with its password (NAME:env:VAR, NAME:file:PATH); repeatable", append("serve_users"),
           metavar="NAME[:SOURCE]", convert=_required_user, hint="e.g. --require-user alice:env:DEMO_PASSWORD",
           repeatable=True),
    Option(("--require-jwt",), "accept only associations with a user identity: this JSON Web Token (env:VAR or "
           "file:PATH holds it), or a --require-user; repeatable", append("serve_tokens"), metavar="SOURCE",
           convert=_required_token, hint="e.g. --require-jwt file:demo.jwt", repeatable=True),
)
