"""Exit statuses and the worst-outcome rule: one table for every mode (docs/getting-started.md).

Non-interactive runs (``-c``, piped stdin, ``getsh get``, ``getsh run``) end with the worst outcome of
the commands they ran. Unlike getscu, a failed retrieve never exits 0. A CI job reads three groups:
the archive answered otherwise than expected (4, 5, 6, 8, 9), it could not be reached (7), the script
or command line is wrong (3, 1); 2 is a local failure or bad input met while running.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    SUCCESS = 0
    USAGE = 1  # bad command-line options (getscu's convention), and only that
    ERROR = 2  # a command failed: bad input or a local failure
    SCRIPT = 3  # a script line could not be read or parsed
    WARNING = 4  # the peer answered with a warning status
    SUBOPS_FAILED = 5  # some sub-operations of a retrieve failed
    FAILURE = 6  # the peer answered with a failure status
    NETWORK = 7  # association or network failure: refused, rejected, aborted, timed out
    LIMIT = 8  # a retrieve was cancelled at a limit it was set (max-objects, retrieve-timeout …): it is partial
    EXPECTATION = 9  # an expect line did not hold: the archive answered, otherwise than the script expects


# Higher is worse. SCRIPT and USAGE are about the input, so they rank above what the peer did; an archive
# that could not be reached, or a local failure, explains the expectations that fail after it.
_SEVERITY = {
    ExitStatus.SUCCESS: 0,
    ExitStatus.WARNING: 1,
    ExitStatus.SUBOPS_FAILED: 2,
    ExitStatus.LIMIT: 3,
    ExitStatus.FAILURE: 4,
    ExitStatus.EXPECTATION: 5,
    ExitStatus.ERROR: 6,
    ExitStatus.NETWORK: 7,
    ExitStatus.USAGE: 8,
    ExitStatus.SCRIPT: 9,
}


def worst(*statuses: ExitStatus) -> ExitStatus:
    """The most severe of ``statuses`` (SUCCESS for none)."""
    return max(statuses, key=_SEVERITY.__getitem__, default=ExitStatus.SUCCESS)
