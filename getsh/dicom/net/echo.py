"""C-ECHO: verify the peer on the open association, timed, its status in words; when no response
comes, the association's Link says why (a timeout, or the association was lost)."""

from __future__ import annotations

import time

from getsh.dicom.events import EchoResult
from getsh.dicom.net.association import Link
from getsh.dicom.net.request import Timeouts
from getsh.dicom.status import decode


def verify(link: Link, timeouts: Timeouts, message_id: int = 1) -> EchoResult:
    """C-ECHO-RQ on ``link``'s open association; NetworkError when no valid response comes."""
    assoc, request = link.assoc, link.request
    if assoc is None or request is None:
        raise ValueError("C-ECHO needs an open association")
    started = time.perf_counter()
    status = assoc.send_c_echo(msg_id=message_id)
    seconds = time.perf_counter() - started
    if "Status" not in status:
        raise link.dimse_failure("C-ECHO", timeouts, seconds)
    return EchoResult(str(request.peer), decode(int(status.Status), "echo"), seconds)
