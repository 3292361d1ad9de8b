"""User identity negotiation, without a peer: storescu's options on the command line, the settings and
what they send, where the secret is read from, and the places a secret must never reach (a recording's
line, the history, pynetdicom's debug log)."""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from getsh.cmdline.identity import IDENTITY_OPTIONS
from getsh.cmdline.modes import MODES, SHELL, parse_args
from getsh.dicom.demo.identity import RESPONSE, IdentityCheck, requirement_of
from getsh.dicom.net.identity import (
    SecretSource,
    SourceError,
    UserIdentity,
    hide_secrets_in_logs,
    identity_of,
    parse_source,
    remember,
    status_words,
)
from getsh.errors import GetshError, UsageError
from getsh.settings import Settings, secret_at
from getsh.shell.prompting import holds_secret

SECRET = "hunter2-0c7f"
PEER = ["127.0.0.1", "104"]


def settings_of(*words: str) -> list[tuple[str, str]]:
    return parse_args(list(words)).settings


# --- the command line: storescu's words --------------------------------------------------------------


def test_user_password_and_positive_response_in_storescus_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACS_PW", SECRET)
    assert settings_of("get", "-usr", "alice", "-pwd", "env:PACS_PW", "-rsp", *PEER, "-k", "PatientID=1") == [
        ("user", "alice"), ("user-secret", "env:PACS_PW"), ("user-response", "on")]
    assert settings_of("echo", "--user", "alice", "--password", "env:PACS_PW", "--pos-response", *PEER) == [
        ("user", "alice"), ("user-secret", "env:PACS_PW"), ("user-response", "on")]
    assert ("user", "bob") in settings_of("find", "-usr", "bob", *PEER, "-k", "PatientID=1")  # not findscu's: ours
    assert ("user", "bob") in settings_of("-usr", "bob")  # the shell's command line


def test_every_identity_option_is_storescus(dcmtk: Callable[[str], Path]) -> None:
    """The spellings are DCMTK storescu 3.6.7's, in every mode that takes them."""
    text = subprocess.run([str(dcmtk("storescu")), "--help"], capture_output=True, text=True, timeout=30).stdout
    theirs = {word for line in text.splitlines() for word in re.findall(r"(?:^|\s)(--[a-z-]+|-[a-z]{2,3})(?=\s)", line)}
    ours = {spelling for option in IDENTITY_OPTIONS for spelling in option.spellings}
    ours |= {"-usr", "--user", "-pwd", "--password", "-rsp", "--pos-response"}
    assert ours <= theirs, sorted(ours - theirs)
    for mode in ("get", "echo", "find"):
        assert ours <= set(MODES[mode].table()), mode
    assert ours <= set(SHELL.table())


@pytest.mark.parametrize(("option", "kind"), [("-kt", "kerberos"), ("--kerberos", "kerberos"), ("--saml", "saml"),
                                              ("--jwt", "jwt")])
def test_a_ticket_assertion_or_token_is_read_from_a_file_as_dcmtk_does(option: str, kind: str, tmp_path: Path) -> None:
    token = tmp_path / "secret.bin"
    token.write_text("x")
    assert settings_of("echo", option, str(token), *PEER) == [("user-type", kind), ("user-secret", f"file:{token}")]


def test_a_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACS_JWT", "eyJ.x.y")
    assert settings_of("echo", "--jwt", "env:PACS_JWT", *PEER) == [("user-type", "jwt"),
                                                                  ("user-secret", "env:PACS_JWT")]


@pytest.mark.parametrize("words", [["-pwd", SECRET], ["--password", SECRET], ["-pwd", f"pass:{SECRET}"]])
def test_a_password_on_the_command_line_is_refused_without_repeating_it(words: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse_args(["echo", "-usr", "alice", *words, *PEER])
    text = caught.value.plain()
    assert "never the secret itself" in text and "-pwd env:VAR or -pwd file:PATH" in text
    assert SECRET not in text


def test_a_source_that_cannot_be_read_is_a_bad_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    with pytest.raises(UsageError, match="the environment variable NOT_SET_HERE is not set"):
        parse_args(["echo", "-usr", "a", "-pwd", "env:NOT_SET_HERE", *PEER])
    with pytest.raises(UsageError, match=r"cannot read .*missing\.jwt: No such file"):
        parse_args(["echo", "--jwt", str(tmp_path / "missing.jwt"), *PEER])
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        parse_args(["echo", "-usr", "a", "-pwd", f"file:{tmp_path / 'empty'}", *PEER])


def test_an_empty_password_is_refused_with_the_reason() -> None:
    with pytest.raises(UsageError, match=r"pynetdicom .* cannot send an empty password"):
        parse_args(["echo", "-usr", "alice", "-epw", *PEER])
    assert parse_args(["--help", "-epw"]).mode == "help"  # after --help nothing runs: nothing to refuse


def test_serve_takes_the_identities_it_requires() -> None:
    opts = parse_args(["serve", "--demo", "--require-user", "bob", "--require-user", "alice:env:DEMO_PW",
                       "--require-jwt", "file:demo.jwt"])
    assert opts.serve_users == ["bob", "alice:env:DEMO_PW"] and opts.serve_tokens == ["file:demo.jwt"]
    required = requirement_of(opts.serve_users, opts.serve_tokens)
    assert required is not None
    assert required.described == "user bob, user alice (password from $DEMO_PW), a JWT from demo.jwt"
    assert requirement_of([], []) is None
    with pytest.raises(UsageError) as caught:
        parse_args(["serve", "--demo", "--require-user", f"alice:{SECRET}"])
    assert SECRET not in caught.value.plain()


# --- the settings, and what they send ----------------------------------------------------------------


def test_the_secret_setting_takes_a_source_never_the_secret() -> None:
    settings = Settings()
    assert settings.set("user-secret", "env:PACS_PW") == "env:PACS_PW"
    assert settings.set("user-secret", "FILE:~/.pacs-pw") == "file:~/.pacs-pw"
    assert settings.set("user-secret", "none") is None
    for typed in (SECRET, f"pass:{SECRET}", f"env:1{SECRET}"):
        with pytest.raises(GetshError) as caught:
            settings.set("user-secret", typed)
        assert SECRET not in caught.value.plain()
    for typed in ("env:", "file:", "env:A-B"):
        with pytest.raises(GetshError):
            settings.set("user-secret", typed)
    assert settings["user-secret"] is None  # a refused value changes nothing


def test_what_the_settings_send() -> None:
    env = parse_source("env:PW")
    assert identity_of("auto", None, None, False) is None
    assert identity_of("auto", "bob", None, False) == UserIdentity("username", "bob", None, False)
    assert identity_of("auto", "alice", "env:PW", True) == UserIdentity("password", "alice", env, True)
    assert identity_of("off", "alice", "env:PW", True) is None
    assert identity_of("jwt", None, "env:PW", False) == UserIdentity("jwt", None, env, False)
    assert identity_of("auto", None, "env:PW", False).problem()[0].startswith("user-secret is set but user is none")
    assert identity_of("password", "alice", None, False).problem() == (
        "user-type password needs a password", "set user-secret env:VAR or file:PATH")
    assert identity_of("username", None, None, False).problem()[0] == "user-type username needs a user name"
    with pytest.raises(UsageError, match="needs a JSON Web Token"):
        identity_of("jwt", "alice", None, False).negotiation_item()


def test_the_negotiation_item_carries_the_secret_read_when_sent(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACS_PW", SECRET)
    item = identity_of("auto", "alice", "env:PACS_PW", True).negotiation_item()
    assert (item.user_identity_type, item.primary_field, item.secondary_field, item.positive_response_requested) == (
        2, b"alice", SECRET.encode(), True)
    token = tmp_path / "token.jwt"
    token.write_bytes(b"eyJ.a.b\r\n")  # one line ending dropped, as `echo` writes it
    item = identity_of("jwt", None, f"file:{token}", False).negotiation_item()
    assert (item.user_identity_type, item.primary_field) == (5, b"eyJ.a.b")
    ticket = tmp_path / "ticket"
    ticket.write_bytes(b"\x01\x02\n")  # a Kerberos ticket is binary: read as it is
    assert identity_of("kerberos", None, f"file:{ticket}", False).negotiation_item().primary_field == b"\x01\x02\n"
    assert identity_of("auto", "bob", None, False).negotiation_item().primary_field == b"bob"


def test_the_words_never_hold_the_secret() -> None:
    source = SecretSource("env", "PACS_PW")
    alice = UserIdentity("password", "alice", source, True)
    assert alice.described == "user alice with a password from $PACS_PW"
    assert alice.outcome(SimpleNamespace(server_response=b"")) == (
        "user identity: user alice with a password from $PACS_PW; the peer confirmed it (a server response of 0 bytes)")
    assert alice.outcome(None).endswith("positive response requested, but the peer sent none: it did not confirm "
                                        "the identity")
    jwt = UserIdentity("jwt", None, SecretSource("file", "/t.jwt"), False)
    assert jwt.outcome(None) == ("user identity: a JSON Web Token from /t.jwt; accepted (no positive response "
                                 "requested: set user-response on to ask for one)")
    bob = UserIdentity("username", "bob", None, False)
    assert status_words(alice, None, bob, stale=True).endswith("; the next association: user bob (user name only)")
    assert status_words(None, None, UserIdentity("jwt", None, None, False), stale=True) == (
        "user identity: none; the next association: user-type jwt needs a JSON Web Token (set user-secret env:VAR "
        "or file:PATH)")
    assert status_words(alice, None, None, stale=True).endswith("; the next association: none")
    assert status_words(alice, None, bob, stale=False) == alice.outcome(None)
    with pytest.raises(SourceError) as caught:
        parse_source(SECRET)
    assert SECRET not in str(caught.value)


# --- where a secret must never go ---------------------------------------------------------------------


def test_a_line_that_holds_a_secret_is_masked_and_kept_out_of_the_history() -> None:
    assert secret_at(["set", "user-secret", SECRET]) == 1
    assert secret_at(["set", "user-secret", "env:PACS_PW"]) is None
    assert secret_at(["set", "user", "alice"]) is None and secret_at(["help", "user-secret"]) is None
    assert holds_secret(f"set user-secret {SECRET}")
    assert holds_secret(f"echo; set user-secret '{SECRET}")  # an open quote: still found
    assert not holds_secret("set user-secret env:PACS_PW; echo")
    assert not holds_secret("set user alice")


def test_pynetdicoms_debug_log_masks_the_password(caplog: pytest.LogCaptureFixture) -> None:
    hide_secrets_in_logs()
    remember(b"jwt-secret-value")
    logger = logging.getLogger("pynetdicom._handlers")
    caplog.set_level(logging.DEBUG, logger="pynetdicom")
    logger.addHandler(caplog.handler)  # getsh may have stopped pynetdicom's records reaching the root
    try:
        logger.debug(f"  Password: [{SECRET}]")
        logger.debug("  Primary field: b'jwt-secret-value'")
    finally:
        logger.removeHandler(caplog.handler)
    assert "Password: [********]" in caplog.text and "Primary field: b'********'" in caplog.text
    assert SECRET not in caplog.text and "jwt-secret-value" not in caplog.text


def test_the_demo_checks_what_it_is_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PW", SECRET)
    (tmp_path / "t.jwt").write_text("eyJ.t\n")
    required = requirement_of(["bob", "alice:env:DEMO_PW"], [f"file:{tmp_path / 't.jwt'}"])
    assert required is not None
    check = IdentityCheck(required)

    def asks(kind: int, primary: bytes, secondary: bytes | None = None) -> tuple[bool, bytes | None]:
        return check.on_user_id(SimpleNamespace(user_id_type=kind, primary_field=primary, secondary_field=secondary))

    assert asks(1, b"bob") == (True, None) and asks(2, b"bob", b"anything") == (True, None)
    assert asks(2, b"alice", SECRET.encode()) == (True, None)
    assert asks(2, b"alice", b"wrong") == (False, None) and asks(1, b"alice") == (False, None)
    assert asks(1, b"mallory") == (False, None)
    assert asks(5, b"eyJ.t") == (True, RESPONSE) and asks(5, b"eyJ.other") == (False, None)
    assert asks(4, b"<saml/>") == (False, None)
