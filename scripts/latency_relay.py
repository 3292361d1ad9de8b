#!/usr/bin/env python3
"""A TCP relay that adds a fixed one-way delay in each direction: a slow link on loopback (issue 17).

``tc qdisc … netem`` needs a kernel module these machines do not have, so this relay emulates the
link in user space. It listens on 127.0.0.1 and forwards every connection it accepts to a target
host:port. Each chunk read from one side (up to 256 KB: asyncio reads that much at once) is stamped
with the time it arrived and written to the other side when ``delay`` has passed since then, so a
round trip through it takes at least 2 × delay (the RTT) while bytes keep their order and the
bandwidth is not limited: chunks in flight wait side by side, never one after the other. (What
it can move is still a Python process's: about 1 GB/s one way on the 2-CPU test machine, against
1.9 GB/s for loopback itself; ``--overhead`` measures it, and the round trip it adds, ~0.1 ms.)
Back-pressure comes only from the sockets: a side that stops reading fills its socket buffer and
the relay's write buffer, then the relay stops writing there (asyncio's pause_writing) and, once
more than ``QUEUE_LIMIT`` bytes wait on that direction, stops reading from the sender.

A new connection costs one extra round trip, as on a real link (the SYN / SYN-ACK before the first
byte can leave): the client's first flight of data — what it sends before anything comes back —
reaches the target 3 × delay after the connection was accepted at the earliest, not 1 × delay.
``connect_rtt=False`` (``--no-connect-rtt``) leaves that out.

An end of stream (FIN) is delayed like data, after the data before it, and forwarded as a
half-close: each direction ends on its own. A reset (or any error) on one side closes both at once.
Both sides have TCP_NODELAY (Nagle off).

    python scripts/latency_relay.py --listen-port 0 --target 127.0.0.1:11112 --rtt-ms 20
    python scripts/latency_relay.py --overhead     # the relay's own cost at 0 ms, against a direct connection

In a program or a test::

    with LatencyRelay(("127.0.0.1", 11112), rtt_ms=20) as relay:   # its own thread and event loop
        connect_to(relay.port)
    with RelayProcess(("127.0.0.1", 11112), rtt_ms=20) as relay:   # the CLI in a child process
        connect_to(relay.port)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
QUEUE_LIMIT = 64 << 20  # bytes waiting in one direction before the relay stops reading the sender
WRITE_HIGH_WATER = 4 << 20  # asyncio's write buffer above which a side counts as not reading
READY = "latency relay listening on"  # the CLI's first line: READY HOST:PORT -> TARGET …

_EOF = b""  # the marker of an end of stream in a direction's queue


class _Direction:
    """One direction of one connection: chunks stamped on arrival, written when their time comes."""

    def __init__(self, conn: _Connection, name: str) -> None:
        self.conn = conn
        self.name = name  # "up" (client -> target) or "down"
        self.src: asyncio.Transport | None = None
        self.dst: asyncio.Transport | None = None
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.queued = 0  # bytes in the queue
        self.src_paused = False  # we stopped reading the sender (the queue is full)
        self.dst_paused = False  # the receiver's write buffer is full (asyncio said pause_writing)
        self.timer: asyncio.TimerHandle | None = None
        self.sent_any = False  # some bytes written to the receiver
        self.ended = False  # the end of stream was forwarded

    def push(self, data: bytes) -> None:
        """A chunk (or _EOF) read from the sender now: due after the delay."""
        loop = self.conn.relay.loop
        due = loop.time() + self.conn.relay.delay
        if self.name == "up" and self.conn.first_flight():
            due = max(due, self.conn.accepted + 3 * self.conn.relay.delay)
        self.queue.append((due, data))
        self.queued += len(data)
        if self.queued > QUEUE_LIMIT and self.src is not None and not self.src_paused:
            self.src_paused = True
            self.src.pause_reading()
        if self.timer is None:
            self.flush()

    def flush(self) -> None:
        """Write every chunk whose time has come; then wait for the next one (or for the receiver)."""
        self.timer = None
        dst = self.dst
        if dst is None or self.dst_paused:
            return
        loop = self.conn.relay.loop
        now = loop.time()
        while self.queue and self.queue[0][0] <= now and not self.dst_paused:
            _, data = self.queue.popleft()
            self.queued -= len(data)
            if dst.is_closing():
                continue
            if not data:  # _EOF
                self.end(dst)
            else:
                dst.write(data)
                self.sent_any = True
        if self.src_paused and self.queued <= QUEUE_LIMIT // 2 and self.src is not None:
            self.src_paused = False
            self.src.resume_reading()
        if self.queue and not self.dst_paused:
            self.timer = loop.call_at(self.queue[0][0], self.flush)

    def end(self, dst: asyncio.Transport) -> None:
        self.ended = True
        if dst.can_write_eof():
            dst.write_eof()
        self.conn.maybe_done()

    def writer_paused(self, paused: bool) -> None:
        self.dst_paused = paused
        if paused and self.timer is not None:
            self.timer.cancel()
            self.timer = None
        elif not paused and self.timer is None:
            self.flush()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queue.clear()
        self.queued = 0


class _Side(asyncio.Protocol):
    """The protocol of one socket (the client's or the target's): it feeds one direction and is
    written to by the other."""

    def __init__(self, conn: _Connection, feeds: _Direction, fed_by: _Direction) -> None:
        self.conn = conn
        self.feeds = feeds
        self.fed_by = fed_by
        self.transport: asyncio.Transport | None = None
        self.gone = False  # its connection_lost has been called

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.feeds.src = transport
        self.fed_by.dst = transport

    def data_received(self, data: bytes) -> None:
        self.feeds.push(data)

    def eof_received(self) -> bool:
        self.feeds.push(_EOF)
        return True  # keep the socket open: the other direction may still be sending

    def pause_writing(self) -> None:
        self.fed_by.writer_paused(True)

    def resume_writing(self) -> None:
        self.fed_by.writer_paused(False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.conn.lost(exc)


class _Connection:
    """One accepted client and its connection to the target."""

    def __init__(self, relay: LatencyRelay) -> None:
        self.relay = relay
        self.accepted = relay.loop.time()
        self.up = _Direction(self, "up")
        self.down = _Direction(self, "down")
        self.client = _Side(self, self.up, self.down)
        self.target = _Side(self, self.down, self.up)
        self.closed = False
        self.opening: asyncio.Task[None] | None = None  # open_target (a reference keeps the task alive)

    def first_flight(self) -> bool:
        return self.relay.connect_rtt and not self.down.sent_any

    async def open_target(self) -> None:
        loop = self.relay.loop
        try:
            await loop.create_connection(lambda: self.target, *self.relay.target)
        except OSError:
            self.close(abort=True)  # the client sees its connection end: the target refused it
            return
        if self.closed:  # the client went away meanwhile
            if self.target.transport is not None:
                self.target.transport.close()
            return
        self.up.flush()  # what the client sent meanwhile, when its time comes

    def maybe_done(self) -> None:
        if self.up.ended and self.down.ended:
            self.close(abort=False)

    def lost(self, exc: Exception | None) -> None:
        """One side's socket is gone (a reset, a failed write): the other goes too, at once."""
        self.close(abort=exc is not None)

    def close(self, abort: bool) -> None:
        if self.closed:
            return
        self.closed = True
        self.up.cancel()
        self.down.cancel()
        for side in (self.client, self.target):
            if side.transport is not None and not side.transport.is_closing():
                (side.transport.abort if abort else side.transport.close)()
        self.relay.connections.discard(self)


class LatencyRelay:
    """The relay in a thread of its own (its own asyncio loop): ``start()`` returns the port;
    ``stop()`` closes the listener and every connection. Also a context manager."""

    def __init__(self, target: tuple[str, int], rtt_ms: float = 0.0, *, listen_host: str = HOST,
                 listen_port: int = 0, connect_rtt: bool = True) -> None:
        self.target = target
        self.delay = rtt_ms / 2000.0  # one way, seconds
        self.listen = (listen_host, listen_port)
        self.connect_rtt = connect_rtt and rtt_ms > 0
        self.port = 0
        self.connections: set[_Connection] = set()
        self.accepted = 0  # connections accepted so far
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._closing: list[_Side] = []

    @property
    def rtt_ms(self) -> float:
        return self.delay * 2000.0

    def _accept(self) -> asyncio.Protocol:
        conn = _Connection(self)
        self.connections.add(conn)
        self.accepted += 1
        conn.opening = self.loop.create_task(conn.open_target())
        return conn.client

    async def serve(self) -> int:
        """Start listening on the running loop (this loop must be ``self.loop``); the port."""
        self._server = await self.loop.create_server(self._accept, *self.listen, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def close_all(self) -> list[_Side]:
        """Stop listening and close every connection (on the loop's thread); the sides closing."""
        if self._server is not None:
            self._server.close()
        sides = [side for conn in list(self.connections) for side in (conn.client, conn.target)]
        for conn in list(self.connections):
            if conn.opening is not None:
                conn.opening.cancel()
            conn.close(abort=False)
        return sides

    async def closed(self, sides: list[_Side], grace: float = 1.0) -> None:
        """Wait until every side's socket is closed (its last writes flushed); abort what is left after grace."""
        deadline = self.loop.time() + grace
        while any(s.transport is not None and not s.gone for s in sides) and self.loop.time() < deadline:
            await asyncio.sleep(0.01)
        for side in sides:
            if side.transport is not None and not side.gone:
                side.transport.abort()
        await asyncio.sleep(0)

    def start(self) -> int:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self.serve())
            except BaseException as exc:  # reported by start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.closed(self._closing))
            self.loop.close()

        self._thread = threading.Thread(target=run, name=f"latency-relay-{self.rtt_ms:g}ms", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None or not self._thread.is_alive():
            return

        def shutdown() -> None:
            self._closing = self.close_all()
            self.loop.stop()

        self.loop.call_soon_threadsafe(shutdown)
        self._thread.join(timeout)

    def __enter__(self) -> LatencyRelay:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class RelayProcess:
    """The CLI relay in a child process (no GIL shared with the caller): ``start()`` returns the port."""

    def __init__(self, target: tuple[str, int], rtt_ms: float = 0.0, *, connect_rtt: bool = True) -> None:
        self.target = target
        self.rtt_ms = rtt_ms
        self.connect_rtt = connect_rtt
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 10.0) -> int:
        argv = [sys.executable, os.fspath(Path(__file__).resolve()), "--listen-port", "0",
                "--target", f"{self.target[0]}:{self.target[1]}", "--rtt-ms", f"{self.rtt_ms:g}"]
        argv += [] if self.connect_rtt else ["--no-connect-rtt"]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith(READY):
            self.stop()
            raise RuntimeError(f"the relay did not start: {line.strip() or 'no answer in time'}")
        self.port = int(line.split()[len(READY.split())].rsplit(":", 1)[1])
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> RelayProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- its own overhead ---------------------------------------------------------------------------


class _EchoServer:
    """A blocking server, a thread per connection, that the overhead is measured against: it echoes
    what it reads, or (when the first byte is ``S``) only counts it and answers the count at the end."""

    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0))
        self.port = int(self.sock.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._serve, daemon=True)
        self._acceptor.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            first = conn.recv(1 << 20)
            if first.startswith(b"S"):
                count = len(first)
                while data := conn.recv(1 << 20):
                    count += len(data)
                conn.sendall(str(count).encode())
            else:
                data = first
                while data:
                    conn.sendall(data)
                    data = conn.recv(1 << 20)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept() (close alone does not)
        self.sock.close()
        self._acceptor.join(5)
        for thread in self._threads:
            thread.join(5)


def _round_trips(port: int, count: int, size: int) -> list[float]:
    """``count`` request/response round trips of ``size`` bytes each over one connection: seconds each."""
    payload = b"x" * size
    times = []
    with socket.create_connection((HOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(payload)
            got = 0
            while got < size:
                chunk = sock.recv(size - got)
                if not chunk:
                    raise ConnectionError("the echo ended early")
                got += len(chunk)
            times.append(time.perf_counter() - started)
    return times


def _bulk(port: int, total: int, echoed: bool) -> float:
    """Send ``total`` bytes, echoed back (both directions at once) or only counted (one way): seconds."""
    block = (b"E" if echoed else b"S") * (256 << 10)
    echoes = [0]  # bytes echoed back
    answer = bytearray()  # or the count a sink answered

    def reader(sock: socket.socket) -> None:
        while chunk := sock.recv(1 << 20):
            if echoed:
                echoes[0] += len(chunk)
            else:
                answer.extend(chunk)

    with socket.create_connection((HOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        thread = threading.Thread(target=reader, args=(sock,))
        thread.start()
        sent = 0
        while sent < total:
            sock.sendall(block)
            sent += len(block)
        sock.shutdown(socket.SHUT_WR)
        thread.join()
        elapsed = time.perf_counter() - started
    got = echoes[0] if echoed else int(answer or b"-1")
    if got != sent:
        raise ConnectionError(f"the bulk transfer lost bytes: {got} of {sent}")
    return elapsed


def measure_overhead(round_trips: int = 2000, bulk_mb: int = 256, size: int = 200) -> list[str]:
    """The relay's own cost at 0 ms (in a child process, as a benchmark runs it) against a direct
    connection to the same server: lines to print."""
    server = _EchoServer()
    try:
        with RelayProcess((HOST, server.port), 0.0) as relay:
            lines = [f"relay overhead at 0 ms (scripts/latency_relay.py in a child process; a threaded echo server; "
                     f"{round_trips} round trips of {size} bytes; {bulk_mb} MB in bulk):"]
            _round_trips(relay.port, 50, size)  # warm both paths
            _round_trips(server.port, 50, size)
            direct, relayed = _round_trips(server.port, round_trips, size), _round_trips(relay.port, round_trips, size)
            d_med, r_med = statistics.median(direct), statistics.median(relayed)
            lines.append(f"  round trip: direct {d_med * 1e6:.0f} us, through the relay {r_med * 1e6:.0f} us "
                         f"(median; +{(r_med - d_med) * 1e6:.0f} us a round trip)")
            total = bulk_mb << 20
            for echoed, what in ((False, "one way"), (True, "echoed, both directions at once")):
                direct_s, relay_s = _bulk(server.port, total, echoed), _bulk(relay.port, total, echoed)
                lines.append(f"  bulk, {what}: direct {total / 1e6 / direct_s:.0f} MB/s, through the relay "
                             f"{total / 1e6 / relay_s:.0f} MB/s ({relay_s / direct_s:.2f}x the time)")
            return lines
    finally:
        server.close()


# ---- the command line ---------------------------------------------------------------------------


def _target(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:11112)")
    return host, int(port)


def _rtt(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a round trip in milliseconds (0 to 60000)")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--target", type=_target, help="HOST:PORT to forward every connection to")
    parser.add_argument("--rtt-ms", type=_rtt, default=0.0, help="round trip to add, ms (each way: half)")
    parser.add_argument("--listen-port", type=int, default=0, help="port on 127.0.0.1 (0: any free one, printed)")
    parser.add_argument("--no-connect-rtt", action="store_true",
                        help="do not charge a new connection the extra round trip of its TCP handshake")
    parser.add_argument("--overhead", action="store_true",
                        help="measure the relay's own cost at 0 ms against a direct connection, and exit")
    parser.add_argument("--round-trips", type=int, default=2000, help="--overhead: small round trips (2000)")
    parser.add_argument("--bulk-mb", type=int, default=256, help="--overhead: MB echoed in bulk (256)")
    args = parser.parse_args(argv)
    if not args.overhead and args.target is None:
        parser.error("--target HOST:PORT is needed (or --overhead)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.overhead:
        print("\n".join(measure_overhead(args.round_trips, args.bulk_mb)))
        return 0
    relay = LatencyRelay(args.target, args.rtt_ms, listen_port=args.listen_port,
                         connect_rtt=not args.no_connect_rtt)
    loop = relay.loop
    asyncio.set_event_loop(loop)
    try:
        port = loop.run_until_complete(relay.serve())
    except OSError as exc:
        print(f"latency_relay: cannot listen on {HOST}:{args.listen_port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{READY} {HOST}:{port} -> {args.target[0]}:{args.target[1]}, one-way delay {relay.delay * 1000:g} ms "
          f"(RTT {args.rtt_ms:g} ms)", flush=True)

    closing: list[_Side] = []

    def finish(*_: Any) -> None:
        closing.extend(relay.close_all())
        loop.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, finish)
    try:
        loop.run_forever()
        loop.run_until_complete(relay.closed(closing))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
