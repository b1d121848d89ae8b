"""`make train-cpu`: train a tracker on this CPU from the real data in ../shared/data and show it tracks.

1. `dataprep build` pairs from every training folder of the shared data (VOT, DAVIS, TinyTLP, the aerial
   `uav/` tracks but the held-out ones, MOT17 pedestrians, coco128 and COCO-2017 stills:
   pipelines/cpu/recipe.toml); never from the OTB sequences.
2. `trainer fit -c pipelines/cpu/<model>.toml`: the real SiamFC AlexNet as a frozen trunk (its features
   cached once), only the head trained; every few hundred steps the weights track the five OTB
   sequences, and the AUC is printed against minutes of training.
3. `tracker eval` of the final weights and of the real SiamFC weights on the five OTB sequences (the run
   never picks weights by them), with the per-frame size drift of Car4 and Girl (`tracker drift`, beside
   the published SiamRPN), and on the held-out aerial tracks of the recipe's [holdout].
4. `tracker score` draws one success plot with our runs and the published SiamFC, SiamRPN, DaSiamRPN and
   SiamRPN++ results on the same sequences, and `auc-vs-minutes.png` shows how the AUC grew. With several
   seeds the mean, spread and worst sequence are printed and written to `summary.json`.

Every step is the command a user would type; it is printed before it runs, and a re-run reuses the
finished builds and feature caches. Options: `--models siamrpn siamconcatrpn siambroadcastrpn`,
`--seeds 0 1 2`, `--steps N` (default: the config's), `--out DIR`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
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
SIAMFC_NAME = "siamfc-weights"  # the real SiamFC weights, tracked as they are, beside the trained heads


def run(*args, quiet_output: bool = False) -> None:
    cmd = [str(a) for a in args]
    shown = " ".join(shlex.quote(a.replace(str(REPO) + "/", "")) for a in cmd)
    print(f"\n\033[1m$ {shown}\033[0m", flush=True)
    subprocess.run([str(BIN / cmd[0]), *cmd[1:]], check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL if quiet_output else None)


def build_args(b: dict, recipe: dict, folder: Path, pairs_fraction: float = 1.0) -> list:
    """The `dataprep build` command of one `[[build]]` entry of the recipe into ``folder``, with
    ``pairs_fraction`` of its pairs per sequence (at least 1; `make demo` takes a quarter)."""
    # --overwrite: the recipe owns these folders; a build of the same config still resumes, one of an
    # earlier recipe (changed pairs or jitter) is replaced instead of refused.
    args = ["dataprep", "build", "--config", REPO / b["config"], "--root", SHARED / b["root"], "--out", folder,
            "--no-progress", "--overwrite"]
    if b["dataset"] != "coco":
        args += ["--dataset", b["dataset"], "--distractors", f"coco:{SHARED / recipe['distractors']}"]
    pairs = b.get("pairs_per_sequence") or tomllib.loads((REPO / b["config"]).read_text())["pairs"]["per_sequence"]
    args += ["--pairs-per-sequence", max(1, round(pairs * pairs_fraction))]
    if b.get("exclude_holdout"):
        args += ["--exclude-sequences", ",".join(recipe["holdout"]["sequences"])]
    return args


def build_shards(recipe: dict, out: Path) -> list[Path]:
    folders = []
    for b in recipe["build"]:
        folders.append(out / "shards" / b["name"])
        run(*build_args(b, recipe, folders[-1]), quiet_output=True)
    return folders


def train(model: str, seed: int, shards: list[Path], recipe: dict, out: Path, steps: int | None) -> Path:
    run_dir = out / "runs" / f"{model}-seed{seed}"
    args = ["trainer", "fit", "--config", REPO / "pipelines" / "cpu" / f"{model}.toml", "--shards", *shards,
            "--backbone-weights", SHARED / recipe["weights"], "--device", "cpu", "--set", f"train.seed={seed}",
            "--set", f"cache.dir={out / 'feature-cache'}", "--set", f"track_eval.root={SHARED / recipe['eval']['root']}",
            "--set", f"track_eval.sequences={json.dumps(recipe['eval']['sequences'])}"]
    params = tracking_params(recipe, model)
    if params:  # tracked (and recorded in the export) with the recipe's tracking parameters
        args += ["--set", f"track_eval.params={params}"]
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


def tracking_params(recipe: dict, model: str) -> Path | None:
    """The recipe's tracking parameters file for ``model`` (its ``[tracking]`` table), or None."""
    name = recipe.get("tracking", {}).get(model)
    return REPO / name if name else None


def same_tracking(run_dir: Path, params: Path | None) -> bool:
    """Whether a run's tracking evaluation used ``params`` (its ``track_eval.params``; "" for the defaults)."""
    recorded = tomllib.loads((run_dir / "config.toml").read_text())["track_eval"]["params"]
    return (Path(recorded).resolve() if recorded else None) == (params.resolve() if params else None)


def evaluate(weights: Path, name: str, root: Path, sequences: list[str], out: Path, params: Path | None = None) -> Path:
    """`tracker eval` (OTB protocol) of ``weights`` on ``sequences`` of ``root`` into ``out/<name>``."""
    extra = ["--params", params] if params else []
    run("tracker", "eval", "--benchmark", "otb", "--root", root, "--weights", weights, "--name", name, "--out", out,
        "--sequences", ",".join(sequences), "--resume", *extra, quiet_output=True)
    return out / name


def score(results: list[Path], root: Path, sequences: list[str], json_path: Path, plot_dir: Path) -> dict:
    run("tracker", "score", "--results", *results, "--root", root, "--sequences", ",".join(sequences),
        "--per-sequence", "--json", json_path, "--plot-dir", plot_dir)
    return json.loads(json_path.read_text())


def spread(values: list[float]) -> str:
    """``mean +- sample standard deviation (min-max)`` of per-seed figures."""
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} +- {sd:.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["siamrpn"], choices=MODELS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="one training run per seed; with several, the mean and spread are reported")
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
    run_params = {r: tracking_params(recipe, r.name.rsplit("-seed", 1)[0]) for r in runs}

    # The five OTB sequences (never trained on) and the real SiamFC weights beside; the drift of every run in
    # one picture per sequence (`tracker drift`, once, rather than also per run by `tracker eval --drift`).
    ev = recipe["eval"]
    otb_root, otb_seqs = SHARED / ev["root"], ev["sequences"]
    siamfc = SHARED / recipe["weights"]
    results = [evaluate(r, r.name, otb_root, otb_seqs, a.out / "eval", run_params[r]) for r in runs]
    results.append(evaluate(siamfc, SIAMFC_NAME, otb_root, otb_seqs, a.out / "eval"))
    published = [SHARED / "results" / "OTB100" / p for p in ev["published"]]
    scores = score(results + published, otb_root, otb_seqs, a.out / "scores.json", a.out / "plots")
    run("tracker", "drift", "--results", *results, SHARED / "results" / "OTB100" / "SiamRPN", "--root", otb_root,
        "--sequences", ",".join(ev["drift"]), "--out", a.out / "plots" / "drift", "--json", a.out / "drift.json")
    drift = json.loads((a.out / "drift.json").read_text())

    # Our own held-out aerial tracks (never trained on): trained weights against the real SiamFC weights.
    ho = recipe["holdout"]
    ho_root, ho_seqs = SHARED / ho["root"], ho["sequences"]
    ho_results = [evaluate(r, r.name, ho_root, ho_seqs, a.out / "holdout", run_params[r]) for r in runs]
    ho_results.append(evaluate(siamfc, SIAMFC_NAME, ho_root, ho_seqs, a.out / "holdout"))
    ho_scores = score(ho_results, ho_root, ho_seqs, a.out / "holdout-scores.json", a.out / "plots" / "holdout")

    from trainer.track_eval import plot_auc_vs_minutes, read_track_eval

    curves = {r.name: [(x["train_minutes"], x["auc"]) for x in read_track_eval(r)] for r in runs}
    drawn = {r.name: curves[r.name] for r in runs if same_tracking(r, run_params[r])}
    for name in sorted(set(curves) - set(drawn)):
        print(f"{name}: its AUC during training was measured with other tracking parameters; left out of the plot")
    plot = plot_auc_vs_minutes(drawn, {p.name: scores[p.name]["auc"] for p in published if p.name in scores},
                               a.out / "plots" / "auc-vs-minutes.png")
    summary = report(runs, curves, scores, ho_scores, drift, ev["drift"], a.models, published)
    (a.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\ndone in {(time.time() - start) / 60:.0f} min. Look at {a.out / 'plots' / 'success.png'}, {plot} and "
          f"{a.out / 'plots' / 'drift'}")
    return 0


def report(runs, curves, scores, ho_scores, drift, drift_seqs, models, published) -> dict:
    """Print the per-run and per-model tables; return them as a dict (``summary.json``)."""
    print(f"\n{'run':<26}{'steps':>7}{'train min':>11}{'OTB AUC':>9}{'worst seq':>16}{'held-out AUC':>14}"
          + "".join(f"{s + ' in band':>16}" for s in drift_seqs))
    per_run = {}
    for r in runs:
        seqs = scores[r.name]["sequences"]
        worst = min(seqs, key=lambda k: seqs[k]["auc"])
        band = {s: drift[r.name][s]["in_band"] for s in drift_seqs}
        per_run[r.name] = {"step": json.loads((r / "summary.json").read_text())["step"],
                           "train_minutes": curves[r.name][-1][0] if curves[r.name] else None,
                           "otb_auc": scores[r.name]["auc"], "worst_sequence": [worst, seqs[worst]["auc"]],
                           "holdout_auc": ho_scores[r.name]["auc"], "in_band": band}
        x = per_run[r.name]
        print(f"{r.name:<26}{x['step']:>7}{x['train_minutes'] or float('nan'):>11.1f}{x['otb_auc']:>9.3f}"
              f"{worst:>10} {seqs[worst]['auc']:.2f}{x['holdout_auc']:>14.3f}" + "".join(f"{band[s]:>16.2f}" for s in drift_seqs))
    per_model = {}
    for model in models:
        mine = [per_run[r.name] for r in runs if r.name.startswith(model + "-")]
        otb, ho = [x["otb_auc"] for x in mine], [x["holdout_auc"] for x in mine]
        per_model[model] = {"seeds": len(mine), "otb_auc": otb, "holdout_auc": ho,
                            "worst_sequence_auc": min(x["worst_sequence"][1] for x in mine)}
        print(f"{model}: OTB AUC over {len(mine)} seed(s) {spread(otb)}; worst sequence of any seed "
              f"{per_model[model]['worst_sequence_auc']:.3f}; held-out aerial tracks {spread(ho)}")
    print(f"the real SiamFC weights: OTB AUC {scores[SIAMFC_NAME]['auc']:.3f}, held-out aerial tracks "
          f"{ho_scores[SIAMFC_NAME]['auc']:.3f}")
    print("published on the same OTB sequences: " + ", ".join(
        f"{p.name} {scores[p.name]['auc']:.3f}" for p in published if p.name in scores))
    return {"runs": per_run, "models": per_model,
            "siamfc_weights": {"otb_auc": scores[SIAMFC_NAME]["auc"], "holdout_auc": ho_scores[SIAMFC_NAME]["auc"]},
            "published_otb_auc": {p.name: scores[p.name]["auc"] for p in published if p.name in scores}}


if __name__ == "__main__":
    sys.exit(main())
