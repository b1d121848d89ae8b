"""Tracking evaluation during training: does the model being trained track real sequences yet?

Pair-level losses and IoUs say little about tracking (a head can fit the pairs and still lose the
target after ten frames), so every ``track_eval.every_steps`` steps and after the last one, the
current weights run the online tracker (:mod:`tracker.online`, the same code as ``tracker eval``) over
the configured sequences (any layout of :mod:`siamcore.datasets`) under the OTB protocol. Results go to
``RUN/track_eval/step_<n>/<seq>.txt`` (OTB format) and one line per evaluation to
``RUN/track_eval.jsonl`` (step, minutes of training, AUC, per-sequence AUC); TensorBoard gets
``track/auc``. It reports; the run never picks its weights by it (evaluation sequences must not
steer training).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainer.config import ConfigError, TrackEvalConfig


@dataclass
class TrackEvalResult:
    step: int
    train_minutes: float
    auc: float
    per_sequence: dict[str, float]
    seconds: float  # time the evaluation took


def recorded_tracking(params_file: str, model_name: str, warn: Callable[[str], None]) -> dict | None:
    """What an export records of ``track_eval.params`` (every key of the loaded parameters), so that
    ``tracker eval/run --weights RUN`` tracks as this evaluation did; None (the model's defaults) when the
    run named no file or it no longer loads (``warn`` says so)."""
    from tracker.online import ParamsError, load_params

    if not params_file:
        return None
    try:
        return dataclasses.asdict(load_params(Path(params_file), model_name))
    except (ParamsError, OSError) as exc:
        warn(f"track_eval.params: {exc}; the export records no tracking parameters (the model's defaults apply)")
        return None


class TrackEvaluator:
    """Loads the sequences once; :meth:`run` evaluates a model's current weights on them."""

    def __init__(self, cfg: TrackEvalConfig, model_name: str, run_dir: Path):
        from siamcore.datasets import load_sequences
        from tracker.online import load_params

        self.cfg = cfg
        self.run_dir = Path(run_dir)
        try:
            self.sequences = load_sequences(cfg.layout, Path(cfg.root), list(cfg.sequences) or None)
            self.params = load_params(Path(cfg.params) if cfg.params else None, model_name)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"track_eval: {exc}") from exc

    @torch.no_grad()
    def run(self, model, step: int, train_minutes: float) -> TrackEvalResult:
        from tracker.datasets import write_results
        from tracker.evaluation.metrics import sequence_curves
        from tracker.evaluation.ope import track_sequence
        from tracker.online import build_tracker

        start = time.perf_counter()
        clone = copy.deepcopy(model).to("cpu").eval()  # the tracker changes memory formats: never the trained model
        tracker = build_tracker(clone, self.params)
        out_dir = self.run_dir / "track_eval" / f"step_{step:09d}"
        per_sequence = {}
        for seq in self.sequences:
            run = track_sequence(tracker, seq)
            write_results(out_dir / f"{seq.name}.txt", run.boxes_xywh)
            per_sequence[seq.name] = float(sequence_curves(run.boxes_xywh, seq.gt_xywh).auc)
        result = TrackEvalResult(step, train_minutes, float(np.mean(list(per_sequence.values()))), per_sequence,
                                 time.perf_counter() - start)
        line = {"step": step, "train_minutes": round(train_minutes, 2), "auc": round(result.auc, 4),
                "sequences": {k: round(v, 4) for k, v in per_sequence.items()}, "eval_seconds": round(result.seconds, 1)}
        with open(self.run_dir / "track_eval.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        return result


def read_track_eval(run_dir: Path) -> list[dict]:
    """The lines of ``RUN/track_eval.jsonl`` (empty when there are none)."""
    path = Path(run_dir) / "track_eval.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_auc_vs_minutes(curves: dict[str, list[tuple[float, float]]], published: dict[str, float], path: Path) -> Path:
    """One line per run (tracking AUC against minutes of training; runs named ``<model>-seed<k>`` share
    their model's colour, seeds differ by line style) and a grey level per published tracker (its AUC on
    the same sequences); the legend sits beside the axes. PNG, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from siamcore.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(8.0, 4.2))
    models = list(dict.fromkeys(name.rsplit("-seed", 1)[0] for name in curves))
    seeds: dict[str, int] = {}
    for name, points in curves.items():
        if not points:
            continue
        model = name.rsplit("-seed", 1)[0]
        style = ("-", "--", ":", "-.")[seeds.setdefault(model, 0) % 4]
        seeds[model] += 1
        ax.plot([m for m, _ in points], [a for _, a in points], marker="o", markersize=4, linewidth=2,
                linestyle=style, color=f"C{models.index(model)}", label=f"{name} [{points[-1][1]:.3f}]")
    for (name, auc), style in zip(sorted(published.items(), key=lambda kv: -kv[1]), ("--", "-.", ":", (0, (5, 1)))):
        ax.axhline(auc, linestyle=style, color="grey", linewidth=1.2, label=f"{name} (published) [{auc:.3f}]")
    ax.set_xlabel("minutes of training (includes building the feature cache)")
    ax.set_ylabel("success AUC")
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.set_title("Tracking AUC while training (OTB protocol; final value in brackets)")
    fig.tight_layout()
    try:
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return Path(path)
