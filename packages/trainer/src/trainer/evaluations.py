"""When a run evaluates itself, and where the numbers go: validation on the held-out pairs at each
epoch's end, and the tracking evaluation every ``track_eval.every_steps`` steps and once at the end.

Both score :attr:`~trainer.run_state.RunState.eval_model` (the weights that are exported) in the main
process and write to TensorBoard and the console; the validation's numbers also go into the run's
result (and so ``summary.json``). The tracking evaluation is called on every rank: the others wait at
a barrier while the main process tracks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from trainer.config import Config
from trainer.console import write_figure
from trainer.distributed import DistInfo, barrier
from trainer.run_state import RunState
from trainer.sources import Sources
from trainer.track_eval import TrackEvaluator
from trainer.validate import Validator, pairs_figure


class Evaluations:
    """The run's validator and tracking evaluator (main process only; None where off) and their schedule."""

    def __init__(self, cfg: Config, sources: Sources, run_dir: Path, writer, note: Callable[[str], None],
                 di: DistInfo):
        self.track_eval = cfg.track_eval
        self.run_dir, self.writer, self.note, self.di = run_dir, writer, note, di
        self.validator = self.track_evaluator = None
        if di.is_main:
            if cfg.train.validate and len(sources.val_key):
                self.validator = Validator(sources, cfg.train.batch_size, cfg.data.val_grid)
            if cfg.track_eval.root:
                self.track_evaluator = TrackEvaluator(cfg.track_eval, cfg.model.name, run_dir)
        self.last_tracked_step = -1

    def tracking_due(self, step: int) -> bool:
        """Whether the tracking evaluation runs after ``step`` (besides the one at the end of the run)."""
        every = self.track_eval.every_steps
        return bool(self.track_eval.root and every and step % every == 0)

    def track(self, run: RunState) -> None:
        """The tracking evaluation of the current weights, once per step (when ``track_eval.root`` is set).
        Every rank calls it; the main process evaluates while the others wait at the barrier."""
        if not self.track_eval.root:
            return
        if self.track_evaluator is not None and self.last_tracked_step != run.step:
            r = self.track_evaluator.run(run.eval_model, run.step, run.train_seconds / 60)
            self.writer.add_scalar("track/auc", r.auc, run.step)
            for name, auc in r.per_sequence.items():
                self.writer.add_scalar(f"track/auc/{name}", auc, run.step)
            per_seq = ", ".join(f"{k} {v:.3f}" for k, v in r.per_sequence.items())
            self.note(f"step {run.step} ({r.train_minutes:.1f} min of training): tracking AUC {r.auc:.3f} on "
                      f"{len(r.per_sequence)} sequence(s) ({per_seq}; {r.seconds:.0f} s)")
        self.last_tracked_step = run.step
        barrier(self.di)

    @property
    def validates(self) -> bool:
        return self.validator is not None

    def validate(self, run: RunState, device: torch.device, channels_last: bool, autocast) -> dict:
        """The epoch-end validation (main process, when :attr:`validates`): IoU on the held-out pairs and a
        figure of some of them. Returns the epoch's record for the run's result."""
        v = self.validator.run(run.eval_model, device, channels_last, autocast)
        self.writer.add_scalar("val/iou", v.mean_iou, run.step)
        self.writer.add_scalar("val/success_0.5", v.success_50, run.step)
        if v.shown:
            write_figure(lambda: pairs_figure(v.shown, run.eval_model.needs_guide),
                         self.run_dir / "val" / f"epoch_{run.epoch:04d}.png", self.writer, "val/pairs", run.step)
        self.note(f"epoch {run.epoch}: validation IoU {v.mean_iou:.3f} on {v.pairs} held-out pairs")
        return {"epoch": run.epoch, "iou": v.mean_iou, "success_50": v.success_50}
