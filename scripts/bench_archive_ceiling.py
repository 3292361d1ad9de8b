#!/usr/bin/env python3
"""How much can N associations gain from one archive? The ceiling a parallel retrieve runs into (issue 17).

A parallel retrieve can only overlap the round trips the archive lets overlap. This measures that
without getsh: DCMTK getscu (C++, one process each, TCP_NODELAY=1) retrieving one workload through
the latency relay, first alone, then as N processes at once, each with one share of the objects
(an IMAGE-level C-GET of a list of SOP Instance UIDs, as getsh's shares are),

- from one dcmqrscp holding the whole workload (what getsh's ``parallel N`` faces), and
- from N dcmqrscp, each holding one share (N archives that do not share anything: the ceiling of
  the link and this machine).

If N processes against one archive gain much less than against N archives, something in the archive
serialises them. For dcmqrscp that is not the retrieves themselves but its index lock: each new
association sets up its database handle under an exclusive lock on index.dat, which waits until no
C-FIND or C-GET of any other association holds its shared one, so processes that start together
finish in waves (a getscu whose association was set up after another's C-GET began waits for it to
end). A client that opens all its associations before the first request, as getsh's ``parallel``
does, does not meet it: this column is the ceiling for N independent clients, not for one client's
N associations. Every run is checked complete (the number of files); the medians of interleaved
rounds are printed as a markdown table.

    python scripts/bench_archive_ceiling.py                     # W2 (500 objects), 8 shares, 20 ms, 3 rounds
    python scripts/bench_archive_ceiling.py --workload W1 --rtt 2 --shares 4 --rounds 5
"""

from __future__ import annotations

import argparse
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

from scripts.bench_get import AE, Spec, Workload, default_cache, generate  # noqa: E402
from scripts.latency_relay import RelayProcess  # noqa: E402
from tests.peers import HOST, Dcmqrscp, dcmtk_env, dcmtk_tool  # noqa: E402

SIZES = {"W1": Spec("W1", "100 CT 512x512x16", "ct", 100), "W2": Spec("W2", "500 SC 64x64x8", "sc", 500)}


def series_of(load: Workload) -> str:
    from pydicom import dcmread

    return str(dcmread(load.paths[0], stop_before_pixels=True).SeriesInstanceUID)


def getscu(load: Workload, series: str, uids: list[str] | None, port: int, out: Path) -> subprocess.Popen[bytes]:
    """One getscu: the whole study (``uids`` None) or an IMAGE-level list of SOP Instance UIDs."""
    keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={load.study_uid}"]
    if uids is not None:
        keys = ["-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={load.study_uid}",
                "-k", f"SeriesInstanceUID={series}", "-k", "SOPInstanceUID=" + "\\".join(uids)]
    out.mkdir(parents=True)
    return subprocess.Popen([os.fspath(dcmtk_tool("getscu")), "-S", "-aec", AE, "-od", os.fspath(out), "+B", *keys,
                             HOST, str(port)], env=dcmtk_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(procs: list[subprocess.Popen[bytes]], outs: list[Path], expected: int) -> tuple[float, list[float]]:
    """The seconds until the last process ended, and when each ended (sorted): processes held back by
    the archive end in waves."""
    began = time.monotonic()
    ends: list[float] = []
    waiting = list(procs)
    while waiting:
        for proc in [p for p in waiting if p.poll() is not None]:
            ends.append(time.monotonic() - began)
            waiting.remove(proc)
        time.sleep(0.005)
    seconds = time.monotonic() - began
    got = sum(len(list(out.iterdir())) for out in outs)
    if got != expected:
        raise SystemExit(f"a run received {got} of {expected} objects: the figures would mean nothing")
    return seconds, sorted(ends)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=tuple(SIZES), default="W2")
    parser.add_argument("--shares", type=int, default=8, help="N: processes (and archives) at once (default 8)")
    parser.add_argument("--rtt", type=float, default=20.0, help="round trip time in ms through the relay (default 20)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    load = generate(SIZES[args.workload], default_cache())
    series, uids = series_of(load), sorted(load.files)
    shares = [uids[i::args.shares] for i in range(args.shares)]
    by_uid = {uid: load.directory / name for uid, name in load.files.items()}
    with tempfile.TemporaryDirectory(prefix="getsh-ceiling-") as tmp:
        work = Path(tmp)
        one = Dcmqrscp(load.paths, ae_title=AE, workdir=work / "one", max_associations=args.shares + 4)
        many = [Dcmqrscp([by_uid[u] for u in share], ae_title=AE, workdir=work / f"many{i}")
                for i, share in enumerate(shares)]
        peers = [one, *many]
        relays: list[RelayProcess] = []
        try:
            for peer in peers:
                peer.start()
            relays = [RelayProcess((HOST, peer.port), args.rtt) for peer in peers]
            for relay in relays:
                relay.start()
            times: dict[str, list[float]] = {"alone": [], "one": [], "many": []}
            for round_ in range(args.rounds):
                base = work / f"r{round_}"
                out = base / "alone"
                ends: dict[str, list[float]] = {}
                seconds, ends["alone"] = timed([getscu(load, series, None, relays[0].port, out)], [out], load.count)
                times["alone"].append(seconds)
                outs = [base / f"one{i}" for i in range(args.shares)]
                procs = [getscu(load, series, share, relays[0].port, o) for share, o in zip(shares, outs, strict=True)]
                seconds, ends["one"] = timed(procs, outs, load.count)
                times["one"].append(seconds)
                outs = [base / f"many{i}" for i in range(args.shares)]
                procs = [getscu(load, series, share, relay.port, o)
                         for share, relay, o in zip(shares, relays[1:], outs, strict=True)]
                seconds, ends["many"] = timed(procs, outs, load.count)
                times["many"].append(seconds)
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(
                    f"{k} {v[-1]:.2f} s" + (f" (each ended at {' '.join(f'{e:.2f}' for e in ends[k])})"
                                            if len(ends[k]) > 1 else "") for k, v in times.items()), flush=True)
        finally:
            for relay in relays:
                relay.stop()
            for peer in peers:
                peer.stop()
    alone = statistics.median(times["alone"])
    print(f"\n## The archive's ceiling: {load.count} objects of {SIZES[args.workload].title.split(' ', 1)[1]}, "
          f"{args.rtt:g} ms round trip, DCMTK getscu, median of {args.rounds}\n")
    print("| how | archives | median s | x faster than one getscu |")
    print("|---|---:|---:|---:|")
    rows = (("one getscu, the whole study", "alone", 1), (f"{args.shares} getscu at once, a share each", "one", 1),
            (f"{args.shares} getscu at once, a share each, an archive each", "many", args.shares))
    for words, key, archives in rows:
        median = statistics.median(times[key])
        print(f"| {words} | {archives} | {median:.2f} | {alone / median:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
