"""scripts/bench_plan.py in a small form, so it cannot rot: the plan of a study listed through both
receive paths via the relay, every instance listed by each (the script exits 1 otherwise), and the
table printed with a row for each path. Never anything about speed (CI machines vary)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench_plan.py"


def test_bench_plan_small_run_lists_every_instance_on_both_paths(dcmtk: Callable[[str], Path]) -> None:
    for tool in ("dcmqrscp", "dcmqridx"):
        dcmtk(tool)  # the missing-peer rule: skip on a developer machine, fail under CI
    result = subprocess.run([sys.executable, str(SCRIPT), "--rtt", "1", "--count", "60", "--rounds", "1"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "## The plan of 60 instances (one IMAGE-level C-FIND), RTT 1 ms" in out, out
    for name in ("pynetdicom's receive path", "getsh's direct path"):
        assert re.search(rf"\| {name} \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d{{3}} \|", out), out
