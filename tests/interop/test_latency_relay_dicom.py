"""getsh through scripts/latency_relay.py against real peers: the slow link the --rtt benchmark uses.

Times are lower bounds only (a correct relay cannot beat them, however slow the machine).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydicom import dcmread

from getsh.dicom.demo.data import ArchiveEntry
from getsh.exitstatus import ExitStatus
from scripts.latency_relay import LatencyRelay
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

SLACK = 1e-4


def timed(shell: Shell, line: str) -> tuple[ExitStatus, str, float]:
    started = time.perf_counter()
    status, shown = shell.run(line)
    return status, shown, time.perf_counter() - started


def test_c_echo_through_a_20_ms_link_costs_its_round_trips(shell: Shell, demo_server) -> None:  # type: ignore[no-untyped-def]
    with LatencyRelay(("127.0.0.1", demo_server.port), rtt_ms=20) as relay:
        status, shown, took = timed(shell, f"connect 127.0.0.1 {relay.port} --aec {demo_server.ae_title}")
        assert status is ExitStatus.SUCCESS, shown
        assert took >= 0.040 - SLACK  # the TCP handshake's round trip, then A-ASSOCIATE-RQ / -AC
        for _ in range(2):
            status, shown, took = timed(shell, "echo")
            assert status is ExitStatus.SUCCESS and "C-ECHO Success" in shown, shown
            assert took >= 0.020 - SLACK  # one C-ECHO-RQ / -RSP on the open association
        assert relay.accepted == 1  # one association, reused


def test_a_c_get_through_a_10_ms_link_brings_every_object_intact(
    shell: Shell, dcmqrscp, archive: list[ArchiveEntry], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    patient = "DEMO004"
    expected = {e.sop_instance_uid: e for e in archive if e.patient_id == patient}
    with LatencyRelay(("127.0.0.1", dcmqrscp.port), rtt_ms=10) as relay:
        status, shown = shell.run(f"connect 127.0.0.1 {relay.port} --aec {dcmqrscp.ae_title}; output {tmp_path}; "
                                  "storage bit-preserving")
        assert status is ExitStatus.SUCCESS, shown
        status, shown, took = timed(shell, f"get QueryRetrieveLevel=PATIENT PatientID={patient}")
    assert status is ExitStatus.SUCCESS, shown
    assert f"sub-operations: {len(expected)} completed, 0 failed" in shown
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == len(expected)
    for path in files:
        got = dcmread(path)
        held = dcmread(expected[str(got.SOPInstanceUID)].path)
        assert got.PixelData == held.PixelData and got.PatientName == held.PatientName
    # dcmqrscp sends the next C-STORE-RQ only after the last one's response: one round trip an object
    assert took >= len(expected) * 0.010 - SLACK
