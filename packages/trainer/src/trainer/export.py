"""Turn a run folder's checkpoint into the weights file the tracker loads (safetensors + metadata).

``RUN/export/model.safetensors`` is the convention ``tracker eval RUN`` looks for (then
``RUN/model.safetensors``); ``--out`` writes a copy elsewhere as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from trainer import checkpoint as ckpt
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
