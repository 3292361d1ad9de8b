"""Received objects on disk, in every storage mode: the one path builder and writer (store), the
vocabulary of outcomes and failures (outcomes), one object on its way to disk (writer), file
mechanics (diskio), names from a layout (naming), and the few header values a table shows
(header_scan)."""

from getsh.dicom.storage.header_scan import header_of, with_header
from getsh.dicom.storage.naming import DEFAULT_LAYOUT, Layout, LayoutError
from getsh.dicom.storage.outcomes import (
    Action,
    ExistingPolicy,
    ObjectMeta,
    OutputDirError,
    StorageError,
    StorageMode,
    StoredFile,
)
from getsh.dicom.storage.store import Storage
from getsh.dicom.storage.writer import ObjectWriter

__all__ = ["DEFAULT_LAYOUT", "Action", "ExistingPolicy", "Layout", "LayoutError", "ObjectMeta", "ObjectWriter",
           "OutputDirError", "Storage", "StorageError", "StorageMode", "StoredFile", "header_of", "with_header"]
