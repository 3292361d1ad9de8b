"""The memory benchmark's --quick run (scripts/bench_memory.py), so it cannot rot and so a second copy
of an object cannot come back: a 300 MB object in normal mode (direct path and pynetdicom's) and
bit-preserving, and a deflate bomb inflating to 128 MB in both modes, each getsh a child process
whose peak RSS must stay under 150 MB + 1.1 × the largest non-bulk part (one more copy of the object
is 300 MB). Real dcmqrscp, which deflates the bomb on the fly (+xd)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]


def test_bench_memory_quick_keeps_every_mode_under_the_target(dcmtk: Callable[[str], Path], tmp_path: Path) -> None:
    for tool in ("dcmqrscp", "dcmqridx"):
        dcmtk(tool)  # the missing-peer rule: skip on a developer machine, fail under CI
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_memory.py"), "--quick", "--work", str(tmp_path / "work"),
         "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]
    assert "every run within the target, every object intact" in result.stdout
    data = json.loads(report.read_text())
    assert data["large"]["bytes"] > 300e6 and data["bomb"]["inflated"] > 128e6 and data["bomb"]["bytes"] < 1e6
    rows = {(row["workload"], row["mode"]): row for row in data["rows"]}
    assert len(rows) == 6 and data["failures"] == 0
    for row in rows.values():
        assert row["rss_mb"] < row["target_mb"] < 160, row  # a second copy would be +300 MB
    left = [p for p in (tmp_path / "work").rglob("*") if p.is_file() and p.stat().st_size > 1 << 20]
    assert left == [], "the benchmark leaves no big files behind"
