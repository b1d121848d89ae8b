"""Throughput of `dataprep build` on 1280x720 JPEG frames (a generated TrackingNet set).

Prints, measured in the same run:

1. CPU-ms per pair of the shard task (``dataprep.task.build_shard``, in this process, one thread),
   and the floor: decoding the frames that task decodes (at the reductions it decodes them at) +
   encoding the crops it writes (same frames, same crops, same JPEG quality). Their ratio is the
   build's overhead (target <= 1.1).
2. pairs/s of a default build (shards sized by the config, the same layout whatever the workers) on
   a LocalCluster with 1 and 2 workers (work time, cluster start-up excluded) and their ratio (target
   >= 1.8 with 2 free cores), on the generated 720p set and on as many videos of real frames at their
   real sizes from ../shared/data (VOT2017, VOT, OTB).
3. The fixed cost of a build: CPU of the whole process tree of a `dataprep build` of one small video
   minus its shard task's CPU, per way of starting the workers (target <= 1.5 CPU-s).
4. With ``--malloc-compare``: the 1-worker build again with Dask's default malloc settings
   (``MALLOC_TRIM_THRESHOLD_`` 64 KiB) to show what the worker settings buy.

    python benchmarks/dataprep_throughput.py [--videos 32] [--frames 60] [--pairs 8] [--real-pairs 32] [--repeat 2]

Run it on an otherwise idle machine: the numbers are only meaningful against each other.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from dataprep.build import run_build
from dataprep.config import DaskConfig, load_config, with_overrides
from dataprep.records import decode_jpeg_rgb, encode_jpeg_rgb
from dataprep.sources import get_source
from dataprep.task import ShardTask, build_shard, plan_sha256
from siamcore.shards import ShardReader

from testkit.trackingnet import write_trackingnet


def generate(root: Path, videos: int, frames: int) -> None:
    t = time.perf_counter()
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=videos, frames=frames, size=(1280, 720), seed=0)
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
    """Decode the frames the task decoded, each at the reduction the build decoded it at (the same
    plan through the same :func:`dataprep.task.frame_reduction`), + encode the crops it wrote (thread
    CPU, best of ``repeat``): otherwise a build that decodes less would look like overhead."""
    from dataprep.sources import read_frame_reduced  # imported here: only this function uses them
    from dataprep.task import frame_jobs, frame_reduction, load_sequences, plan_task_pairs

    cv2.setNumThreads(1)
    sequences, _ = load_sequences(task)
    plans, _ = plan_task_pairs(task, sequences)
    jobs = frame_jobs(sequences, plans)
    frames = [(ref, frame_reduction(task.config, sequences, plans, jobs[ref]))
              for ref in sorted(jobs, key=lambda ref: (ref.path, ref.member or ""))]
    assert len(frames) == result["counts"]["frames_decoded"], "floor must decode what the task decoded"
    reduced = {}
    for ref, r in frames:
        if (got := read_frame_reduced(ref, reduction=r).reduction) > 1:
            reduced[str(got)] = reduced.get(str(got), 0) + 1
    assert reduced == result["counts"]["frames_reduced"], "floor must decode at the task's reductions"
    crops = []
    for rec in ShardReader(Path(task.out_dir) / "shards" / "bench.lmdb"):
        crops += [decode_jpeg_rgb(c["jpeg"]) for c in rec["crops"].values()]
    quality = task.config.output.jpeg_quality
    decode_s = encode_s = float("inf")
    for _ in range(repeat):
        t = time.thread_time()
        for ref, r in frames:
            read_frame_reduced(ref, reduction=r)
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
    """pairs/s of the shard tasks (cluster start-up excluded) of a default build (shards sized by the
    config's rule, the same layout for any number of workers) on a LocalCluster of ``workers``."""
    cfg = load_config(None, "trackingnet")
    cfg = with_overrides(cfg, root=root, out=out, pairs_per_sequence=pairs, workers=workers, scheduler="local")
    if dask_cfg is not None:
        cfg = cfg.replace(dask=dask_cfg)
    build = run_build(cfg, overwrite=True, console=_quiet_console(), show_progress=False).build
    run = build["run"]
    busy = run["task_cpu_s"] / (run["work_wall_s"] * workers)
    print(f"   ({workers} worker(s): {run['pairs_built']} pairs, {build['counts']['shards']} shards in "
          f"{run['work_wall_s']:.2f} s, whole build {run['wall_s']:.2f} s, task CPU / (wall x workers) = {busy:.2f})")
    return run["pairs_built"] / run["work_wall_s"]


def worker_scaling(name: str, root: Path, tmp: Path, pairs: int, repeat: int) -> float:
    """Best pairs/s of 1 and of 2 workers over ``repeat`` interleaved builds (1, 2, 1, 2, ...)."""
    print(f"\n2. {name}, {pairs} pairs per video: LocalCluster with 1 and 2 workers, best of {repeat} interleaved")
    best = {1: 0.0, 2: 0.0}
    for r in range(repeat):
        for workers in (1, 2):
            best[workers] = max(best[workers], cluster_pairs_per_s(root, tmp / f"{name}-w{workers}-{r}", workers, pairs))
    print(f"   1 worker  {best[1]:8.1f} pairs/s")
    print(f"   2 workers {best[2]:8.1f} pairs/s")
    print(f"   ratio 2/1 {best[2] / best[1]:8.2f}   (target >= 1.8)")
    return best[2] / best[1]


def real_size_set(root: Path, videos: int, frames: int) -> bool:
    """``videos`` TrackingNet-layout videos of real frames at their real sizes (VOT2017 ball1 1280x720,
    traffic 1210x681, book 640x480, VOT bag 480x360, OTB Deer 704x400 ...) from ../shared/data."""
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    folders = [data / "vot2017" / n for n in ("ball1", "traffic", "book")] + [data / "vot" / "bag"]
    folders += [data / "otb" / n for n in ("Deer", "Car4", "Crossing", "Couple")]
    folders = [f for f in folders if f.is_dir()]
    if not folders:
        return False
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=videos, frames=frames, seed=0,
                      real_frames_from=folders)
    return True


def _reap_all() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def tree_cpu_s(cmd: list[str]) -> float:
    """CPU seconds of ``cmd`` and every process it started, orphans included (this process is made
    their "subreaper", so a Dask worker or fork server that outlives its parent is still counted)."""
    _reap_all()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _reap_all()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def fixed_cost(tmp: Path, repeat: int) -> None:
    """CPU of a whole `dataprep build` of one small video minus its shard task's CPU, per way of running."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    root = tmp / "one"
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=1, frames=4, size=(320, 240), seed=0)
    print("\n3. fixed cost per build: CPU of the whole process tree of `dataprep build` (1 video, 8 pairs) minus "
          f"its shard task's CPU, best of {repeat}")
    variants = {"local, 2 workers, forked (default)": {}, "local, 2 workers, fork server": {"start_method": "forkserver"},
                "local, 2 workers, spawned": {"start_method": "spawn"},
                "local, 2 workers, forked, --dashboard": {"dashboard": True},
                "synchronous (no cluster)": {"scheduler": "synchronous"}}
    for i, (label, dask) in enumerate(variants.items()):
        config = tmp / f"fixed-{i}.toml"
        config.write_text('dataset = "trackingnet"\n[dask]\n' + "".join(
            f"{k} = {json.dumps(v)}\n" for k, v in dask.items()))
        best = float("inf")
        for r in range(repeat):
            out = tmp / f"fixed-{i}-{r}"
            cpu = tree_cpu_s([str(Path(sys.executable).parent / "dataprep"), "build", "--config", str(config),
                              "--root", str(root), "--out", str(out), "--no-progress"])
            task = json.loads((out / "build.json").read_text())["run"]["task_cpu_s"]
            best = min(best, cpu - task)
        print(f"   {label:40s} {best:5.2f} CPU-s" + ("   (target <= 1.5)" if not dask else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=32, help="videos of the generated 720p set and of the real set")
    ap.add_argument("--frames", type=int, default=60, help="frames per video")
    ap.add_argument("--pairs", type=int, default=8, help="pairs per sequence")
    ap.add_argument("--real-pairs", type=int, default=32,
                    help="pairs per video of the real-size set (its frames are small, so more work per video)")
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
        print(f"\n1. shard task, one thread: {n} pairs, {frames} frames decoded "
              f"({result['counts']['frames_reduced'] or 'none'} reduced)")
        print(f"   build task      {task_ms:8.2f} CPU-ms/pair")
        print(f"   floor           {floor_ms:8.2f} CPU-ms/pair  (decode {decode_ms:.2f} + encode {encode_ms:.2f})")
        print(f"   ratio task/floor {task_ms / floor_ms:7.2f}   (target <= 1.1)")

        worker_scaling("generated 1280x720 set", root, tmp, args.pairs, args.repeat)
        real = tmp / "real"
        if real_size_set(real, args.videos, args.frames):
            worker_scaling(f"{args.videos} videos of real frames at their real sizes", real, tmp, args.real_pairs,
                           args.repeat)
        else:
            print("\n2. real-size set skipped: ../shared/data not found")

        fixed_cost(tmp, args.repeat + 1)

        if args.malloc_compare:
            one = cluster_pairs_per_s(root, tmp / "w1m", 1, args.pairs)
            dask_default = DaskConfig(workers=1, malloc_trim_threshold_bytes=65536, malloc_top_pad_bytes=131072)
            print("\n4. 1 worker, malloc settings:")
            slow = cluster_pairs_per_s(root, tmp / "w1d", 1, args.pairs, dask_default)
            print(f"   dataprep's  {one:8.1f} pairs/s (trim threshold 128 MiB, top pad 64 MiB)")
            print(f"   Dask's      {slow:8.1f} pairs/s (MALLOC_TRIM_THRESHOLD_ 64 KiB)")
            print(f"   ratio       {one / slow:8.2f}")


if __name__ == "__main__":
    main()
