"""A retrieve: one C-GET request and its C-STORE sub-operations as a stream of events (run), how
it ended in words (result), events handed to the shell in batches (mailbox), and getsh's own
receive path (receive/)."""

from getsh.dicom.retrieve.run import GetRun

__all__ = ["GetRun"]
