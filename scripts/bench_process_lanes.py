#!/usr/bin/env python3
"""What would lanes in processes of their own give? getsh's ceiling with N interpreters (issue 17).

``parallel N`` runs its N associations as threads of one Python process, which share one interpreter
lock. This measures what N processes would give instead, without building them: N getsh sessions,
each a process of its own (getsh's Runner, as the shell builds it), connected first, then all told at
once to retrieve one share of W2 each — an IMAGE-level C-GET of a list of SOP Instance UIDs, as
getsh's shares are, with no C-FIND (a real parallel get plans with one first) — through the latency
relay from one dcmqrscp, against DCMTK getscu retrieving the whole study through the same relay.
Every run is checked complete (the number of files); the medians of interleaved rounds are printed.

    python scripts/bench_process_lanes.py                        # 2,000 objects, 2 ms, 4 and 8 processes, 3 rounds
    python scripts/bench_process_lanes.py --rtt 20 --count 500 --processes 8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench_archive_ceiling import getscu, series_of  # noqa: E402
from scripts.bench_get import AE, Spec, default_cache, generate, set_aside  # noqa: E402
from scripts.latency_relay import RelayProcess  # noqa: E402
from tests.peers import HOST, Dcmqrscp  # noqa: E402

READY = "ready"


def worker(spec_json: str) -> int:
    """Child process: a getsh session that runs the set-up lines, says it is ready, waits for a line on
    stdin, runs the get and prints its seconds as JSON (stderr: stdout is the session's own output)."""
    spec = json.loads(spec_json)
    import getsh.commands  # noqa: F401  (registers every command)
    from getsh.context import Context
    from getsh.env import Environment
    from getsh.runner import Runner
    from getsh.shell.render import Renderer

    env = Environment()
    ctx = Context(env)
    runner = Runner(ctx, Renderer(env.console, env.err_console))
    try:
        for line in spec["setup"]:
            runner.run_line(line)
        print(READY, file=sys.__stderr__, flush=True)
        sys.stdin.readline()
        began = time.perf_counter()
        status = int(runner.run_line(spec["get"]))
        print(json.dumps({"seconds": time.perf_counter() - began, "status": status}), file=sys.__stderr__,
              flush=True)
    finally:
        ctx.session.link.close(abort=False)
    return 0


def lanes(count: int, relay_port: int, study: str, series: str, uids: list[str], work: Path) -> float:
    """``count`` getsh processes, connected, then started together on a share each: the seconds until
    the last get is done."""
    outs = [work / f"lane{i}" for i in range(count)]
    procs = []
    for i, out in enumerate(outs):
        out.mkdir(parents=True)
        share = uids[i::count]
        spec = {"setup": ["set model study", f"set aec {AE}", f"output {out}", "storage bit-preserving",
                          f"connect {HOST} {relay_port}"],
                "get": f"get --exact QueryRetrieveLevel=IMAGE StudyInstanceUID={study} SeriesInstanceUID={series} "
                       f"SOPInstanceUID={chr(92).join(share)}"}
        procs.append(subprocess.Popen([sys.executable, os.fspath(Path(__file__)), "--worker", json.dumps(spec)],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True))
    try:
        for proc in procs:
            assert proc.stderr is not None
            line = proc.stderr.readline().strip()
            if line != READY:
                raise SystemExit(f"a lane did not get ready: {line}{proc.stderr.read()}")
        began = time.monotonic()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        own = []
        for proc in procs:  # each get's end, not its process's (the release and the interpreter's exit)
            assert proc.stderr is not None
            own.append(json.loads(proc.stderr.readline())["seconds"])
        seconds = time.monotonic() - began
        for proc in procs:
            proc.wait()
        print(f"  {count} processes: each one's get took {min(own):.2f}–{max(own):.2f} s", flush=True)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    got = sum(len(list(out.iterdir())) for out in outs)
    if got != len(uids):
        raise SystemExit(f"{count} lanes received {got} of {len(uids)} objects: the figures would mean nothing")
    for out in outs:
        set_aside(out, out.parent)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rtt", type=float, default=2.0, help="round trip time in ms through the relay (default 2)")
    parser.add_argument("--count", type=int, default=2000, help="W2 objects (default 2000)")
    parser.add_argument("--processes", default="4,8", help="lane processes, comma-separated (default 4,8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    counts = [int(n) for n in args.processes.split(",")]
    load = generate(Spec("W2", "small objects", "sc", args.count), default_cache())
    series, uids = series_of(load), sorted(load.files)
    times: dict[str, list[float]] = {"getscu": [], **{f"{n} processes": [] for n in counts}}
    with tempfile.TemporaryDirectory(prefix="getsh-lanes-") as tmp:
        work = Path(tmp)
        peer = Dcmqrscp(load.paths, ae_title=AE, workdir=work / "qr", max_associations=max(counts) + 4)
        relay: RelayProcess | None = None
        try:
            peer.start()
            relay = RelayProcess((HOST, peer.port), args.rtt)
            relay.start()
            for round_ in range(args.rounds):
                out = work / f"getscu{round_}"
                began = time.monotonic()
                getscu(load, series, None, relay.port, out).wait()
                times["getscu"].append(time.monotonic() - began)
                if len(list(out.iterdir())) != load.count:
                    raise SystemExit("getscu did not receive every object")
                set_aside(out, work)  # not deleted: see bench_get.set_aside
                for n in counts:
                    times[f"{n} processes"].append(lanes(n, relay.port, load.study_uid, series, uids,
                                                         work / f"r{round_}-{n}"))
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                      flush=True)
        finally:
            if relay is not None:
                relay.stop()
            peer.stop()
    alone = statistics.median(times["getscu"])
    print(f"\n## Lanes as processes: {load.count} small objects, {args.rtt:g} ms round trip, one dcmqrscp, "
          f"median of {args.rounds}\n")
    print("| how | median s | x faster than getscu |")
    print("|---|---:|---:|")
    for key, values in times.items():
        words = "DCMTK getscu, the whole study" if key == "getscu" else f"getsh, {key} with a share each (no plan)"
        print(f"| {words} | {statistics.median(values):.2f} | {alone / statistics.median(values):.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
