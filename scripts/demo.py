"""`make demo`: the whole siamtrack pipeline, on real data when it sits beside the repo (~4 min, 2 cores).

1. writes a small synthetic TrackingNet (real on-disk layout) under demo-out/data;
2. `dataprep build` -> LMDB pair shards on a local Dask cluster, then `dataprep verify` / `info`;
3. COCO pairs with same-class distractors (`dataprep build --dataset coco`), `dataprep stats`, and
   `dataprep show` -> pictures of the pairs;
4. with the real data (../shared/data, or $SIAMTRACK_SHARED_DATA): pairs from its 15 training videos and
   coco128, then `trainer fit` trains a SiamRPN head on the frozen real SiamFC trunk for a few minutes
   (pipelines/cpu/siamrpn.toml, cached trunk features), and `tracker run` renders it tracking a held-out
   OTB sequence (demo-out/track-siamrpn.gif, ground truth in green); `tracker eval` scores it beside the
   real SiamFC weights on two OTB sequences. Without the real data, SiamRPN trains briefly on the
   synthetic shards instead: that shows the pipeline, not a tracker.
5. the real SiamFC weights track the VOT `bag` sequence (a GIF).

Every step is the command a user would type; they are printed before they run. Environment:
SIAMTRACK_DEMO_OUT (output folder, default demo-out), SIAMTRACK_DEMO_STEPS (training steps, default
600 on real data, 150 on synthetic data), SIAMTRACK_SHARED_DATA (the real data).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("SIAMTRACK_DEMO_OUT", REPO / "demo-out"))
BIN = Path(sys.executable).parent
SHARED = Path(os.environ.get("SIAMTRACK_SHARED_DATA", REPO.parent / "shared" / "data"))
STEPS = os.environ.get("SIAMTRACK_DEMO_STEPS")
EVAL_SEQUENCES = ("Crossing", "Couple")  # OTB sequences: never trained on
EXPECTED_MINUTES = {True: 4, False: 3}  # measured on this project's idle 2-core machine: 3m45s / 2m24s


def run(*args: str | Path) -> None:
    cmd = [str(a) for a in args]
    shown = " ".join(shlex.quote(a.replace(str(REPO) + "/", "")) for a in cmd)  # paths as typed from the repo
    print(f"\n\033[1m$ {shown}\033[0m", flush=True)
    subprocess.run([str(BIN / cmd[0]), *cmd[1:]], check=True, cwd=REPO)


def write_demo_data(trackingnet: Path, coco: Path) -> None:
    """Generated TrackingNet sequences; COCO from the real coco-mini photos when present (linked,
    not copied), else generated. Written once: a re-run reuses them."""
    from testkit.coco import link_coco_mini, write_coco
    from testkit.trackingnet import write_trackingnet

    if not (trackingnet / ".complete").exists():
        print(f"writing synthetic TrackingNet-layout demo data to {trackingnet} ...")
        write_trackingnet(trackingnet, chunks=(0, 1, 2), sequences_per_chunk=6, frames=80, size=(320, 240), seed=0)
        (trackingnet / ".complete").write_text("ok\n")
    if (SHARED / "coco-mini").is_dir():
        link_coco_mini(SHARED / "coco-mini", coco, "train2017")
    elif not (coco / "annotations").is_dir():
        write_coco(coco, "train2017", images=24, size=(320, 240), seed=0)


def held_out_sequence(root: Path, chunk: int) -> tuple[Path, str]:
    """The first sequence of ``TRAIN_<chunk>`` (read with dataprep's TrackingNet reader): its frame
    folder and its first box as ``--init`` text."""
    from dataprep.sources import get_source

    source = get_source("trackingnet")
    videos, _ = source.list_videos(str(root), chunks=[chunk])
    sequence = source.load_video(videos[0])[0][0]
    x, y, w, h = sequence.boxes_xywh[0]
    return root / f"TRAIN_{chunk}" / "frames" / videos[0].name, f"{x:.1f},{y:.1f},{w:.1f},{h:.1f}"


def train_on_synthetic_data(shards: Path, data: Path, run_dir: Path) -> list[Path]:
    """No real data: SiamRPN from scratch on the synthetic shards for a few steps (the pipeline only)."""
    steps = STEPS or "150"
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh short run each time
    run("trainer", "fit", "--config", "pipelines/train/siamrpn.toml", "--shards", shards, "--device", "cpu",
        "--max-steps", steps, "--run-dir", run_dir, "--set", "train.batch_size=8", "--set", "data.workers=2",
        "--set", "data.samples_per_epoch=400", "--set", "model.args.channels=64", "--set", "train.keep_checkpoints=1")
    run("trainer", "export", run_dir, "--out", OUT / "siamrpn-demo.safetensors")
    held_out, init_box = held_out_sequence(data, chunk=2)
    run("tracker", "run", "--weights", OUT / "siamrpn-demo.safetensors", "--source", held_out,
        "--init", init_box, "--out", OUT / "track-siamrpn.txt", "--render", OUT / "track-siamrpn.gif")
    print(f"\n(no real data at {SHARED}: SiamRPN trained {steps} CPU steps from scratch on synthetic data, which does"
          " not make a tracker; with the real data the demo trains a head on the real SiamFC trunk that tracks.)")
    return [OUT / "track-siamrpn.gif"]


def train_on_real_data(siamfc: Path) -> list[Path]:
    """A SiamRPN head on the frozen real SiamFC trunk, trained on the shared folder's training data (the
    recipe's builds with a quarter of `make train-cpu`'s pairs), then shown on held-out OTB sequences."""
    import tomllib

    from train_cpu import build_args, tracking_params  # scripts/train_cpu.py: the recipe, a quarter of its pairs

    recipe = tomllib.loads((REPO / "pipelines" / "cpu" / "recipe.toml").read_text())
    folders = []
    for b in recipe["build"]:
        folders.append(OUT / "shards" / "real" / b["name"])
        run(*build_args(b, recipe, folders[-1], pairs_fraction=0.25))
    steps = STEPS or "600"
    run_dir = OUT / "runs" / "siamrpn-real"
    shutil.rmtree(run_dir, ignore_errors=True)
    sequences = "[" + ", ".join(f"'{s}'" for s in EVAL_SEQUENCES) + "]"
    run("trainer", "fit", "--config", "pipelines/cpu/siamrpn.toml", "--shards", *folders, "--backbone-weights", siamfc,
        "--device", "cpu", "--max-steps", steps, "--run-dir", run_dir, "--set", f"cache.dir={OUT / 'feature-cache'}",
        "--set", "data.samples_per_epoch=6400", "--set", f"track_eval.root={SHARED / 'otb'}",
        "--set", f"track_eval.sequences={sequences}", "--set", "track_eval.every_steps=0",
        # the recipe's tracking parameters, recorded in the export: without them the head tracks with the
        # RPN family's defaults, made for a fully trained SiamRPN (AUC 0.35 instead of 0.72 on these two)
        "--set", f"track_eval.params={tracking_params(recipe, 'siamrpn')}")
    run("trainer", "export", run_dir, "--out", OUT / "siamrpn-real.safetensors")
    run("tracker", "run", "--weights", OUT / "siamrpn-real.safetensors", "--source", SHARED / "otb" / EVAL_SEQUENCES[0],
        "--show-gt", "--out", OUT / "track-siamrpn.txt", "--render", OUT / "track-siamrpn.gif")
    for name, weights in (("siamrpn-demo", OUT / "siamrpn-real.safetensors"), ("siamfc-real-weights", siamfc)):
        run("tracker", "eval", "--benchmark", "otb", "--root", SHARED / "otb", "--weights", weights, "--name", name,
            "--sequences", ",".join(EVAL_SEQUENCES), "--out", OUT / "eval")
    run("tracker", "score", "--results", OUT / "eval" / "siamrpn-demo", OUT / "eval" / "siamfc-real-weights",
        *[SHARED / "results" / "OTB100" / p for p in ("SiamFC", "SiamRPN", "DaSiamRPN", "SiamRPN++")],
        "--root", SHARED / "otb",
        "--sequences", ",".join(EVAL_SEQUENCES), "--plot-dir", OUT / "eval", "--json", OUT / "eval" / "scores.json")
    scores = json.loads((OUT / "eval" / "scores.json").read_text())
    minutes = json.loads((run_dir / "track_eval.jsonl").read_text().splitlines()[-1])["train_minutes"]
    print(f"\nHow good is it? The demo's SiamRPN head trained {minutes:.1f} min on this CPU ({steps} steps, a quarter of"
          f" the recipe's pairs): success AUC {scores['siamrpn-demo']['auc']:.3f} on {' and '.join(EVAL_SEQUENCES)},"
          f" where the real SiamFC weights reach {scores['siamfc-real-weights']['auc']:.3f} and the published SiamRPN"
          f" {scores['SiamRPN']['auc']:.3f}. `make train-cpu` trains longer on more pairs (benchmarks/RESULTS.md).")
    return [OUT / "track-siamrpn.gif", *sorted((OUT / "eval").glob("*.png"))]


def main() -> int:
    start = time.time()
    siamfc = SHARED / "weights" / "siamfc_alexnet.safetensors"
    real = siamfc.exists() and (SHARED / "otb" / "Crossing").is_dir() and (SHARED / "davis2016").is_dir()
    print(f"make demo: about {EXPECTED_MINUTES[real]} minutes on 2 idle cores; "
          + (f"real data found at {SHARED}: the SiamRPN it trains will track." if real else
             f"no real data at {SHARED} (set SIAMTRACK_SHARED_DATA): synthetic data only, which shows the "
             "pipeline but trains no tracker."), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / "data" / "trackingnet"
    shards = OUT / "shards" / "trackingnet"
    run_dir = OUT / "runs" / "siamrpn"
    coco = OUT / "data" / "coco"
    write_demo_data(data, coco)

    # Chunks 0-1 train; chunk 2 is held out for tracking.
    run("dataprep", "build", "--dataset", "trackingnet", "--root", data, "--out", shards, "--chunks", "0-1",
        "--workers", "2", "--pairs-per-sequence", "32", "--seed", "0", "--distractors", f"coco:{coco}")
    run("dataprep", "verify", shards)
    run("dataprep", "info", shards)

    # COCO stills with same-class distractors pasted from COCO masks; then look at them.
    coco_shards = OUT / "shards" / "coco"
    run("dataprep", "build", "--dataset", "coco", "--root", coco, "--split", "train2017", "--out", coco_shards,
        "--workers", "2", "--pairs-per-sequence", "4", "--seed", "0")
    run("dataprep", "stats", coco_shards, "--plot", OUT / "coco-stats.png")
    run("dataprep", "show", coco_shards, "--n", "16", "--where", "has_distractor", "--out", OUT / "coco-pairs.png",
        "--html", OUT / "coco-gallery")
    run("dataprep", "show", shards, "--n", "12", "--out", OUT / "pairs.png")

    pictures = [OUT / "coco-pairs.png", OUT / "coco-stats.png", OUT / "pairs.png"]
    if real:
        pictures += train_on_real_data(siamfc)
    else:
        pictures += train_on_synthetic_data(shards, data, run_dir)
    if siamfc.exists() and (SHARED / "vot" / "bag").is_dir():
        run("tracker", "run", "--weights", siamfc, "--source", SHARED / "vot" / "bag", "--show-gt",
            "--out", OUT / "track-siamfc-bag.txt", "--render", OUT / "track-siamfc-bag.gif")
        pictures.append(OUT / "track-siamfc-bag.gif")

    print(f"\ndemo finished in {time.time() - start:.0f} s. Look at:")
    for p in pictures:
        print(f"  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
