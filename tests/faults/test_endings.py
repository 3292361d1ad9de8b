"""How an association ended, said as it happened, every time (issue 19): the peer's A-ABORT with
its source and reason, an A-ABORT from the peer's DICOM provider (A-P-ABORT), a connection that
simply closed, a release the peer asked for in the middle of the request. One run proves nothing
when the words depend on which of pynetdicom's threads gets there first, so each path runs fifty
gets in a loop, the kinds of ending in turn.

The peer is a FakeQR (a real pynetdicom acceptor) that sends two objects properly, then writes the
ending's bytes on its socket: an A-ABORT PDU (PS3.8 9.3.8) with the source and reason under test,
an A-RELEASE-RQ, or a TCP close without a word.
"""

from __future__ import annotations

import socket
import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset

from getsh.exitstatus import ExitStatus
from tests.faults.fake_peers import FakeQR, Script, make_objects, wait_for
from tests.faults.raw_peers import send_raw
from tests.shell_driver import Shell

GET = "get QueryRetrieveLevel=PATIENT PatientID=FAKE001"
RUNS = 50  # 10 of each ending

# (what the peer sends, the words getsh must say): source 2 is the peer's DICOM provider (an
# A-P-ABORT at getsh's end), whose reason is significant; a service user's reason is not (9.3.8)
ENDINGS: list[tuple[bytes | None, str]] = [
    (struct.pack(">BBIBBBB", 0x07, 0, 4, 0, 0, 2, 0), "aborted by the peer's DICOM provider: reason not specified"),
    (struct.pack(">BBIBBBB", 0x07, 0, 4, 0, 0, 2, 6),
     "aborted by the peer's DICOM provider: invalid PDU parameter value"),
    (struct.pack(">BBIBBBB", 0x07, 0, 4, 0, 0, 0, 0), "aborted by the peer (service user)"),
    (None, "the peer closed the connection"),
    (struct.pack(">BBIBBBB", 0x05, 0, 4, 0, 0, 0, 0), "the peer released the association"),  # A-RELEASE-RQ
]


def ends_each_get(objects: list[Dataset], endings: Iterator[bytes | None]) -> Script:
    """Every C-GET: ``objects``, then the next ending; the script returns once getsh has hung up."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield len(objects) + 1
        for ds in objects:
            yield 0xFF00, ds
        wait_for(lambda: len(fake.store_statuses) >= len(objects) * fake.requests, 5.0, "getsh's answers")
        ending = next(endings)
        if ending is None:
            event.assoc.dul.socket.socket.shutdown(socket.SHUT_RDWR)
        else:
            send_raw(event.assoc, ending)
        wait_for(lambda: not event.assoc.dul.is_alive(), 5.0, "getsh to hang up")

    return script


@pytest.mark.parametrize("receive", ["auto", "pynetdicom"])
def test_how_the_association_ended_is_said_as_it_happened_every_time(
        fake: list[FakeQR], tmp_path: Path, receive: str) -> None:
    kinds = [ENDINGS[n % len(ENDINGS)] for n in range(RUNS)]
    objects = make_objects(2)
    peer = FakeQR(ends_each_get(objects, iter(ending for ending, _ in kinds)))
    fake.append(peer)
    peer.start()
    shell = Shell()
    said: Counter[tuple[str, str]] = Counter()
    try:
        status, shown = shell.run(f"set receive {receive}; output {tmp_path}; "
                                  f"connect 127.0.0.1 {peer.port} --aec FAKE-QR")
        assert status is ExitStatus.SUCCESS, shown
        for n, (_, words) in enumerate(kinds):
            status, shown = shell.run(GET)
            assert status is ExitStatus.NETWORK, shown
            errors = [line for line in shown.splitlines() if line.startswith("error:")]
            assert len(errors) == 1, shown
            got = errors[0].removeprefix("error: C-GET: ").split(" after ")[0]
            said[(words, got)] += 1
            assert errors[0].endswith(", before the final response; 2 objects received before that were kept "
                                      "— the next command re-associates"), errors[0]
            if n:  # the last get's ending was said, and this one re-associated quietly
                assert "associated with FAKE-QR" in shown and "re-associating" not in shown, shown
    finally:
        shell.close()
    wrong = {pair: count for pair, count in said.items() if pair[0] != pair[1]}
    assert not wrong, f"expected → said (times): {wrong}"
    assert sum(said.values()) == RUNS and peer.requests == RUNS
