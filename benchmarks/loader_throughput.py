"""Training-loader throughput: pairs/s per worker process reading dataprep shards.

Prints, measured in the same run, in this process with one OpenCV/torch thread (= one DataLoader
worker):

1. **floor**: read each record's raw bytes from LMDB (in the loader's shard/key batch order),
   msgpack-decode it and decode its two JPEG crops, nothing else;
2. **loader**: what a worker does per batch (``PairStream`` batches: read, unpack + validate,
   decode, photometric augmentation, stack into uint8 tensors), as pairs/s;
3. their ratio (target: loader >= 1500 pairs/s per worker and within 2x of the floor);
4. with ``--workers N``: a real ``DataLoader`` with N worker processes, pairs/s in total and per
   worker (bounded by the free cores).

    python benchmarks/loader_throughput.py [--shards DIR] [--model siamrpn] [--batch 16] [--repeat 3]

Without ``--shards`` it generates a TrackingNet-layout set and builds it with ``dataprep build``
(synchronous) into a temp folder, with the views of every model. Run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import msgpack
import torch
from torch.utils.data import DataLoader

from tracker.models import create_model
from trainer.config import AugmentConfig
from trainer.data import PairStream, decode_jpeg_rgb
from trainer.sources import open_sources


def build_shards(out: Path, videos: int, frames: int, pairs: int) -> Path:
    from testkit.shards import build_generated_trackingnet

    t = time.perf_counter()
    build = build_generated_trackingnet(out, sequences=videos, frames=frames, size=(640, 360), pairs_per_sequence=pairs,
                                        videos_per_shard=max(1, videos // 4))
    print(f"built {videos} videos x {pairs} pairs in {time.perf_counter() - t:.1f} s -> {build}")
    return build


def make_stream(sources, batch: int, augment: bool) -> PairStream:
    # One pair per sequence would give few batches on a small set: sample every record once per epoch.
    ds = PairStream(sources, batch, seed=0, augment=AugmentConfig() if augment else None,
                    samples_per_epoch=len(sources.catalog))
    ds.set_epoch(0)
    return ds


def time_floor(sources, plan, repeat: int) -> float:
    """pairs/s of raw LMDB reads + decoding the two crops, in the loader's read order."""
    cat = sources.catalog
    best = 0.0
    for _ in range(repeat):
        n, t = 0, time.perf_counter()
        for j in range(plan.num_batches):
            rows, _ = plan.batch(j)
            for r in sorted(rows.tolist(), key=lambda r: (cat.shard[r], cat.key[r])):
                raw = sources.readers[cat.shard[r]].raw(cat.key[r])
                for data, size in _crops(raw, sources.crop_names[0]):
                    decode_jpeg_rgb(data, size)
                n += 1
        best = max(best, n / (time.perf_counter() - t))
    return best


def _crops(raw: bytes, names: dict) -> list[tuple[bytes, int]]:
    """The two JPEGs of a record: plain msgpack decoding, no schema validation (the floor)."""
    record = msgpack.unpackb(raw, raw=False)
    return [(record["crops"][names[r]]["jpeg"], int(record["crops"][names[r]]["size"])) for r in ("exemplar", "search")]


def time_loader(ds: PairStream, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        n, t = 0, time.perf_counter()
        for batch in ds:
            n += len(batch["keys"])
        best = max(best, n / (time.perf_counter() - t))
    return best


def time_dataloader(ds: PairStream, workers: int) -> float:
    loader = DataLoader(ds, batch_size=None, num_workers=workers, prefetch_factor=4)
    it = iter(loader)
    first = next(it)  # start-up excluded
    n, t = 0, time.perf_counter()
    for batch in it:
        n += len(batch["keys"])
    del first
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shards", type=Path, default=None, help="a dataprep build folder (default: generate one)")
    ap.add_argument("--model", default="siamrpn", help="whose views to read: siamrpn | siamconcatrpn | siambroadcastrpn")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--videos", type=int, default=32)
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--workers", type=int, default=0, help="also time a DataLoader with this many workers")
    args = ap.parse_args()

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    tmp = None
    shards = args.shards
    if shards is None:
        tmp = tempfile.TemporaryDirectory(prefix="loader-bench-")
        shards = build_shards(Path(tmp.name), args.videos, 12, args.pairs)
    model = create_model(args.model, **_small(args.model))
    sources = open_sources([shards], model, val_fraction=0.0)
    print(f"{len(sources.catalog)} pairs, views {sources.crop_names[0]}, batch {args.batch}")
    ds = make_stream(sources, args.batch, augment=True)
    time_loader(ds, 1)  # warm the page cache and the code paths
    floor = time_floor(sources, ds.plan, args.repeat)
    plain = time_loader(make_stream(sources, args.batch, augment=False), args.repeat)
    full = time_loader(ds, args.repeat)
    print(f"floor  (LMDB read + decode 2 crops):            {floor:8.0f} pairs/s")
    print(f"loader (+ unpack, validate, stack), no augment: {plain:8.0f} pairs/s  ({floor / plain:.2f}x floor)")
    print(f"loader (+ photometric augmentation):            {full:8.0f} pairs/s  ({floor / full:.2f}x floor)")
    ok = full >= 1500 and floor / full <= 2.0
    print(f"target >= 1500 pairs/s per worker and <= 2x floor: {'met' if ok else 'NOT met'}")
    if args.workers:
        rate = time_dataloader(ds, args.workers)
        print(f"DataLoader, {args.workers} workers: {rate:8.0f} pairs/s ({rate / args.workers:.0f} per worker)")
    if tmp is not None:
        tmp.cleanup()


def _small(name: str) -> dict:
    """Views only matter here: build the model small."""
    return {"siamrpn": {"channels": 8},
            "siamconcatrpn": dict(backbone_width=8, backbone_blocks=(1, 1, 1), channels=8, refine_channels=8,
                                  extra_channels=(8, 8, 8)),
            "siambroadcastrpn": dict(backbone_width=8, backbone_blocks=(1, 1, 1), channels=8, block_channels=8)}[name]


if __name__ == "__main__":
    main()
