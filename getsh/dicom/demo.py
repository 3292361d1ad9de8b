"""The embedded demo archive: a Query/Retrieve SCP (C-ECHO, C-FIND, C-GET) on pynetdicom.

It lets `getsh serve --demo`, the tutorial and the tests talk real DICOM over TCP without an
external PACS. It serves the generated sample archive (demo_data) from files, keeps only an
index in memory, and follows PS3.4 C.6 closely enough to be a fair stand-in for a real archive.
"""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from types import TracebackType
from typing import Any

from pydicom import dcmread
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
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
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientStudyOnlyQueryRetrieveInformationModelFind,
    PatientStudyOnlyQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)
from pynetdicom.transport import ThreadedAssociationServer

from getsh.dicom.demo_data import ArchiveEntry, build_archive

__all__ = ["DemoServer"]

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
_UNIQUE = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
_MODEL_LEVELS: dict[str, tuple[str, ...]] = {
    PatientRootQueryRetrieveInformationModelFind: LEVELS,
    PatientRootQueryRetrieveInformationModelGet: LEVELS,
    StudyRootQueryRetrieveInformationModelFind: LEVELS[1:],
    StudyRootQueryRetrieveInformationModelGet: LEVELS[1:],
    PatientStudyOnlyQueryRetrieveInformationModelFind: LEVELS[:2],
    PatientStudyOnlyQueryRetrieveInformationModelGet: LEVELS[:2],
}
_UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian,
                 ExplicitVRBigEndian]
# The acceptor picks the first of *its* syntaxes the requestor offers, so RLE comes first: a client
# offering RLE and uncompressed in one context (getscu +xr) then gets the RLE study as stored, and
# uncompressed files are RLE-encoded for it. Other compressed syntaxes come last: we cannot make them.
_STORAGE_SYNTAXES = [RLELossless, *_UNCOMPRESSED, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless,
                     JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLSNearLossless, JPEG2000]

# Which level an attribute belongs to (index into LEVELS); anything unlisted is an IMAGE attribute.
_KEY_LEVEL: dict[str, int] = {
    **dict.fromkeys(("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate",
                     "PatientBirthTime", "PatientSex", "OtherPatientIDsSequence", "PatientComments",
                     "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries",
                     "NumberOfPatientRelatedInstances"), 0),
    **dict.fromkeys(("StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID",
                     "StudyDescription", "ReferringPhysicianName", "ModalitiesInStudy",
                     "SOPClassesInStudy", "NumberOfStudyRelatedSeries",
                     "NumberOfStudyRelatedInstances", "PatientAge", "PatientSize", "PatientWeight",
                     "NameOfPhysiciansReadingStudy"), 1),
    **dict.fromkeys(("SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
                     "SeriesDate", "SeriesTime", "BodyPartExamined", "ProtocolName",
                     "InstitutionName", "StationName", "Manufacturer", "ManufacturerModelName",
                     "NumberOfSeriesRelatedInstances"), 2),
    **dict.fromkeys(("QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle",
                     "InstanceAvailability"), -1),
}
_NUMERIC_VRS = {"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "UV", "SV"}


class _QueryError(Exception):
    """A request we refuse, with the DIMSE status and comment to answer it with."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status

    def as_status(self) -> Dataset:
        ds = Dataset()
        ds.Status = self.status
        ds.ErrorComment = str(self)[:64]
        return ds


# ---- matching (PS3.4 C.2.2.2) ------------------------------------------------------------------

def _strings(value: Any) -> list[str]:
    """An element value as a list of strings (multi-valued → several), empty → []."""
    if value is None or value == "":
        return []
    values = value if isinstance(value, (list, tuple, MultiValue)) else [value]
    return [str(v).strip() for v in values if v is not None and str(v).strip() != ""]


def _match_one(vr: str, wanted: str, have: str) -> bool:
    if wanted == "*":
        return True
    if vr in ("DA", "TM", "DT") and "-" in wanted:  # range, either end open
        lo, hi = (part.replace(":", "") for part in wanted.split("-", 1))
        have = have.replace(":", "")
        return (not lo or have[: len(lo)] >= lo) and (not hi or have[: len(hi)] <= hi)
    if vr in _NUMERIC_VRS:
        try:
            return float(wanted) == float(have)
        except ValueError:
            return False
    fold = vr == "PN"  # names: case-insensitive, as users type them
    if vr != "UI" and ("*" in wanted or "?" in wanted):
        pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wanted)
        return re.fullmatch(pattern, have, re.IGNORECASE if fold else 0) is not None
    return wanted.casefold() == have.casefold() if fold else wanted == have


def _matches(vr: str, wanted: list[str], have: list[str]) -> bool:
    """Single value, wildcard, range or list-of-values matching: any wanted against any held."""
    if "*" in wanted:  # universal, even where the record holds no value
        return True
    return any(_match_one(vr, w, h) for w in wanted for h in have)


# ---- the index ---------------------------------------------------------------------------------

class _Index:
    """ArchiveEntry rows plus lazily read headers; answers C-FIND and C-GET identifiers."""

    def __init__(self, entries: list[ArchiveEntry], ae_title: str) -> None:
        self.entries = entries
        self.ae_title = ae_title
        self._headers: dict[str, Dataset] = {}
        self._lock = threading.Lock()

    def header(self, entry: ArchiveEntry) -> Dataset:
        with self._lock:
            if entry.sop_instance_uid not in self._headers:
                self._headers[entry.sop_instance_uid] = dcmread(entry.path, stop_before_pixels=True)
            return self._headers[entry.sop_instance_uid]

    def groups(self, depth: int) -> list[list[ArchiveEntry]]:
        """Entries grouped into one record per entity at LEVELS[depth], in archive order."""
        out: dict[tuple[str, ...], list[ArchiveEntry]] = {}
        for e in self.entries:
            key = (e.patient_id, e.study_uid, e.series_uid, e.sop_instance_uid)[: depth + 1]
            out.setdefault(key, []).append(e)
        return list(out.values())

    def computed(self, keyword: str, members: list[ArchiveEntry]) -> Any:
        """Values that describe a record rather than any one instance (None: not computed)."""
        def count(attr: str) -> int:
            return len({getattr(e, attr) for e in members})

        def unique(values: list[str]) -> list[str]:
            return list(dict.fromkeys(values))

        table = {
            "NumberOfPatientRelatedStudies": lambda: count("study_uid"),
            "NumberOfPatientRelatedSeries": lambda: count("series_uid"),
            "NumberOfPatientRelatedInstances": lambda: len(members),
            "NumberOfStudyRelatedSeries": lambda: count("series_uid"),
            "NumberOfStudyRelatedInstances": lambda: len(members),
            "NumberOfSeriesRelatedInstances": lambda: len(members),
            "ModalitiesInStudy": lambda: unique([e.modality for e in members]),
            "SOPClassesInStudy": lambda: unique([e.sop_class_uid for e in members]),
            "AvailableTransferSyntaxUID": lambda: members[0].transfer_syntax_uid,
            "InstanceAvailability": lambda: "ONLINE",
            "RetrieveAETitle": lambda: self.ae_title,
        }
        return table[keyword]() if keyword in table else None

    def _element(self, elem: DataElement, depth: int, members: list[ArchiveEntry]) -> DataElement:
        """This record's value for a requested key; zero length if it has none at this level."""
        keyword = elem.keyword
        if keyword and _KEY_LEVEL.get(keyword, 3) <= depth:
            value = self.computed(keyword, members)
            if value is not None:
                return DataElement(elem.tag, dictionary_VR(elem.tag), value)
            header = self.header(members[0])
            if elem.tag in header:
                return deepcopy(header[elem.tag])
        return DataElement(elem.tag, elem.VR, [] if elem.VR == "SQ" else None)

    def search(self, level: str, identifier: Dataset) -> Iterator[tuple[Dataset, list[ArchiveEntry]]]:
        """Records at level matching every non-empty key, with their response identifiers."""
        depth = LEVELS.index(level)
        for members in self.groups(depth):
            rsp = Dataset()
            ok = True
            for elem in identifier:
                if elem.keyword == "QueryRetrieveLevel":
                    rsp.QueryRetrieveLevel = level
                    continue
                found = self._element(elem, depth, members)
                wanted = [] if elem.VR == "SQ" else _strings(elem.value)
                if wanted and not _matches(elem.VR, wanted, _strings(found.value)):
                    ok = False
                    break
                rsp[elem.tag] = found
            if ok:
                yield rsp, members


def _level(identifier: Dataset, sop_class: str) -> str:
    """The identifier's Query/Retrieve Level, checked against the information model."""
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    allowed = _MODEL_LEVELS.get(str(sop_class), LEVELS)
    if not level:
        raise _QueryError(0xA900, "QueryRetrieveLevel (0008,0052) missing")
    if level not in allowed:
        raise _QueryError(0xA900, f"level {level} not in this model: {'/'.join(allowed)}")
    return level


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
                 require_called_ae: bool = False, data_dir: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.ae_title = ae_title
        self.entries: list[ArchiveEntry] = []
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._tmp: Path | None = None
        self._index: _Index | None = None
        self._server: Any = None
        self._stopped = threading.Event()
        self._ae = AE(ae_title)
        self._ae.require_called_aet = require_called_ae
        self._ae.network_timeout = None  # like dcmqrscp: an idle shell keeps its association
        self._ae.maximum_associations = 16
        for cx in AllStoragePresentationContexts:  # C-GET sends storage with role selection
            self._ae.add_supported_context(cx.abstract_syntax, _STORAGE_SYNTAXES,
                                           scu_role=True, scp_role=True)
        for sop_class in (Verification, *_MODEL_LEVELS):
            self._ae.add_supported_context(sop_class, _UNCOMPRESSED)

    def start(self) -> int:
        """Build the archive, listen without blocking, and return the bound port."""
        if self._server is not None:
            return self.port
        directory = self._data_dir
        if directory is None:
            self._tmp = directory = Path(tempfile.mkdtemp(prefix="getsh-demo-"))
        try:
            self.entries = build_archive(directory)
            self._index = _Index(self.entries, self.ae_title)
            self._server = self._ae.make_server((self.host, self.port), evt_handlers=[
                (evt.EVT_CONN_OPEN, _no_delay),
                (evt.EVT_C_FIND, self._on_find),
                (evt.EVT_C_GET, self._on_get),
                (evt.EVT_C_STORE, _read_only),
            ], server_class=ThreadedAssociationServer)
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
            level = _level(identifier, event.request.AffectedSOPClassUID)
            assert self._index is not None
            results = self._index.search(level, identifier)
            for rsp, _ in results:
                if event.is_cancelled:
                    yield 0xFE00, None
                    return
                yield 0xFF00, rsp
        except _QueryError as exc:
            yield exc.as_status(), None
        except Exception as exc:  # a bad identifier must not take the server down
            yield _QueryError(0xC000, f"cannot process identifier: {exc}").as_status(), None

    def _on_get(self, event: evt.Event) -> Iterator[Any]:
        try:
            identifier = event.identifier
            level = _level(identifier, event.request.AffectedSOPClassUID)
            unique = _UNIQUE[LEVELS.index(level)]
            if not _strings(identifier.get(unique)):
                raise _QueryError(0xA900, f"C-GET at {level} level needs {unique}")
            assert self._index is not None
            matches = [e for _, members in self._index.search(level, identifier) for e in members]
        except Exception as exc:
            error = exc if isinstance(exc, _QueryError) else _QueryError(0xC000, str(exc))
            yield 1  # pynetdicom wants a count before any status
            yield error.as_status(), None
            return
        yield len(matches)
        for entry in matches:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            yield 0xFF00, _load(entry, event.assoc)


def _load(entry: ArchiveEntry, assoc: Any) -> Dataset:
    """The instance to send; on a read error a stub whose send fails and is listed as failed."""
    try:
        return _for_peer(dcmread(entry.path), assoc)
    except Exception:
        stub = Dataset()  # no file meta: pynetdicom counts the sub-operation as failed
        stub.SOPClassUID, stub.SOPInstanceUID = entry.sop_class_uid, entry.sop_instance_uid
        return stub


def _no_delay(event: evt.Event) -> None:
    """Disable Nagle: without it every C-STORE sub-operation waits ~40 ms for a delayed ACK."""
    try:
        event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):
        pass


def _read_only(event: evt.Event) -> int:
    """The demo archive accepts no C-STORE: Refused, not authorised."""
    return 0x0124
