"""What a parallel retrieve's plan costs: the IMAGE-level C-FIND of W2's study, listed by getsh's
Planner (retrieve/sharing.py) through pynetdicom's receive path and through getsh's own
(receive/direct_find.py), from dcmqrscp through the latency relay; wall time and this process's CPU.

Why it matters: the plan runs beside the lanes that retrieve what it has listed so far, under one
interpreter lock; every millisecond of CPU a match costs is taken from them.

    python scripts/bench_plan.py                 # 2,000 instances, RTT 2 ms, 3 rounds
    python scripts/bench_plan.py --rtt 0 --count 500 --rounds 5
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydicom import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from getsh.dicom.retrieve.sharing import Planner
from scripts.bench_get import AE as PEER_AE
from scripts.bench_get import Spec, default_cache, generate
from scripts.latency_relay import RelayProcess
from tests.peers import HOST, Dcmqrscp

PATHS = ("pynetdicom", "auto")  # the receive setting: pynetdicom's own path, getsh's direct one
NAMES = {"pynetdicom": "pynetdicom's receive path", "auto": "getsh's direct path"}


def plan_once(assoc: object, study: str, receive: str, ids: itertools.count[int]) -> tuple[int, float, float]:
    """(UIDs listed, wall seconds, CPU seconds of this process) for one plan."""
    query = Dataset()
    query.QueryRetrieveLevel, query.StudyInstanceUID = "STUDY", study
    planner = Planner(assoc, query, "study", lambda: next(ids), lambda: 32, receive)  # type: ignore[arg-type]
    cpu, began = time.process_time(), time.monotonic()
    listed = sum(len(share.uids) for share in planner.shares())
    return listed, time.monotonic() - began, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rtt", type=float, default=2.0, help="round trip time in ms through the relay (default 2)")
    parser.add_argument("--count", type=int, default=2000, help="W2 objects (default 2000)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    load = generate(Spec("W2", "small objects", "sc", args.count), default_cache())
    times: dict[str, list[tuple[float, float]]] = {path: [] for path in PATHS}
    with tempfile.TemporaryDirectory(prefix="getsh-plan-") as tmp:
        peer = Dcmqrscp(load.paths, ae_title=PEER_AE, workdir=Path(tmp) / "qr")
        peer.start()
        try:
            with RelayProcess((HOST, peer.port), args.rtt) as relay:
                ae = AE(ae_title="GETSCU")
                ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
                assoc = ae.associate(HOST, relay.port, ae_title=PEER_AE)
                if not assoc.is_established:
                    raise SystemExit("dcmqrscp refused the association")
                ids = itertools.count(1)
                try:
                    for round_ in range(1, args.rounds + 1):
                        for path in PATHS if round_ % 2 else PATHS[::-1]:
                            listed, wall, cpu = plan_once(assoc, load.study_uid, path, ids)
                            if listed != load.count:
                                raise SystemExit(f"{NAMES[path]} listed {listed} of {load.count} instances")
                            times[path].append((wall, cpu))
                        print(f"round {round_}/{args.rounds}: " + ", ".join(
                            f"{NAMES[p]} {times[p][-1][0]:.2f} s ({times[p][-1][1]:.2f} s CPU)" for p in PATHS),
                            flush=True)
                finally:
                    assoc.release()
        finally:
            peer.stop()
    print()
    print(f"## The plan of {load.count:,} instances (one IMAGE-level C-FIND), RTT {args.rtt:g} ms, "
          f"median of {args.rounds} interleaved rounds")
    print()
    print("| receive path | wall s | CPU s | CPU ms a match |")
    print("|---|---:|---:|---:|")
    for path in PATHS:
        wall = statistics.median(t[0] for t in times[path])
        cpu = statistics.median(t[1] for t in times[path])
        print(f"| {NAMES[path]} | {wall:.2f} | {cpu:.2f} | {cpu / load.count * 1000:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
