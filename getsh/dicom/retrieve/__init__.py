"""A retrieve: planned and run as one object that yields events (retrieval), which storage classes
each association proposes (plan), one C-GET request and its C-STORE sub-operations as a stream of
events (run), how it ended in words (result), events handed to the shell in batches (mailbox), and
getsh's own receive path (receive/)."""

from getsh.dicom.retrieve.options import Request, RetrieveOptions, SessionHooks, requests_for
from getsh.dicom.retrieve.plan import ClassGroup, class_groups
from getsh.dicom.retrieve.retrieval import Retrieval
from getsh.dicom.retrieve.run import GetRun

__all__ = ["ClassGroup", "GetRun", "Request", "Retrieval", "RetrieveOptions", "SessionHooks", "class_groups",
           "requests_for"]
