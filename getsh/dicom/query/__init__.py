"""C-FIND: matches as a generator (find), and the SOP classes a retrieve will bring (discovery, for
``accept auto``)."""

from getsh.dicom.query.discovery import Discovery, discover_classes
from getsh.dicom.query.find import find

__all__ = ["Discovery", "discover_classes", "find"]
