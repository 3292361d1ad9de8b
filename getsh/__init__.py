"""getsh: an interactive shell for DICOM C-GET retrieval, modelled on DCMTK's getscu."""

__version__ = "0.1.0"
WELCOME = f"getsh {__version__}: type help for the commands; Tab completes; Ctrl-D quits"
