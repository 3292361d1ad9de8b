"""Advice that uses what was negotiated (issue 15), against real peers: a peer that lost a file is not
told about transfer syntaxes, a `prefer` the peer ignored is said, a prefer it rejected is not suggested
again, and the storage classes that did not fit in 128 presentation contexts are named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from getsh.dicom.demo.data import ArchiveEntry
from getsh.exitstatus import ExitStatus
from tests.interop.test_get import RLE, uids_in
from tests.shell_driver import Shell


def why_line(shown: str) -> str:
    """The advice after a retrieve's summary, unwrapped (the screen folds long lines)."""
    assert "why: " in shown, shown
    why = shown.split("why: ", 1)[1].split("\nprefer ", 1)[0]  # the line after it: a prefer not honoured
    return " ".join(why.split())


def plain_study(archive: list[ArchiveEntry]) -> list[ArchiveEntry]:
    """The objects of an uncompressed CT study (CT images and a text SR)."""
    study = next(e for e in archive if e.modality == "CT" and e.transfer_syntax_uid != RLE).study_uid
    return [e for e in archive if e.study_uid == study]


def test_a_file_the_peer_lost_gets_no_transfer_syntax_advice(
    shell: Shell, make_dcmqrscp: Callable[..., Any], archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    study = plain_study(archive)
    peer = make_dcmqrscp([e.path for e in study])
    lost = study[0]
    victim = next(p for p in peer.stored_files if p.name.endswith(lost.path.name))
    victim.unlink()  # indexed by dcmqridx, then gone: dcmqrscp fails that sub-operation itself
    status, shown = shell.run(f"connect 127.0.0.1 {peer.port} --aec TESTQR; model study; output {tmp_path}; "
                              f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study[0].study_uid}")
    assert status is ExitStatus.SUBOPS_FAILED, shown
    assert uids_in(tmp_path) == {e.sop_instance_uid for e in study} - {lost.sop_instance_uid}
    why = why_line(shown)
    assert "objects of the same classes arrived (CT Image Storage in Explicit VR Little Endian" in why
    assert "the peer's own reasons, not the negotiation: its log says why" in why
    assert "prefer" not in why and "transfer syntax" not in why


def test_prefer_rle_that_dcmqrscp_rejects_is_said_and_not_suggested_again(
    shell: Shell, make_dcmqrscp: Callable[..., Any], archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """dcmqrscp without +xr rejects RLE contexts: the CT images arrive uncompressed, and the summary says
    prefer rle was not honoured; an RLE-stored study then fails, and the advice does not say 'prefer rle'."""
    study = plain_study(archive)
    rle_uid = next(e for e in archive if e.transfer_syntax_uid == RLE).study_uid
    rle_study = [e for e in archive if e.study_uid == rle_uid]
    peer = make_dcmqrscp([e.path for e in study + rle_study])  # no +xr: uncompressed contexts only
    status, shown = shell.run(f"connect 127.0.0.1 {peer.port} --aec TESTQR; model study; prefer rle; "
                              f"output {tmp_path}; get QueryRetrieveLevel=STUDY StudyInstanceUID={study[0].study_uid}")
    assert status is ExitStatus.SUCCESS, shown
    text = " ".join(shown.split())
    images = sum(1 for e in study if e.modality == "CT")
    assert (f"prefer rle was not honoured: {images} CT Image Storage objects arrived in Explicit VR Little Endian "
            "(the peer rejected our RLE Lossless context for it: abstract syntax not supported)") in text
    assert "Basic Text SR" not in text.split("not honoured", 1)[1]  # it had no context of its own for RLE

    status, shown = shell.run(f"get QueryRetrieveLevel=STUDY StudyInstanceUID={rle_study[0].study_uid}")
    assert status is ExitStatus.FAILURE, shown
    why = why_line(shown)
    assert "it rejected our RLE Lossless only contexts and accepted Explicit VR Little Endian only" in why
    assert "prefer rle" not in why and "prefer lossless" not in why


def test_orthanc_accepts_rle_and_sends_what_it_holds_and_getsh_says_so(
    shell: Shell, orthanc: Any, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """Orthanc accepts the RLE context and sends an object as stored when an accepted context allows it:
    an uncompressed study arrives uncompressed (said), an RLE one in RLE (nothing to say)."""
    study = plain_study(archive)
    status, shown = shell.run(f"connect 127.0.0.1 {orthanc.port} --aec {orthanc.ae_title}; model study; prefer rle; "
                              f"storage bit-preserving; output {tmp_path}; "
                              f"get QueryRetrieveLevel=STUDY StudyInstanceUID={study[0].study_uid}")
    assert status is ExitStatus.SUCCESS, shown
    images = sum(1 for e in study if e.modality == "CT")
    assert (f"prefer rle was not honoured: {images} CT Image Storage objects arrived in Explicit VR Little Endian "
            "(the peer accepted RLE Lossless for it and sent another)") in " ".join(shown.split())
    rle_study = next(e for e in archive if e.transfer_syntax_uid == RLE).study_uid
    status, shown = shell.run(f"get QueryRetrieveLevel=STUDY StudyInstanceUID={rle_study}")
    assert status is ExitStatus.SUCCESS, shown
    assert "not honoured" not in shown


def test_classes_that_do_not_fit_are_named_with_how_to_get_them(shell: Shell, demo_server: Any) -> None:
    status, shown = shell.run(f"connect 127.0.0.1 {demo_server.port}; prefer rle; echo")
    assert status is ExitStatus.SUCCESS, shown
    text = " ".join(shown.split())
    assert ("14 retired storage classes did not fit in the 128 presentation contexts (prefer rle gives the common "
            "image classes a second context each): Stored Print Storage SOP Class (retired), ") in text
    assert "and 11 more; objects of those classes cannot arrive — to get them: accept auto or accept CT MR …" in text
    assert "or accept all (the get is then split over as many associations as the classes need)" in text


def test_a_class_not_proposed_is_named_from_what_the_archive_lists(
    shell: Shell, demo_server: Any, archive: list[ArchiveEntry], tmp_path: Path,
) -> None:
    """The demo archive names its objects' classes at C-FIND: the SR that accept CT left out is named, and
    the fix is to accept it, not a transfer syntax."""
    study = next(e for e in archive if e.modality == "SR").study_uid  # CT images and an SR
    status, shown = shell.run(f"connect 127.0.0.1 {demo_server.port}; model study; accept CT; prefer lossless; "
                              f"output {tmp_path}; get QueryRetrieveLevel=STUDY StudyInstanceUID={study}")
    assert status is ExitStatus.SUBOPS_FAILED, shown
    why = why_line(shown)
    assert why.startswith("Basic Text SR Storage: not proposed (not in the accept list) → accept it "
                          "(accept auto asks the peer which classes)"), why
    assert "prefer" not in why
