#!/usr/bin/env python3
"""Soak (issue 14): one C-GET of 10,000 objects, and 200 connect/get/disconnect cycles, measured flat.

Serves generated studies from real peers it starts on 127.0.0.1 (TCP_NODELAY=1) and stops itself
(the get from Orthanc: dcmqrscp 3.6.7's index holds about 9,000 objects; the cycles from dcmqrscp),
and drives getsh's Runner in a child process with stdout on a pseudo-terminal (as
the interactive shell draws: progress, tables), on each receive path (``receive auto``: getsh's
own; ``receive pynetdicom``). The child measures itself: resident memory (VmRSS, and VmHWM for
the peak), the Python heap (``sys.getallocatedblocks()``: pymalloc blocks in use, cheap enough
for every sample; ``--tracemalloc`` adds allocation sites), open file descriptors
(/proc/self/fd) and threads (/proc/self/task).

- **get**: one whole-study C-GET of N small objects (64x64x8 Secondary Capture, ~5 KB each), sampled
  every 0.2 s against the number of objects on disk; DCMTK getscu retrieves the same study in the
  same run for its peak RSS and time.
- **cycles**: ``connect; get (10 objects); disconnect`` repeated, the output directory emptied and
  a garbage collection after each, then a sample (after waiting up to 2 s for threads to end).
  The first tenth is warm-up.

Flat, over the second half of the get (by objects received) or of the cycles: RSS's median slope
(Theil–Sen: a step of the allocator is not a trend) and the heap's least-squares slope under
bounds, and no fd or thread more than before the get / after the warm-up. The session keeps a
record of what it did, by design: an entry per object received (``received``, ``show``) and each
line run. That growth is proportional to the objects received, not a leak: the child measures
what the record holds at the end (the heap blocks freed by dropping it) and the heap is judged
beyond it; RSS is judged with it. docs/reliability.md holds the figures of a full run.

    python scripts/soak.py                 # 10,000 objects, 200 cycles, both receive paths (~6 min)
    python scripts/soak.py --quick         # 1,000 objects, 40 cycles (CI: tests/interop/test_soak_quick.py)
    python scripts/soak.py --parts cycles --paths auto --cycles 500 --tracemalloc

Every get must bring every object (SOP Instance UIDs read back) with exit status 0. Exit status:
0 flat, 1 growth or a failed retrieve, 2 a peer (DCMTK, Orthanc) is missing. Times never change it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench_get import AE, PY, TIME, Spec, Workload, check, default_cache, generate, machine, workdir  # noqa: E402
from tests.peers import (  # noqa: E402
    HOST,
    ORTHANC_BIN,
    Dcmqrscp,
    Orthanc,
    PeerStartError,
    PeerUnavailable,
    dcmtk_env,
    dcmtk_tool,
)

PATHS = ("auto", "pynetdicom")
PARTS = ("get", "cycles")
LEAKS = ("fds", "heap", "threads")
CYCLE_OBJECTS = 10
RUN_TIMEOUT = 1800.0
SAMPLE_EVERY = 0.2  # seconds, during the big get

# Bounds of "flat". The session keeps a record of what it did, by design: an entry per received object
# (Session.received, 11-14 heap blocks), each line run; the heap is judged after taking off what that
# record holds (measured at the end), RSS with it. Beyond the record, short runs still see a few blocks
# a cycle (≤ 25 in 40 cycles, ~3 over 200): rich's bounded caches filling while the progress bar is
# drawn. A leak worth finding is far above the bounds: a data set kept per object is dozens of blocks,
# an association kept per cycle over a thousand.
GET_RSS_KB_PER_1000 = 4096  # RSS over the second half of the big get, per 1,000 objects received
GET_HEAP_BLOCKS_PER_OBJECT = 3.0  # pymalloc blocks per object received beyond the record, same window
CYCLE_RSS_KB = 64  # RSS slope over the second half of the cycles, per cycle
CYCLE_HEAP_BLOCKS = 40.0  # heap slope beyond the record, blocks per cycle


# ---- in the child: getsh's Runner, measured from inside -----------------------------------------


def probe() -> dict[str, int]:
    """This process, now: RSS and its peak (KB), heap blocks, fds, OS threads, Python threads.

    rich's cell-width cache (an lru_cache of 4,096 strings: every UID and file name a table drew) is
    emptied first: it is bounded, but fills for a few hundred gets and would pass for growth."""
    with contextlib.suppress(KeyError, AttributeError):
        sys.modules["rich.cells"].cached_cell_len.cache_clear()
    status = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            status[key] = int(value.split()[0])
    return {"rss_kb": status["VmRSS"], "hwm_kb": status["VmHWM"], "blocks": sys.getallocatedblocks(),
            "fds": len(os.listdir("/proc/self/fd")), "threads": len(os.listdir("/proc/self/task")),
            "py_threads": threading.active_count()}


def count_files(out: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(out))


def make_runner() -> Any:
    """getsh's Context and Runner as the shell builds them (bench_get.py's shell worker does the same)."""
    import getsh.commands  # noqa: F401  (registers every command)
    from getsh.context import Context
    from getsh.env import Environment
    from getsh.runner import Runner
    from getsh.shell.render import Renderer

    env = Environment()
    ctx = Context(env)
    return Runner(ctx, Renderer(env.console, env.err_console))


def run(runner: Any, line: str, failures: list[str]) -> None:
    status = int(runner.run_line(line))
    if status != 0:
        failures.append(f"{line.split()[0]}: exit status {status}")


def settle(baseline: dict[str, Any], timeout: float = 2.0) -> None:
    """Give threads that are ending (a released association's reactor) time to end; never longer.

    Both counts: Python forgets a thread a moment before the kernel does (its OS thread is still
    unwinding), and a sample taken in between counted one OS thread too many — a full soak once
    failed on it ("threads: 2 after the warm-up, up to 3") with nothing left running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (threading.active_count() > baseline["py_threads"]
                                           or len(os.listdir("/proc/self/task")) > baseline["threads"]):
        time.sleep(0.01)


def kept_cost(runner: Any) -> dict[str, float]:
    """What the session's record holds: heap blocks freed by dropping it, per object received.

    The record, by design: every object received (Session.received, for ``received`` and ``show``),
    every line run (Session.history), and the last command's outcome (for ``expect``). Measured at the
    very end, so that the verdicts can tell that growth from anything else."""
    session = runner.ctx.session
    entries = len(session.received)
    probe()
    gc.collect()
    with_record = sys.getallocatedblocks()
    session.received.clear()
    session.history.clear()
    session.script.last = session.script.last_get = None
    gc.collect()
    freed = with_record - sys.getallocatedblocks()
    return {"entries": entries, "blocks": freed, "blocks_per_entry": freed / entries if entries else 0.0}


def start_tracing(on: bool) -> Any:
    if not on:
        return None
    import tracemalloc

    tracemalloc.start(8)
    return tracemalloc.take_snapshot()


def growth_sites(first: Any, top: int = 8) -> list[str]:
    """tracemalloc: where the heap grew since ``first``, biggest first (getsh and pynetdicom frames)."""
    if first is None:
        return []
    import tracemalloc

    stats = tracemalloc.take_snapshot().compare_to(first, "traceback")
    lines = []
    for stat in [s for s in stats if s.size_diff > 0][:top]:
        frames = [f"{Path(f.filename).name}:{f.lineno}" for f in reversed(stat.traceback)][:5]  # newest first
        lines.append(f"{stat.size_diff / 1024:+.1f} KB in {stat.count_diff:+d} blocks: {' <- '.join(frames)}")
    return lines


class Samples:
    """Samples kept in arrays allocated up front, so that recording them does not grow the heap measured."""

    FIELDS = ("rss_kb", "hwm_kb", "blocks", "fds", "threads", "py_threads", "t", "objects", "cycle", "seconds")

    def __init__(self, capacity: int) -> None:
        self.capacity, self.count = capacity, 0
        self.columns = {name: array("d", bytes(8 * capacity)) for name in self.FIELDS}

    def add(self, values: dict[str, float]) -> None:
        if self.count < self.capacity:
            for name, value in values.items():
                self.columns[name][self.count] = value
            self.count += 1

    def rows(self) -> list[dict[str, float]]:
        whole = {name for name in self.FIELDS if name not in ("t", "seconds")}
        return [{name: int(self.columns[name][i]) if name in whole else self.columns[name][i] for name in self.FIELDS}
                for i in range(self.count)]


def worker_get(spec: dict[str, Any]) -> dict[str, Any]:
    """One big get: samples every SAMPLE_EVERY s against the objects on disk."""
    runner, failures, out = make_runner(), list[str](), Path(spec["out"])
    for line in spec["setup"]:
        run(runner, line, failures)
    samples = Samples(int(RUN_TIMEOUT / SAMPLE_EVERY) + 10)
    stop = threading.Event()
    before = probe()

    def sample() -> None:
        began = time.monotonic()
        while not stop.wait(SAMPLE_EVERY):
            samples.add({**probe(), "t": time.monotonic() - began, "objects": count_files(out)})

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    first = start_tracing(spec["tracemalloc"])
    began = time.perf_counter()
    run(runner, spec["get"], failures)
    seconds = time.perf_counter() - began
    stop.set()
    sampler.join()
    after_get = {**probe(), "objects": count_files(out)}
    sites = growth_sites(first)
    run(runner, "disconnect", failures)
    gc.collect()
    settle(before)
    after = probe()
    return {"before": before, "samples": samples.rows(), "after_get": after_get, "after": after, "seconds": seconds,
            "failures": failures, "kept": kept_cost(runner), "sites": sites}


def leak(kinds: Sequence[str], held: list[Any], done: threading.Event) -> None:
    """--leak (the soak's own test): leak what is asked for, once a cycle, so the verdicts must see it."""
    if "fds" in kinds:
        held.append(os.open(os.devnull, os.O_RDONLY))
    if "heap" in kinds:
        held.append([(i, str(i)) for i in range(1000, 1064)])  # ~130 blocks
    if "threads" in kinds:
        thread = threading.Thread(target=done.wait, daemon=True)
        thread.start()
        held.append(thread)


def worker_cycles(spec: dict[str, Any]) -> dict[str, Any]:
    """connect; get; disconnect, ``cycles`` times; a sample after each (output emptied, gc, threads settled)."""
    runner, failures, out = make_runner(), list[str](), Path(spec["out"])
    for line in spec["setup"]:
        run(runner, line, failures)
    samples = Samples(spec["cycles"])
    gc.collect()
    start = probe()
    first = None
    leaked: list[Any] = []
    done = threading.Event()
    for i in range(spec["cycles"]):
        if i == spec["warmup"]:
            first = start_tracing(spec["tracemalloc"])
        began = time.perf_counter()
        for line in spec["cycle"]:
            run(runner, line, failures)
        seconds = time.perf_counter() - began
        got = count_files(out)
        if got != spec["objects"]:
            failures.append(f"cycle {i + 1}: {got} of {spec['objects']} objects on disk")
        shutil.rmtree(out)
        out.mkdir()
        leak(spec["leak"], leaked, done)
        gc.collect()
        settle(start)
        samples.add({**probe(), "cycle": i + 1, "seconds": seconds})
        if len(failures) > 5:
            break
    sites = growth_sites(first)
    done.set()
    return {"start": start, "samples": samples.rows(), "failures": failures, "sites": sites, "kept": kept_cost(runner)}


def worker(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    result = worker_get(spec) if spec["part"] == "get" else worker_cycles(spec)
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


# ---- in the parent: the peer, the children, the verdicts -----------------------------------------


class PtyDrain:
    """A pseudo-terminal for a child's stdout, read and discarded by a thread (like a terminal)."""

    def __init__(self, rows: int = 40, cols: int = 120) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.thread = threading.Thread(target=self.drain, daemon=True)
        self.thread.start()

    def drain(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self.master, 65536):
                pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.slave)
        self.thread.join(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self.master)


def reap(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for the child; kill it (by its PID) if it overstays."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        return proc.wait()


def child_env(home: Path) -> dict[str, str]:
    env = dcmtk_env()  # TCP_NODELAY=1 for DCMTK; harmless for getsh
    env["GETSH_HOME"] = os.fspath(home)
    env["PYTHONPATH"] = os.pathsep.join([os.fspath(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["TERM"] = "xterm-256color"
    env.pop("COLUMNS", None)
    return env


def run_worker(spec: dict[str, Any], work: Path, name: str) -> dict[str, Any]:
    """The child process: returns its result, or {"failures": [...]} with its log's tail."""
    spec_path, result_path, log = work / f"{name}.json", work / f"{name}-result.json", work / f"{name}.log"
    spec["result"] = os.fspath(result_path)
    spec_path.write_text(json.dumps(spec))
    pty = PtyDrain()
    with log.open("wb") as err:
        proc = subprocess.Popen([PY, os.fspath(Path(__file__).resolve()), "--worker", os.fspath(spec_path)],
                                stdin=subprocess.DEVNULL, stdout=pty.slave, stderr=err, env=child_env(work / "home"))
        os.close(pty.slave)
        code = reap(proc, RUN_TIMEOUT)
    pty.close()
    try:
        result: dict[str, Any] = json.loads(result_path.read_text())
    except (OSError, ValueError):
        result = {"failures": []}
    if code != 0:
        tail = log.read_text(errors="replace")[-2000:]
        result["failures"] = [*result.get("failures", []), f"worker exit status {code} (log {log}):\n{tail}"]
    return result


@dataclass(frozen=True)
class Peer:
    ae: str
    port: int


def shell_setup(path: str, out: Path, peer: Peer) -> list[str]:
    return ["set model study", f"set aec {peer.ae}", f"set receive {path}", f"output {out}",
            f"connect {HOST} {peer.port}"]


def get_line(workload: Workload) -> str:
    return f"get QueryRetrieveLevel=STUDY StudyInstanceUID={workload.study_uid}"


def soak_get(path: str, workload: Workload, peer: Peer, work: Path, tracing: bool) -> dict[str, Any]:
    out = work / f"get-{path}"
    out.mkdir()
    spec = {"part": "get", "setup": shell_setup(path, out, peer), "get": get_line(workload), "out": os.fspath(out),
            "tracemalloc": tracing}
    result = run_worker(spec, work, f"get-{path}")
    received, problems = check(out, workload, compare_bytes=False)
    result["received"] = received
    result["failures"] = [*result["failures"], *problems]
    shutil.rmtree(out, ignore_errors=True)
    return result


def soak_getscu(workload: Workload, peer: Peer, work: Path) -> dict[str, Any]:
    """DCMTK getscu, the same get: its peak RSS (GNU time) and wall time."""
    out, rss_file, log = work / "get-getscu", work / "getscu-rss.txt", work / "getscu.log"
    out.mkdir()
    argv = [os.fspath(dcmtk_tool("getscu")), "-S", "-aec", peer.ae, "-od", os.fspath(out), "-k",
            "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={workload.study_uid}", HOST, str(peer.port)]
    timed = [os.fspath(TIME), "-q", "-f", "%M", "-o", os.fspath(rss_file), *argv] if os.access(TIME, os.X_OK) else argv
    with log.open("wb") as output:
        began = time.perf_counter()
        proc = subprocess.Popen(timed, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                env=dcmtk_env())
        code = reap(proc, RUN_TIMEOUT)
        seconds = time.perf_counter() - began
    try:
        rss = int(rss_file.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = 0
    received, problems = check(out, workload, compare_bytes=False)
    shutil.rmtree(out, ignore_errors=True)
    failures = [f"getscu exit status {code} (log {log})"] if code else []
    return {"seconds": seconds, "hwm_kb": rss, "received": received, "failures": failures + problems,
            "command": "TCP_NODELAY=1 " + subprocess.list2cmdline(argv)}


def soak_cycles(path: str, workload: Workload, peer: Peer, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    out = work / f"cycles-{path}"
    out.mkdir()
    spec = {"part": "cycles", "setup": shell_setup(path, out, peer)[:-1], "out": os.fspath(out),
            "cycle": [f"connect {HOST} {peer.port}", get_line(workload), "disconnect"], "cycles": args.cycles,
            "warmup": max(2, args.cycles // 10), "objects": workload.count, "tracemalloc": args.tracemalloc,
            "leak": args.leak}
    result = run_worker(spec, work, f"cycles-{path}")
    result["warmup"] = spec["warmup"]
    shutil.rmtree(out, ignore_errors=True)
    return result


# ---- verdicts -----------------------------------------------------------------------------------


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two distinct xs)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def median_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Theil–Sen: the median of the slopes between every two points. RSS moves in steps (the allocator
    takes a new arena, say, when a thread starts while another ends); a step is not a trend, and this
    is what tells them apart, where least squares would spread one step over the whole window."""
    pairs = sorted((ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(len(xs)) for j in range(i + 1, len(xs))
                   if xs[j] != xs[i])
    if not pairs:
        return 0.0
    mid = len(pairs) // 2
    return pairs[mid] if len(pairs) % 2 else (pairs[mid - 1] + pairs[mid]) / 2


@dataclass
class Verdict:
    name: str
    lines: list[str]
    failures: list[str]

    @property
    def flat(self) -> bool:
        return not self.failures


def judge_get(path: str, result: dict[str, Any], count: int, tracing: bool) -> Verdict:
    failures = list(result.get("failures", []))
    lines: list[str] = []
    samples = [s for s in result.get("samples", []) if s["objects"] > 0]
    half = [s for s in samples if count // 2 <= s["objects"] < count]
    if result.get("received") != count:
        failures.append(f"{result.get('received')} of {count} objects received")
    if len(half) >= 3:
        objects = [s["objects"] for s in half]
        rss = median_slope(objects, [s["rss_kb"] for s in half]) * 1000
        blocks = slope(objects, [s["blocks"] for s in half])
        per_entry = result["kept"]["blocks_per_entry"]
        lines.append(f"second half ({len(half)} samples): RSS {rss:+.0f} KB per 1,000 objects (bound "
                     f"{GET_RSS_KB_PER_1000}{', not judged under tracemalloc' if tracing else ''}); heap "
                     f"{blocks:+.1f} blocks per object, of which the session's record {per_entry:.1f}: "
                     f"{blocks - per_entry:+.1f} beyond it (bound {GET_HEAP_BLOCKS_PER_OBJECT})")
        if rss > GET_RSS_KB_PER_1000 and not tracing:
            failures.append(f"RSS grows {rss:.0f} KB per 1,000 objects")
        if blocks - per_entry > GET_HEAP_BLOCKS_PER_OBJECT:
            failures.append(f"heap grows {blocks - per_entry:.1f} blocks per object beyond the session's record")
    elif "before" in result:
        lines.append(f"only {len(half)} samples in the second half: the slope is not judged")
    before, after = result.get("before"), result.get("after")
    if before and after:
        for key in ("fds", "py_threads"):
            if after[key] > before[key]:
                failures.append(f"{key}: {before[key]} before the get, {after[key]} after it")
    return Verdict(f"get, receive {path}", lines, failures)


def judge_cycles(path: str, result: dict[str, Any], cycles: int, tracing: bool) -> Verdict:
    failures = list(result.get("failures", []))
    samples = result.get("samples", [])
    lines: list[str] = []
    if len(samples) < cycles:
        failures.append(f"{len(samples)} of {cycles} cycles ran")
    warm = result.get("warmup", 2)
    if len(samples) <= warm + 2:
        return Verdict(f"cycles, receive {path}", lines, failures)
    base = samples[warm - 1]
    half = samples[len(samples) // 2:]
    xs = [s["cycle"] for s in half]
    rss, blocks = median_slope(xs, [s["rss_kb"] for s in half]), slope(xs, [s["blocks"] for s in half])
    listed = result["kept"]["blocks"] / len(samples)
    lines.append(f"second half (cycles {xs[0]}-{xs[-1]}): RSS {rss:+.1f} KB/cycle (bound {CYCLE_RSS_KB}"
                 f"{', not judged under tracemalloc' if tracing else ''}); heap {blocks:+.1f} blocks/cycle, of which "
                 f"the session's record {listed:.1f}: {blocks - listed:+.1f} beyond it (bound {CYCLE_HEAP_BLOCKS})")
    if rss > CYCLE_RSS_KB and not tracing:
        failures.append(f"RSS grows {rss:.1f} KB per cycle")
    if blocks - listed > CYCLE_HEAP_BLOCKS:
        failures.append(f"heap grows {blocks - listed:.1f} blocks per cycle beyond the session's record")
    for key in ("fds", "threads", "py_threads"):
        worst = max(s[key] for s in half)
        if worst > base[key]:
            failures.append(f"{key}: {base[key]} after the warm-up, up to {worst} in the second half")
    return Verdict(f"cycles, receive {path}", lines, failures)


def mb(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def get_table(results: dict[str, dict[str, Any]], getscu: dict[str, Any] | None, count: int) -> list[str]:
    lines = ["| tool | received | seconds | obj/s | RSS before MB | RSS after MB | peak RSS MB | heap blocks "
             "before → after | fds before → after | threads before → after | session's record: objects × blocks |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|---|---|"]
    if getscu:
        lines.append(f"| DCMTK getscu | {getscu['received']} | {getscu['seconds']:.1f} | "
                     f"{count / getscu['seconds']:.0f} | - | - | {mb(getscu['hwm_kb'])} | - | - | - | - |")
    for path, r in results.items():
        if "before" not in r:
            lines.append(f"| getsh shell, receive {path} | {r.get('received', 0)} |" + " - |" * 9)
            continue
        b, g, a = r["before"], r["after_get"], r["after"]
        lines.append(f"| getsh shell, receive {path} | {r['received']} | {r['seconds']:.1f} | "
                     f"{count / r['seconds']:.0f} | {mb(b['rss_kb'])} | {mb(g['rss_kb'])} | {mb(a['hwm_kb'])} | "
                     f"{b['blocks']:,} → {g['blocks']:,} | {b['fds']} → {a['fds']} | "
                     f"{b['py_threads']} → {a['py_threads']} | {kept(r)} |")
    return lines


def get_profile(result: dict[str, Any], count: int, points: int = 6) -> str:
    """RSS at a few points of the get, by objects received."""
    samples = [s for s in result.get("samples", []) if s["objects"] > 0]
    if not samples:
        return "-"
    marks = [count * (i + 1) // points for i in range(points)]
    shown = []
    for mark in marks:
        at = next((s for s in samples if s["objects"] >= mark), samples[-1])
        shown.append(f"{at['objects']}: {mb(at['rss_kb'])}")
    return ", ".join(shown) + " (objects: RSS MB)"


def kept(result: dict[str, Any]) -> str:
    entries = result.get("kept", {"entries": 0, "blocks_per_entry": 0.0})
    return f"{entries['entries']:,} × {entries['blocks_per_entry']:.1f}"


def cycles_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| receive | cycles | s/cycle (median) | RSS after warm-up → end MB | heap blocks after warm-up → end | "
             "fds (min-max, 2nd half) | OS threads | Python threads | session's record: objects × blocks |",
             "|---|---:|---:|---|---|---|---|---|---:|"]
    for path, r in results.items():
        samples = r.get("samples", [])
        warm = r.get("warmup", 2)
        if len(samples) <= warm:
            lines.append(f"| {path} | {len(samples)} | - | - | - | - | - | - | - |")
            continue
        base, end, half = samples[warm - 1], samples[-1], samples[len(samples) // 2:]
        secs = sorted(s["seconds"] for s in samples)

        def span(key: str, half: list[dict[str, Any]] = half, base: dict[str, Any] = base) -> str:
            return f"{min(s[key] for s in half)}-{max(s[key] for s in half)} (warm-up: {base[key]})"

        lines.append(f"| {path} | {len(samples)} | {secs[len(secs) // 2]:.3f} | {mb(base['rss_kb'])} → "
                     f"{mb(end['rss_kb'])} | {base['blocks']:,} → {end['blocks']:,} | {span('fds')} | "
                     f"{span('threads')} | {span('py_threads')} | {kept(r)} |")
    return lines


# ---- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 objects and 40 cycles (CI)")
    parser.add_argument("--objects", type=int, help="objects in the big get (default 10,000; --quick 1,000)")
    parser.add_argument("--cycles", type=int, help="connect/get/disconnect cycles (default 200; --quick 40)")
    parser.add_argument("--paths", default=",".join(PATHS), help="receive paths: auto,pynetdicom (default both)")
    parser.add_argument("--parts", default=",".join(PARTS), help="get,cycles (default both)")
    parser.add_argument("--no-getscu", action="store_true", help="skip DCMTK getscu's run of the big get")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace allocations after the warm-up and print where the heap grew (slower)")
    parser.add_argument("--cache", type=Path, help="generated data (default: $XDG_CACHE_HOME/getsh-bench)")
    parser.add_argument("--work", type=Path, help="peer, outputs and logs (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--leak", default="", help=argparse.SUPPRESS)  # fds,heap,threads: the soak's own test
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.objects = args.objects or (1000 if args.quick else 10000)
    args.cycles = args.cycles or (40 if args.quick else 200)
    args.paths = [p for p in args.paths.split(",") if p]
    args.parts = [p for p in args.parts.split(",") if p]
    args.leak = [k for k in args.leak.split(",") if k]
    for given, allowed in ((args.paths, PATHS), (args.parts, PARTS), (args.leak or ["fds"], LEAKS)):
        if not given or set(given) - set(allowed):
            parser.error(f"choose from {','.join(allowed)}")
    if args.cycles < 10:
        parser.error("--cycles: at least 10 (a warm-up, then two halves)")
    if args.cache is None:
        args.cache = default_cache()
    return args


def measure(args: argparse.Namespace, loads: dict[str, Workload], work: Path) -> dict[str, Any]:
    """Start each part's peer, run the part on every path, stop the peer; progress lines as each ends.

    The get is served by Orthanc: dcmqrscp 3.6.7's index stops at 32 MiB ("DB ALERT: attempt to seek
    beyond 33554432 bytes"), about 9,000 objects a storage area. The cycles, by dcmqrscp."""
    got: dict[str, Any] = {"getscu": None, "get": {}, "cycles": {}}
    if "get" in args.parts:
        with started(Orthanc(loads["get"].paths, workdir=work / "orthanc"), "orthanc") as peer:
            if not args.no_getscu:
                got["getscu"] = soak_getscu(loads["get"], peer, work)
                print(f"get, DCMTK getscu: {got['getscu']['seconds']:.1f} s", flush=True)
            for path in args.paths:
                got["get"][path] = r = soak_get(path, loads["get"], peer, work, args.tracemalloc)
                print(f"get, receive {path}: {r.get('seconds', float('nan')):.1f} s", flush=True)
    if "cycles" in args.parts:
        with started(Dcmqrscp(loads["cycles"].paths, ae_title=AE, workdir=work / "dcmqrscp"), "dcmqrscp") as peer:
            for path in args.paths:
                began = time.monotonic()
                got["cycles"][path] = soak_cycles(path, loads["cycles"], peer, work, args)
                print(f"cycles, receive {path}: {time.monotonic() - began:.1f} s", flush=True)
    return got


class NoPeer(Exception):
    """A peer could not start: the soak cannot run (exit status 2)."""


@contextlib.contextmanager
def started(peer: Dcmqrscp | Orthanc, name: str) -> Iterator[Peer]:
    """The peer, started and described; always stopped (by PID)."""
    began = time.monotonic()
    try:
        port = peer.start()
    except (PeerUnavailable, PeerStartError) as exc:
        raise NoPeer(f"cannot start {name}: {exc}") from exc
    try:
        how = (f"TCP_NODELAY=1 /usr/bin/dcmqrscp -c {peer.config_path} {port}" if isinstance(peer, Dcmqrscp) else
               f"TCP_NODELAY=1 {ORTHANC_BIN} --no-jobs {peer.config_path} (DICOM port {port})")
        print(f"peer: {how}, AE {peer.ae_title}, {len(peer.files):,} files, loaded and started in "
              f"{time.monotonic() - began:.1f} s", flush=True)
        yield Peer(peer.ae_title, port)
    finally:
        if isinstance(peer, Orthanc):
            peer.stop(timeout=0)  # its data is throwaway: no graceful 3 s stop
        else:
            peer.stop()


def report(args: argparse.Namespace, big: Workload, got: dict[str, Any]) -> list[Verdict]:
    verdicts: list[Verdict] = []
    if got["get"] or got["getscu"]:
        print()
        print(f"## One get of {big.count:,} objects ({big.spec.title}, {big.total_bytes / 1e6:.1f} MB)")
        print("\n".join(get_table(got["get"], got["getscu"], big.count)))
        if got["getscu"]:
            verdicts.append(Verdict("get, DCMTK getscu", [], got["getscu"]["failures"]))
        for path, r in got["get"].items():
            print(f"receive {path}: RSS along the get: {get_profile(r, big.count)}")
            verdicts.append(judge_get(path, r, big.count, args.tracemalloc))
    if got["cycles"]:
        print()
        print(f"## {args.cycles} cycles of connect; get ({CYCLE_OBJECTS} objects); disconnect")
        print("\n".join(cycles_table(got["cycles"])))
        verdicts += [judge_cycles(path, r, args.cycles, args.tracemalloc) for path, r in got["cycles"].items()]
    sites = [(kind, path, r["sites"]) for kind in ("get", "cycles") for path, r in got[kind].items() if r.get("sites")]
    for kind, path, lines in sites:
        print(f"\n## tracemalloc: where the heap grew ({kind}, receive {path})")
        print("\n".join(lines))
    print()
    print("## Verdict")
    for v in verdicts:
        print(f"{v.name}: {'flat' if v.flat else 'GROWTH OR FAILURE'}")
        for line in v.lines:
            print(f"  {line}")
        for line in v.failures:
            print(f"  FAILED: {line}")
    return verdicts


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker)
    try:
        for name in ("getscu", "dcmqrscp", "dcmqridx"):
            dcmtk_tool(name)
        if "get" in args.parts and not os.access(ORTHANC_BIN, os.X_OK):
            raise PeerUnavailable(f"Orthanc not found at {ORTHANC_BIN} (Debian package 'orthanc')")
    except PeerUnavailable as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    print(f"# getsh soak{' (--quick)' if args.quick else ''}")
    for key, value in machine().items():
        print(f"{key}: {value}")
    print("argv: " + subprocess.list2cmdline(["scripts/soak.py", *(sys.argv[1:] if argv is None else argv)]))
    args.cache.mkdir(parents=True, exist_ok=True)
    big = generate(Spec("S1", f"{args.objects:,} SC 64x64x8", "sc", args.objects if "get" in args.parts else 0),
                   args.cache)
    small = generate(Spec("S2", f"{CYCLE_OBJECTS} SC 64x64x8", "sc", CYCLE_OBJECTS), args.cache)
    with workdir(args, "getsh-soak-") as work:
        (work / "home").mkdir(exist_ok=True)
        try:
            got = measure(args, {"get": big, "cycles": small}, work)
        except NoPeer as exc:
            print(f"soak: {exc}", file=sys.stderr)
            return 2
    verdicts = report(args, big, got)
    if args.json:
        args.json.write_text(json.dumps({"quick": args.quick, "objects": args.objects, "cycles": args.cycles, **got,
                                         "verdicts": {v.name: v.failures for v in verdicts}}, indent=1))
    if all(v.flat for v in verdicts):
        print("flat: every get brought every object; memory, fds and threads within bounds")
        return 0
    print("FAILED: growth or a failed retrieve (see above)")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
