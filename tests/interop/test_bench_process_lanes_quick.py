"""scripts/bench_process_lanes.py in a small form, so it cannot rot: getsh sessions in processes of their
own, connected first, each retrieving its share through the relay, every object received (the script
exits 1 otherwise), and the table printed. Never anything about speed (CI machines vary)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench_process_lanes.py"


def test_bench_process_lanes_small_run_receives_every_object(dcmtk: Callable[[str], Path]) -> None:
    for tool in ("getscu", "dcmqrscp", "dcmqridx"):
        dcmtk(tool)  # the missing-peer rule: skip on a developer machine, fail under CI
    result = subprocess.run([sys.executable, str(SCRIPT), "--rtt", "1", "--count", "30", "--processes", "2,3",
                             "--rounds", "1"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"\| DCMTK getscu, the whole study \| \d+\.\d\d \| 1\.00x \|", out), out
    for n in (2, 3):
        row = rf"\| getsh, {n} processes with a share each \(no plan\) \| \d+\.\d\d \| \d+\.\d\dx \|"
        assert re.search(row, out), out
        assert re.search(rf"{n} processes: each one's get took \d+\.\d\d–\d+\.\d\d s", out), out
