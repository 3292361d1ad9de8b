"""C-FIND: matches as a generator, and the SOP classes a retrieve will bring (``accept auto``)."""

from getsh.dicom.query.find import Discovery, discover_classes, find

__all__ = ["Discovery", "discover_classes", "find"]
