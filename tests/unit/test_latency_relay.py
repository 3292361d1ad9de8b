"""scripts/latency_relay.py: the slow link of the --rtt benchmark (issue 17), on plain sockets.

Times are asserted only as lower bounds, which a correct relay cannot beat however slow the
machine: a chunk leaves the relay no earlier than its delay after it arrived there.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts.latency_relay import LatencyRelay, RelayProcess
from tests.peers import refused_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
TIMEOUT = 20.0  # seconds any one socket operation may take before the test fails instead of hanging
SLACK = 1e-4  # float rounding between two readings of the same monotonic clock


class Server:
    """A target on 127.0.0.1: each accepted connection runs ``handler`` in a thread of its own."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server((HOST, 0))
        self.port = int(self.sock.getsockname()[1])
        self.handler = handler
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            with conn:
                self.handler(conn)
        except BaseException as exc:  # reported by close()
            self.errors.append(exc)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept() (close alone does not)
        self.sock.close()
        self.acceptor.join(5)
        for thread in self.threads:
            thread.join(TIMEOUT)
        assert not self.errors, self.errors


def echo(conn: socket.socket) -> None:
    while data := conn.recv(1 << 20):
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def serving(handler: Callable[[socket.socket], None]) -> Iterator[Server]:
    server = Server(handler)
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def relayed(port: int, rtt_ms: float, **kwargs: bool) -> Iterator[LatencyRelay]:
    with LatencyRelay((HOST, port), rtt_ms, **kwargs) as relay:
        yield relay


def connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            raise AssertionError(f"the stream ended after {got} of {size} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def recv_all(sock: socket.socket) -> bytes:
    parts = []
    while chunk := sock.recv(1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def ping(sock: socket.socket, message: bytes) -> float:
    started = time.perf_counter()
    sock.sendall(message)
    assert recv_exactly(sock, len(message)) == message
    return time.perf_counter() - started


def test_every_round_trip_takes_at_least_the_rtt_and_the_first_pays_the_handshake_too() -> None:
    with serving(echo) as server, relayed(server.port, 20) as relay, connect(relay.port) as sock:
        first = ping(sock, b"first")
        later = [ping(sock, f"ping {i}".encode()) for i in range(5)]
    # data, then the answer: 10 ms each way; before the first byte can leave, a TCP handshake's round trip
    assert first >= 0.040 - SLACK, first
    assert min(later) >= 0.020 - SLACK, later


def test_without_the_handshake_round_trip_the_first_exchange_costs_one_rtt() -> None:
    with serving(echo) as server, relayed(server.port, 20, connect_rtt=False) as relay, connect(relay.port) as sock:
        assert ping(sock, b"first") >= 0.020 - SLACK
        assert ping(sock, b"second") >= 0.020 - SLACK


@pytest.mark.parametrize("rtt_ms", [0, 4])
def test_a_bulk_transfer_both_ways_at_once_keeps_every_byte_in_order(rtt_ms: float) -> None:
    data = random.Random(17).randbytes(24 << 20)
    received: list[bytes] = []
    with serving(echo) as server, relayed(server.port, rtt_ms) as relay, connect(relay.port) as sock:
        reader = threading.Thread(target=lambda: received.append(recv_all(sock)))
        reader.start()
        sizes = random.Random(4)
        sent = 0
        while sent < len(data):  # pieces of every size: the relay's chunks never line up with them
            step = sizes.choice((1, 7, 1500, 65536, 300_000, 1 << 20))
            sock.sendall(data[sent:sent + step])
            sent += step
        sock.shutdown(socket.SHUT_WR)
        reader.join(TIMEOUT * 3)
    assert len(received[0]) == len(data)
    assert hashlib.sha256(received[0]).digest() == hashlib.sha256(data).digest()


def test_the_end_of_stream_follows_the_delayed_data_and_each_direction_ends_on_its_own() -> None:
    """Half-closes both ways: the client ends first and still gets an answer; then the target ends
    first and still gets a last word from the client."""
    heard: list[bytes] = []

    def client_first(conn: socket.socket) -> None:
        body = recv_all(conn)  # every byte, then the end of stream
        conn.sendall(f"got {len(body)} bytes, {hashlib.sha256(body).hexdigest()}".encode())
        conn.shutdown(socket.SHUT_WR)

    body = random.Random(5).randbytes(3 << 20)
    with serving(client_first) as server, relayed(server.port, 10) as relay, connect(relay.port) as sock:
        sock.sendall(body)
        sock.shutdown(socket.SHUT_WR)
        assert recv_all(sock).decode() == f"got {len(body)} bytes, {hashlib.sha256(body).hexdigest()}"

    def target_first(conn: socket.socket) -> None:
        conn.sendall(body)
        conn.shutdown(socket.SHUT_WR)
        heard.append(recv_all(conn))

    with serving(target_first) as server, relayed(server.port, 10) as relay, connect(relay.port) as sock:
        assert recv_all(sock) == body  # all of it, then the end of stream
        sock.sendall(b"thanks")
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + TIMEOUT
        while not heard and time.monotonic() < deadline:  # the relay stops at the end of the block
            time.sleep(0.01)
    assert heard == [b"thanks"]


def test_many_connections_at_once_each_get_their_own_bytes_and_all_are_closed_after() -> None:
    results: dict[int, list[float]] = {}
    failures: list[BaseException] = []

    def client(n: int, port: int) -> None:
        try:
            with connect(port) as sock:
                results[n] = [ping(sock, f"connection {n} message {i} ".encode() * (n + 1)) for i in range(4)]
                sock.shutdown(socket.SHUT_WR)
                assert recv_all(sock) == b""
        except BaseException as exc:
            failures.append(exc)

    with serving(echo) as server, relayed(server.port, 10) as relay:
        threads = [threading.Thread(target=client, args=(n, relay.port)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
        deadline = time.monotonic() + TIMEOUT
        while relay.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not failures, failures[:3]
        assert sorted(results) == list(range(40))
        assert all(min(times) >= 0.010 - SLACK for times in results.values())
        assert relay.accepted == 40 and not relay.connections  # both ends done: each closed, none left behind


def _ended(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_stop_closes_every_connection_and_the_listener() -> None:
    with serving(echo) as server:
        relay = LatencyRelay((HOST, server.port), 2)
        port = relay.start()
        socks = [connect(port) for _ in range(3)]
        try:
            for sock in socks:
                ping(sock, b"hello")
            relay.stop()
            assert all(_ended(sock) for sock in socks)
            with pytest.raises(ConnectionRefusedError):
                connect(port).close()
        finally:
            for sock in socks:
                sock.close()
            relay.stop()


def test_a_target_that_refuses_ends_the_client_connection_and_the_relay_goes_on() -> None:
    with refused_port() as port, relayed(port, 2) as relay:
        for _ in range(2):
            with connect(relay.port) as sock:
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    sock.sendall(b"anyone?")
                assert _ended(sock)
        assert relay.accepted == 2


def test_the_command_line_relay_delays_and_stops_on_sigterm() -> None:
    with serving(echo) as server:
        relay = RelayProcess((HOST, server.port), 20)
        port = relay.start()
        try:
            with connect(port) as sock:
                assert ping(sock, b"one") >= 0.040 - SLACK
                assert ping(sock, b"two") >= 0.020 - SLACK
        finally:
            relay.stop()
        assert relay.process is not None and relay.process.returncode == 0


@pytest.mark.parametrize(("argv", "said"), [
    (["--target", "nonsense"], "'nonsense' is not HOST:PORT (e.g. 127.0.0.1:11112)"),
    (["--target", "127.0.0.1:11112", "--rtt-ms", "-5"], "'-5' is not a round trip in milliseconds (0 to 60000)"),
    ([], "--target HOST:PORT is needed (or --overhead)"),
])
def test_bad_command_lines_say_what_is_wrong_in_one_line(argv: list[str], said: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "latency_relay.py"), *argv],
                            capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 2
    assert said in result.stderr.splitlines()[-1]


def test_overhead_prints_round_trip_and_bulk_figures_direct_and_through_the_relay() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "latency_relay.py"), "--overhead",
                             "--round-trips", "100", "--bulk-mb", "8"],
                            capture_output=True, text=True, timeout=TIMEOUT * 3, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("relay overhead at 0 ms")
    assert any(line.strip().startswith("round trip: direct ") and " us, through the relay " in line for line in lines)
    for what in ("one way", "echoed, both directions at once"):
        assert any(line.strip().startswith(f"bulk, {what}: direct ") and " MB/s, through the relay " in line
                   for line in lines), lines
