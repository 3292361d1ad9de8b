"""A received object as ``view`` shows it: opened without its pixel data (source), its claims checked
(checks), one frame decoded and windowed (pixels, picture), or what it holds in words (describe)."""

from getsh.dicom.image.picture import PREVIEW, THUMBNAIL, look
from getsh.dicom.image.pixels import CODECS_EXTRA, resized
from getsh.dicom.image.source import NotViewable
from getsh.dicom.image.views import Description, Node, Picture, Unviewable

__all__ = ["CODECS_EXTRA", "PREVIEW", "THUMBNAIL", "Description", "Node", "NotViewable", "Picture", "Unviewable",
           "look", "resized"]
