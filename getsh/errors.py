"""User-facing failures: a one-line message plus a hint that says how to fix it.

The runner is the only place that catches these; it prints them and maps them to an
exit status, so handlers and the protocol layer simply raise.
"""

from __future__ import annotations

from getsh.exitstatus import ExitStatus
from getsh.literal import literal


class GetshError(Exception):
    """A failure the user can act on. ``hint`` names the fix; ``where`` (file:line) says where, if anywhere."""

    status = ExitStatus.ERROR
    where = ""
    column = 0  # where on its line the problem starts (1-based), when a line is to blame and it is known

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def parts(self, lead: str = "error") -> list[tuple[str, str]]:
        """The one wording of an error, as (role, text) pieces: ``where: lead: message — hint``.

        The shell styles each role (shell/render.py); the command line prints them plain
        (``lead`` is then the program's name, as DCMTK's tools begin their errors).
        """
        pieces = [("where", f"{self.where}: ")] if self.where else []
        pieces += [("lead", f"{lead}: "), ("message", self.message)]
        if self.hint:
            pieces.append(("hint", f" — {self.hint}"))
        return pieces

    def plain(self, lead: str = "error") -> str:
        """The error as one line of text to show, worded by ``parts``: a peer's or a file's words in it
        are shown literally (``getsh.literal``), so they can neither break the line nor drive the terminal."""
        return literal("".join(text for _role, text in self.parts(lead)))


EXCERPT = 40  # characters of a long value an error line shows


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """A value as an error line quotes it: whole when short, else its start and its length, so a
    1 MB paste is named, not repeated."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


class UsageError(GetshError):
    """A command line that does not parse: wrong arguments, unknown command or option."""

    word: str | None = None  # the word to blame, when one is (its column is found from it)


class NetworkError(GetshError):
    """The peer could not be reached, rejected us, aborted, or a timeout fired."""

    status = ExitStatus.NETWORK


class PeerFailure(GetshError):
    """The peer answered with a DIMSE failure status."""

    status = ExitStatus.FAILURE
