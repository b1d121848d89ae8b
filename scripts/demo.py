"""`make demo`: the whole siamtrack pipeline on generated demo data (no download).

1. writes a small synthetic TrackingNet (real on-disk layout) under demo-out/data;
2. `dataprep build` -> LMDB pair shards on a local Dask cluster, then `dataprep verify` / `info`;
3. COCO pairs with same-class distractors (`dataprep build --dataset coco`), `dataprep stats`, and
   `dataprep show` -> pictures of the pairs;
4. `trainer fit` trains SiamRPN briefly on CPU, `trainer export` writes its weights;
5. `tracker run` tracks a held-out demo sequence with them and renders a GIF;
6. with the real data beside the repo (../shared/data), the real SiamFC weights track the VOT `bag`
   sequence (a GIF) and `tracker eval` scores them on two OTB sequences (success/precision plots).

Every step is the command a user would type; they are printed before they run.
"""

from __future__ import annotations

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
TRAIN_STEPS = int(os.environ.get("SIAMTRACK_DEMO_STEPS", "150"))


def run(*args: str | Path) -> None:
    cmd = [str(a) for a in args]
    shown = " ".join(shlex.quote(a.replace(str(OUT) + "/", "demo-out/")) for a in cmd)
    print(f"\n\033[1m$ {shown}\033[0m", flush=True)
    subprocess.run([str(BIN / cmd[0]), *cmd[1:]], check=True, cwd=REPO)


def write_demo_data(trackingnet: Path, coco: Path) -> None:
    """Generated TrackingNet sequences; COCO from the real coco-mini photos when present (linked,
    not copied), else generated. Written once: a re-run reuses them."""
    from dataprep.synthetic import write_trackingnet
    from dataprep.synthetic_coco import link_coco_mini, write_coco

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


def main() -> int:
    start = time.time()
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

    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh short run each time
    run("trainer", "fit", "--config", "pipelines/train/siamrpn.toml", "--shards", shards, "--device", "cpu",
        "--max-steps", str(TRAIN_STEPS), "--run-dir", run_dir, "--set", "train.batch_size=8", "--set", "data.workers=2",
        "--set", "data.samples_per_epoch=400")
    run("trainer", "export", run_dir, "--out", OUT / "siamrpn-demo.safetensors")

    held_out, init_box = held_out_sequence(data, chunk=2)
    run("tracker", "run", "--weights", OUT / "siamrpn-demo.safetensors", "--source", held_out,
        "--init", init_box, "--out", OUT / "track-siamrpn.txt", "--render", OUT / "track-siamrpn.gif")

    print(f"\n(SiamRPN after {TRAIN_STEPS} CPU steps from scratch is not a useful tracker yet: this step shows the"
          " pipeline end to end; real training needs a GPU and the full datasets.)")

    pictures = [OUT / "coco-pairs.png", OUT / "coco-stats.png", OUT / "pairs.png", OUT / "track-siamrpn.gif"]
    siamfc = SHARED / "weights" / "siamfc_alexnet.safetensors"
    if siamfc.exists() and (SHARED / "vot" / "bag").is_dir():
        run("tracker", "run", "--weights", siamfc, "--source", SHARED / "vot" / "bag", "--show-gt",
            "--out", OUT / "track-siamfc-bag.txt", "--render", OUT / "track-siamfc-bag.gif")
        pictures.append(OUT / "track-siamfc-bag.gif")
    if siamfc.exists() and (SHARED / "otb" / "Couple").is_dir():
        run("tracker", "eval", "--benchmark", "otb", "--root", SHARED / "otb", "--weights", siamfc,
            "--sequences", "Couple", "--sequences", "Crossing", "--out", OUT / "eval")
        pictures += sorted((OUT / "eval").glob("*.png"))
    else:
        print(f"\n(skipping the SiamFC OTB evaluation: no real data at {SHARED})")

    print(f"\ndemo finished in {time.time() - start:.0f} s. Look at:")
    for p in pictures:
        print(f"  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
