"""``parallel auto``: over how many associations a retrieve is spread, by the link's round trip.

Why: on loopback or a fast LAN the plan's C-FIND and the extra associations cost more than they save;
over a slow link each object's round trip is what several associations overlap. The round trip is the
quickest of a few C-ECHOs on the session's association, timed without the millisecond pynetdicom's own
polling would add.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pynetdicom.association import Association

from getsh.dicom.net.opening import contexts_of
from getsh.dicom.net.presentation import VERIFICATION
from getsh.dicom.retrieve.receive.handover import timing
from getsh.errors import NetworkError

AUTO_RTT = 0.0025  # seconds: parallel auto spreads a retrieve only when a C-ECHO takes this long (pynetdicom's
# own share of one is ~1.6 ms on loopback here, so this is a link of about 1 ms or more)
ECHOES = 3  # the round trip is the least of this many C-ECHOs
AUTO_WIDTH = ((0.010, 4), (math.inf, 8))  # associations by round trip (under 10 ms: 4)


def auto_width(assoc: Association, next_message_id: Callable[[], int]) -> tuple[int, str]:
    """The associations to spread over, or 0 and why not (a round trip under AUTO_RTT, no C-ECHO)."""
    if not any(cx.abstract_syntax == VERIFICATION and cx.accepted for cx in contexts_of(assoc)):
        return 0, "no C-ECHO to measure the round trip with"
    rtt = min(echo_round_trip(assoc, next_message_id) for _ in range(ECHOES))
    if rtt < AUTO_RTT:
        return 0, f"a round trip of {rtt * 1000:.2f} ms"
    return next(width for limit, width in AUTO_WIDTH if rtt < limit), ""


def echo_round_trip(assoc: Association, next_message_id: Callable[[], int]) -> float:
    """One C-ECHO's round trip, without the millisecond pynetdicom's own polling would add
    (handover.timing); NetworkError when no valid response comes."""
    with timing(assoc):
        began = time.perf_counter()
        status = assoc.send_c_echo(msg_id=next_message_id())
        rtt = time.perf_counter() - began
    if "Status" not in status:
        raise NetworkError("C-ECHO (parallel auto's round trip): no valid response; the association was aborted",
                           "the next command re-associates")
    return rtt
