"""What a session remembers for scripts: the active recording, what ``expect`` looks at, the replays.

The context holds one ScriptState; it names no replay and no runner, only a Frame of each
script being replayed, so the session sits below the script machinery that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from getsh.registry import Invocation
    from getsh.results import Outcome
    from getsh.script.recording import Recording


@dataclass(frozen=True)
class Frame:
    """A script being replayed, as the session sees it: which file (a script may not source itself),
    and the variables its lines were given (a ``source`` line inside it passes them on)."""

    path: str
    variables: Mapping[str, str]


RETRIEVES = ("get", "move")  # the commands 'expect status/completed/…' judge, whether or not their C-GET went out


@dataclass
class ScriptState:
    """The active recording, what ``expect`` looks at, and the scripts being replayed."""

    recording: Recording | None = None
    last: Outcome | None = None  # the last recorded command other than expect: what 'expect error' judges
    last_get: Outcome | None = None  # the last get: it sent a C-GET, or failed before it could (not associated)
    replaying: list[Frame] = field(default_factory=list)  # the scripts being replayed, innermost last

    def after(self, invocation: Invocation, outcome: Outcome) -> str | None:
        """Note what a command did (the runner calls this for every one); a warning to show, if any."""
        if outcome.sent_get or invocation.command.name in RETRIEVES:
            self.last_get = outcome  # a get that failed to associate is the last get: no earlier one stands in
        if not invocation.command.record:
            return None  # a command that only looks is neither replayed nor judged
        if not invocation.checks_previous:
            self.last = outcome
        if self.recording is None:
            return None
        try:
            self.recording.add(invocation, outcome)
        except OSError as exc:
            broken, self.recording = self.recording, None
            return f"warning: recording to {broken.path} stopped: cannot write it: {exc.strerror or exc}"
        return None
