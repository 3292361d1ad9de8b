"""A serial C-GET that mostly waited for the archive says so in its summary, with what `parallel` would likely
gain (issue 17), on both receive paths; the same get straight over loopback does not.

The slow link is a relay in the test (tests/delay_relay.py) that holds every chunk 15 ms each way: each of
the 40 objects then waits at least one 30 ms round trip, ≥ 1.2 s of waiting in all against well under 0.5 s
of receiving, so the line's thresholds (≥ 20 objects, ≥ 50 % of the time, ≥ 0.5 s) are met with a wide margin
on any machine. Straight from dcmqrscp on loopback the 40 objects take ~1 ms each: ten times below the 0.5 s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread, dcmwrite

from getsh.exitstatus import ExitStatus
from tests.delay_relay import DelayRelay
from tests.faults.fake_peers import make_objects
from tests.peers import Dcmqrscp
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

COUNT = 40
DELAY = 0.015  # seconds each way
PATIENT = "RTT001"
GET = f"get QueryRetrieveLevel=PATIENT PatientID={PATIENT}"
LINE = re.compile(r"waiting for the archive took (\d+\.\d) s of (\d+\.\d) s \((\d+) %, (\d+) ms an object: round "
                  r"trips and the archive's own work\); 'set parallel (\d)' would likely make this about "
                  r"(\d+\.\d)× faster \(an estimate")


@pytest.fixture
def archive_of_many(make_dcmqrscp: Callable[..., Dcmqrscp], tmp_path_factory: pytest.TempPathFactory) -> Dcmqrscp:
    """dcmqrscp holding COUNT small CT objects of one patient."""
    folder = tmp_path_factory.mktemp("many")
    files = []
    for n, ds in enumerate(make_objects(COUNT, patient_id=PATIENT, tag="17"), 1):
        path = folder / f"{n:03d}.dcm"
        dcmwrite(path, ds, enforce_file_format=True)
        files.append(path)
    return make_dcmqrscp(files)


def got_them_all(shown: str, out: Path) -> None:
    assert f"sub-operations: {COUNT} completed, 0 failed, 0 warning (the peer's counts); getsh received {COUNT}" \
        in shown, shown
    uids = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in out.rglob("*") if p.is_file()}
    assert uids == {str(ds.SOPInstanceUID) for ds in make_objects(COUNT, patient_id=PATIENT, tag="17")}


@pytest.mark.parametrize("receive", ["auto", "pynetdicom"])
def test_a_get_over_a_slow_link_says_it_waited_and_what_parallel_would_gain(
        shell: Shell, archive_of_many: Dcmqrscp, tmp_path: Path, receive: str) -> None:
    with DelayRelay(archive_of_many.port, DELAY) as relay:
        status, shown = shell.run(f"connect 127.0.0.1 {relay.port} --aec {archive_of_many.ae_title}; "
                                  f"set output {tmp_path}; set receive {receive}; {GET}")
        assert relay.connections == 1
    assert status is ExitStatus.SUCCESS, shown
    got_them_all(shown, tmp_path)
    found = LINE.search(shown)
    assert found, shown
    waited, seconds, share, each, associations, faster = found.groups()
    assert float(waited) >= COUNT * 2 * DELAY * 0.9, shown  # at least a round trip an object was seen
    assert float(waited) <= float(seconds) and int(share) >= 50
    assert int(each) >= 2 * DELAY * 1000 * 0.9
    assert associations in "248" and 1.3 <= float(faster) <= int(associations), shown


def test_the_same_get_straight_over_loopback_says_nothing_of_waiting(
        shell: Shell, archive_of_many: Dcmqrscp, tmp_path: Path) -> None:
    status, shown = shell.run(f"connect 127.0.0.1 {archive_of_many.port} --aec {archive_of_many.ae_title}; "
                              f"set output {tmp_path}; {GET}")
    assert status is ExitStatus.SUCCESS, shown
    got_them_all(shown, tmp_path)
    assert "waiting for the archive" not in shown and "parallel" not in shown, shown
