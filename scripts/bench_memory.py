#!/usr/bin/env python3
"""Memory benchmark (issue 19): getsh's peak RSS for one large object in each storage mode, and for a
deflate bomb, against the promise in docs/performance.md.

Generates one multi-frame Secondary Capture object of ``--size`` MiB (1000 MiB; ``--quick``:
300 MiB) and a deflate bomb: the same kind of object stored Deflated Explicit VR Little Endian, whose
~1 MB of deflated bytes inflate to ``--bomb`` MiB (``--quick``: 128 MiB). Both are served by a DCMTK
dcmqrscp it starts on 127.0.0.1 (TCP_NODELAY=1) and stops. Each run is getsh in a child process under
GNU time (its peak RSS), ``getsh -c 'set …; connect …; get …'``:

- large object: normal on the direct path, normal on pynetdicom's path (``set receive pynetdicom``),
  bit-preserving; every file checked (size, SOP Instance UID, pixel data digest);
- deflate bomb (``+xd``: only Deflated Explicit VR Little Endian accepted): bit-preserving (kept as
  sent; the table's header read inflates only its first bytes), normal under the default
  ``max-inflated`` (inflated in a stream to a spool file, written deflated again), and normal with
  ``max-inflated`` below the bomb's size (refused: 0xA700, one line, nothing written).

The target for every run: peak RSS < 150 MB + 1.1 × the largest non-bulk part (here a few KB).
Exits 1 if a run failed, lost or changed its object, or missed the target.

    python scripts/bench_memory.py            # ~1 GB object, ~1 GB bomb (a minute or two, 3 GB of disk)
    python scripts/bench_memory.py --quick    # ~300 MB, a 128 MB bomb (CI: tests/interop/test_bench_memory_quick.py)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.peers import HOST, Dcmqrscp  # noqa: E402

AE = "MEMQR"
TIME = Path("/usr/bin/time")
MIB = 1024 * 1024
ROWS = COLS = 1024  # 16-bit: 2 MiB a frame
FRAME = ROWS * COLS * 2
BASE_MB = 150  # the promise: peak RSS < 150 MB + 1.1 × the largest non-bulk part
SC = "1.2.840.10008.5.1.4.1.1.7"
EXPLICIT, DEFLATED = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99"


def _header(uid: str, frames: int, syntax: str) -> tuple[bytes, bytes]:
    """File Meta (with preamble) and the data set's elements before Pixel Data, Explicit VR LE."""
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset, write_file_meta_info

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = SC, uid
    ds.PatientID, ds.PatientName, ds.Modality = "MEMBENCH", "Memory^Bench", "OT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid + ".1", uid + ".2"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames, ds.Rows, ds.Columns = frames, ROWS, COLS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = SC, uid
    meta.TransferSyntaxUID = syntax
    head = DicomBytesIO()
    head.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    body = DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    return head.getvalue(), body.getvalue()


def _frame(i: int) -> bytes:
    return (struct.pack("<I", i) * (FRAME // 4))


def make_object(path: Path, uid: str, size_mb: int) -> dict[str, Any]:
    """A Part 10 file of about ``size_mb`` MiB, written a frame at a time; its pixel data's SHA-256."""
    frames = max(1, size_mb * MIB // FRAME - 1)
    meta, body = _header(uid, frames, EXPLICIT)
    digest = hashlib.sha256()
    with open(path, "wb") as fp:
        fp.write(meta + body + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, frames * FRAME))
        for i in range(frames):
            frame = _frame(i % 251)
            digest.update(frame)
            fp.write(frame)
    return {"uid": uid, "bytes": path.stat().st_size, "pixels": digest.hexdigest()}


def make_bomb(path: Path, uid: str, size_mb: int) -> dict[str, Any]:
    """A Deflated Explicit VR LE file whose data set inflates to about ``size_mb`` MiB (zeros)."""
    frames = max(1, size_mb * MIB // FRAME - 1)
    meta, body = _header(uid, frames, DEFLATED)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(FRAME)
    with open(path, "wb") as fp:
        fp.write(meta)
        fp.write(deflater.compress(body + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, frames * FRAME)))
        for _ in range(frames):
            fp.write(deflater.compress(zeros))
        tail = deflater.flush()
        fp.write(tail + (b"\0" if (path.stat().st_size + len(tail) - len(meta)) % 2 else b""))
    return {"uid": uid, "bytes": path.stat().st_size, "inflated": len(body) + 12 + frames * FRAME,
            "non_bulk": len(body)}


def run_getsh(port: int, out: Path, uid: str, sets: list[str], timeout: float, tree: Path = ROOT) -> dict[str, Any]:
    """One retrieve in a child getsh under GNU time: exit code, peak RSS (MB), seconds, its output."""
    out.mkdir(parents=True, exist_ok=True)
    line = "; ".join([*sets, f"connect {HOST} {port} --aec {AE}", f"output {out}",
                      f"get QueryRetrieveLevel=STUDY StudyInstanceUID={uid}.1"])
    rss_file = out.parent / (out.name + ".rss")
    argv = [sys.executable, "-m", "getsh", "-c", line]
    if TIME.exists():
        argv = [str(TIME), "-q", "-f", "%M", "-o", str(rss_file), *argv]
    env = {**os.environ, "GETSH_HOME": str(out.parent / "home"), "NO_COLOR": "1", "TCP_NODELAY": "1",
           "PYTHONPATH": str(tree)}
    began = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=tree)
    seconds = time.monotonic() - began
    rss_kb = int(rss_file.read_text().split()[-1]) if rss_file.exists() else 0
    return {"exit": result.returncode, "rss_mb": rss_kb / 1024, "seconds": seconds,
            "output": (result.stdout + result.stderr)[-3000:]}


def stored_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file()]


def check_large(out: Path, obj: dict[str, Any]) -> list[str]:
    """The object arrived whole: one file, its SOP Instance UID, the same pixel data (read in chunks)."""
    from pydicom import dcmread

    files = stored_files(out)
    if len(files) != 1:
        return [f"{len(files)} files stored, 1 expected"]
    head = dcmread(files[0], stop_before_pixels=True)
    problems = [] if str(head.SOPInstanceUID) == obj["uid"] else [f"SOP Instance UID {head.SOPInstanceUID}"]
    with open(files[0], "rb") as fp:
        data = fp.read(1 << 16)
        at = data.find(b"\xe0\x7f\x10\x00OW")
        if at < 0:
            return [*problems, "no pixel data"]
        fp.seek(at + 12)
        digest, left = hashlib.sha256(), int.from_bytes(data[at + 8 : at + 12], "little")
        while left:
            chunk = fp.read(min(left, 8 * MIB))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    if digest.hexdigest() != obj["pixels"]:
        problems.append("pixel data differs")
    return problems


def verdict(rss_mb: float, non_bulk: int) -> tuple[float, bool]:
    target = BASE_MB + 1.1 * non_bulk / 1e6
    return target, rss_mb < target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="a ~300 MB object, a ~128 MB bomb (CI)")
    parser.add_argument("--size", type=int, help="the large object, MiB (default 1000; --quick 300)")
    parser.add_argument("--bomb", type=int, help="what the deflate bomb inflates to, MiB (default 1000; --quick 128)")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one, removed)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--tree", type=Path, default=ROOT,
                        help="run getsh from this source tree (a checkout of another commit: before/after)")
    args = parser.parse_args(argv)
    size = args.size or (300 if args.quick else 1000)  # dcmqrscp indexes nothing of 1 GiB or more
    bomb_size = args.bomb or (128 if args.quick else 1000)
    work = args.work or Path(tempfile.mkdtemp(prefix="getsh-bench-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    try:
        big = make_object(work / "large.dcm", "1.2.826.0.1.3680043.9.7433.19.1", size)
        bomb = make_bomb(work / "bomb.dcm", "1.2.826.0.1.3680043.9.7433.19.2", bomb_size)
        print(f"large object: {big['bytes'] / 1e6:,.0f} MB; deflate bomb: {bomb['bytes'] / 1e6:,.2f} MB deflated, "
              f"{bomb['inflated'] / 1e6:,.0f} MB inflated")
        runs = [
            ("large object", "normal (direct path)", big, ["storage normal"]),
            ("large object", "normal (pynetdicom's path)", big, ["set receive pynetdicom", "storage normal"]),
            ("large object", "bit-preserving", big, ["storage bit-preserving"]),
            ("deflate bomb", "bit-preserving", bomb, ["prefer deflated", "storage bit-preserving"]),
            ("deflate bomb", "normal (under max-inflated)", bomb, ["prefer deflated", "storage normal"]),
            ("deflate bomb", "normal (max-inflated 64M)", bomb,
             ["prefer deflated", "storage normal", "set max-inflated 64M"]),
        ]
        peer = Dcmqrscp([work / "large.dcm", work / "bomb.dcm"], ae_title=AE, workdir=work / "peer",
                        extra_args=["+xd"], max_pdu=131072)
        with peer:
            port = peer.start()
            for n, (what, mode, obj, sets) in enumerate(runs):
                out = work / f"out{n}"
                sets = ["set model study", *(s if s.startswith("set ") else f"set {s}" for s in sets)]
                run = run_getsh(port, out, obj["uid"], sets, timeout=900, tree=args.tree.resolve())
                problems = []
                if "max-inflated 64M" in mode:
                    if "0xA700" not in run["output"] and "A700" not in run["output"]:
                        problems.append("the bomb was not refused with 0xA700")
                    if stored_files(out):
                        problems.append("a refused bomb left files")
                elif run["exit"] != 0:
                    problems.append(f"exit {run['exit']}")
                elif obj is big:
                    problems += check_large(out, big)
                elif len(stored_files(out)) != 1:
                    problems.append(f"{len(stored_files(out))} files stored, 1 expected")
                non_bulk = bomb["non_bulk"] if obj is bomb else 4096
                target, ok = verdict(run["rss_mb"], non_bulk)
                if not ok:
                    problems.append(f"peak RSS {run['rss_mb']:.0f} MB over the target {target:.0f} MB")
                rows.append({"workload": what, "mode": mode, "rss_mb": round(run["rss_mb"], 1),
                             "seconds": round(run["seconds"], 2), "target_mb": round(target, 1),
                             "problems": problems, "output": run["output"] if problems else ""})
                shutil.rmtree(out, ignore_errors=True)
        print(f"\n{'workload':<14} {'mode':<28} {'peak RSS':>10} {'target':>9} {'time':>8}  verdict")
        for row in rows:
            print(f"{row['workload']:<14} {row['mode']:<28} {row['rss_mb']:>7.0f} MB {row['target_mb']:>6.0f} MB "
                  f"{row['seconds']:>6.2f} s  {'ok' if not row['problems'] else '; '.join(row['problems'])}")
            if row["problems"]:
                print(row["output"])
        failures = sum(1 for row in rows if row["problems"])
        print("\nevery run within the target, every object intact" if not failures else f"\n{failures} run(s) failed")
        if args.json:
            args.json.write_text(json.dumps({"size_mb": size, "bomb_mb": bomb_size, "large": big, "bomb": bomb,
                                             "rows": rows, "failures": failures}, indent=1))
        return 1 if failures else 0
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        else:  # the figures stay; the big files (and the peer's copies of them) go
            for name in ("large.dcm", "bomb.dcm"):
                (work / name).unlink(missing_ok=True)
            shutil.rmtree(work / "peer", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
