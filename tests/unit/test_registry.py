"""The command registry: one declaration gives parsing, errors, canonical form and help."""

from __future__ import annotations

import pytest

import getsh.commands  # noqa: F401
from getsh.errors import UsageError
from getsh.registry import REGISTRY, Arg, Registry, split_statements


def test_parse_binds_positionals_options_and_types() -> None:
    inv = REGISTRY.parse("connect pacs.example.org 104 --aec ARCHIVE")
    assert inv.command.name == "connect"
    assert (inv.args.host, inv.args.port, inv.args.aec, inv.args.aet) == ("pacs.example.org", 104, "ARCHIVE", None)


def test_alias_and_option_with_equals() -> None:
    inv = REGISTRY.parse("open 10.0.0.1 11112 --aet=MYSCU")
    assert inv.command.name == "connect"
    assert inv.args.aet == "MYSCU"
    assert inv.canonical() == "connect 10.0.0.1 11112 --aet MYSCU"


def test_canonical_form_quotes_and_orders_options_after_positionals() -> None:
    inv = REGISTRY.parse("connect --aec 'MY AE' host 104")
    assert inv.canonical() == "connect host 104 --aec 'MY AE'"
    assert REGISTRY.parse(inv.canonical()).args == inv.args


@pytest.mark.parametrize(
    ("line", "message", "hint"),
    [
        ("conect a 1", "unknown command 'conect'", "did you mean connect"),
        ("connect", "connect: missing HOST|AET@HOST:PORT|NODE", "usage: connect HOST|AET@HOST:PORT|NODE [PORT]"),
        ("connect host 104 extra", "connect: unexpected argument 'extra'", "usage: connect"),
        ("connect host port", "connect: PORT: 'port' is not a port number", "usage: connect"),
        ("connect host 70000", "connect: PORT: 70000 is out of range (1..65535)", "usage"),
        ("connect host 104 --aec", "connect: option --aec needs a value", "usage"),
        ("connect host 104 --bogus x", "connect: unknown option '--bogus'", "usage"),
        ("connect 'host 104", "cannot read the line: the ' quote at column 9 is not closed", "close the quote"),
    ],
)
def test_usage_errors_are_one_line_with_a_fix(line: str, message: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        REGISTRY.parse(line)
    assert message in caught.value.message
    assert hint in caught.value.hint
    assert "\n" not in caught.value.message + caught.value.hint


def test_split_statements_respects_quotes() -> None:
    assert split_statements("echo; set aet 'A;B' ;  status;") == ["echo", "set aet 'A;B'", "status"]
    assert split_statements('set aet "x;y"; echo') == ['set aet "x;y"', "echo"]


def test_a_command_name_cannot_be_declared_twice() -> None:
    registry = Registry()
    registry.command("ping", "one")(lambda ctx, args: None)
    with pytest.raises(ValueError, match="declared twice"):
        registry.command("pong", "two", aliases=("ping",))(lambda ctx, args: None)


def test_many_and_flag_arguments() -> None:
    registry = Registry()
    registry.command("do", "x", args=[Arg("files", "f", many=True, required=False),
                                      Arg("force", "f", option="--force", flag=True)])(lambda c, a: None)
    inv = registry.parse("do a b --force c")
    assert inv.args.files == ["a", "b", "c"] and inv.args.force is True
    assert inv.canonical() == "do a b c --force"
    assert registry.parse("do").args.files == []


def test_every_command_has_summary_and_help_reads_its_declaration() -> None:
    for cmd in REGISTRY:
        assert cmd.summary, cmd.name
        assert cmd.usage().startswith(cmd.name)
