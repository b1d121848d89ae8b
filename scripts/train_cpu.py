"""`make train-cpu`: train a tracker on this CPU from the real data in ../shared/data and show it tracks.

1. `dataprep build` pairs from every real training sequence of the shared folder (VOT, DAVIS, TinyTLP:
   15 videos) and from coco128's stills (pipelines/cpu/recipe.toml); never from the OTB sequences.
2. `trainer fit -c pipelines/cpu/<model>.toml`: the real SiamFC AlexNet as a frozen trunk (its features
   cached once), only the head trained; every few hundred steps the weights track the five OTB
   sequences, and the AUC is printed against minutes of training.
3. `tracker eval` of the final weights on the five OTB sequences (the run never picks weights by them).
4. `tracker score` draws one success plot with our runs and the published SiamFC, SiamRPN, DaSiamRPN and
   SiamRPN++ results on the same sequences, and `auc-vs-minutes.png` shows how the AUC grew.

Every step is the command a user would type; it is printed before it runs, and a re-run reuses the
finished builds and feature caches. Options: `--models siamrpn siamconcatrpn siambroadcastrpn`,
`--seeds 0 1`, `--steps N` (default: the config's), `--out DIR`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHARED = Path(os.environ.get("SIAMTRACK_SHARED_DATA", REPO.parent / "shared" / "data"))
RECIPE = REPO / "pipelines" / "cpu" / "recipe.toml"
MODELS = ("siamrpn", "siamconcatrpn", "siambroadcastrpn")


def run(*args, quiet_output: bool = False) -> None:
    cmd = [str(a) for a in args]
    shown = " ".join(shlex.quote(a.replace(str(REPO) + "/", "")) for a in cmd)
    print(f"\n\033[1m$ {shown}\033[0m", flush=True)
    subprocess.run([str(BIN / cmd[0]), *cmd[1:]], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL if quiet_output else None)


def build_shards(recipe: dict, out: Path) -> list[Path]:
    folders = []
    for b in recipe["build"]:
        folder = out / "shards" / b["name"]
        args = ["dataprep", "build", "--config", REPO / b["config"], "--root", SHARED / b["root"], "--out", folder,
                "--no-progress"]
        if b["dataset"] != "coco":
            args += ["--dataset", b["dataset"], "--distractors", f"coco:{SHARED / recipe['distractors']}"]
        run(*args, quiet_output=True)
        folders.append(folder)
    return folders


def train(model: str, seed: int, shards: list[Path], recipe: dict, out: Path, steps: int | None) -> Path:
    run_dir = out / "runs" / f"{model}-seed{seed}"
    args = ["trainer", "fit", "--config", REPO / "pipelines" / "cpu" / f"{model}.toml", "--shards", *shards,
            "--backbone-weights", SHARED / recipe["weights"], "--device", "cpu", "--set", f"train.seed={seed}",
            "--set", f"cache.dir={out / 'feature-cache'}", "--set", f"track_eval.root={SHARED / recipe['eval']['root']}",
            "--set", f"track_eval.sequences={json.dumps(recipe['eval']['sequences'])}"]
    if steps:
        args += ["--max-steps", steps]
    if (run_dir / "summary.json").is_file():
        print(f"\n{run_dir} is finished: kept (delete it to train again)")
        return run_dir
    if (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir()):
        run("trainer", "fit", "--resume", run_dir)  # an interrupted run continues exactly
    else:
        run(*args, "--run-dir", run_dir)
    return run_dir


def evaluate(run_dir: Path, recipe: dict, out: Path) -> Path:
    name = run_dir.name
    run("tracker", "eval", "--benchmark", "otb", "--root", SHARED / recipe["eval"]["root"], "--weights", run_dir,
        "--name", name, "--out", out / "eval", "--sequences", ",".join(recipe["eval"]["sequences"]), "--resume",
        quiet_output=True)
    return out / "eval" / name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["siamrpn"], choices=MODELS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps per run (default: the config's)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "cpu")
    a = parser.parse_args()
    if not (SHARED / "README.md").is_file():
        print(f"the real data is not at {SHARED}: set SIAMTRACK_SHARED_DATA", file=sys.stderr)
        return 2
    recipe = tomllib.loads(RECIPE.read_text())
    start = time.time()
    a.out.mkdir(parents=True, exist_ok=True)
    shards = build_shards(recipe, a.out)
    runs = [train(m, s, shards, recipe, a.out, a.steps) for m in a.models for s in a.seeds]
    results = [evaluate(r, recipe, a.out) for r in runs]

    published = [SHARED / "results" / "OTB100" / p for p in recipe["eval"]["published"]]
    run("tracker", "score", "--results", *results, *published, "--root", SHARED / recipe["eval"]["root"],
        "--sequences", ",".join(recipe["eval"]["sequences"]), "--per-sequence", "--json", a.out / "scores.json",
        "--plot-dir", a.out / "plots")
    from trainer.track_eval import plot_auc_vs_minutes, read_track_eval

    scores = json.loads((a.out / "scores.json").read_text())
    curves = {r.name: [(x["train_minutes"], x["auc"]) for x in read_track_eval(r)] for r in runs}
    plot = plot_auc_vs_minutes(curves, {p.name: scores[p.name]["auc"] for p in published if p.name in scores},
                               a.out / "plots" / "auc-vs-minutes.png")
    print(f"\n{'run':<26}{'steps':>7}{'train min':>11}{'OTB AUC':>9}")
    for r in runs:
        summary = json.loads((r / "summary.json").read_text())
        curve = curves[r.name]
        print(f"{r.name:<26}{summary['step']:>7}{curve[-1][0] if curve else float('nan'):>11.1f}"
              f"{scores[r.name]['auc']:>9.3f}")
    for model in a.models:
        aucs = [scores[r.name]["auc"] for r in runs if r.name.startswith(model + "-")]
        print(f"{model}: mean AUC over {len(aucs)} seed(s) {sum(aucs) / len(aucs):.3f}")
    print("published on the same sequences: " + ", ".join(
        f"{p.name} {scores[p.name]['auc']:.3f}" for p in published if p.name in scores))
    print(f"\ndone in {(time.time() - start) / 60:.0f} min. Look at {a.out / 'plots' / 'success.png'} and {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
