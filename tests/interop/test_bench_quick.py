"""The retrieve benchmark's --quick run, so scripts/bench_get.py cannot rot.

It asserts only that the benchmark runs and that every tool received every object, intact,
in every run: never anything about speed (CI machines vary).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"dcmtk", "pynetdicom", "getsh", "shell", "cp"}


def test_bench_get_quick_receives_every_object_with_every_tool(
    dcmtk: Callable[[str], Path], tmp_path: Path
) -> None:
    for tool in ("getscu", "dcmqrscp", "dcmqridx"):
        dcmtk(tool)  # the missing-peer rule: skip on a developer machine, fail under CI
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_get.py"), "--quick", "--no-extras",
         "--cache", str(tmp_path / "cache"), "--work", str(tmp_path / "work"), "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "every run received every object" in result.stdout
    data = json.loads(report.read_text())
    assert data["failures"] == 0
    assert set(data["workloads"]) == {"W1", "W2"}
    seen = set()
    for row in data["rows"]:
        expected = data["workloads"][row["workload"]]["count"]
        assert row["runs"], row
        for run in row["runs"]:
            assert run["problems"] == [] and run["exit_code"] == 0, (row["tool"], row["mode"], run)
            assert run["received"] == expected, (row["tool"], row["mode"], run)
        seen.add((row["workload"], row["tool"], row["mode"]))
    for workload in ("W1", "W2"):
        assert {tool for w, tool, _ in seen if w == workload} == TOOLS
        for tool in ("dcmtk", "getsh", "shell"):
            assert {(workload, tool, "normal"), (workload, tool, "bit")} <= seen
