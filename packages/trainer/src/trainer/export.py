"""Turn a run folder's checkpoint into the weights file the tracker loads (safetensors + metadata).

``RUN/export/model.safetensors`` is the convention ``tracker eval RUN`` looks for (then
``RUN/model.safetensors``); ``--out`` writes a copy elsewhere as well.
"""

from __future__ import annotations

from pathlib import Path

from trainer import checkpoint as ckpt
from trainer.loop import CHECKPOINT_FORMAT, EXPORT_FILE


def export_run(run_dir: str | Path, out: str | Path | None = None, checkpoint: str | Path | None = None) -> list[Path]:
    """Write the weights of ``checkpoint`` (default: the run's newest) to ``RUN/export/`` and ``out``."""
    from tracker.models import create_model
    from tracker.weights import save_model

    run_dir = Path(run_dir)
    path = Path(checkpoint) if checkpoint is not None else ckpt.latest_checkpoint(run_dir)
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint in {run_dir / ckpt.CHECKPOINT_DIR}: is {run_dir} a `trainer fit` run folder?"
        )
    state = ckpt.load_checkpoint(path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a siamtrack trainer checkpoint")
    model_cfg = state["config"]["model"]
    model = create_model(model_cfg["name"], **model_cfg["args"])
    model.load_state_dict(state.get("ema_model", state["model"]))  # the average when the run kept one
    model.eval()
    targets = [run_dir / EXPORT_FILE]
    if out is not None and Path(out).resolve() != targets[0].resolve():
        targets.append(Path(out))
    return [save_model(model, t) for t in targets]
