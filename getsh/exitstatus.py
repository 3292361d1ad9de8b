"""Exit statuses and the worst-outcome rule.

Non-interactive runs (``-c``, piped stdin, ``getsh get``) end with the worst outcome of
the commands they ran. Unlike getscu, a failed retrieve never exits 0.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    USAGE = 1  # bad command-line options (getscu's convention); in a replay: an expectation failed
    ERROR = 2  # a command failed: bad input or a local failure
    SCRIPT = 3  # a script line could not be read or parsed
    WARNING = 4  # the peer answered with a warning status
    SUBOPS_FAILED = 5  # some sub-operations of a retrieve failed
    FAILURE = 6  # the peer answered with a failure status
    NETWORK = 7  # association or network failure: refused, rejected, aborted, timed out
    LIMIT = 8  # a retrieve was cancelled at a limit it was set (max-objects, retrieve-timeout …): it is partial


# Higher is worse. SCRIPT and USAGE are about the input, so they rank above what the peer did.
_SEVERITY = {
    ExitStatus.SUCCESS: 0,
    ExitStatus.WARNING: 1,
    ExitStatus.SUBOPS_FAILED: 2,
    ExitStatus.LIMIT: 3,
    ExitStatus.FAILURE: 4,
    ExitStatus.ERROR: 5,
    ExitStatus.NETWORK: 6,
    ExitStatus.USAGE: 7,
    ExitStatus.SCRIPT: 8,
}


def worst(*statuses: ExitStatus) -> ExitStatus:
    """The most severe of ``statuses`` (SUCCESS for none)."""
    return max(statuses, key=_SEVERITY.__getitem__, default=ExitStatus.SUCCESS)
