"""The embedded demo archive: a Query/Retrieve SCP (server) over generated objects (data, pixels),
answering C-FIND and C-GET from an index of them (index)."""

from getsh.dicom.demo.data import ArchiveEntry, build_archive
from getsh.dicom.demo.server import DemoServer

__all__ = ["ArchiveEntry", "DemoServer", "build_archive"]
