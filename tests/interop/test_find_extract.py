"""``find --extract DIR`` in the shell: each response as DIR/rspNNNN.dcm, as findscu -X writes them,
against dcmqrscp; a directory it cannot use refused before anything is sent, the shell alive."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread

from getsh.dicom.demo.data import ArchiveEntry
from getsh.exitstatus import ExitStatus
from tests.peers import Dcmqrscp

pytestmark = pytest.mark.interop

PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"


def connect(shell, peer: Dcmqrscp) -> None:  # type: ignore[no-untyped-def]
    status, text = shell.run(f"connect 127.0.0.1 {peer.port} --aec {peer.ae_title}")
    assert status is ExitStatus.SUCCESS, text


def test_each_response_becomes_a_file(shell, dcmqrscp: Dcmqrscp, archive: list[ArchiveEntry],  # type: ignore[no-untyped-def]
                                      tmp_path: Path) -> None:
    connect(shell, dcmqrscp)
    status, text = shell.run(f"find QueryRetrieveLevel=STUDY --extract {tmp_path}")
    assert status is ExitStatus.SUCCESS, text
    studies = {e.study_uid for e in archive}
    names = [f"rsp{n:04d}.dcm" for n in range(1, len(studies) + 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # and no temporary file left behind
    assert f"{len(studies)} responses written to {tmp_path} (rsp0001.dcm … {names[-1]})" in text
    found = {}
    for name in names:
        ds = dcmread(tmp_path / name)
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        assert ds.file_meta.MediaStorageSOPClassUID == PATIENT_ROOT_FIND
        assert ds.QueryRetrieveLevel == "STUDY" and ds.RetrieveAETitle == dcmqrscp.ae_title
        found[str(ds.StudyInstanceUID)] = ds
    assert set(found) == studies
    # the files are numbered as the table's rows: row 1 is rsp0001.dcm
    assert [str(r.unique[-1][1]) for r in shell.ctx.session.found.rows] == \
        [str(dcmread(tmp_path / n).StudyInstanceUID) for n in names]


def test_limit_writes_that_many(shell, dcmqrscp: Dcmqrscp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    connect(shell, dcmqrscp)
    status, text = shell.run(f"find QueryRetrieveLevel=PATIENT --limit 2 --extract {tmp_path}")
    assert status is ExitStatus.SUCCESS, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rsp0001.dcm", "rsp0002.dcm"]


@pytest.mark.parametrize("what", ["missing", "a file"])
def test_a_directory_it_cannot_use_is_refused_before_sending(shell, dcmqrscp: Dcmqrscp, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             what: str) -> None:
    connect(shell, dcmqrscp)
    target = tmp_path / "out"
    if what == "a file":
        target.write_text("not a directory")
    status, text = shell.run(f"find QueryRetrieveLevel=PATIENT --extract {target}")
    assert status is ExitStatus.ERROR
    assert text.strip() == (f"error: --extract: {target} is not a directory — "
                            "name an existing directory (create it first: mkdir)")
    assert shell.ctx.session.found is None  # no C-FIND went out
    status, text = shell.run("find QueryRetrieveLevel=PATIENT --limit 1")  # the shell goes on
    assert status is ExitStatus.SUCCESS, text


def test_a_file_that_cannot_be_written_is_said_after_the_table(shell, dcmqrscp: Dcmqrscp,  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    """rsp0002.dcm is a directory: the first file is written, the second fails; every match is still shown."""
    (tmp_path / "rsp0002.dcm").mkdir()
    connect(shell, dcmqrscp)
    status, text = shell.run(f"find QueryRetrieveLevel=PATIENT --extract {tmp_path}")
    assert status is ExitStatus.ERROR
    assert len(shell.ctx.session.found.rows) == 4 and "4 matches" in text
    assert f"error: cannot write {tmp_path / 'rsp0002.dcm'}: " in text
    assert "(1 written before it)" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rsp0001.dcm", "rsp0002.dcm"]
    assert (tmp_path / "rsp0002.dcm").is_dir()
