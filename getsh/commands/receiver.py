"""listen, and the session's receiver for C-MOVE: started for a move (or kept by ``listen``), from the settings.

A C-MOVE's objects come to getsh's own storage SCP (dicom/retrieve/receiver.py) on the port the user
chose (``listen-port``, or ``listen PORT``), bound to the address they chose (``listen-host``), over
TLS when ``listen-tls`` is on (with the tls-key, tls-cert, tls-ca, tls-verify and tls-profile settings). It
runs while a move runs, and between commands only while ``listen`` is on; objects that arrive then
are stored the same way and listed by ``received``, and what happened is said at the next command.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from getsh.context import Context
from getsh.dicom.events import Notice, Received
from getsh.dicom.net.opening import resolve
from getsh.dicom.net.presentation import DEFAULT_STORAGE_CLASSES
from getsh.dicom.net.sopclasses import classes_for
from getsh.dicom.net.syntaxes import PREFER
from getsh.dicom.net.tls import TlsOptions, receiver_context
from getsh.dicom.retrieve.bounds import Bounds
from getsh.dicom.retrieve.moving import MoveOptions
from getsh.dicom.retrieve.options import RetrieveOptions
from getsh.dicom.retrieve.receive.sinks import store_event
from getsh.dicom.retrieve.receiver import Expected, Receiver, loopback_warning
from getsh.dicom.storage.header_scan import header_of
from getsh.dicom.storage.outcomes import StoredFile
from getsh.dicom.storage.store import Storage
from getsh.errors import UsageError
from getsh.registry import Arg, command
from getsh.results import TABLE_ROWS
from getsh.setting_values import parse_host, parse_port

NO_PORT = ("set listen-port PORT (and give the archive getsh's AE title, this host and that port), or: listen PORT; "
           "or send the objects elsewhere: set move-destination AETITLE")


def _classes(ctx: Context) -> tuple[str, ...]:
    """The storage classes the receiver takes: the accept setting's (accept auto: pynetdicom's list)."""
    accept = ctx.settings["accept"]
    return DEFAULT_STORAGE_CLASSES if accept == "auto" else classes_for(accept)


def need_port(ctx: Context) -> None:
    """A C-MOVE to getsh's own AE title needs the receiver's port (and, over TLS, a key, a certificate and
    the CA that vouches for the archive): UsageError before anything is sent."""
    s = ctx.settings
    if (s["move-destination"] or s["aet"]) != s["aet"]:
        return
    if s["listen-port"] is None:
        raise UsageError("a C-MOVE needs a port for getsh's receiver: the archive sends the objects to getsh's AE "
                         "title at a host and port it has on file", NO_PORT)
    tls = receiver_tls(ctx)
    if tls is not None:
        receiver_context(tls)  # its one-line refusal when a file is missing or unusable


def receiver_tls(ctx: Context) -> TlsOptions | None:
    """What the receiver's TLS is made of (listen-tls on), from the tls-* settings; None: plain TCP."""
    s = ctx.settings
    if s["listen-tls"] == "off":
        return None
    return TlsOptions("on", s["tls-key"], s["tls-cert"], s["tls-ca"], s["tls-verify"], s["tls-password"],
                      s["tls-profile"])


def receiver(ctx: Context) -> tuple[Receiver, list[str]]:
    """The session's receiver as the settings describe it, started; the lines that say where it listens."""
    need_port(ctx)
    s = ctx.settings
    port, host, tls = s["listen-port"], s["listen-host"], receiver_tls(ctx)
    current = ctx.session.receiver
    standing = None
    if current is not None and (current.port != port or current.host != host or current.tls != tls):
        standing = current.standing_state  # listen stays on where the settings moved the receiver
        current.stop()  # the settings moved it, or changed how it listens
        current = ctx.session.receiver = None
    made = current or Receiver(s["aet"], host, port, max_pdu=s["max-pdu"], tls=tls,
                               handshake_limit=float(s["acse-timeout"] or 30))
    made.configure(s["aet"], _classes(ctx), PREFER[s["prefer"]])
    lines = []
    if not made.running:
        made.start()
        ctx.session.receiver = made
        if standing is not None:
            made.stand(*standing)
        lines.append(f"receiver {made.ae_title} listening on {made.where}"
                     + (" (listen stays on)" if standing is not None else ""))
    peer = ctx.session.peer
    warning = loopback_warning(host, resolve(peer.host, peer.port)) if peer is not None else ""
    return made, lines + ([warning] if warning else [])


def expected(ctx: Context) -> Expected:
    """Who may send to the receiver: the peer's address (any before a peer is known), move-callers."""
    peer = ctx.session.peer
    return Expected(resolve(peer.host, peer.port) if peer is not None else "", ctx.settings["move-callers"])


def move_options(ctx: Context) -> MoveOptions:
    """Where a C-MOVE sends the objects: getsh's receiver, made ready when the C-MOVE starts; or the
    move-destination, a third party (then nothing arrives here)."""
    s = ctx.settings
    destination = s["move-destination"] or s["aet"]
    if destination != s["aet"]:
        return MoveOptions(destination, None)

    def prepare() -> tuple[Receiver, Expected, list[str]]:
        made, lines = receiver(ctx)
        return made, expected(ctx), lines

    return MoveOptions(destination, prepare)


def after_move(ctx: Context) -> None:
    """A receiver started for a move stops with it, unless listen is on."""
    made = ctx.session.receiver
    if made is not None and not made.standing:
        made.stop()
        ctx.session.receiver = None


def between(ctx: Context) -> Iterator[Notice]:
    """What the receiver noted since the last command (listen on): objects stored, associations refused.
    Objects stored between commands are numbered here, on the shell's thread, so that a get running
    meanwhile (which numbers its own as they come) and they never share a number."""
    made = ctx.session.receiver
    if made is None:
        return
    state = made.standing_state
    if state is not None and isinstance(state[1], StandingStore):
        yield from state[1].number_pending()
    for line in made.take_notes():
        yield Notice(line)


class StandingStore:
    """listen on, no C-MOVE running: objects from the peer are stored as a move's would be, listed by
    'received', and each is noted for the next command."""

    def __init__(self, ctx: Context, made: Receiver) -> None:
        self.ctx, self.receiver = ctx, made
        self.storage = _storage(ctx)
        self.lock = threading.Lock()
        self.pending: list[tuple[Received, str]] = []  # stored, not yet numbered (the next command does)

    def __call__(self, event: Any) -> int:
        """On the receiver's threads: store the object as a get would; the shell numbers it later."""
        meta, outcome, header = store_event(self.storage, event)
        sender = f"from {event.assoc.requestor.address} ({str(event.assoc.requestor.ae_title).strip()})"
        if not isinstance(outcome, StoredFile):
            status = int(getattr(outcome, "dimse_status", 0xC000))
            self.receiver.note(f"receiver: refused {meta.sop_instance_uid} {sender} (0x{status:04X}): "
                               f"{getattr(outcome, 'message', outcome)}")
            return status
        values = header if isinstance(header, dict) else header_of(header) if header is not None else {}
        received = Received(
            index=0, sop_class_uid=meta.sop_class_uid, sop_instance_uid=meta.sop_instance_uid,
            transfer_syntax=meta.transfer_syntax, path=outcome.path, action=outcome.describe(), size=outcome.size,
            patient_id=values.get("PatientID", ""), patient_name=values.get("PatientName", ""),
            study_uid=values.get("StudyInstanceUID", ""), series_uid=values.get("SeriesInstanceUID", ""),
            modality=values.get("Modality", ""), output_dir=self.storage.root, remarks=outcome.remarks)
        with self.lock:
            self.pending.append((received, f"{sender} {outcome.describe()} {outcome.path or ''}"))
        return 0x0000

    def number_pending(self) -> Iterator[Notice]:
        """On the shell's thread: the objects stored since the last command join 'received', numbered."""
        with self.lock:
            pending, self.pending = self.pending, []
        received = self.ctx.session.received
        for item, words in pending:
            received.append(replace(item, index=len(received) + 1))
            yield Notice(f"receiver: object {len(received)} {words} (listen is on; see: received)")


def _storage(ctx: Context) -> Storage:
    return retrieve_options(ctx).make_storage()  # the same storage a get would use


def retrieve_options(ctx: Context, how: str = "get") -> RetrieveOptions:
    """What the settings say about a retrieve (``how``: get, move or auto), as plain values."""
    s = ctx.settings
    return RetrieveOptions(
        model=s["model"], propose=s["propose"], prefer=s["prefer"], accept=classes_for(s["accept"]),
        discover=s["accept"] == "auto", repeat=s["repeat"], dimse_timeout=s["dimse-timeout"], output=s["output"],
        storage=s["storage"], layout=s["layout"], existing=s["existing"], table_rows=TABLE_ROWS, receive=s["receive"],
        malformed=s["malformed"], stream_above=s["stream-above"], max_inflated=s["max-inflated"],
        bounds=Bounds(no_progress=s["no-progress-timeout"], retrieve_timeout=s["retrieve-timeout"],
                      max_objects=s["max-objects"], max_bytes=s["max-bytes"], cancel_grace=s["cancel-grace"]),
        retrieve=how, move=move_options(ctx) if how != "get" else None, parallel=s["parallel"],
    )


def _port_word(text: str) -> str:
    if text.strip().lower() == "off":
        return "off"
    if parse_port(text) is None:
        raise ValueError(f"{text!r} is not a port number to listen on (1..65535), or off")
    return text.strip()


@command(
    "listen",
    "run getsh's receiver for C-MOVE between commands too (listen PORT), stop it (listen off), or say where it is",
    help="""
getsh receives a C-MOVE's objects on a storage SCP of its own, on the port you choose:
the archive sends them to getsh's AE title (aet) at the host and port it has on file
for it, so it must be told once (see: help move). 'move' starts the receiver on
listen-port and stops it when the move ends; 'listen PORT' sets listen-port and keeps
the receiver running between commands, for archives that send later (a queued move) or
for another tool's C-MOVE to this AE title. Only associations from the address of the
peer getsh is connected to are accepted (so connect first; the receiver follows connect),
and only the calling AE titles in move-callers when it lists any;
every other one is refused with A-ASSOCIATE-RJ and reported. Objects that arrive
between commands are stored as a move's are (output, storage, layout, existing) and
listed by 'received'. --host ADDRESS binds to one address (listen-host; 0.0.0.0 is
every interface). 'listen off' stops it; 'listen' says where it listens.
For archives that open that association over TLS: set listen-tls on (it then uses
tls-key, tls-cert and tls-profile, and under tls-verify require accepts only archives
whose certificate tls-ca vouches for).

Examples:
  listen 11113
  listen 11113 --host 127.0.0.1
  listen off
""",
    args=[Arg("port", "the port to listen on, or off", type=_port_word, required=False, metavar="PORT|off"),
          Arg("host", "the address to listen on (listen-host)", type=parse_host, option="--host", metavar="ADDRESS")],
    category="retrieve",
)
def listen(ctx: Context, args: SimpleNamespace) -> Iterator[object]:
    yield from between(ctx)
    made = ctx.session.receiver
    if args.port == "off":
        if made is not None:
            made.stand(None)
            after_move(ctx)
        yield Notice("the receiver is off" + (" (it was not running)" if made is None else ""))
        return
    if args.port is None and args.host is None:
        if made is None or not made.running:
            yield Notice(f"the receiver is off (listen-port {ctx.settings.show('listen-port')}; a move starts it)")
        else:
            yield Notice(f"receiver {made.ae_title} listening on {made.where}"
                         + (", between commands too (listen is on)" if made.standing else ""))
        return
    if args.port is not None:
        ctx.settings.set("listen-port", args.port)
    if args.host is not None:
        ctx.settings.set("listen-host", args.host)
    need_port(ctx)  # what the receiver lacks (a port; over TLS a key, a certificate, a CA) is said first
    if ctx.session.peer is None:
        raise UsageError("listen takes objects only from the peer getsh is connected to, and none is known yet",
                         "connect HOST PORT first, then listen")
    made, lines = receiver(ctx)
    made.stand(lambda: expected(ctx), StandingStore(ctx, made))
    ctx.session.between_commands = lambda: between(ctx)  # every command first shows what arrived
    for line in lines:
        yield Notice(line)
    yield Notice(f"listen is on: the receiver accepts associations from the peer's address ({expected(ctx).host}; "
                 "it follows connect) between commands too ('listen off' stops it)")
