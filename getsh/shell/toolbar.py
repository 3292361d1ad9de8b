"""The bottom toolbar: a read-only view of the session, redrawn every second."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from prompt_toolkit.formatted_text import StyleAndTextTuples

from getsh.context import Context
from getsh.literal import literal
from getsh.shell.render import duration

STATE_STYLES = {"open": "class:toolbar.ok", "stale": "class:toolbar.warn", "closed": "class:toolbar.bad"}


def toolbar(ctx: Context) -> Callable[[], StyleAndTextTuples]:
    def draw() -> StyleAndTextTuples:
        s = ctx.settings
        wanted = ctx.wanted_association()
        link = ctx.session.link
        state = link.state(wanted)
        parts: StyleAndTextTuples = []
        if ctx.session.peer is None:
            parts.append(("", " no peer (connect HOST PORT) "))
        else:
            parts.append(("", literal(f" {s['aec']} @ {ctx.session.peer} ")))
        status = state
        if state == "open" and link.last_used is not None:
            status += f" {duration(time.monotonic() - link.last_used)} idle"
        parts.append((STATE_STYLES.get(state, ""), f"[{status}]"))
        level = ctx.session.identifier.get("QueryRetrieveLevel", "-") or "-"
        keys = len(ctx.session.identifier)
        settings = f"  {s['aet']}  model {s['model']}  level {level}  keys {keys}  output {home_short(s['output'])} "
        parts.append(("", literal(settings)))
        return parts

    return draw


def home_short(path: str) -> str:
    """A path under the home directory as ``~/…`` (the demo's output: ~/.local/share/getsh/demo-received)."""
    home = os.path.expanduser("~").rstrip(os.sep)
    if home and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home):]
    return path
