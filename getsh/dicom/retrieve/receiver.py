"""getsh's own storage SCP, in-process: where the objects of a C-MOVE arrive.

A C-MOVE's objects do not come back on the association that asked for them: the archive opens an
association of its own to the Move Destination (our AE title, at the host and port it has on file
for it) and sends each object with C-STORE. This receiver answers those associations.

Who may open one: only while a C-MOVE runs (``serving``) or while ``listen`` is on (``standing``),
and only from the peer's address (archives often call with another calling AE title than the one
getsh called: ``callers`` lists those accepted, empty for any). Every other association is refused
with an A-ASSOCIATE-RJ and a reason, and one line says so (``notify``, or kept in ``notes`` when
nobody is listening).

What it does with an object: the running C-MOVE's handler (moving.MoveRun, which stores it through
the same ``sinks.store_event`` as C-GET's pynetdicom path: the storage modes, layouts, overwrite
policy, containment and atomic writes of storage/); while ``listen`` is on and no C-MOVE runs, the
standing handler. pynetdicom's chunked receive is kept on while it listens, so every data set comes
as a spool file that is renamed into place or read from (spool.py), never decoded whole in memory.
Hostile peers meet the same PDU bounds as on the session's association (net/pdu_bounds.py).

Over TLS (``tls``: listen-tls on) it answers with our key and certificate and, under tls-verify require,
takes only archives whose certificate tls-ca vouches for (net/tls.receiver_context). The handshake runs
on the connection's own thread (net/tls_server.TlsLaterServer); one that fails is refused like an
association, in one line with its diagnosis (plain DICOM to our TLS port, an untrusted certificate …).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from pynetdicom import AE, build_context, evt
from pynetdicom.sop_class import Verification

from getsh.dicom.net.pdu_bounds import bound_pdu_reads
from getsh.dicom.net.tls import TlsOptions, receiver_context
from getsh.dicom.net.tls_server import HANDSHAKE_LIMIT, TlsLaterServer, refusal_words
from getsh.dicom.retrieve.receive.handover import BRISK_LOOP_DELAY
from getsh.dicom.retrieve.spool import ChunkedHold, drop_spool, lenient_spool_meta
from getsh.errors import NetworkError

log = logging.getLogger("getsh.retrieve")

STATUS_NOT_AUTHORISED = 0x0124  # a C-STORE that belongs to no C-MOVE (an association that outlived it)
LOOPBACK = ("127.", "::1", "localhost")

# A-ASSOCIATE-RJ (result, source, reason) as PS3.8 numbers them, and the words the line says
NOT_THE_PEER = (1, 1, 3)  # permanent, service user, calling AE title not recognised
NOT_NOW = (2, 1, 1)  # transient, service user, no reason given


@dataclass(frozen=True)
class Expected:
    """Who may open an association to the receiver: the peer's address ('' : any) and the calling AE
    titles accepted (empty: any from that address)."""

    host: str
    callers: tuple[str, ...] = ()

    def refusal(self, address: str, calling: str) -> str:
        """'' when an association from ``address`` calling as ``calling`` is accepted; else why not. No
        peer known (``host`` empty): nobody — a receiver open to any address would store anyone's objects."""
        if not self.host:
            return "no peer is known, and getsh takes objects only from the peer it is connected to"
        if _plain(address) != _plain(self.host):
            return f"not from the peer's address ({self.host})"
        if self.callers and calling not in self.callers:
            return f"calling AE title {calling!r} is not one of move-callers ({', '.join(self.callers)})"
        return ""


def _plain(address: str) -> str:
    return address.removeprefix("::ffff:")


def is_loopback(host: str) -> bool:
    return host.startswith(LOOPBACK)


Store = Callable[[Any], int]  # an EVT_C_STORE handler: the C-STORE status to answer with
Notify = Callable[[str], None]


class Receiver:
    """A storage SCP on ``host``:``port`` answering as ``ae_title``; ``start`` binds, ``stop`` ends it."""

    def __init__(self, ae_title: str, host: str, port: int, *, max_pdu: int = 16384, tls: TlsOptions | None = None,
                 handshake_limit: float = HANDSHAKE_LIMIT) -> None:
        self.host, self.port = host, port
        self.tls, self.handshake_limit = tls, handshake_limit  # listen-tls on: what its TLS is made of
        self._ae = AE(ae_title)
        self._ae.maximum_pdu_size = max_pdu
        self._ae.network_timeout = 60  # an archive that opens an association and goes quiet
        self._ae.maximum_associations = 8
        self._server: Any = None
        self._chunked = ChunkedHold()
        self._lock = threading.Lock()
        self._move: tuple[Expected, Store, Notify] | None = None  # the running C-MOVE's
        # listen on: who may send (asked at each association: the peer may change) and where objects go
        self._standing: tuple[Callable[[], Expected], Store] | None = None
        self.notes: list[str] = []  # refusals and stray objects while nobody was listening (shown later)
        self.calls = 0  # associations requested during the running C-MOVE, accepted or not
        self.refusals: list[str] = []  # why the running C-MOVE's refused ones were refused
        self.contexts: list[Any] = []

    # --- life cycle ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def ae_title(self) -> str:
        return str(self._ae.ae_title)

    @property
    def where(self) -> str:
        """``0.0.0.0:11113 (all interfaces)``: the address it listens on, said plainly."""
        host = self.host or "0.0.0.0"
        plain = {"0.0.0.0": " (all interfaces)", "::": " (all interfaces)"}.get(host, "")
        if is_loopback(host):
            plain = " (loopback: this machine only)"
        return f"{host}:{self.port}{plain}{self.over}"

    @property
    def over(self) -> str:
        """`` over TLS (…)`` when it listens over TLS, in words that say whom it takes; else ''."""
        if self.tls is None:
            return ""
        if self.tls.verify == "require":
            return " over TLS (archives whose certificate tls-ca vouches for)"
        return " over TLS (any archive certificate: tls-verify ignore)"

    def configure(self, ae_title: str, classes: Sequence[str], syntaxes: Sequence[str]) -> None:
        """The AE title answered, the storage classes accepted and their transfer syntaxes in order of
        preference (the acceptor's order decides: the ``prefer`` setting, as for a C-GET)."""
        self.contexts = [build_context(Verification),  # a C-ECHO of the receiver says it is reachable
                         *(build_context(uid, list(syntaxes)) for uid in dict.fromkeys(classes))]
        self._ae.ae_title = ae_title
        if self._server is not None:
            self._server.contexts = self.contexts
            self._server.ae_title = ae_title

    def start(self) -> None:
        """Listen; NetworkError naming the address and the fix when it cannot."""
        if self._server is not None:
            return
        context = receiver_context(self.tls) if self.tls is not None else None  # UsageError: the fix, before binding
        lenient_spool_meta()
        handlers: list[Any] = [(evt.EVT_CONN_OPEN, self._on_open), (evt.EVT_REQUESTED, self._on_requested),
                               (evt.EVT_C_STORE, self._on_store), (evt.EVT_C_ECHO, lambda event: 0x0000)]
        try:
            server = self._ae.make_server((self.host or "0.0.0.0", self.port), contexts=self.contexts or None,
                                          evt_handlers=handlers, server_class=TlsLaterServer, ssl_context=context)
        except OSError as error:
            raise NetworkError(f"the receiver cannot listen on {self.where}: {error.strerror or error}",
                               "choose another port (set listen-port N, and tell the archive) or address "
                               "(set listen-host ADDRESS)") from None
        except ValueError as error:
            raise NetworkError(f"the receiver cannot listen on {self.where}: {error}",
                               "set accept and prefer to storage classes and syntaxes it can take") from None
        if isinstance(server, TlsLaterServer):
            server.handshake_limit, server.on_failure = self.handshake_limit, self._handshake_failed
        self._server = server
        self.port = int(server.server_address[1])
        self._chunked.on()
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         name=f"getsh-receiver@{self.port}", daemon=True).start()

    def stop(self, grace: float = 1.0) -> None:
        """Give the archive ``grace`` seconds to release what it still has open, abort the rest (a
        half-received object's spool file is removed: nothing partial is left anywhere), close the
        socket. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        deadline = time.monotonic() + grace
        while server.active_associations and time.monotonic() < deadline:
            time.sleep(0.02)
        threads = list(server.active_associations)
        for assoc in threads:
            assoc.abort()
            drop_spool(assoc)
        with suppress(ValueError):  # it unregisters from the AE's start_server list, where it never was
            server.shutdown()
        with suppress(Exception):
            server.server_close()
        for thread in threads:
            thread.join(timeout=2)
        self._chunked.off()

    def settle(self, limit: float = 1.0) -> None:
        """Wait (``limit`` seconds at most) for connections still shaking hands: a failed one is reported
        just after OpenSSL sent the peer its alert, and that report belongs to the C-MOVE now ending."""
        server = self._server
        deadline = time.monotonic() + limit
        while isinstance(server, TlsLaterServer) and server.handshaking and time.monotonic() < deadline:
            time.sleep(0.01)

    # --- who is served ------------------------------------------------------------------------

    @contextmanager
    def serving(self, expected: Expected, store: Store, notify: Notify) -> Iterator[None]:
        """While a C-MOVE runs: associations ``expected`` are accepted and their objects go to ``store``;
        ``notify`` hears of every refusal (on the receiver's threads)."""
        with self._lock:
            self._move = (expected, store, notify)
            self.calls, self.refusals = 0, []
        try:
            yield
        finally:
            with self._lock:
                self._move = None

    def stand(self, expected: Callable[[], Expected] | None, store: Store | None = None) -> None:
        """``listen`` on (who may send, asked at each association, and what to do with the objects) or
        off (None)."""
        with self._lock:
            self._standing = (expected, store) if expected is not None and store is not None else None

    @property
    def standing(self) -> bool:
        return self._standing is not None

    @property
    def standing_state(self) -> tuple[Callable[[], Expected], Store] | None:
        """What ``stand`` was given, for a receiver that replaces this one (the settings moved it)."""
        return self._standing

    def note(self, line: str) -> None:
        """A line for the next command (from any thread)."""
        with self._lock:
            self.notes.append(line)

    def take_notes(self) -> list[str]:
        with self._lock:
            notes, self.notes = self.notes, []
        return notes

    # --- pynetdicom's threads -----------------------------------------------------------------

    def _on_open(self, event: Any) -> None:
        bound_pdu_reads(event.assoc, int(self._ae.maximum_pdu_size or 0) or 16384)
        event.assoc.dul._run_loop_delay = BRISK_LOOP_DELAY  # its reader polls briskly, as during a C-GET
        sock = event.assoc.dul.socket.socket if event.assoc.dul.socket else None
        if sock is not None:
            with suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_requested(self, event: Any) -> None:
        """EVT_REQUESTED: accept or refuse, before pynetdicom negotiates anything."""
        assoc = event.assoc
        address = str(assoc.requestor.address)
        calling = str(getattr(assoc.requestor.primitive, "calling_ae_title", "") or "").strip()
        with self._lock:
            move, standing = self._move, self._standing
            self.calls += move is not None
        expected = move[0] if move is not None else standing[0]() if standing is not None else None
        if expected is None:
            why, reject = "no C-MOVE is running and listen is off", NOT_NOW
        else:
            why, reject = expected.refusal(address, calling), NOT_THE_PEER
        if not why:
            return
        try:  # told before the reject reaches the archive (its C-MOVE-RSP may follow at once), and never
            # raising: pynetdicom goes on to negotiate an association whose handler raised
            self._refuse(f"an association from {address} (calling AE {calling!r})", why)
        except Exception:
            log.exception("receiver: could not report a refusal")
        finally:
            assoc.acse.send_reject(*reject)
            assoc.kill()

    def _handshake_failed(self, address: str, error: OSError) -> None:
        """A connection whose TLS handshake failed (or that spoke plain DICOM to our TLS port): refused."""
        with self._lock:
            self.calls += self._move is not None  # the archive did call us: it knows where getsh is
        profile = self.tls.profile if self.tls is not None else ""
        self._refuse(f"a connection from {address}", refusal_words(error, profile, self.handshake_limit))

    def _refuse(self, what: str, why: str) -> None:
        with self._lock:
            if self._move is not None:
                self.refusals.append(why)
        self._tell(f"receiver: refused {what}: {why}")

    def _on_store(self, event: Any) -> int:
        with self._lock:
            move, standing = self._move, self._standing
        store = move[1] if move is not None else standing[1] if standing is not None else None
        if store is None:
            self._tell(f"receiver: refused a C-STORE from {event.assoc.requestor.address}: it came after the "
                       "C-MOVE ended (0x0124)")
            with suppress(Exception):
                event.dataset_path.unlink(missing_ok=True)
            return STATUS_NOT_AUTHORISED
        return store(event)

    def _tell(self, line: str) -> None:
        log.info("%s", line)
        with self._lock:
            move = self._move
            if move is None:
                self.notes.append(line)
        if move is not None:
            move[2](line)


def loopback_warning(listen_host: str, peer_host: str) -> str:
    """A line when the receiver listens on loopback only and the peer is elsewhere: it cannot reach us."""
    if is_loopback(listen_host or "0.0.0.0") and not is_loopback(peer_host):
        return (f"warning: the receiver listens on {listen_host} (loopback) but the peer {peer_host} is another "
                "machine: it cannot reach it (set listen-host 0.0.0.0, or this machine's address)")
    return ""
