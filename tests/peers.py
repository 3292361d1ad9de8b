"""Real DICOM peers (DCMTK dcmqrscp, Orthanc) that tests start and stop on 127.0.0.1.

getsh is only as good as its behaviour against real archives, so the interop tests run it
against the two SCPs people actually meet. Each peer is a child process with its own
temporary directory, a free port, logs captured to files, and a stop() that always reaps it.
Peers take plain file paths so they do not depend on getsh's own demo archive.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # runtime never imports it, so Python 3.10 is fine
    from typing import Self

HOST = "127.0.0.1"

DCMTK_BIN = Path("/usr/bin")
ORTHANC_BIN = Path("/usr/sbin/Orthanc")

# Debian's DCMTK disables Nagle only with this variable; without it each object waits ~40 ms.
DCMTK_ENV = {"TCP_NODELAY": "1"}

_LOG_TAIL_CHARS = 4000
_KILL_WAIT = 10.0  # seconds to reap a child after SIGKILL


class PeerUnavailable(RuntimeError):
    """The peer cannot run on this machine (binary missing): skip, or fail under CI."""


class PeerStartError(RuntimeError):
    """The peer was installed but did not come up; the message carries its log."""


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 where a connection is refused for as long as the block runs: bound, never
    listening, so no peer another test starts meanwhile can take it (a free_port() can be)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_listening(port: int) -> bool:
    """True once a socket listens on port, without connecting to it.

    A bare TCP probe makes dcmqrscp log a spurious "Association Reject Failed" error, so on
    Linux read the kernel's socket tables instead; elsewhere fall back to connecting.
    """
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return port_open(port)
    wanted = f":{port:04X}"
    for table in tables:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 3 and fields[1].endswith(wanted) and fields[3] == "0A":
                    return True
    return False


def stop_serve(process: subprocess.Popen[Any], timeout: float = 20) -> int:
    """End a ``getsh serve`` child as its user does, with Ctrl-C (SIGINT); killed if it does not go."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return int(process.returncode)


def dcmtk_tool(name: str) -> Path:
    """Absolute path of a DCMTK binary; a bare name on PATH may be pynetdicom's Python shim."""
    path = DCMTK_BIN / name
    if not os.access(path, os.X_OK):
        raise PeerUnavailable(f"DCMTK {name} not found at {path} (Debian package 'dcmtk')")
    return path


def dcmtk_env() -> dict[str, str]:
    """Environment for any DCMTK process: the caller's plus TCP_NODELAY=1."""
    return {**os.environ, **DCMTK_ENV}


def _tail(path: Path, limit: int = _LOG_TAIL_CHARS) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no log>"
    text = text.strip() or "<empty log>"
    return text if len(text) <= limit else "…" + text[-limit:]


class _ChildPeer(ABC):
    """Common life cycle: own work dir, one child process in its own process group, logs."""

    name = "peer"

    def __init__(self, workdir: Path | None) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"getsh-{self.name}-")) if workdir is None else workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = 0
        self.startup_seconds: float | None = None
        self.log_path = self.workdir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- life cycle -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _spawn(self, argv: Sequence[str | os.PathLike[str]], env: Mapping[str, str] | None) -> None:
        with self.log_path.open("ab") as log:
            # A new session makes the child a process-group leader, so stop() also reaches the
            # per-association children dcmqrscp forks, and only those.
            self._proc = subprocess.Popen(
                [os.fspath(a) for a in argv],
                cwd=self.workdir,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _died_error(self, what: str) -> PeerStartError:
        code = None if self._proc is None else self._proc.returncode
        return PeerStartError(f"{self.name} {what} (exit code {code}); log {self.log_path}:\n{_tail(self.log_path)}")

    def _wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ready() until true; fail fast with the log if the child exits meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise self._died_error(f"exited while waiting for {what}")
            if ready():
                return
            if time.monotonic() > deadline:
                message = f"{self.name}: no {what} within {timeout:.0f} s; log {self.log_path}:\n{_tail(self.log_path)}"
                raise PeerStartError(message)
            time.sleep(0.02)

    def _stop_process(self, timeout: float = 10.0) -> None:
        """Terminate the child and its process group by PID, then reap it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=_KILL_WAIT)
        # Forked per-association children may outlive their parent: end the rest of the group.
        self._signal_group(proc.pid, signal.SIGKILL)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child (SIGTERM, SIGKILL after timeout; 0 kills at once), reap it, and
        drop a private work dir. Idempotent, so fixtures may call it unconditionally."""
        self._stop_process(timeout)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def start(self) -> int:
        """Start the peer and return its DICOM port; on any failure nothing is left running.
        Starting a running peer does nothing (a second process would fight the first for its files)."""
        if self.running:
            return self.port
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    @abstractmethod
    def _start(self) -> int:
        """Start the process; return its DICOM port."""

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Dcmqrscp(_ChildPeer):
    """DCMTK's Q/R SCP over a copy of the given files.

    It has no bind option and listens on all interfaces: address it only at 127.0.0.1.
    Pass ``extra_args=["+xr"]`` to accept RLE storage contexts, otherwise RLE-only objects
    fail with 0xA702 (dcmqrscp cannot transcode).
    """

    name = "dcmqrscp"

    def __init__(
        self,
        files: Iterable[Path | str],
        *,
        ae_title: str = "TESTQR",
        extra_args: Sequence[str] = (),
        workdir: Path | None = None,
        port: int | None = None,
        max_pdu: int = 131072,
        start_timeout: float = 10.0,
        max_associations: int = 16,
        move_destinations: Mapping[str, tuple[str, int]] | None = None,
    ) -> None:
        super().__init__(workdir)
        self.max_associations = max_associations  # more at once are refused: A-ASSOCIATE-RJ local limit exceeded
        # C-MOVE destinations it knows (AE title → host, port): its HostTable; any other is 0xA801
        self.move_destinations = dict(move_destinations or {})
        self.files = [Path(f) for f in files]
        self.ae_title = ae_title
        self.extra_args = list(extra_args)
        self.max_pdu = max_pdu
        self.start_timeout = start_timeout
        self._fixed_port = port
        self.storage = self.workdir / "storage"
        self.config_path = self.workdir / "dcmqrscp.cfg"
        self.stored_files: list[Path] = []

    def _write_config(self, port: int) -> None:
        self.config_path.write_text(
            f"NetworkTCPPort = {port}\n"
            f"MaxPDUSize = {self.max_pdu}\n"
            f"MaxAssociations = {self.max_associations}\n"
            "HostTable BEGIN\n"
            + "".join(f"dest{n} = ({aet}, {host}, {dest_port})\n"
                      for n, (aet, (host, dest_port)) in enumerate(self.move_destinations.items(), 1))
            + "HostTable END\n"
            "VendorTable BEGIN\nVendorTable END\n"
            "AETable BEGIN\n"
            f"{self.ae_title} {self.storage} RW (200, 1024mb) ANY\n"
            "AETable END\n"
        )

    def _load_storage(self) -> None:
        """Copy the files in (dcmqrscp serves from its own area) and build index.dat."""
        self.storage.mkdir(parents=True, exist_ok=True)
        self.stored_files = []
        for i, src in enumerate(self.files):
            dst = self.storage / f"{i:06d}_{src.name}"
            shutil.copyfile(src, dst)
            self.stored_files.append(dst)
        dcmqridx = dcmtk_tool("dcmqridx")
        batch = 500  # keep argv well below ARG_MAX for large archives
        for start in range(0, len(self.stored_files), batch):
            chunk = self.stored_files[start : start + batch]
            result = subprocess.run(
                [os.fspath(dcmqridx), os.fspath(self.storage), *map(os.fspath, chunk)],
                env=dcmtk_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0 or "E:" in result.stderr:
                raise PeerStartError(f"dcmqridx failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")

    def _start(self) -> int:
        """Index the files, start dcmqrscp, wait until the port accepts; return the port."""
        binary = dcmtk_tool("dcmqrscp")
        began = time.monotonic()
        self._load_storage()
        attempts = 1 if self._fixed_port else 3
        for attempt in range(1, attempts + 1):
            self.port = self._fixed_port or free_port()
            self._write_config(self.port)
            argv = [binary, "-c", self.config_path, *self.extra_args, str(self.port)]
            self.log_path.write_text(f"$ TCP_NODELAY=1 {' '.join(map(os.fspath, argv))}\n")
            self._spawn(argv, dcmtk_env())
            try:
                self._wait_until(
                    lambda: port_listening(self.port),
                    self.start_timeout,
                    f"listener on port {self.port}",
                )
            except PeerStartError:
                self._stop_process()
                # The free port may have been taken between probe and bind: try another one.
                if attempt < attempts and "Address already in use" in _tail(self.log_path):
                    continue
                raise
            self.startup_seconds = time.monotonic() - began
            return self.port
        raise AssertionError("unreachable")


class Orthanc(_ChildPeer):
    """Orthanc as a child process with an empty database, loaded over REST.

    HTTP is bound to loopback (RemoteAccessAllowed false); DICOM listens on all interfaces,
    so address it only at 127.0.0.1. C-ECHO/FIND/GET/STORE are allowed from any AE.
    """

    name = "orthanc"

    def __init__(
        self,
        files: Iterable[Path | str] = (),
        *,
        ae_title: str = "ORTHANC",
        workdir: Path | None = None,
        config_overrides: Mapping[str, Any] | None = None,
        start_timeout: float = 30.0,
        move_destinations: Mapping[str, tuple[str, int]] | None = None,
    ) -> None:
        super().__init__(workdir)
        self.files = [Path(f) for f in files]
        self.ae_title = ae_title
        self.config_overrides = dict(config_overrides or {})
        # C-MOVE destinations it knows (AE title → host, port): its DicomModalities; any other fails (0xC000)
        self.move_destinations = dict(move_destinations or {})
        self.start_timeout = start_timeout
        self.http_port = 0
        self.config_path = self.workdir / "orthanc.json"
        self.load_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def config(self) -> dict[str, Any]:
        """The JSON configuration: loopback-only HTTP, permissive DICOM, nothing slow or noisy."""
        config: dict[str, Any] = {
            "Name": "getsh-test",
            "StorageDirectory": os.fspath(self.workdir / "storage"),
            "IndexDirectory": os.fspath(self.workdir / "index"),
            "Plugins": [],
            "LuaScripts": [],
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "OrthancExplorerEnabled": False,
            "WebDavEnabled": False,
            "HttpCompressionEnabled": False,
            "MetricsEnabled": False,
            "DicomServerEnabled": True,
            "DicomAet": self.ae_title,
            "DicomPort": self.port,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "DicomAlwaysAllowStore": True,
            "DicomModalities": {aet.lower(): [aet, host, port] for aet, (host, port) in self.move_destinations.items()},
            "OrthancPeers": {},
            "UnknownSopClassAccepted": True,
            "SaveJobs": False,
            "SyncStorageArea": False,
            "StorageCompression": False,
            "DicomAssociationCloseDelay": 0,
        }
        config.update(self.config_overrides)
        return config

    def _start(self) -> int:
        """Start Orthanc, wait for REST and DICOM, upload the files; return the DICOM port."""
        if not os.access(ORTHANC_BIN, os.X_OK):
            raise PeerUnavailable(f"Orthanc not found at {ORTHANC_BIN} (Debian package 'orthanc')")
        began = time.monotonic()
        self.http_port, self.port = free_port(), free_port()
        while self.port == self.http_port:
            self.port = free_port()
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        self.log_path.write_text("")
        # Debian's Orthanc uses the system DCMTK for DICOM, so the same Nagle switch applies:
        # without it each C-STORE sub-operation of a C-GET waits ~40 ms (10 objects: 0.5 s).
        self._spawn([ORTHANC_BIN, "--no-jobs", self.config_path], dcmtk_env())
        self._wait_until(self._rest_ready, self.start_timeout, f"REST answer on {self.url}/system")
        self._wait_until(
            lambda: port_listening(self.port),
            self.start_timeout,
            f"DICOM listener on port {self.port}",
        )
        self.startup_seconds = time.monotonic() - began
        loading = time.monotonic()
        for path in self.files:
            self.upload(path)
        self.load_seconds = time.monotonic() - loading
        return self.port

    # -- REST ---------------------------------------------------------------------------------
    def rest(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One REST call on loopback; returns the decoded JSON (or None for an empty body)."""
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            raise RuntimeError(f"Orthanc {method} {path}: HTTP {err.code}: {detail}") from err
        return json.loads(raw) if raw else None

    def _rest_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/system", timeout=0.5) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def upload(self, path: Path | str) -> dict[str, Any]:
        """POST one file to /instances; raise unless Orthanc stored it (or already had it)."""
        answer = self.rest("POST", "/instances", Path(path).read_bytes(), "application/dicom")
        if not isinstance(answer, dict) or answer.get("Status") not in (
            "Success",
            "AlreadyStored",
        ):
            raise PeerStartError(f"Orthanc refused {path}: {answer!r}")
        return answer

    def instances(self) -> list[str]:
        """SOP Instance UIDs Orthanc holds, sorted (checks what a test loaded)."""
        found = self.rest(
            "POST",
            "/tools/find",
            json.dumps({"Level": "Instance", "Query": {}, "Expand": True}).encode(),
        )
        return sorted(item["MainDicomTags"]["SOPInstanceUID"] for item in found)
