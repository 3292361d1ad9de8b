"""The soak's --quick run (issue 14), so scripts/soak.py cannot rot and growth cannot creep in unseen.

getsh against real peers, in a child process that measures itself: one get of 1,000 objects from
Orthanc and 40 connect/get/disconnect cycles against dcmqrscp, on both receive paths, must bring
every object and stay flat in memory, fds and threads. A second, short run leaks on purpose (the
script's hidden --leak) and must be caught, so the verdict is known to be able to fail. Nothing is asserted about speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts.soak import judge_cycles, judge_get
from tests.conftest import peer_missing
from tests.peers import ORTHANC_BIN

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "scripts" / "soak.py"
VERDICTS = {"get, DCMTK getscu", "get, receive auto", "get, receive pynetdicom", "cycles, receive auto",
            "cycles, receive pynetdicom"}


def soak(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, str(SOAK), *args, "--cache", str(tmp_path / "cache"), "--work", str(tmp_path / "work"),
         "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return result, data


@pytest.fixture
def dcmqrscp_tools(dcmtk: Callable[[str], Path]) -> None:
    for tool in ("getscu", "dcmqrscp", "dcmqridx"):
        dcmtk(tool)  # the missing-peer rule: skip on a developer machine, fail under CI


def test_soak_quick_is_flat_on_both_receive_paths(dcmqrscp_tools: None, tmp_path: Path) -> None:
    if not os.access(ORTHANC_BIN, os.X_OK):
        peer_missing(f"Orthanc not found at {ORTHANC_BIN}")
    result, data = soak(tmp_path, "--quick")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "flat: every get brought every object" in result.stdout
    assert data["verdicts"] == {name: [] for name in VERDICTS}
    assert data["getscu"]["received"] == 1000
    for path in ("auto", "pynetdicom"):
        get, cycles = data["get"][path], data["cycles"][path]
        assert get["received"] == 1000 and get["failures"] == [], get["failures"]
        assert get["after"]["fds"] <= get["before"]["fds"]
        assert len(cycles["samples"]) == 40 and cycles["failures"] == [], cycles["failures"]
        assert cycles["kept"]["entries"] == 400  # the session's record: every object of every cycle


def test_soak_catches_a_leak_of_fds_and_heap(dcmqrscp_tools: None, tmp_path: Path) -> None:
    result, data = soak(tmp_path, "--parts", "cycles", "--paths", "auto", "--cycles", "16", "--leak", "fds,heap")
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    failures = data["verdicts"]["cycles, receive auto"]
    assert any(f.startswith("fds: ") for f in failures), failures
    assert any("blocks per cycle beyond the session's record" in f for f in failures), failures
    assert "FAILED: growth or a failed retrieve" in result.stdout


def cycle_samples(n: int, **per_cycle: float) -> list[dict[str, float]]:
    base = {"rss_kb": 60000.0, "blocks": 300000.0, "fds": 4, "threads": 2, "py_threads": 1}
    return [{**{k: v + per_cycle.get(k, 0) * i for k, v in base.items()}, "cycle": i + 1, "seconds": 0.1}
            for i in range(n)]


def test_the_cycle_verdict_tells_a_step_from_a_trend() -> None:
    record = {"entries": 400, "blocks": 40 * 100.0, "blocks_per_entry": 10.0}  # 100 blocks a cycle, by design
    flat = cycle_samples(40, blocks=100)
    assert judge_cycles("auto", {"samples": flat, "warmup": 4, "kept": record}, 40, False).flat
    step = [{**s, "rss_kb": s["rss_kb"] + (4096 if s["cycle"] > 27 else 0)} for s in flat]  # the allocator, once
    assert judge_cycles("auto", {"samples": step, "warmup": 4, "kept": record}, 40, False).flat
    for leak, words in (({"rss_kb": 100}, "RSS grows"), ({"blocks": 200}, "beyond the session's record"),
                        ({"fds": 1}, "fds: "), ({"py_threads": 1}, "py_threads: ")):
        per_cycle = {"blocks": 100.0, **leak}
        verdict = judge_cycles("auto", {"samples": cycle_samples(40, **per_cycle), "warmup": 4, "kept": record},
                               40, False)
        assert not verdict.flat and any(words in f for f in verdict.failures), (leak, verdict.failures)
    short = judge_cycles("auto", {"samples": flat[:30], "warmup": 4, "kept": record}, 40, False)
    assert "30 of 40 cycles ran" in short.failures


def test_the_get_verdict_judges_growth_per_object_beyond_the_record() -> None:
    def result(rss_per_object: float, blocks_per_object: float) -> dict[str, Any]:
        samples = [{"objects": n, "rss_kb": 60000 + rss_per_object * n, "blocks": 300000 + blocks_per_object * n}
                   for n in range(0, 1001, 50)]
        probe = {"fds": 5, "py_threads": 3}
        return {"samples": samples, "received": 1000, "failures": [], "before": probe, "after": probe,
                "kept": {"entries": 1000, "blocks": 13000.0, "blocks_per_entry": 13.0}}

    assert judge_get("auto", result(1.3, 13.5), 1000, False).flat
    assert not judge_get("auto", result(1.3, 20.0), 1000, False).flat
    assert not judge_get("auto", result(5.0, 13.5), 1000, False).flat
    assert not judge_get("auto", {**result(1.3, 13.5), "received": 999}, 1000, False).flat
