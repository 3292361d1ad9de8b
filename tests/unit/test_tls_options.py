"""DCMTK's TLS options on getsh's command lines, and the key's password that is never taken on one."""

from __future__ import annotations

import pytest

from getsh.cmdline.modes import parse_args
from getsh.errors import UsageError
from getsh.settings import Settings

PASSWORD = "pa55 w0rd!"  # what a DCMTK user would give to +pw


def test_the_tls_options_set_the_tls_settings_in_order() -> None:
    opts = parse_args(["get", "+tls", "client.key", "client.crt", "+pw", "KEY_PASSWORD", "+cf", "ca.crt", "-ic",
                       "+pz", "-k", "PatientID=1", "pacs", "2762"])
    assert opts.settings == [("tls", "on"), ("tls-key", "client.key"), ("tls-cert", "client.crt"),
                             ("tls-password", "env:KEY_PASSWORD"), ("tls-ca", "ca.crt"), ("tls-verify", "ignore"),
                             ("tls-profile", "bcp195-ex")]
    assert parse_args(["+tla", "+ps", "/run/key-password", "-tls", "pacs", "104"]).settings == [
        ("tls", "anonymous"), ("tls-password", "file:/run/key-password"), ("tls", "off")]
    assert parse_args(["find", "+tls", "k", "c", "-pw", "+px", "-k", "PatientID=1", "pacs", "104"]).settings[-2:] == [
        ("tls-password", "none"), ("tls-profile", "bcp195")]


def test_tls_takes_two_words() -> None:
    with pytest.raises(UsageError, match=r"option \+tls needs 2 values: KEY CERT"):
        parse_args(["echo", "+tls", "client.key"])


@pytest.mark.parametrize("argv", [["echo", "+pw", PASSWORD, "pacs", "104"], ["+pw", PASSWORD]])
def test_a_password_given_to_pw_is_refused_without_being_repeated(argv: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse_args(argv)
    assert PASSWORD not in caught.value.plain()
    assert "environment variable" in caught.value.message


@pytest.mark.parametrize("value", [PASSWORD, "file:", "env:not a name", "hunter2"])
def test_the_password_setting_takes_where_the_password_is_never_the_password(value: str) -> None:
    settings = Settings()
    with pytest.raises(UsageError) as caught:
        settings.set("tls-password", value)
    assert value not in caught.value.plain() or value in ("file:",)
    assert settings["tls-password"] == "none"
    assert settings.set("tls-password", "env:GETSH_KEY_PASSWORD") == "env:GETSH_KEY_PASSWORD"


def test_serve_takes_a_key_a_certificate_and_a_ca() -> None:
    opts = parse_args(["serve", "--demo", "--tls", "server.key", "server.crt", "+cf", "ca.crt",
                       "--require-client-cert"])
    assert (opts.serve_tls, opts.serve_trust, opts.serve_require_client_cert) == (
        ("server.key", "server.crt"), "ca.crt", True)


def test_a_line_that_sets_the_key_password_is_kept_out_of_the_history() -> None:
    """tls-password is secret whatever its value (a password typed where its source belongs included):
    the line never reaches the history, in memory or on disk (shell/prompting.py)."""
    from getsh.shell.prompting import holds_secret

    assert holds_secret(f"set tls-password {PASSWORD}")
    assert holds_secret("echo; set tls-password env:KEY_PASSWORD")
    assert not holds_secret("set tls-key client.key")
