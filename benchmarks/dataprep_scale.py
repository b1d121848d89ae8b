"""TrackingNet-scale dry run: how planning, driver memory and metadata grow from 300 to 30,000 sequences.

Generates a TrackingNet layout (``TRAIN_0/anno/<seq>.txt`` + ``TRAIN_0/frames/<seq>/<i>.jpg``) of N
sequences whose small frames are hard links to a few real-size-independent JPEGs (so 30,000 sequences
cost seconds and no disk), then runs ``dataprep build`` on it, as a user would, at each scale, in a fresh
process per build. Prints per scale: listing and planning time, shards, the driver's peak resident
memory (the ``dataprep build`` process itself; forked workers are separate processes), and the bytes of
every file of the build except the shards themselves (sidecars, rows files, manifest, build.json), per
pair and per sequence. Then how each grows per 1,000 sequences between the smallest and largest scale.

Targets (issue 12): driver memory growth < 2 MB per 1,000 sequences; metadata <= 100 B per pair. The
driver holds a bounded amount of manifest rows (one Parquet row group, 16,384 rows) and of submitted
tasks (2 per worker), so its growth is measured from each scale to the largest; from the smallest it
includes filling those bounds.

    python benchmarks/dataprep_scale.py [--scales 300 3000 30000] [--pairs 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from testkit.trackingnet import trackingnet_name

DRIVER = """
import json, resource, sys, time
from dataprep.cli import app
t = time.perf_counter()
try:
    app(sys.argv[2:], standalone_mode=False)
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(sys.argv[1], "w") as f:
        json.dump({"maxrss_kib": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "wall_s": time.perf_counter() - t}, f)
"""


def write_layout(root: Path, sequences: int, frames: int = 2, size: tuple[int, int] = (160, 120)) -> float:
    """A TrackingNet chunk of ``sequences`` sequences sharing ``frames`` JPEGs by hard link; seconds taken."""
    t = time.perf_counter()
    chunk = root / "TRAIN_0"
    (chunk / "anno").mkdir(parents=True)
    (chunk / "frames").mkdir()
    source = root / "_frames"
    source.mkdir()
    rng = np.random.default_rng(0)
    w, h = size
    for i in range(frames):
        image = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 2)
        cv2.imwrite(str(source / f"{i}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    anno = "".join(f"{w * 0.3 + i:.1f},{h * 0.3:.1f},{w * 0.3:.1f},{h * 0.35:.1f}\n" for i in range(frames))
    for s in range(sequences):
        name = trackingnet_name(0, s)
        (chunk / "anno" / f"{name}.txt").write_text(anno)
        folder = chunk / "frames" / name
        folder.mkdir()
        for i in range(frames):
            os.link(source / f"{i}.jpg", folder / f"{i}.jpg")
    return time.perf_counter() - t


def run_build(root: Path, out: Path, pairs: int, workers: int) -> dict:
    """``dataprep build`` in a fresh process; its own peak memory and CPU, and build.json's run section."""
    stats = out.parent / f"{out.name}-driver.json"
    cmd = [sys.executable, "-c", DRIVER, str(stats), "build", "--dataset", "trackingnet", "--root", str(root),
           "--out", str(out), "--pairs-per-sequence", str(pairs), "--workers", str(workers), "--no-progress"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"build failed ({res.returncode}):\n{res.stderr[-3000:]}")
    build = json.loads((out / "build.json").read_text())
    metadata = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.suffix != ".lmdb")
    return {**json.loads(stats.read_text()), "run": build["run"], "pairs": build["counts"]["pairs"],
            "shards": build["counts"]["shards"], "metadata_bytes": metadata,
            "samples_bytes": (out / "manifest" / "samples.parquet").stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[300, 3000, 30000], help="sequences per build")
    ap.add_argument("--pairs", type=int, default=8, help="pairs per sequence (TrackingNet default: 8)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dataprep-scale-") as tmp:
        for n in sorted(args.scales):
            root = Path(tmp) / f"tn{n}"
            gen_s = write_layout(root, n)
            r = run_build(root, Path(tmp) / f"out{n}", args.pairs, args.workers)
            r["sequences"], r["generate_s"] = n, gen_s
            rows.append(r)
            print(f"{n:>7,} sequences: generated in {gen_s:5.1f} s; build {r['run']['wall_s']:6.1f} s "
                  f"(list {r['run']['list_s']:.2f} s, plan {r['run']['plan_s']:.3f} s), {r['shards']} shards, "
                  f"{r['pairs']:,} pairs; driver peak {r['maxrss_kib'] / 1024:6.1f} MiB, CPU {r['cpu_s']:.1f} s; "
                  f"metadata {r['metadata_bytes'] / r['pairs']:5.1f} B/pair "
                  f"(samples.parquet {r['samples_bytes'] / r['pairs']:.1f})", flush=True)
    for a in rows[:-1]:
        growth(a, rows[-1])


def growth(a: dict, b: dict) -> None:
    per_k = (b["sequences"] - a["sequences"]) / 1000
    print(f"\ngrowth from {a['sequences']:,} to {b['sequences']:,} sequences, per 1,000 sequences:")
    print(f"   driver peak memory {(b['maxrss_kib'] - a['maxrss_kib']) / 1024 / per_k:7.3f} MiB   (target < 2 MB)")
    print(f"   listing time       {(b['run']['list_s'] - a['run']['list_s']) / per_k:7.3f} s")
    print(f"   planning time      {(b['run']['plan_s'] - a['run']['plan_s']) / per_k * 1e3:7.3f} ms")
    print(f"   metadata           {(b['metadata_bytes'] - a['metadata_bytes']) / per_k / 1024:7.1f} KiB "
          f"({(b['metadata_bytes'] - a['metadata_bytes']) / (b['pairs'] - a['pairs']):.1f} B/pair; target <= 100)")

if __name__ == "__main__":
    main()
