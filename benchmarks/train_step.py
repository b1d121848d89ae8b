"""Training speed per model: steps/s, pairs/s and the fraction of step time spent waiting for data.

Runs ``trainer.loop.fit`` (the real loop: DataLoader workers, device transfer, targets, loss,
optimiser, logging) for ``--steps`` steps per model on dataprep shards and reports the scalars it
logged over the second half of the steps (the first half warms up workers, caches and kernels).

    python benchmarks/train_step.py [--shards DIR] [--models siamrpn,siamconcatrpn,siambroadcastrpn]
        [--batch 16] [--workers 4] [--steps 20] [--device cpu|cuda] [--small]

CPU: ``--small`` uses reduced-width networks (same views) so the loop, not the network, is timed.
CUDA target: data-wait < 5 % for SiamRPN at batch 64 with 8 workers
(``--models siamrpn --batch 64 --workers 8 --device cuda``). Without ``--shards`` a TrackingNet-layout
set is generated and built with ``dataprep build`` (as in ``loader_throughput.py``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from loader_throughput import _small, build_shards  # benchmarks/ is on sys.path when run as a script

from trainer.config import load_config
from trainer.loop import fit

REPO = Path(__file__).resolve().parents[1]


def bench(model: str, shards: Path, args, run_root: Path) -> dict:
    overrides = [
        f"train.batch_size={args.batch}", f"data.workers={args.workers}", f"train.max_steps={args.steps}",
        f"train.log_every={max(1, args.steps // 2)}", f"train.device={args.device}", "train.validate=false",
        "data.val_fraction=0.0", f"data.samples_per_epoch={args.batch * args.steps * 2}",
        f"train.checkpoint_every={10 * args.steps}",
    ]
    if args.small:
        overrides += [f"model.args.{k}={_toml(v)}" for k, v in _small(model).items()]
    cfg = load_config(REPO / "pipelines" / "train" / f"{model}.toml", overrides)
    cfg.data.shards = [str(shards)]
    t = time.perf_counter()
    result = fit(cfg, run_root / model, progress=False)
    wall = time.perf_counter() - t
    last = result.history[-1]
    return {"model": model, "steps_per_s": last["pairs_per_s"] / args.batch, "pairs_per_s": last["pairs_per_s"],
            "data_wait": last["data_wait_fraction"], "loss": last["loss"], "wall_s": wall}


def _toml(v) -> str:
    return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, (list, tuple)) else str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shards", type=Path, default=None)
    ap.add_argument("--models", default="siamrpn,siamconcatrpn,siambroadcastrpn")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--small", action="store_true", help="reduced-width networks (CPU smoke numbers)")
    ap.add_argument("--videos", type=int, default=32)
    ap.add_argument("--pairs", type=int, default=16)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="train-bench-") as tmp:
        shards = args.shards or build_shards(Path(tmp), args.videos, 12, args.pairs)
        dev = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
        print(f"device {dev}, batch {args.batch}, {args.workers} workers, {args.steps} steps"
              f"{', small networks' if args.small else ''}")
        print(f"{'model':18s} {'steps/s':>8s} {'pairs/s':>8s} {'data wait':>9s} {'loss':>8s}")
        for model in args.models.split(","):
            r = bench(model.strip(), shards, args, Path(tmp) / "runs")
            print(f"{r['model']:18s} {r['steps_per_s']:8.2f} {r['pairs_per_s']:8.1f} {100 * r['data_wait']:8.1f}% "
                  f"{r['loss']:8.3f}")


if __name__ == "__main__":
    main()
