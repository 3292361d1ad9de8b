"""help, quit, clear: what every shell has (and the habits of psql, pgcli and mysql: \\?, \\q)."""

from __future__ import annotations

from types import SimpleNamespace

from getsh.completion.arguments import command_names
from getsh.context import Context
from getsh.registry import REGISTRY, Arg, command
from getsh.results import ClearScreen, HelpIndex, HelpPage
from getsh.setting import Setting
from getsh.settings import BY_NAME

CATEGORY_ORDER = ("connection", "keys", "query", "retrieve", "settings", "general")


@command(
    "help",
    "list the commands, or show one command's usage and help",
    help="""
Examples:
  help            every command with a one-line summary
  help connect    usage, arguments and examples of connect
  help max-pdu    what a setting means, its values and its getscu options
""",
    args=[Arg("command", "the command (or setting) to explain", required=False, complete=command_names,
              metavar="COMMAND")],
    aliases=("?", "\\?"),
    record=False,
)
def help_command(ctx: Context, args: SimpleNamespace) -> HelpIndex | HelpPage:
    if args.command:
        if REGISTRY.find(args.command) is None and args.command.lower() in BY_NAME:
            return setting_help(BY_NAME[args.command.lower()])
        cmd = REGISTRY.get(args.command)
        arguments = tuple((a.usage().strip("[]"), a.help) for a in cmd.args)
        return HelpPage(cmd.name, cmd.usage(), cmd.summary, cmd.aliases, arguments, cmd.help)
    by_category: dict[str, list[tuple[str, str, str]]] = {}
    for cmd in REGISTRY:
        by_category.setdefault(cmd.category, []).append((cmd.name, ", ".join(cmd.aliases), cmd.summary))
    order = sorted(by_category, key=lambda c: (CATEGORY_ORDER.index(c) if c in CATEGORY_ORDER else 99, c))
    return HelpIndex(tuple((c, tuple(by_category[c])) for c in order))


@command(
    "quit",
    "release the association and leave getsh (also Ctrl-D)",
    aliases=("exit", "\\q"),
    record=False,
)
def quit_command(ctx: Context, args: SimpleNamespace) -> None:
    ctx.session.quit_requested = True


def setting_help(setting: Setting) -> HelpPage:
    values = tuple((c.value, c.help + (f"  [{', '.join(c.flags)}]" if c.flags else "")) for c in setting.choices)
    flags = f"getscu: {', '.join(setting.flags)} {setting.metavar}\n" if setting.flags else ""
    text = f"{flags}a change re-associates (it is negotiated)" if setting.renegotiate else flags.strip()
    return HelpPage(setting.name, f"set {setting.name} {setting.metavar}", setting.help, (), values, text)


@command(
    "clear",
    "clear the screen, as in every shell (also Ctrl-L); the query keys are reset by reset-keys",
    help="""
Clears the terminal; output that is not a terminal (a pipe, a log) gets nothing. 'clear'
used to reset the query keys: that is 'reset-keys' now. A script without a
'# getsh script format 2' line (every recording made before the change) still reads 'clear'
as reset-keys, so a saved check does not change its meaning.
""",
    record=False,
)
def clear_screen(ctx: Context, args: SimpleNamespace) -> ClearScreen:
    return ClearScreen()
