"""User-facing failures: a one-line message plus a hint that says how to fix it.

The runner is the only place that catches these; it prints them and maps them to an
exit status, so handlers and the protocol layer simply raise.
"""

from __future__ import annotations

from getsh.exitstatus import ExitStatus


class GetshError(Exception):
    """A failure the user can act on. ``hint`` names the fix."""

    status = ExitStatus.ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(GetshError):
    """A command line that does not parse: wrong arguments, unknown command or option."""


class NetworkError(GetshError):
    """The peer could not be reached, rejected us, aborted, or a timeout fired."""

    status = ExitStatus.NETWORK


class PeerFailure(GetshError):
    """The peer answered with a DIMSE failure status."""

    status = ExitStatus.FAILURE
