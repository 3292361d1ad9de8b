"""Deflate bombs against the real dcmqrscp (it deflates on the fly for getsh's +xd), in both storage
modes and on both receive paths: normal mode inflates in a stream and refuses past max-inflated with
0xA700 and one line; under the cap it stores the object, written deflated again; bit-preserving
keeps the bytes as sent and reads the table's header inflating only its first bytes. Memory is
counted in-process with tracemalloc: inflating the bomb whole (as pydicom and pynetdicom do) would
allocate its 96 MB at least once."""

from __future__ import annotations

import importlib.util
import re
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from getsh.exitstatus import ExitStatus
from tests.shell_driver import Shell

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
UID = "1.2.826.0.1.3680043.9.7433.19.5"
PATHS = ("auto", "pynetdicom")


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_memory", ROOT / "scripts" / "bench_memory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("bomb") / "bomb.dcm"
    return {"path": path, **_bench().make_bomb(path, UID, 96)}


@pytest.fixture
def peer(make_dcmqrscp: Callable[..., Any], bomb: dict[str, Any], dcmtk: Callable[[str], Path]) -> Any:
    dcmtk("dcmqrscp")
    return make_dcmqrscp([bomb["path"]], extra_args=["+xd"])


@pytest.fixture
def shell() -> Iterator[Shell]:
    s = Shell()
    try:
        yield s
    finally:
        s.close()


def _get(shell: Shell, peer: Any, out: Path, receive: str, *sets: str) -> tuple[ExitStatus, str, int]:
    """The get, with the peak of what Python allocated during it."""
    out.mkdir()
    shell.run(f"set receive {receive}; set model study; set prefer deflated; connect 127.0.0.1 {peer.port} "
              f"--aec TESTQR; output {out}" + "".join(f"; {s}" for s in sets))
    tracemalloc.start()
    try:
        status, shown = shell.run(f"get QueryRetrieveLevel=STUDY StudyInstanceUID={UID}.1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return status, shown, peak


def _files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.parametrize("receive", PATHS)
def test_normal_mode_refuses_a_deflate_bomb_past_max_inflated(shell: Shell, peer: Any, bomb: dict[str, Any],
                                                              tmp_path: Path, receive: str) -> None:
    status, shown, peak = _get(shell, peer, tmp_path / "out", receive, "set storage normal",
                               "set max-inflated 32M")
    assert status is not ExitStatus.SUCCESS, shown
    assert f"{UID} inflates past 33,554,432 bytes (max-inflated): refused as a deflate bomb" in shown, shown
    assert "0xA700" in shown or "A700" in shown, shown
    assert "Traceback" not in shown
    assert _files(tmp_path / "out") == []
    assert peak < 48 << 20, f"{peak:,} bytes allocated"
    again, shown = shell.run("echo")  # the shell stays alive, the association usable
    assert again is ExitStatus.SUCCESS, shown


@pytest.mark.parametrize("receive", PATHS)
def test_normal_mode_inflates_a_deflated_object_in_a_stream(shell: Shell, peer: Any, bomb: dict[str, Any],
                                                            tmp_path: Path, receive: str) -> None:
    status, shown, peak = _get(shell, peer, tmp_path / "out", receive, "set storage normal",
                               "set stream-above 8M")
    assert status is ExitStatus.SUCCESS, shown
    files = _files(tmp_path / "out")
    assert len(files) == 1 and files[0].stat().st_size < 1 << 20  # written deflated again
    assert "MEMBENCH" in shown and "Deflated" in shown
    assert peak < 48 << 20, f"{peak:,} bytes allocated for a data set inflating to {bomb['inflated']:,}"


@pytest.mark.parametrize("receive", PATHS)
def test_bit_preserving_keeps_a_deflate_bomb_as_sent_and_reads_only_its_header(
        shell: Shell, peer: Any, bomb: dict[str, Any], tmp_path: Path, receive: str) -> None:
    status, shown, peak = _get(shell, peer, tmp_path / "out", receive, "set storage bit-preserving")
    assert status is ExitStatus.SUCCESS, shown
    files = _files(tmp_path / "out")
    assert len(files) == 1 and files[0].stat().st_size < 1 << 20
    assert "MEMBENCH" in shown  # the table's patient, from the header read inflating only its start
    assert peak < 48 << 20, f"{peak:,} bytes allocated for a data set inflating to {bomb['inflated']:,}"
    status, shown = shell.run("received")
    assert "MEMBENCH" in shown


def test_the_summarys_time_includes_reading_the_tables_headers(shell: Shell, peer: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary's seconds are the whole retrieve's: the header reads for the table count (they once
    inflated a whole bomb, 2 s, while the summary said 0.10 s)."""
    from getsh.dicom.retrieve import retrieval

    read = retrieval.with_header

    def slow(item: Any) -> Any:
        time.sleep(1.0)
        return read(item)

    monkeypatch.setattr(retrieval, "with_header", slow)
    out = tmp_path / "out"
    out.mkdir()
    shell.run(f"set model study; set prefer deflated; connect 127.0.0.1 {peer.port} --aec TESTQR; output {out}; "
              "set storage bit-preserving")
    began = time.monotonic()
    status, shown = shell.run(f"get QueryRetrieveLevel=STUDY StudyInstanceUID={UID}.1")
    wall = time.monotonic() - began
    assert status is ExitStatus.SUCCESS, shown
    seconds = float(re.search(r"received 1 objects?, .* in ([0-9.]+) s", shown).group(1))  # type: ignore[union-attr]
    assert seconds >= 1.0 and seconds > wall - 0.5, (wall, shown)  # before: the second was left out
