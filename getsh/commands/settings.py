"""set, settings, and one shortcut command per everyday setting (aet, aec, model, prefer, …).

The shortcuts are generated from the settings table, so each stays in step with its setting.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import SimpleNamespace

from getsh.commands.browse import current
from getsh.completion.arguments import setting_names, setting_value, value_of_named_setting
from getsh.context import Context
from getsh.dicom.events import Notice
from getsh.dicom.keys.qr_keys import levels
from getsh.registry import REGISTRY, Arg, Command, Invocation, command
from getsh.results import SettingChanged, SettingRow, SettingsTable
from getsh.setting import Origin
from getsh.settings import BY_NAME, SETTINGS, lookup


def change(ctx: Context, name: str, text: str) -> Iterator[object]:
    """Set one setting as typed; say whether the open association must be renegotiated, and what
    followed from it (a model without the identifier's level moves the level)."""
    setting = lookup(name)
    before = ctx.wanted_association()
    ctx.settings.set(setting.name, text, Origin.TYPED)
    after = ctx.wanted_association()
    stale = ctx.session.link.is_open and before != after
    yield SettingChanged(setting.name, ctx.settings.show(setting.name), stale)
    if setting.name == "model":
        yield from level_follows_model(ctx)


def level_follows_model(ctx: Context) -> Iterator[Notice]:
    """A QueryRetrieveLevel the model does not have becomes the model's top level: left as it was, the
    next get or find would fail (0xA900). Said in one line, with the other levels to choose from."""
    identifier = ctx.session.identifier
    level = str(identifier.get("QueryRetrieveLevel") or "").strip().upper()
    model = ctx.settings["model"]
    allowed = levels(model)
    if not level or level in allowed:
        return
    identifier = copy.deepcopy(identifier)
    identifier.QueryRetrieveLevel = allowed[0]
    ctx.session.identifier = identifier
    yield Notice(f"QueryRetrieveLevel is now {allowed[0]}: the {model} model has no {level} level "
                 f"(its levels: {', '.join(allowed)}; level NAME chooses another)")


def changed(ctx: Context, name: str, text: str) -> Iterator[object]:
    """``change``, and what it moves: a new model puts ls and cd back at the root (said when they were not)."""
    yield from change(ctx, name, text)
    _, moved = current(ctx)
    if moved is not None:
        yield moved


def _joined(value: list[str]) -> str | None:
    """A setting's value as set and its shortcuts join it (several words: accept CT MR)."""
    return " ".join(value) if value else None


def _check_set(invocation: Invocation) -> None:
    """A dry run rejects a value the setting would refuse."""
    value = _joined(invocation.args.value)
    if value is not None:
        lookup(invocation.args.name).convert(value)


@command(
    "set",
    "change a setting (see 'settings' for the list)",
    help="""
Every setting has a getscu option too (shown by 'settings'). A change to a negotiated
setting (AE titles, model, transfer syntaxes, PDU size) makes the next command
re-associate.

Examples:
  set max-pdu 65536
  set dimse-timeout 60
  set prefer rle
""",
    args=[
        Arg("name", "the setting", type=lambda word: lookup(word).name, complete=setting_names, metavar="NAME"),
        Arg("value", "its new value (several words are joined: set accept CT MR SR)", many=True,
            complete=value_of_named_setting, metavar="VALUE"),
    ],
    category="settings",
    check=_check_set,
)
def set_command(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    return changed(ctx, args.name, " ".join(args.value))


@command(
    "settings",
    "every setting with its value, where the value came from, and its getscu option",
    category="settings",
    record=False,
)
def settings_command(ctx: Context, args: SimpleNamespace) -> SettingsTable:
    rows = []
    for setting in SETTINGS:
        flags = list(setting.flags) + [f for c in setting.choices for f in c.flags[:1]]
        rows.append(SettingRow(
            setting.name, ctx.settings.show(setting.name), ctx.settings.origin(setting.name).value,
            setting.help, " ".join(flags), setting.renegotiate,
        ))
    return SettingsTable(tuple(rows))


SHORTCUTS = ("aet", "aec", "model", "prefer", "propose", "accept", "output", "storage", "layout", "trace")
SUMMARIES = {"trace": "show the protocol as it happens: trace on, trace all (nothing folded), trace off"}


def _shortcut(name: str) -> Command:
    setting = BY_NAME[name]

    def handler(ctx: Context, args: SimpleNamespace) -> object:
        if not args.value:
            return Notice(f"{name} = {ctx.settings.show(name)} ({ctx.settings.origin(name).value})")
        return changed(ctx, name, " ".join(args.value))

    def check(invocation: Invocation) -> None:
        value = _joined(invocation.args.value)
        if value is not None:
            setting.convert(value)

    lines = [f"Same as 'set {name} VALUE'; without a value, shows the current one.", setting.help + "."]
    if setting.flags:
        lines.append(f"getscu: {', '.join(setting.flags)} {setting.metavar}")
    if setting.choices:
        lines.append("\nValues (and the getscu options that choose them):")
        for c in setting.choices:
            lines.append(f"  {c.value:<14} {c.help}" + (f"  [{', '.join(c.flags)}]" if c.flags else ""))
    return Command(
        name=name,
        handler=handler,
        summary=SUMMARIES.get(name, f"show or set {setting.help} (set {name})"),
        help="\n".join(lines),
        args=(Arg("value", f"new value of {name}", required=False, many=True, complete=setting_value(name),
                  metavar=setting.metavar),),
        category="connection" if name in ("aet", "aec") else "settings",
        check=check,
    )


for _name in SHORTCUTS:
    REGISTRY.add(_shortcut(_name))
