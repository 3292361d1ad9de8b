"""getsh: an interactive shell for DICOM C-GET retrieval, modelled on DCMTK's getscu."""

__version__ = "0.1.0"
