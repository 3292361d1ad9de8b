#!/usr/bin/env python3
"""Retrieve over a slow link (issue 17): getsh serial and over 2/4/8 associations against DCMTK getscu.

A C-GET's C-STORE sub-operations are answered one at a time, so every object costs a round trip:
on loopback that is nothing, on a hospital LAN (~1-2 ms) or to a remote archive (20-50 ms) it is
most of the time. This benchmark puts scripts/latency_relay.py (a fixed one-way delay each way,
order kept, bandwidth not limited) between every tool and a DCMTK dcmqrscp (TCP_NODELAY=1,
MaxAssociations 16) and retrieves each workload of scripts/bench_get.py at each round trip time,
in interleaved rounds: DCMTK getscu (TCP_NODELAY=1, +B), pynetdicom's getscu app (normal mode:
it has no other), getsh with its default setting, and getsh with ``parallel N`` for each N.
getsh and getscu run bit-preserving; every run is checked as bench_get checks it (every object
once, and in bit-preserving mode the data set bytes against the source). A run that lost or
changed an object is a failure and the script exits 1; speed never changes the exit status.

    python scripts/bench_rtt.py                         # RTT 0, 2, 20 ms; W1 W2 W3; 3 rounds (~15 min)
    python scripts/bench_rtt.py --quick                 # 20 CT + 100 small objects, RTT 0 and 2, N 1 and 2 (CI)
    python scripts/bench_rtt.py --rtt 20 --workloads W2 --tools dcmtk,getsh --rounds 1
    python scripts/bench_rtt.py --form oneshot          # getsh get (getscu's words) instead of the shell

At and above ``--slow-from`` ms (default 20) W1 and W2 are smaller (100 CT, 500 small objects) so
that the whole run fits in about 15 minutes; the table says so (its objects column, and a line).

The workload generation, the peer, the tools' command lines, each run and its checks are
scripts/bench_get.py's, imported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench_get import (  # noqa: E402
    AE,
    FULL,
    QUICK,
    Row,
    Spec,
    Variant,
    Workload,
    byte_compile,
    default_cache,
    generate,
    machine,
    print_commands,
    row_median,
    row_rss_mb,
    run_once,
    set_aside,
    workdir,
)
from scripts.latency_relay import RelayProcess, measure_overhead  # noqa: E402
from tests.peers import HOST, Dcmqrscp, PeerStartError, PeerUnavailable, dcmtk_tool  # noqa: E402

TOOLS = ("dcmtk", "pynetdicom", "getsh", "getsh-parallel")
MAX_ASSOCIATIONS = 16  # dcmqrscp's limit: room for getsh's 8 and a planning C-FIND
SLOW = {  # at --slow-from ms and above: fewer objects, the same kinds
    "W1": Spec("W1", "100 CT 512x512x16", "ct", 100),
    "W2": Spec("W2", "500 SC 64x64x8", "sc", 500),
    "W3": FULL["W3"],
}


@dataclass
class Cell:
    """The runs of one tool at one round trip time on one workload."""

    rtt: float
    load: Workload
    row: Row

    @property
    def associations(self) -> str:
        return self.row.variant.parallel or ("default" if self.row.variant.tool in ("getsh", "shell") else "1")


def spec_for(args: argparse.Namespace, rtt: float, name: str) -> Spec:
    if args.quick:
        return QUICK[name]
    return SLOW[name] if rtt >= args.slow_from else FULL[name]


def plan(args: argparse.Namespace) -> list[Variant]:
    """The rows of every (RTT, workload), in the order of a round."""
    getsh = "shell" if args.form == "shell" else "getsh"
    out: list[Variant] = []
    for tool in args.tools:
        if tool == "dcmtk":
            out.append(Variant("dcmtk", "bit"))
        elif tool == "pynetdicom":
            out.append(Variant("pynetdicom", "normal"))  # the app has no bit-preserving mode
        elif tool == "getsh":
            out.append(Variant(getsh, "bit"))
        else:
            out += [Variant(getsh, "bit", parallel=n) for n in args.parallel]
    return out


def has_parallel() -> bool:
    """Whether this tree's getsh has the ``parallel`` setting (issue 17's parallel retrieve)."""
    from getsh.settings import BY_NAME

    return "parallel" in BY_NAME


# ---- the report ---------------------------------------------------------------------------------


def _s(value: float) -> str:
    return f"{value:.3f}" if value == value else "-"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if a == a and b == b and b > 0 else "-"


def _getscu(cells: list[Cell], cell: Cell) -> Cell | None:
    return next((c for c in cells if c.rtt == cell.rtt and c.load is cell.load and c.row.variant.tool == "dcmtk"),
                None)


def table(cells: list[Cell]) -> list[str]:
    """The markdown table: one line per RTT, workload and tool; x getscu is median / getscu's median."""
    columns = ("RTT ms", "workload", "objects", "tool", "associations", "ok", "median s", "min s", "max s",
               "obj/s", "MB/s", "peak RSS MB", "x getscu")
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if i in (1, 3, 4) else "---:" for i in range(len(columns))) + "|"]
    for cell in cells:
        row, wl = cell.row, cell.load
        times = [r.seconds for r in row.runs if r.ok]
        med = row_median(row)
        ref = _getscu(cells, cell)
        lines.append("| " + " | ".join([
            f"{cell.rtt:g}", wl.spec.name, f"{wl.count:,}", row.variant.label, cell.associations,
            f"{len(times)}/{len(row.runs)}", _s(med), _s(min(times)) if times else "-",
            _s(max(times)) if times else "-", f"{wl.count / med:.0f}" if med == med else "-",
            f"{wl.total_bytes / 1e6 / med:.0f}" if med == med else "-", f"{row_rss_mb(row):.0f}",
            _ratio(med, row_median(ref.row) if ref else float("nan")),
        ]) + " |")
    return lines


def _find(cells: list[Cell], rtt: float, workload: str, parallel: str | None) -> Cell | None:
    """getsh's cell (parallel "" = its default setting), or getscu's (parallel None)."""
    for c in cells:
        v = c.row.variant
        if c.rtt == rtt and c.load.spec.name == workload and (
                v.tool == "dcmtk" if parallel is None else v.tool in ("getsh", "shell") and v.parallel == parallel):
            return c
    return None


def targets(cells: list[Cell], rtts: Sequence[float]) -> list[str]:
    """Issue 17's targets, each with the measured value and met / NOT met (or why not measured)."""
    out: list[str] = []

    def faster(rtt: float, workload: str, parallel: str, at_least: float) -> None:
        ours, ref = _find(cells, rtt, workload, parallel), _find(cells, rtt, workload, None)
        what = f"{workload} at {rtt:g} ms, getsh parallel {parallel}: >= {at_least:g}x faster than getscu"
        if ours is None or ref is None:
            out.append(f"- {what}: not measured (no such row in this run)")
            return
        gain = row_median(ref.row) / row_median(ours.row)
        out.append(f"- {what}: {gain:.2f}x: {'met' if gain >= at_least else 'NOT met'}")

    faster(20, "W2", "8", 5)
    faster(20, "W1", "8", 3)
    faster(2, "W2", "8", 2)
    for rtt in rtts:
        default, serial = _find(cells, rtt, "W2", ""), _find(cells, rtt, "W2", "1")
        if rtt == 0 and default and serial:
            ratio = row_median(default.row) / row_median(serial.row)
            out.append(f"- W2 at 0 ms, getsh's default setting against parallel 1: {ratio:.2f}x the time "
                       f"(target <= 1.10x): {'met' if ratio <= 1.10 else 'NOT met'}")
        ref = _find(cells, rtt, "W2", None)
        spread = [c for c in cells if c.rtt == rtt and c.load.spec.name == "W2" and c.row.variant.parallel]
        if rtt == 0 and ref and spread:
            beats = [c for c in spread if row_median(c.row) < row_median(ref.row)]
            out.append("- W2 at 0 ms, an N that beats getscu: " + (", ".join(
                f"parallel {c.row.variant.parallel} ({row_median(ref.row) / row_median(c.row):.2f}x faster)"
                for c in beats) or "none"))
    for cell in cells:
        if cell.row.variant.parallel == "8":
            rss = row_rss_mb(cell.row)
            out.append(f"- peak RSS, {cell.load.spec.name} at {cell.rtt:g} ms, parallel 8, bit-preserving: "
                       f"{rss:.0f} MB (target < 150 MB): {'met' if rss < 150 else 'NOT met'}")
    return out


# ---- running it ---------------------------------------------------------------------------------


def _floats(text: str) -> list[float]:
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        values = []
    if not values or any(not 0 <= v <= 10_000 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of round trip times in ms (e.g. 0,2,20)")
    return values


def _choices(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad) or 'nothing'} "
                                             f"(choose from {', '.join(allowed)})")
        return items

    return parse


def _counts(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items or any(t != "auto" and not (t.isdigit() and 1 <= int(t) <= 16) for t in items):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of association counts "
                                         "(auto or 1 to 16, e.g. 1,2,4,8)")
    return items


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="20 CT + 100 small objects, RTT 0 and 2 ms, parallel 1 and 2, 1 round (CI)")
    parser.add_argument("--rtt", type=_floats, help="round trip times in ms (default 0,2,20; --quick 0,2)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3; --quick 1)")
    parser.add_argument("--workloads", type=_choices(tuple(FULL)), help="default W1,W2,W3 (--quick W1,W2)")
    parser.add_argument("--tools", type=_choices(TOOLS), default=list(TOOLS),
                        help=f"{','.join(TOOLS)} (default: all; getsh-parallel: one row per --parallel N)")
    parser.add_argument("--parallel", type=_counts, help="getsh-parallel's association counts (default 1,2,4,8; "
                        "--quick 1,2)")
    parser.add_argument("--form", choices=("shell", "oneshot"), default="shell",
                        help="getsh in the shell (connected first, only the get timed; default) or one-shot "
                        "'getsh get' in getscu's words (start-up and association included)")
    parser.add_argument("--slow-from", type=float, default=20.0,
                        help="from this RTT (ms) on, W1 and W2 are smaller (100 CT, 500 small objects)")
    parser.add_argument("--cache", type=Path, help="generated data (default: bench_get's, ~/.cache/getsh-bench)")
    parser.add_argument("--work", type=Path, help="peers, outputs and logs (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.rtt = args.rtt or ([0.0, 2.0] if args.quick else [0.0, 2.0, 20.0])
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.workloads = args.workloads or (["W1", "W2"] if args.quick else list(FULL))
    args.parallel = args.parallel or (["1", "2"] if args.quick else ["1", "2", "4", "8"])
    args.cache = args.cache or default_cache()
    args.tls = False  # bench_get's workdir() and run_once() read what they need from args
    return args


def start_peers(specs: set[Spec], loads: dict[Spec, Workload], work: Path) -> dict[Spec, Dcmqrscp]:
    """One dcmqrscp per workload size (the smaller W1 and W2 share UIDs with the full ones)."""
    peers: dict[Spec, Dcmqrscp] = {}
    try:
        for spec in sorted(specs, key=lambda s: (s.name, s.count)):
            peer = Dcmqrscp(loads[spec].paths, ae_title=AE, workdir=work / f"dcmqrscp-{spec.name}-{spec.count}",
                            max_associations=MAX_ASSOCIATIONS)
            peers[spec] = peer
            peer.start()
    except BaseException:
        for peer in peers.values():
            peer.stop()
        raise
    return peers


def measure(args: argparse.Namespace, cells: list[Cell], peers: dict[Spec, Dcmqrscp], work: Path) -> None:
    """Every round of every (RTT, workload), each through a relay of its own."""
    warmed: set[Spec] = set()
    shown = False
    for rtt in args.rtt:
        for name in args.workloads:
            spec = spec_for(args, rtt, name)
            here = [c for c in cells if c.rtt == rtt and c.load.spec == spec]
            if spec not in warmed:  # the page cache: one untimed getscu, straight to the peer
                warm = work / "runs" / "warm"
                run_once(Variant("dcmtk", "bit"), here[0].load, peers[spec].port, warm, work, None)
                set_aside(warm, work)
                warmed.add(spec)
            with RelayProcess((HOST, peers[spec].port), rtt) as relay:
                if not shown:  # the others differ only in the port (each relay's own) and the study
                    print_commands([c.row.variant for c in here], {name: here[0].load}, relay.port, None)
                    shown = True
                for round_ in range(1, args.rounds + 1):
                    for cell in here if round_ % 2 else here[::-1]:  # every other round reversed (as bench_get)
                        v = cell.row.variant
                        out = work / "runs" / f"{rtt:g}-{name}-{v.tool}-{v.parallel or 'default'}-{round_}"
                        cell.row.runs.append(run_once(v, cell.load, relay.port, out, work, None))
                        set_aside(out, work)  # not deleted: see bench_get.set_aside
                        os.sync()  # the next run does not pay for this one's write-back
                    done = ", ".join(f"{c.row.variant.tool}/{c.associations} {c.row.runs[-1].seconds:.2f}s"
                                     for c in here)
                    print(f"RTT {rtt:g} ms {name} ({spec.count} objects) round {round_}/{args.rounds}: {done}",
                          flush=True)


def report(args: argparse.Namespace, cells: list[Cell]) -> int:
    failures = sum(not r.ok for c in cells for r in c.row.runs)
    slow = [r for r in args.rtt if r >= args.slow_from]
    print()
    print(f"## Retrieve over a slow link: C-GET from dcmqrscp through the latency relay, study root, whole study, "
          f"bit-preserving (pynetdicom: normal); median of {args.rounds} interleaved round(s)")
    if slow and not args.quick:
        sizes = ", ".join(f"{n} {SLOW[n].count:,} objects instead of {FULL[n].count:,}" for n in args.workloads
                          if SLOW[n].count != FULL[n].count)
        print(f"At {', '.join(f'{r:g}' for r in slow)} ms fewer objects, to fit the run in ~15 minutes: {sizes} "
              "(the objects column).")
    print()
    print("\n".join(table(cells)))
    print()
    print("x getscu: median / DCMTK getscu's median at the same RTT on the same workload (below 1: faster). "
          "associations: getsh's parallel setting (default: none given).")
    print()
    print("## Issue 17 targets")
    print("\n".join(targets(cells, args.rtt)))
    if args.json:
        args.json.write_text(json.dumps({
            "quick": args.quick, "rounds": args.rounds, "rtt": args.rtt, "form": args.form,
            "rows": [{"rtt": c.rtt, "workload": c.load.spec.name, "count": c.load.count, "tool": c.row.variant.tool,
                      "mode": c.row.variant.mode, "parallel": c.row.variant.parallel, "median": row_median(c.row),
                      "rss_mb": row_rss_mb(c.row), "runs": [asdict(r) for r in c.row.runs]} for c in cells],
            "failures": failures,
        }, indent=1))
    if failures:
        print(f"FAILED: {failures} run(s) did not receive every object intact (see above)")
        return 1
    print(f"every run received every object intact ({len(cells)} rows x {args.rounds} rounds)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        for name in ("getscu", "dcmqrscp", "dcmqridx"):
            dcmtk_tool(name)
    except PeerUnavailable as exc:
        print(f"bench_rtt: {exc}", file=sys.stderr)
        return 2
    if "getsh-parallel" in args.tools and not has_parallel():
        print("bench_rtt: this getsh has no 'parallel' setting yet (issue 17): leave its rows out with "
              "--tools dcmtk,pynetdicom,getsh", file=sys.stderr)
        return 2
    print(f"# getsh over a slow link (issue 17){' (--quick)' if args.quick else ''}")
    for key, value in machine().items():
        print(f"{key}: {value}")
    print("argv: " + subprocess.list2cmdline(["scripts/bench_rtt.py", *(sys.argv[1:] if argv is None else argv)]))
    print("\n".join(measure_overhead(*((200, 16) if args.quick else (2000, 256)))))
    args.cache.mkdir(parents=True, exist_ok=True)
    specs = {spec_for(args, rtt, name) for rtt in args.rtt for name in args.workloads}
    loads = {spec: generate(spec, args.cache) for spec in sorted(specs, key=lambda s: (s.name, s.count))}
    variants = plan(args)
    cells = [Cell(rtt, loads[spec_for(args, rtt, name)], Row(name, v))
             for rtt in args.rtt for name in args.workloads for v in variants]
    with workdir(args, prefix="getsh-bench-rtt-") as work:
        byte_compile([ROOT])
        (work / "home").mkdir(exist_ok=True)
        try:
            peers = start_peers(specs, loads, work)
        except (PeerUnavailable, PeerStartError) as exc:
            print(f"bench_rtt: cannot start dcmqrscp: {exc}", file=sys.stderr)
            return 2
        try:
            print(f"peers: TCP_NODELAY=1 /usr/bin/dcmqrscp (AE {AE}, MaxAssociations {MAX_ASSOCIATIONS}), one per "
                  "workload size: " + ", ".join(f"{s.name} {s.count} objects on {HOST}:{p.port}"
                                                  for s, p in peers.items()))
            print("relay: scripts/latency_relay.py in a child process per RTT and workload, one-way delay RTT/2 "
                  "each way, a new connection charged its TCP handshake's round trip; every tool connects to it")
            print(f"rows: {', '.join(v.label for v in variants)}; getsh {args.form}"
                  f"{' (connected first, only the get timed)' if args.form == 'shell' else ''}; "
                  f"{args.rounds} interleaved round(s), every other reversed; outputs under {work}")
            measure(args, cells, peers, work)
        except RuntimeError as exc:  # the relay did not start
            print(f"bench_rtt: {exc}", file=sys.stderr)
            return 2
        finally:
            for peer in peers.values():
                peer.stop()
    return report(args, cells)


if __name__ == "__main__":
    raise SystemExit(main())
