"""A slow network for tests: a TCP forwarder on 127.0.0.1 that holds every chunk for a fixed one-way delay.

Each direction of each connection has a reader thread (it reads as fast as the sender sends and stamps each
chunk with when it may go on) and a writer thread (it sends the chunks in order, each at its time), so the
delay adds to every round trip without limiting the bandwidth. For tests only: the benchmark's relay lives in
scripts/.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

HOST = "127.0.0.1"


class DelayRelay:
    """Listens on 127.0.0.1 (``port`` once started) and forwards to ``target_port``, ``delay`` seconds late each way."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self.connections = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> DelayRelay:
        listener = socket.create_server((HOST, 0))
        listener.settimeout(0.2)
        self._listener, self.port = listener, listener.getsockname()[1]
        self._spawn(self._accept, "relay-accept")
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            sockets = [s for s in (self._listener, *self._sockets) if s is not None]
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(5)
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"relay threads still running: {alive}"

    def __enter__(self) -> DelayRelay:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            try:
                upstream = socket.create_connection((HOST, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            self._pipe(client, upstream, "up")
            self._pipe(upstream, client, "down")

    def _pipe(self, source: socket.socket, sink: socket.socket, name: str) -> None:
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self._spawn(self._read, f"relay-{name}-read", source, chunks)
        self._spawn(self._write, f"relay-{name}-write", sink, chunks)

    def _read(self, source: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            try:
                data = source.recv(1 << 16)
            except OSError:
                data = b""
            chunks.put((time.monotonic() + self.delay, data))
            if not data:
                return

    def _write(self, sink: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            due, data = chunks.get()
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            try:
                if not data:  # the sender closed its side: close ours after the same delay
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(data)
            except OSError:  # the other side is gone (or stop() closed it): drain until the reader ends
                if not data:
                    return
