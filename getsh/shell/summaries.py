"""Short summaries of what a command did: an association opened, a retrieve stopped by Ctrl-C, a replay."""

from __future__ import annotations

from rich.text import Text

from getsh.dicom.events import Associated, RetrieveStopped
from getsh.literal import literal
from getsh.results import ReplayDone
from getsh.shell.progress import human_size
from getsh.shell.tables import duration


def replay_summary(done: ReplayDone) -> Text:
    """``file: 5 of 7 commands run, 1 failed; expectations: 1 held, 1 failed, 2 not run (2.3 s)``
    (``4 expectations held`` when all did)."""
    text = Text(f"{literal(done.path)}: ", style="bold")
    if done.dry_run:
        text.append(f"dry run: {done.commands} commands and {done.expectations} expectations parse; "
                    "nothing was run", style="green")
    elif done.reason and not done.ran and not done.stopped_at:
        text.append(f"not run: {literal(done.reason)}", style="red")
    else:
        colour = "green" if done.exit_status == 0 else "red"
        counts = f"{done.ran} of {done.commands} commands run"
        counts += f", {done.failed} failed" if done.failed else ""
        if done.expectations:
            counts += "; " + expectation_counts(done)
        text.append(counts, style=colour)
        text.append(f" ({duration(done.seconds)})", style="dim")
    if done.junit:
        text.append(f"; JUnit report: {literal(done.junit)}", style="dim")
    return text


def stopped_line(done: RetrieveStopped) -> Text:
    """``get stopped at your request after 37 of 2000 C-GETs: 629 objects (5.8 MB) in /out, in 4.2 s``."""
    text = Text("get stopped at your request ", style="bold yellow")
    text.append(f"after {done.sent} of {done.total} {done.service}{'s' * (done.total != 1)}" if done.sent else
                f"before any {done.service} was sent")
    objects = f"{done.received} object{'s' * (done.received != 1)}"
    text.append(f": {objects} ({human_size(done.size)}) on disk in {literal(done.output_dir)}" if done.received else
                ": nothing was received")
    text.append(f", in {duration(done.seconds)}", style="dim")
    if done.aborted:
        text.append("; the association was aborted (the next command re-associates)", style="yellow")
    return text


def expectation_counts(done: ReplayDone) -> str:
    """How the expectations went, each kind counted apart: one that never ran did not hold either."""
    if done.held == done.expectations:
        return f"{done.expectations} expectation{'s' * (done.expectations != 1)} held"
    parts = [f"{done.held} held", f"{done.expectations_failed} failed" * bool(done.expectations_failed),
             f"{done.not_run} not run" * bool(done.not_run)]
    return "expectations: " + ", ".join(p for p in parts if p)


def identity_style(words: str) -> str:
    """The user identity's line: green when the peer confirmed it, yellow when asked to and it did not."""
    return "green" if "confirmed it" in words else "yellow" if "did not confirm" in words else "dim"


def associated_line(obj: Associated) -> Text:
    """``associated with AE @ host:port as AE (N of M presentation contexts accepted)``, with why it was
    (re)opened before it and the storage classes left out after it."""
    text = Text()
    if obj.reason:
        text.append(f"{literal(obj.reason)}\n", style="yellow")
    text.append("associated ", style="green")
    text.append(f"with {literal(obj.called_ae)} @ {literal(obj.peer)} as {literal(obj.calling_ae)} ")
    text.append(f"({obj.accepted} of {obj.proposed} presentation contexts accepted)", style="dim")
    if obj.tls:
        text.append(f"\nover TLS: {literal(obj.tls)}", style="dim")

    if obj.identity:
        text.append(f"\n{literal(obj.identity)}", style=identity_style(obj.identity))
    if obj.dropped:
        text.append(f"\n{literal(obj.dropped_advice)}" if obj.dropped_advice else
                    f"\n{obj.dropped} storage classes did not fit in the 128 presentation contexts: "
                    "objects of those classes cannot arrive (narrow it: accept auto, or accept CT MR …)",
                    style="yellow")
    return text
