"""The bottom toolbar: a read-only view of the session, redrawn every second."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from prompt_toolkit.application import get_app
from prompt_toolkit.formatted_text import StyleAndTextTuples

from getsh.context import Context
from getsh.literal import literal
from getsh.shell.tables import duration

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
        tls = link.tls if state == "open" else ""  # version, cipher, the peer certificate's subject
        fields = {"tls": f"  {tls}" if tls else "", "aet": f"  {s['aet']}", "model": f"  model {s['model']}",
                  "level": f"  level {level}", "keys": f"  keys {keys}",
                  "output": f"  output {home_short(s['output'])}"}
        room = _columns() - sum(len(part[1]) for part in parts) - 1
        for name in DROPPED_FIRST:  # a narrow terminal: the least useful go, the level stays whole
            if sum(len(literal(v)) for v in fields.values()) <= room:
                break
            if name == "tls":  # over TLS the toolbar always says so: its version at least
                fields["tls"] = f"  {tls.split(',')[0]}" if tls else ""
                continue
            del fields[name]
        parts.append(("", literal("".join(fields.values())) + " "))
        return parts

    return draw


DROPPED_FIRST = ("output", "tls", "aet", "keys", "model")  # what the toolbar leaves out when the terminal is narrow


def _columns() -> int:
    try:
        return get_app().output.get_size().columns
    except Exception:  # no application running (a test drawing it alone)
        return 200


def home_short(path: str) -> str:
    """A path under the home directory as ``~/…`` (the demo's output: ~/.local/share/getsh/demo-received)."""
    home = os.path.expanduser("~").rstrip(os.sep)
    if home and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home):]
    return path
