"""The embedded demo archive: a Query/Retrieve SCP (C-ECHO, C-FIND, C-GET, C-MOVE) on pynetdicom.

It lets `getsh serve --demo`, the tutorial and the tests talk real DICOM over TCP (or over TLS,
given an ``ssl_context``: net/tls.server_context) without an external PACS. It serves the generated
sample archive (data.py) from files, keeps only an index in memory, and follows PS3.4 C.6 closely
enough to be a fair stand-in for a real archive.
C-MOVE sends to the destinations it was given (``move_destinations``: AE title → host, port, as an
archive's table of nodes; any other is 0xA801), over TLS when given ``move_ssl_context`` (a client
context: net/tls.client_context), and C-GET can be switched off (``offer_get``) to
stand for the archives that offer only C-MOVE, C-FIND (``offer_find``) for those that retrieve
what they are told but answer no query.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import (
    Verification,
)

from getsh.dicom.demo.data import ArchiveEntry, build_archive
from getsh.dicom.demo.identity import IdentityCheck, Requirement
from getsh.dicom.demo.index import (
    FIND_MODELS,
    GET_MODELS,
    LEVELS,
    MODEL_LEVELS,
    UNIQUE_KEYS,
    ArchiveIndex,
    QueryError,
    query_level,
    strings,
)
from getsh.dicom.net.tls_server import TlsLaterServer

__all__ = ["DemoServer"]

_UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian,
                 ExplicitVRBigEndian]
# The acceptor picks the first of *its* syntaxes the requestor offers, so RLE comes first: a client
# offering RLE and uncompressed in one context (getscu +xr) then gets the RLE study as stored, and
# uncompressed files are RLE-encoded for it. Other compressed syntaxes come last: we cannot make them.
_STORAGE_SYNTAXES = [RLELossless, *_UNCOMPRESSED, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless,
                     JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLSNearLossless, JPEG2000]

def _for_peer(ds: Dataset, assoc: Any) -> Dataset:
    """Fit an uncompressed data set to the peer's contexts, as dcmqrscp does: the first context
    accepted for the SOP class decides, and when that one is RLE the object is RLE-encoded.

    pynetdicom converts between uncompressed syntaxes itself but never encodes or decodes;
    anything still unsendable fails in send_c_store and lands in the Failed SOP Instance UID List.
    """
    if UID(ds.file_meta.TransferSyntaxUID).is_compressed:
        return ds
    offered = sorted((cx.context_id, UID(cx.transfer_syntax[0])) for cx in assoc.accepted_contexts
                     if cx.abstract_syntax == ds.SOPClassUID and cx.as_scu)
    if offered and offered[0][1] == RLELossless:
        if "PixelData" in ds:
            ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
        else:  # no pixels: RLE is just explicit VR little endian
            ds.file_meta.TransferSyntaxUID = RLELossless
    return ds


# ---- the server --------------------------------------------------------------------------------

class DemoServer:
    """A Q/R SCP over the sample archive, for Patient Root, Study Root and Patient/Study Only."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, ae_title: str = "GETSH-DEMO",
                 require_called_ae: bool = False, data_dir: Path | None = None,
                 move_destinations: Mapping[str, tuple[str, int]] | None = None, offer_get: bool = True,
                 offer_find: bool = True,
                 ssl_context: ssl.SSLContext | None = None, require_identity: Requirement | None = None,
                 move_ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.move_destinations = dict(move_destinations or {})  # AE title → (host, port)
        self.ssl_context = ssl_context
        self.move_ssl_context = move_ssl_context  # the associations to Move Destinations over TLS
        self.port = port
        self.ae_title = ae_title
        self.entries: list[ArchiveEntry] = []
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._tmp: Path | None = None
        self._index: ArchiveIndex | None = None
        self._server: Any = None
        self._stopped = threading.Event()
        self.require_identity = require_identity  # who may associate (a user identity), if told to check
        self._ae = AE(ae_title)
        self._ae.require_called_aet = require_called_ae
        self._ae.network_timeout = None  # like dcmqrscp: an idle shell keeps its association
        self._ae.maximum_associations = 16
        for cx in AllStoragePresentationContexts:  # C-GET sends storage with role selection
            self._ae.add_supported_context(str(cx.abstract_syntax), _STORAGE_SYNTAXES,
                                           scu_role=True, scp_role=True)
        for sop_class in (Verification, *MODEL_LEVELS):
            if (offer_get or sop_class not in GET_MODELS) and (offer_find or sop_class not in FIND_MODELS):
                self._ae.add_supported_context(sop_class, _UNCOMPRESSED)

    def start(self) -> int:
        """Build the archive, listen without blocking, and return the bound port."""
        if self._server is not None:
            return self.port
        check = IdentityCheck(self.require_identity) if self.require_identity else None  # secrets read first
        directory = self._data_dir
        if directory is None:
            self._tmp = directory = Path(tempfile.mkdtemp(prefix="getsh-demo-"))
        try:
            self.entries = build_archive(directory)
            self._index = ArchiveIndex(self.entries, self.ae_title)
            handlers: list[Any] = [
                (evt.EVT_CONN_OPEN, _no_delay),
                (evt.EVT_C_FIND, self._on_find),
                (evt.EVT_C_GET, self._on_get),
                (evt.EVT_C_MOVE, self._on_move),
                (evt.EVT_C_STORE, _read_only),
            ]
            if check is not None:
                handlers += [(evt.EVT_USER_ID, check.on_user_id), (evt.EVT_REQUESTED, check.on_requested)]
            self._server = self._ae.make_server((self.host, self.port), evt_handlers=handlers,
                                                server_class=TlsLaterServer, ssl_context=self.ssl_context)
            # Our own thread rather than start_server(block=False): a short poll makes stop() quick.
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                             name=f"GetshDemo@{self._server.server_address[1]}", daemon=True).start()
        except BaseException:
            self._remove_tmp()
            raise
        self.port = int(self._server.server_address[1])
        self._stopped.clear()
        return self.port

    def stop(self) -> None:
        """Abort open associations, close the socket, remove generated data. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            threads = list(server.active_associations)
            for assoc in threads:
                assoc.abort()
            try:
                server.shutdown()
            except ValueError:  # it unregisters from the AE's start_server list, where it never was
                pass
            for thread in threads:
                thread.join(timeout=2)
        self._remove_tmp()
        self._stopped.set()

    def serve_forever(self) -> None:
        """Serve until stop() or Ctrl-C (then stop and return)."""
        self.start()
        try:
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- DIMSE handlers: generators, as pynetdicom expects --

    def _on_find(self, event: evt.Event) -> Iterator[tuple[int | Dataset, Dataset | None]]:
        try:
            identifier = event.identifier
            level = query_level(identifier, str(event.request.AffectedSOPClassUID))
            assert self._index is not None
            results = self._index.search(level, identifier)
            for rsp, _ in results:
                if event.is_cancelled:
                    yield 0xFE00, None
                    return
                yield 0xFF00, rsp
        except QueryError as exc:
            yield exc.as_status(), None
        except Exception as exc:  # a bad identifier must not take the server down
            yield QueryError(0xC000, f"cannot process identifier: {exc}").as_status(), None

    def _matches(self, event: evt.Event, service: str) -> list[ArchiveEntry]:
        """The entries a C-GET or C-MOVE names (QueryError when its identifier is wrong)."""
        identifier = event.identifier
        level = query_level(identifier, str(event.request.AffectedSOPClassUID))
        unique = UNIQUE_KEYS[LEVELS.index(level)]
        if not strings(identifier.get(unique)):
            raise QueryError(0xA900, f"{service} at {level} level needs {unique}")
        assert self._index is not None
        return [e for _, members in self._index.search(level, identifier) for e in members]

    def _on_get(self, event: evt.Event) -> Iterator[Any]:
        try:
            matches = self._matches(event, "C-GET")
        except Exception as exc:
            error = exc if isinstance(exc, QueryError) else QueryError(0xC000, str(exc))
            yield 1  # pynetdicom wants a count before any status
            yield error.as_status(), None
            return
        yield len(matches)
        for entry in matches:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            yield 0xFF00, _load(entry, event.assoc)


    def _on_move(self, event: evt.Event) -> Iterator[Any]:
        """C-MOVE (pynetdicom's protocol: the destination, the count, then each data set): sent on an
        association of pynetdicom's own to the Move Destination, as it stands in ``move_destinations``."""
        destination = str(event.move_destination or "").strip()
        where = self.move_destinations.get(destination)
        if where is None:
            yield None, None  # pynetdicom answers 0xA801 Move destination unknown
            return
        try:
            matches = self._matches(event, "C-MOVE")
        except Exception as exc:
            error = exc if isinstance(exc, QueryError) else QueryError(0xC000, str(exc))
            yield (*where, self._move_kwargs(where[0], []))
            yield 1
            yield error.as_status(), None
            return
        yield (*where, self._move_kwargs(where[0], matches))
        yield len(matches)
        for entry in matches:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            yield 0xFF00, _load(entry, None)

    def _move_kwargs(self, host: str, entries: list[ArchiveEntry]) -> dict[str, Any]:
        """What pynetdicom's AE.associate gets for the association to a Move Destination."""
        kwargs: dict[str, Any] = {"contexts": _move_contexts(entries)}
        if self.move_ssl_context is not None:
            kwargs["tls_args"] = (self.move_ssl_context, host)  # the host: its certificate must name it
        return kwargs


def _move_contexts(entries: list[ArchiveEntry]) -> list[Any]:
    """What the association to a Move Destination proposes: each class of the objects, in the syntax
    they are stored in and uncompressed (at most 128 contexts)."""
    from pynetdicom import build_context

    syntaxes: dict[str, dict[str, None]] = {}
    for entry in entries:
        syntaxes.setdefault(entry.sop_class_uid, {})[entry.transfer_syntax_uid] = None
    return [build_context(uid, list(dict.fromkeys([*found, *_UNCOMPRESSED[:2]])))
            for uid, found in list(syntaxes.items())[:128]] or [build_context(Verification)]


def _load(entry: ArchiveEntry, assoc: Any) -> Dataset:
    """The instance to send; on a read error a stub whose send fails and is listed as failed."""
    try:
        dataset = dcmread(entry.path)
        return _for_peer(dataset, assoc) if assoc is not None else dataset
    except Exception:
        stub = Dataset()  # no file meta: pynetdicom counts the sub-operation as failed
        stub.SOPClassUID, stub.SOPInstanceUID = entry.sop_class_uid, entry.sop_instance_uid
        return stub


def _no_delay(event: evt.Event) -> None:
    """Disable Nagle: without it every C-STORE sub-operation waits ~40 ms for a delayed ACK."""
    try:
        transport = event.assoc.dul.socket
        if transport is not None and transport.socket is not None:
            transport.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _read_only(event: evt.Event) -> int:
    """The demo archive accepts no C-STORE: Refused, not authorised."""
    return 0x0124
