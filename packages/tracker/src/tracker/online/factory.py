"""Build an online tracker from a model, a weights file or a trainer run folder."""

from __future__ import annotations

from pathlib import Path

import torch

from .base import OnlineTracker
from .params import default_params, load_params, params_from_dict
from .rpn import RPNTracker
from .siamfc import SiamFCTracker

# The online tracker of each model family: a model class names its own (``online_tracker``).
TRACKERS: dict[str, type[OnlineTracker]] = {"siamfc": SiamFCTracker, "rpn": RPNTracker}


def resolve_weights_path(path: Path) -> Path:
    """A weights file as given, or in a trainer run folder ``<run>/export/model.safetensors``, then
    ``<run>/model.safetensors``."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        for candidate in (path / "export" / "model.safetensors", path / "model.safetensors"):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(
            f"{path} is a folder without export/model.safetensors or model.safetensors; "
            "pass a weights file or a trainer run folder (export one with the trainer first)"
        )
    raise FileNotFoundError(f"weights not found: {path} (pass a .safetensors file or a trainer run folder)")


def build_tracker(model: torch.nn.Module, params=None, channels_last: bool = True) -> OnlineTracker:
    """The online tracker that ``model``'s class names (SiamFC's scale search, or the RPN post-processing)."""
    if params is None:
        params = default_params(model.name)
    return TRACKERS[model.online_tracker](model, params, channels_last=channels_last)


def params_for_weights(weights_file: Path, model_name: str, params_path: Path | None = None):
    """The tracking hyper-parameters for a weights file: ``params_path``'s when given, else those the
    weights were exported with (a trainer run records the ones it was evaluated with), else the model's
    defaults (``pipelines/track/<model>.toml``)."""
    from ..weights import read_tracking

    if params_path is not None:
        return load_params(params_path, model_name)
    recorded = read_tracking(weights_file)
    if recorded is None:
        return default_params(model_name)
    return params_from_dict(default_params(model_name), recorded, f"{weights_file} (its tracking parameters)")


def load_tracker(weights: Path, model_name: str | None = None, params_path: Path | None = None,
                 device: str = "cpu", channels_last: bool = True) -> OnlineTracker:
    """Load weights (file or run folder), pick the hyper-parameters (:func:`params_for_weights`), build the
    tracker."""
    from ..weights import load_model

    path = resolve_weights_path(weights)
    model = load_model(path, model_name=model_name, map_location=device)
    return build_tracker(model, params_for_weights(path, model.name, params_path), channels_last=channels_last)
