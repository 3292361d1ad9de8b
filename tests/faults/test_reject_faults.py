"""Peers that say no (issue 14, "also cover"): association rejects of every kind, a Q/R GET model
refused, and the SCP role granted for no storage class.

Each asserts the one line the user sees (the decoded reason and the fix), the exit status, what the
peer saw (no C-GET-RQ when getsh knew it could not work), and that the shell goes on. The model and
role cases run on both receive paths: the check happens before either is chosen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from getsh.exitstatus import ExitStatus
from tests.faults.fake_peers import FakeQR, make_objects, sends
from tests.faults.rejecting_peers import REJECTS, NoGetModel, NoStorageRole, RejectingPeer
from tests.peers import Dcmqrscp
from tests.shell_driver import Shell

OBJECTS = make_objects(2)
STUDY_UID = str(OBJECTS[0].StudyInstanceUID)
GET = "get QueryRetrieveLevel=PATIENT PatientID=FAKE001"


@pytest.fixture(params=["auto", "pynetdicom"])
def shell(request: pytest.FixtureRequest) -> Iterator[Shell]:
    """The shell on each receive path: auto (getsh's direct path) and pynetdicom's."""
    shell = Shell()
    status, shown = shell.run(f"set receive {request.param}; set acse-timeout 5; set dimse-timeout 10")
    assert status is ExitStatus.SUCCESS, shown
    yield shell
    shell.close()


@pytest.fixture
def plain() -> Iterator[Shell]:
    shell = Shell()
    shell.run("set acse-timeout 5")
    yield shell
    shell.close()


def only_line(shown: str) -> str:
    lines = [ln for ln in shown.splitlines() if ln.strip()]
    assert len(lines) == 1, shown
    assert lines[0].startswith("error: ") and "Traceback" not in shown and "ValueError" not in shown
    return lines[0]


@pytest.mark.parametrize(("result", "source", "reason"), sorted(REJECTS))
def test_every_reject_is_one_decoded_line_with_a_fix(plain: Shell, result: int, source: int, reason: int) -> None:
    with RejectingPeer(result, source, reason) as peer:
        status, shown = plain.run(f"connect 127.0.0.1 {peer.port} --aec SOME-SCP")
        assert peer.requests == 1
    assert status is ExitStatus.NETWORK
    line = only_line(shown)
    assert line.startswith(f"error: association {REJECTS[result, source, reason]} (SOME-SCP @ 127.0.0.1:{peer.port})"
                           " — "), line
    hint = line.split(" — ", 1)[1]
    assert len(hint) > 10  # every reject says what to do
    assert ("try again" in hint or "later" in hint) == (result == 2)  # only a transient reject says wait
    assert plain.run("status")[0] is ExitStatus.SUCCESS


@pytest.mark.parametrize(("result", "source", "reason"), [(1, 1, 5), (1, 1, 6), (3, 1, 1), (1, 4, 1)])
def test_a_reject_outside_the_standard_is_named_at_once(plain: Shell, result: int, source: int,
                                                       reason: int) -> None:
    """A result or reason PS3.8 does not define: pynetdicom's reader would die on it and the request
    wait out acse-timeout as if the peer were silent; getsh names what the peer answered instead."""
    plain.run("set acse-timeout 60")
    with RejectingPeer(result, source, reason) as peer:
        status, shown = plain.run(f"connect 127.0.0.1 {peer.port} --aec SOME-SCP")
    assert status is ExitStatus.NETWORK
    line = only_line(shown)
    assert line.startswith(f"error: association request to SOME-SCP @ 127.0.0.1:{peer.port}: the peer sent an "
                           "A-ASSOCIATE-RJ that refuses the association for a reason outside the standard "
                           f"(result {result}, source {source}, reason {reason}); getsh aborted it — "), line
    assert "no answer" not in line and "acse-timeout" not in line
    assert plain.run("status")[0] is ExitStatus.SUCCESS


def connect(shell: Shell, peer: FakeQR, out: Path) -> None:
    status, shown = shell.run(f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title}; output {out}")
    assert status is ExitStatus.SUCCESS, shown


def test_a_refused_get_model_is_named_with_what_to_try(shell: Shell, tmp_path: Path) -> None:
    with NoGetModel(sends(OBJECTS)) as peer:
        connect(shell, peer, tmp_path)
        status, shown = shell.run(GET)
        assert status is ExitStatus.NETWORK
        assert only_line(shown) == (
            "error: the peer refused the Patient Root Query/Retrieve Information Model - GET (not supported): "
            "no C-GET was sent — try another query/retrieve model: set model study or set model psonly")
        assert peer.requests == 0 and list(tmp_path.iterdir()) == []
        status, shown = shell.run(f"model study; get QueryRetrieveLevel=STUDY StudyInstanceUID={STUDY_UID}")
        assert status is ExitStatus.SUCCESS, shown  # the advice works, on the association that renegotiates
        assert peer.requests == 1 and len([p for p in tmp_path.rglob("*") if p.is_file()]) == 2


@pytest.mark.parametrize("refuse", [False, True], ids=["ignores-role-selection", "refuses-scp-role"])
def test_no_storage_class_with_the_scp_role_is_said_before_sending(shell: Shell, tmp_path: Path,
                                                                   refuse: bool) -> None:
    with NoStorageRole(sends(OBJECTS), refuse=refuse) as peer:
        connect(shell, peer, tmp_path)
        status, shown = shell.run(GET)
        assert peer.requests == 0  # no C-GET-RQ: every object would have failed to come back
    assert status is ExitStatus.NETWORK
    line = only_line(shown)
    detail = "it refused all 120 (refused by the peer)" if refuse else \
        "it accepted 106 of 120 but granted getsh the SCP role for none"
    assert line.startswith(f"error: the peer accepted no storage class for the retrieved objects: {detail}; "
                           "no C-GET was sent — C-GET needs the peer to take getsh as SCP"), line
    assert "transfer syntax" not in line and list(tmp_path.iterdir()) == []
    assert shell.run("status")[0] is ExitStatus.SUCCESS


class _KnownPeersOnly(Dcmqrscp):
    """dcmqrscp serving only the calling AE titles of its host table (KNOWN-SCU), as archives are set up."""

    def _write_config(self, port: int) -> None:
        super()._write_config(port)
        text = self.config_path.read_text()
        hosts = "HostTable BEGIN\nknown = (KNOWN-SCU, localhost, 11112)\nknownPeers = known\nHostTable END\n"
        text = text.replace("HostTable BEGIN\nHostTable END\n", hosts)
        self.config_path.write_text(text.replace("RW (200, 1024mb) ANY", "RW (200, 1024mb) knownPeers"))


@pytest.mark.interop
def test_dcmqrscp_refusing_an_unknown_calling_ae(plain: Shell, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """dcmqrscp's real answer to a calling AE title it does not know blames the *called* one (reason 7,
    CTN_BadAEService): the hint names both, so the user does not only check aec."""
    from tests.conftest import _started

    peer = _started(_KnownPeersOnly([entry.path for entry in archive[:1]], workdir=tmp_path / "qr"))
    try:
        status, shown = plain.run(f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title} --aet STRANGER")
        assert status is ExitStatus.NETWORK
        assert only_line(shown) == (
            f"error: association rejected permanently by the service user: called AE title not recognised "
            f"({peer.ae_title} @ 127.0.0.1:{peer.port}) — check the peer's AE title and set it with: aec TITLE "
            "(dcmqrscp says this too when it does not know our own title: then set aet to one it knows)")
        status, shown = plain.run(f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title} --aet KNOWN-SCU")
        assert status is ExitStatus.SUCCESS, shown
    finally:
        peer.stop()
