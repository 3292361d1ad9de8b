"""connect, echo, status, disconnect: the session's association with its peer."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from types import SimpleNamespace

from getsh.context import Context
from getsh.dicom.events import Associated, AssociationInfo, Notice, Released
from getsh.dicom.keys.aetitle import validate_ae_title
from getsh.dicom.net.echo import verify
from getsh.dicom.net.failures import Rejected
from getsh.dicom.net.request import AssociationRequest, Peer
from getsh.errors import NetworkError, UsageError
from getsh.nodes import MODELS, Node, described, known_names, parse_address, port_number, read_nodes
from getsh.registry import Arg, Suggestion, command
from getsh.results import NodesTable, RecordAs, RejectedContexts
from getsh.setting import Origin

RELEASE_SETTLES = (0.1, 0.2, 0.4, 0.8)  # seconds between tries after releasing for a peer's local limit


def host_name(text: str) -> str:
    host = text.strip()
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{text!r} is not a host name or address")
    return host


def _complete_nodes(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    """The node book's names, each with its address and notes."""
    nodes, _warnings = read_nodes(ctx.env.config_path)
    for name in sorted(nodes):
        if name.lower().startswith(text.lower()):
            yield Suggestion(name, described(nodes[name]))


def _model(text: str) -> str:
    model = text.strip().lower()
    if model not in MODELS:
        raise ValueError(f"{text!r} is not a model ({', '.join(MODELS)})")
    return model


def _resolve(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    """``connect NODE`` and ``connect AET@HOST:PORT`` as ``connect HOST PORT --aec … --aet … --model …``:
    the arguments filled in, a line saying which node, and what a recording writes (the full form, so
    a replay does not need this machine's node book)."""
    if args.port is not None:
        return
    address = parse_address(args.host)
    node: Node | None = None
    if address is not None:
        aec, args.host, args.port = address
        args.aec = args.aec or aec
    else:
        nodes, _warnings = read_nodes(ctx.env.config_path)
        node = nodes.get(args.host)
        if node is None:
            raise UsageError(f"connect: {args.host!r} is no node of {ctx.env.config_path}, and no port is given",
                             f"connect HOST PORT, connect AET@HOST:PORT, or a node (nodes: {known_names(nodes)}; "
                             "getsh --init-config writes a config with examples)")
        args.host, args.port = node.host, node.port
        args.aec, args.aet = args.aec or node.aec or None, args.aet or node.aet or None
        args.model = args.model or node.model or None
        yield Notice(f"node {node.name}: {described(node)}")
    words = {"host": [args.host], "port": [str(args.port)]}
    words.update({name: [getattr(args, name)] for name in ("aec", "aet", "model") if getattr(args, name)})
    yield RecordAs(words)


@command(
    "connect",
    "associate with a peer (the association then stays open between commands)",
    help="""
Opens an association now, with the calling and called AE titles, the information model,
transfer-syntax preferences and PDU size from the settings, and keeps it open. Later
commands reuse it; if the peer drops it, or a setting that is negotiated changes, the next
command re-associates and says so. The new association replaces the one in use only once
it is established: when it fails (a wrong port, host or AE title), the one in use stays as
it was, with its peer and AE titles. A peer that allows one association at a time refuses
a second with 'local limit exceeded': connect then says so, releases the one in use and
associates again.

The peer is HOST PORT, dcm4che's AET@HOST:PORT (AET: the peer's AE title, sets aec), or the
name of a node in the config file ([nodes.NAME]: host, port, aec, aet, model, notes; 'nodes'
lists them), whose AE titles and model are set too. --aec, --aet and --model win over a node's.

Examples:
  connect 127.0.0.1 11112
  connect pacs.example.org 104 --aec ARCHIVE --aet MYSCU
  connect ARCHIVE@pacs.example.org:104
  connect pacs1
""",
    args=[
        Arg("host", "host name or IP address of the peer, AET@HOST:PORT, or a node's name", type=host_name,
            complete=_complete_nodes, metavar="HOST|AET@HOST:PORT|NODE"),
        Arg("port", "TCP port of the peer (not with AET@HOST:PORT or a node)", type=port_number, required=False),
        Arg("aec", "called AE title of the peer (sets aec)", option="--aec", type=validate_ae_title, metavar="AETITLE"),
        Arg("aet", "my calling AE title (sets aet)", option="--aet", type=validate_ae_title, metavar="AETITLE"),
        Arg("model", "the information model (sets model)", option="--model", type=_model, metavar="MODEL"),
    ],
    aliases=("open",),
    category="connection",
)
def connect(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    link = ctx.session.link
    working = link.request if link.is_open else None  # the association in use, kept if the new one fails
    before = {name: (ctx.settings.show(name), ctx.settings.origin(name)) for name in ("aec", "aet", "model")}
    previous = ctx.session.peer
    yield from _resolve(ctx, args)
    if args.model:
        ctx.settings.set("model", args.model, Origin.TYPED)
    if args.aec:
        ctx.settings.set("aec", args.aec, Origin.TYPED)
    if args.aet:
        ctx.settings.set("aet", args.aet, Origin.TYPED)
    ctx.session.peer = Peer(args.host, args.port)
    try:
        released, associated = yield from _associate(ctx, working)
    except NetworkError:
        if working is not None and link.is_open:  # the one in use stays, and so do its peer and AE titles
            ctx.session.peer = previous
            for name, (text, origin) in before.items():
                ctx.settings.set(name, text, origin)
            yield Notice(f"still associated with {working.called_ae} @ {working.peer} as {working.calling_ae}, "
                         "as before")
        elif previous is not None and previous != ctx.session.peer:
            yield Notice(f"the peer is now {ctx.session.peer} (was {previous}); fix the problem and retry with: echo")
        raise
    if released is not None:
        yield released
    yield associated
    yield from _spares(ctx)


def _spares(ctx: Context) -> Iterator[Notice]:
    """parallel N: the other N - 1 associations a get spreads over, opened now and kept with the session
    (net/spares.py): a get then starts on all of them at once, and the user learns now what the peer allows."""
    ctx.session.link.spares.close(ctx.settings["abort"])  # those kept with the association before this one
    width = ctx.settings["parallel"]
    if width <= 1:
        return
    opened, failed = ctx.open_spares(width - 1)
    text = f"parallel {width}: {opened} more association{'s' * (opened != 1)} open for spreading a get"
    if failed:
        text += (f"; {width - 1 - opened} could not be opened ({'; '.join(failed)}): a get spreads over "
                 f"{opened + 1} at most")
    yield Notice(text)


def _associate(ctx: Context, working: AssociationRequest | None
               ) -> Generator[object, None, tuple[Released | None, Associated]]:
    """The new association, replacing the one in use once it is established. A peer that allows one
    association per AE refuses a second with 'local limit exceeded': then ours is released first."""
    try:
        return ctx.reconnect()
    except Rejected as rejected:
        wanted = ctx.wanted_association()
        if not (rejected.local_limit and working is not None and wanted is not None
                and working.peer == wanted.peer and ctx.session.link.is_open):
            raise
        yield Notice(f"{wanted.called_ae} @ {wanted.peer} refused a second association (local limit exceeded: it "
                     "allows one at a time): releasing the current one first, then associating again")
    released = ctx.session.link.close(abort=ctx.settings["abort"])
    if released is not None:
        yield released
    for pause in RELEASE_SETTLES:  # the peer may count ours a moment after the release (dcmqrscp reaps a child)
        try:
            return None, ctx.reconnect()[1]
        except Rejected as rejected:
            if not rejected.local_limit:
                raise
        time.sleep(pause)
    return None, ctx.reconnect()[1]


@command(
    "echo",
    "verify the peer with C-ECHO: status in words and round-trip time",
    help="""
Sends C-ECHO-RQ on the open association (opening it first if needed).

Example:
  echo
""",
    category="connection",
)
def echo(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    _assoc, event = ctx.associate()
    if event is not None:
        yield event
    yield verify(ctx.session.link, ctx.timeouts(), ctx.session.next_message_id())


@command(
    "status",
    "the association: peer, AE titles, state, PDU sizes, implementation, presentation contexts",
    help="""
Shows the open association, or what the next one would be. Each proposed presentation
context is listed with its result (accepted, or why it was rejected), the transfer syntax
and our roles; the count against the 128-context budget is shown. Each context stays on
one line; a narrow terminal leaves out the columns that matter least (the caption says
which). --rejected lists only the contexts the peer refused. A list longer than the
screen goes through the pager (see: help pager).

Examples:
  status
  status --rejected
""",
    args=[Arg("rejected", "only the presentation contexts the peer rejected", option="--rejected", flag=True,
              default=False)],
    category="connection",
    record=False,
)
def status(ctx: Context, args: SimpleNamespace) -> AssociationInfo | RejectedContexts:
    info = ctx.session.link.info(ctx.wanted_association())
    made = ctx.session.receiver
    if made is not None and made.running:  # C-MOVE's receiver: where the archive must send
        info = replace(info, receiver=f"{made.ae_title} on {made.where}" + ", listen on" * made.standing)
    if args.rejected:
        refused = tuple(cx for cx in info.contexts if not cx.accepted)
        return RejectedContexts(refused, len(info.contexts), info.state)
    return info


@command(
    "disconnect",
    "release the association (abort it when the abort setting is on)",
    help="""
Releases the association with A-RELEASE, or aborts it with A-ABORT when 'abort' is on
(getscu --abort). The peer stays known: the next command that needs it re-associates.
""",
    aliases=("close",),
    category="connection",
)
def disconnect(ctx: Context, args: SimpleNamespace) -> object:
    released = ctx.session.link.close(abort=ctx.settings["abort"])
    return released if released is not None else Notice("no association is open")


@command(
    "nodes",
    "the node book: the named peers of the config file (connect NAME)",
    help="""
Lists the [nodes.NAME] sections of the config file: host, port, AE titles, model and notes.
'connect NAME' (or 'getsh -n NAME') connects to one. 'getsh --init-config' writes a
config file with examples, if there is none.
""",
    category="connection",
    record=False,
)
def nodes(ctx: Context, args: SimpleNamespace) -> NodesTable:
    found, warnings = read_nodes(ctx.env.config_path)
    return NodesTable(str(ctx.env.config_path), tuple(found[name] for name in sorted(found)), tuple(warnings))
