"""The weights file the tracker loads (safetensors + metadata), from a run folder's checkpoint
(``trainer export``) or at the end of ``trainer fit`` (with the run's ``summary.json``).

``RUN/export/model.safetensors`` is the convention ``tracker eval RUN`` looks for (then
``RUN/model.safetensors``); ``--out`` writes a copy elsewhere as well.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

from siamcore.atomic import write_json_atomic
from trainer import checkpoint as ckpt
from trainer.config import Config
from trainer.track_eval import recorded_tracking

log = logging.getLogger(__name__)


def export_run(run_dir: str | Path, out: str | Path | None = None, checkpoint: str | Path | None = None,
               warn: Callable[[str], None] = log.warning) -> list[Path]:
    """Write the weights of ``checkpoint`` (default: the run's newest that loads; ``warn`` says which
    newer ones were skipped and why) to ``RUN/export/`` and ``out``. CheckpointError (a ValueError)
    when the checkpoint, or every checkpoint of the run, does not load or is no trainer checkpoint."""
    from tracker.models import create_model
    from tracker.weights import save_model

    run_dir = Path(run_dir)
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} not found")
        state = ckpt.load_checkpoint(path)
    elif not ckpt.list_checkpoints(run_dir):
        raise FileNotFoundError(
            f"no checkpoint in {run_dir / ckpt.CHECKPOINT_DIR}: is {run_dir} a `trainer fit` run folder?"
        )
    else:
        path, state, skipped = ckpt.load_newest(run_dir)
        for reason in skipped:
            warn(f"skipped {reason}; exporting {path}")
    ckpt.check_format(state, path)
    model_cfg = state["config"]["model"]
    model = create_model(model_cfg["name"], **model_cfg["args"])
    model.load_state_dict(state.get("ema_model", state["model"]))  # the average when the run kept one
    model.eval()
    targets = [run_dir / ckpt.EXPORT_FILE]
    if out is not None and Path(out).resolve() != targets[0].resolve():
        targets.append(Path(out))
    tracking = recorded_tracking(state["config"].get("track_eval", {}).get("params", ""), model.name, warn)
    return [save_model(model, t, tracking=tracking) for t in targets]


def export_fit(cfg: Config, model, run_dir: Path, note: Callable[[str], None], *, step: int, epoch: int,
               world: int, last_loss: float, validation: list[dict]) -> None:
    """The end of ``trainer fit`` (main process): ``model`` (the run's exported weights, the moving
    average when there is one) for the tracker, with the tracking parameters it was evaluated with, and
    ``summary.json``."""
    from tracker.weights import save_model

    tracking = recorded_tracking(cfg.track_eval.params, cfg.model.name, note)
    save_model(model, run_dir / ckpt.EXPORT_FILE, tracking=tracking)
    finite = lambda x: x if math.isfinite(x) else None  # noqa: E731  (JSON has no NaN)
    summary = {"model": cfg.model.name, "step": step, "epoch": epoch, "world": world,
               "last_loss": finite(last_loss), "ranks_in_sync": True,
               "validation": [{k: finite(v) if isinstance(v, float) else v for k, v in r.items()}
                              for r in validation],
               "export": str(ckpt.EXPORT_FILE)}
    write_json_atomic(run_dir / "summary.json", summary)
    note(f"done: step {step}, epoch {epoch}; weights in {run_dir / ckpt.EXPORT_FILE}")
