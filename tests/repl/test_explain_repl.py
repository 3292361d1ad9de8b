"""explain and show getscu at the real prompt: Tab offers status codes, keywords, UID names and reject reasons
through explain's one declaration; the answers are drawn; a bad word leaves the shell as it was."""

from __future__ import annotations

import pytest

from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.repl


def test_tab_offers_status_codes_keywords_and_uid_names() -> None:
    with ShellDriver() as shell:
        shell.type("explain A70", "\t")
        offered = shell.completions()
        assert {"A700", "A701", "A702"} <= set(offered)
        assert "unable to perform sub-operations" in offered["A702"]
        shell.type("\x15", "explain Cx", "\t")
        assert shell.buffer.startswith("explain Cxxx") or "Cxxx" in shell.completions()
        shell.type("\x15", "explain StudyInst", "\t")
        assert "StudyInstanceUID" in shell.completions()
        shell.type("\x15", "explain CTImageSt", "\t")
        offered = shell.completions()
        assert "CTImageStorage" in offered and "1.2.840.10008.5.1.4.1.1.2" in offered["CTImageStorage"]
        shell.type("\x15", "explain reject call", "\t")
        offered = shell.completions()
        assert {"called-ae", "calling-ae"} <= set(offered) and "not recognised" in offered["called-ae"]
        shell.type("\x15", "show get", "\t")
        assert shell.buffer.startswith("show getscu")
        shell.type("\x15")


def test_explain_at_the_prompt() -> None:
    with ShellDriver() as shell:
        shown = shell.line("explain A702")
        assert shown.startswith("0xA702 Failure"), shown
        assert "status --rejected" in " ".join(shown.split())
        shown = shell.line("explain ZZZZ")
        assert shown.count("\n") == 1 and shown.startswith("error: explain: 'ZZZZ' is no status code"), shown
        before = list(shell.ctx.session.identifier)
        shown = shell.line("show getscu")
        assert "not connected" in shown and "connect HOST PORT" in shown
        assert list(shell.ctx.session.identifier) == before and shell.alive
