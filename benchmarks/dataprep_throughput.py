"""Throughput of `dataprep build` on 1280x720 JPEG frames (a generated TrackingNet set).

Prints, measured in the same run:

1. CPU-ms per pair of the shard task (``dataprep.task.build_shard``, in this process, one thread),
   and the floor: decoding the frames that task decodes + encoding the crops it writes (same
   frames, same crops, same JPEG quality). Their ratio is the build's overhead (target <= 1.5).
2. pairs/s of a whole build on a LocalCluster with 1 and 2 workers (work time, cluster start-up
   excluded) and their ratio (target >= 1.7 with 2 free cores).
3. With ``--malloc-compare``: the 1-worker build again with Dask's default malloc settings
   (``MALLOC_TRIM_THRESHOLD_`` 64 KiB) to show what the worker settings buy.

    python benchmarks/dataprep_throughput.py [--videos 8] [--frames 60] [--pairs 8]

Run it on an otherwise idle machine: the numbers are only meaningful against each other.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2

from dataprep import synthetic
from dataprep.build import run_build
from dataprep.config import DaskConfig, OutputConfig, load_config, with_overrides
from dataprep.records import decode_jpeg_rgb, encode_jpeg_rgb
from dataprep.sources import get_source, read_frame
from dataprep.task import ShardTask, build_shard, plan_sha256
from siamcore.shards import ShardReader


def generate(root: Path, videos: int, frames: int) -> None:
    t = time.perf_counter()
    synthetic.write_trackingnet(root, chunks=(0,), sequences_per_chunk=videos, frames=frames, size=(1280, 720), seed=0)
    print(f"generated {videos} videos x {frames} frames of 1280x720 in {time.perf_counter() - t:.1f} s")


def task_cpu_ms_per_pair(root: Path, work: Path, pairs: int, repeat: int) -> tuple[float, dict, ShardTask]:
    """Best-of-``repeat`` thread CPU time of one shard task holding every video."""
    cfg = with_overrides(load_config(None, "trackingnet"), root=root, pairs_per_sequence=pairs)
    videos, _ = get_source("trackingnet").list_videos(str(root))
    task = ShardTask("bench", str(work), tuple(videos), cfg, plan_sha256(cfg.sha256(), "bench", videos))
    best, result = float("inf"), None
    for _ in range(repeat):
        result = build_shard(task)
        best = min(best, result["timing"]["cpu_s"])
    return best * 1e3 / result["records"], result, task


def floor_cpu_ms_per_pair(task: ShardTask, result: dict, repeat: int) -> tuple[float, float]:
    """Decode the frames the task decoded + encode the crops it wrote (thread CPU, best of ``repeat``)."""
    cv2.setNumThreads(1)
    source = get_source("trackingnet")
    sequences = {}
    for v in task.videos:
        for s in source.load_video(v)[0]:
            sequences[s.video.name] = s
    frames = sorted(
        {sequences[r["sequence"]].frames[r["search_frame"]] for r in result["rows"]}
        | {sequences[r["exemplar_sequence"]].frames[r["exemplar_frame"]] for r in result["rows"]},
        key=lambda ref: ref.path,
    )
    assert len(frames) == result["counts"]["frames_decoded"], "floor must decode what the task decoded"
    crops = []
    for rec in ShardReader(Path(task.out_dir) / "shards" / "bench.lmdb"):
        crops += [decode_jpeg_rgb(c["jpeg"]) for c in rec["crops"].values()]
    quality = task.config.output.jpeg_quality
    decode_s = encode_s = float("inf")
    for _ in range(repeat):
        t = time.thread_time()
        for ref in frames:
            read_frame(ref)
        decode_s = min(decode_s, time.thread_time() - t)
        t = time.thread_time()
        for img in crops:
            encode_jpeg_rgb(img, quality)
        encode_s = min(encode_s, time.thread_time() - t)
    n = result["records"]
    return decode_s * 1e3 / n, encode_s * 1e3 / n


def _quiet_console():
    from rich.console import Console

    return Console(stderr=True, quiet=True)


def cluster_pairs_per_s(root: Path, out: Path, workers: int, pairs: int, dask_cfg: DaskConfig | None = None) -> float:
    cfg = load_config(None, "trackingnet").replace(output=OutputConfig(videos_per_shard=1))
    cfg = with_overrides(cfg, root=root, out=out, pairs_per_sequence=pairs, workers=workers, scheduler="local")
    if dask_cfg is not None:
        cfg = cfg.replace(dask=dask_cfg)
    run = run_build(cfg, overwrite=True, console=_quiet_console(), show_progress=False).build["run"]
    busy = run["task_cpu_s"] / (run["work_wall_s"] * workers)
    print(f"   ({workers} worker(s): {run['pairs_built']} pairs in {run['work_wall_s']:.2f} s, "
          f"task CPU / (wall x workers) = {busy:.2f})")
    return run["pairs_built"] / run["work_wall_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=8, help="generated videos (one shard per video in part 2)")
    ap.add_argument("--frames", type=int, default=60, help="frames per video")
    ap.add_argument("--pairs", type=int, default=8, help="pairs per sequence")
    ap.add_argument("--repeat", type=int, default=2, help="repeats of the CPU measurements (best kept)")
    ap.add_argument("--malloc-compare", action="store_true", help="also run 1 worker with Dask's malloc defaults")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dataprep-bench-") as tmp:
        tmp = Path(tmp)
        root = tmp / "trackingnet"
        generate(root, args.videos, args.frames)

        task_ms, result, task = task_cpu_ms_per_pair(root, tmp / "task", args.pairs, args.repeat)
        decode_ms, encode_ms = floor_cpu_ms_per_pair(task, result, args.repeat)
        floor_ms = decode_ms + encode_ms
        n, frames = result["records"], result["counts"]["frames_decoded"]
        print(f"\n1. shard task, one thread: {n} pairs, {frames} frames decoded, "
              f"{sum(1 for _ in ShardReader(tmp / 'task' / 'shards' / 'bench.lmdb'))} records")
        print(f"   build task      {task_ms:8.2f} CPU-ms/pair")
        print(f"   floor           {floor_ms:8.2f} CPU-ms/pair  (decode {decode_ms:.2f} + encode {encode_ms:.2f})")
        print(f"   ratio task/floor {task_ms / floor_ms:7.2f}   (target <= 1.5)")

        print(f"\n2. LocalCluster, {args.videos} shards of 1 video:")
        one = cluster_pairs_per_s(root, tmp / "w1", 1, args.pairs)
        two = cluster_pairs_per_s(root, tmp / "w2", 2, args.pairs)
        print(f"   1 worker  {one:8.1f} pairs/s")
        print(f"   2 workers {two:8.1f} pairs/s")
        print(f"   ratio 2/1 {two / one:8.2f}   (target >= 1.7)")

        if args.malloc_compare:
            dask_default = DaskConfig(workers=1, malloc_trim_threshold_bytes=65536, malloc_top_pad_bytes=131072)
            print("\n3. 1 worker, malloc settings:")
            slow = cluster_pairs_per_s(root, tmp / "w1d", 1, args.pairs, dask_default)
            print(f"   dataprep's  {one:8.1f} pairs/s (MALLOC_TRIM_THRESHOLD_ 128 MiB, MALLOC_TOP_PAD_ 64 MiB)")
            print(f"   Dask's      {slow:8.1f} pairs/s (MALLOC_TRIM_THRESHOLD_ 64 KiB)")
            print(f"   ratio       {one / slow:8.2f}")


if __name__ == "__main__":
    main()
