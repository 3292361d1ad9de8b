#!/usr/bin/env python3
"""Benchmark key completion over the whole data dictionary: what one keystroke costs.

Times getsh.dicom.keys.dictionary.search and getsh.completion.keys.complete_path /
complete_key for 1-, 2- and 3-character keyword prefixes across the alphabet, tag prefixes,
fuzzy queries and sequence paths; prints p50 / p99 / max in milliseconds and the number of
calls per group. The index is built once, before timing (its cost is printed separately).
A benchmark that prints figures, not a test: the target is p99 < 10 ms per keystroke.

    python scripts/bench_completion.py            # full run
    python scripts/bench_completion.py --quick    # a sample, a few seconds
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import string
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from getsh.completion.keys import complete_key, complete_path
from getsh.dicom.keys import dictionary

FUZZY = ("studyuid", "patname", "serinst", "sopinstuid", "accnum", "modstudy", "refsopuid", "numinst", "birthdt")
PATHS = (
    "ReferencedStudySeq",
    "ReferencedStudySequence[",
    "ReferencedStudySequence[0].",
    "ReferencedStudySequence[0].Ref",
    "ProcedureCodeSequence[0].Co",
    "(0008,1110)[0].(0008,11",
    "ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].Refer",
)
VALUES = ("QueryRetrieveLevel=", "Modality=M", "ModalitiesInStudy=CT\\M", "SOPClassUID=1.2.840.10008.5.1.4.1.1.")
MODELS = (("study", "STUDY"), ("patient", "PATIENT"), ("patient", "IMAGE"), (None, None))


def percentile(sorted_ms: Sequence[float], fraction: float) -> float:
    index = min(len(sorted_ms) - 1, max(0, round(fraction * (len(sorted_ms) - 1))))
    return sorted_ms[index]


def measure(name: str, calls: list[Callable[[], object]], repeat: int) -> list[float]:
    times: list[float] = []
    for _ in range(repeat):
        for call in calls:
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
    ordered = sorted(times)
    print(
        f"{name:<34} n={len(ordered):>6}  p50={statistics.median(ordered):6.3f} ms  "
        f"p99={percentile(ordered, 0.99):6.3f} ms  max={ordered[-1]:6.3f} ms"
    )
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sample the alphabet; fewer repeats")
    args = parser.parse_args(argv)
    letters = string.ascii_lowercase[:: 4 if args.quick else 1]
    repeat = 1 if args.quick else 3

    start = time.perf_counter()
    dictionary.search("x")
    print(f"index build (once, lazily): {(time.perf_counter() - start) * 1000:.1f} ms")
    models = MODELS[:2] if args.quick else MODELS

    def searches(words: list[str]) -> list[Callable[[], object]]:
        return [lambda w=w, m=m, lv=lv: dictionary.search(w, lv, m) for w in words for m, lv in models]

    def casing(word: str) -> str:
        return word[0].upper() + word[1:]

    one = [casing(a) for a in string.ascii_lowercase]
    two = [casing(a + b) for a, b in itertools.product(letters, string.ascii_lowercase)]
    three = [casing(a + b + c) for a, b, c in itertools.product(letters, "aeiou", "nrst")]
    tags = ["0", "00", "0008", "0008,", "(0010,", "0020,00", "(0040,A", "7FE0,0010"]
    every: list[float] = []
    every += measure("search: 1-char prefixes", searches(one), repeat)
    every += measure("search: 2-char prefixes", searches(two), repeat)
    every += measure("search: 3-char prefixes", searches(three), repeat)
    every += measure("search: tag prefixes", searches(tags), repeat)
    every += measure("search: fuzzy queries", searches(list(FUZZY)), repeat)
    every += measure("search: no match (worst case)", searches(["Zzqx", "qqqqqq", "xyzzyplugh"]), repeat)
    path_calls = [lambda p=p, m=m, lv=lv: complete_path(p, m, lv) for p in PATHS for m, lv in models]
    every += measure("complete_path: sequence paths", path_calls, repeat * 3)
    value_calls = [lambda v=v: complete_key(v, "study", "STUDY", seen=("1.2.3", "DEMO001")) for v in VALUES]
    every += measure("complete_key: values after =", value_calls, repeat * 3)
    every += measure("complete_path: 2-char prefixes", [lambda w=w: complete_path(w, "study", "STUDY") for w in two], 1)
    ordered = sorted(every)
    print(
        f"{'ALL':<34} n={len(ordered):>6}  p50={statistics.median(ordered):6.3f} ms  "
        f"p99={percentile(ordered, 0.99):6.3f} ms  max={ordered[-1]:6.3f} ms"
    )
    keywords = len(dictionary._index().by_keyword)
    print(f"dictionary: {keywords} keywords ({len(dictionary._index().retired.keys)} retired); target p99 < 10 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
