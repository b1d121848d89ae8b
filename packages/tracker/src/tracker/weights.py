"""Model weights on disk: safetensors plus a small JSON, never pickle.

A siamtrack weights file is a safetensors file whose metadata holds ``format = "siamtrack"``,
``model`` (registry name), ``config`` (constructor kwargs, JSON) and ``views`` (JSON); the same
information is written beside it as ``<name>.json`` for humans. :func:`load_model` also reads
foreign layouts that a model class names in its ``foreign_names`` and converts with its
``convert_foreign_state``: the shipped SiamFC file (``model = "siamfc-alexnet"``, tensors
``conv1..conv5``, score affine in ``score``: :class:`tracker.models.SiamFC`).

:func:`load_backbone_weights` loads torchvision-named ImageNet weights (safetensors, or a torch
state-dict file read with ``weights_only=True``) into a backbone, and the SiamFC file's
``conv1..conv5`` into any AlexNet variant wherever the shapes match.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from siamcore.atomic import atomic_path, write_bytes_atomic
from torch import nn

from .models import create_model, model_class, resolve_name

FORMAT = "siamtrack"
NOT_WEIGHTS = "not a siamtrack/safetensors weights file"


def model_info(model: nn.Module) -> dict:
    """The metadata that rebuilds ``model``: name, config and views (all JSON-able)."""
    return {
        "model": model.name,
        "config": model.config(),
        "views": {role: view.as_dict() for role, view in model.views.items()},
        "format": FORMAT,
    }


def save_model(model: nn.Module, path, tracking: dict | None = None) -> Path:
    """Write ``model``'s weights to ``path`` (safetensors) and ``path.with_suffix('.json')``, atomically.

    ``tracking``: the tracking parameters the weights were evaluated with (a params file's keys); the
    online tracker then uses them when no ``--params`` is given (:func:`read_tracking`), so that
    ``tracker eval --weights RUN`` measures what the run reported.
    """
    path = Path(path)
    info = model_info(model)
    metadata = {
        "model": info["model"],
        "config": json.dumps(info["config"], sort_keys=True),
        "views": json.dumps(info["views"], sort_keys=True),
        "format": FORMAT,
    }
    if tracking:
        info["tracking"] = dict(tracking)
        metadata["tracking"] = json.dumps(info["tracking"], sort_keys=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    write_bytes_atomic(path.with_suffix(".json"), (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    return path


def read_metadata(path) -> dict:
    """The safetensors metadata of ``path`` (``{}`` when it has none)."""
    with _open_safetensors(path) as f:
        return dict(f.metadata() or {})


def read_tracking(path) -> dict | None:
    """The tracking parameters recorded in a siamtrack weights file (:func:`save_model`), or None."""
    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT or "tracking" not in metadata:
        return None
    try:
        tracking = json.loads(metadata["tracking"])
    except json.JSONDecodeError:
        tracking = None
    if not isinstance(tracking, dict):
        raise ValueError(f"{path}: its tracking parameters are not a JSON object")
    return tracking


# Bounds of what a weights file may ask for: the largest model here holds ~10 M values.
MAX_MODEL_VALUES = 200_000_000
_CONFIG_BOUNDS = {"channels": (1, 4096), "exemplar_size": (16, 1024), "search_size": (16, 1024)}


def check_config(path, config: dict) -> None:
    """Model constructor arguments read from a file: numbers finite, sizes within :data:`_CONFIG_BOUNDS`."""
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the model config must be a JSON object, got {type(config).__name__}")
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{path}: config {key} must be finite, got {value!r}")
        if isinstance(value, (list, tuple)) and (len(value) > 64 or not all(
                isinstance(v, (int, float)) and math.isfinite(v) for v in value)):
            raise ValueError(f"{path}: config {key} must be at most 64 finite numbers (anchor ratios, variances)")
        low, high = _CONFIG_BOUNDS.get(key, (None, None))
        if low is not None and not (isinstance(value, int) and low <= value <= high):
            raise ValueError(f"{path}: config {key} must be an integer in [{low}, {high}], got {value!r}")


def check_weights(state: dict, source) -> None:
    """Refuse integer or non-finite weights (BN's step counter aside): NaN, inf or int8 tensors load and
    run, and the tracker's boxes then run off the frame without a word."""
    for key, tensor in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        if not tensor.is_floating_point():
            raise ValueError(f"{source}: {key} is {tensor.dtype}; weights must be floating point")
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{source}: {key} holds NaN or infinite values")


def load_model(path, model_name: str | None = None, map_location="cpu") -> nn.Module:
    """Rebuild the model saved at ``path`` (in eval mode) from its metadata.

    ``model_name`` names the model of a file without metadata; for a file that names its model it
    must agree with it (a clear error instead of a wall of shape mismatches). A torch state-dict file
    (``.pt``/``.pth``) is read with ``weights_only=True`` and needs its ``.json`` beside it or
    ``model_name``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        metadata = read_metadata(path)
        state = _read_safetensors(path)
    else:
        sidecar = path.with_suffix(".json")
        info = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        metadata = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in info.items()}
        state = _torch_load_state_dict(path)
    name = model_name or metadata.get("model")
    if not name:
        raise ValueError(f"{path} does not say which model it holds; pass model_name (one of the registry's names)")
    file_model = metadata.get("model", "")
    file_model_known = bool(file_model) and _is_registered(file_model)
    if model_name and file_model_known and resolve_name(file_model) != resolve_name(model_name):
        raise ValueError(f"{path} holds model {resolve_name(file_model)!r} and does not fit model "
                         f"{resolve_name(model_name)!r}; leave out the model name to use the file's own")
    config = json.loads(metadata.get("config", "{}")) if metadata.get("format") == FORMAT and file_model_known else {}
    foreign = (metadata.get("format") != FORMAT and file_model_known
               and file_model in model_class(file_model).foreign_names)
    check_config(path, config)
    try:
        with torch.device("meta"):  # sized before anything is allocated: a config can ask for 46 GB
            probe = create_model(name, **config)
    except TypeError as exc:
        raise ValueError(f"{path}: config {config} does not fit model {name!r}: {exc}") from exc
    size = sum(t.numel() for t in probe.state_dict().values())
    if size > MAX_MODEL_VALUES:
        raise ValueError(f"{path}: config {config} asks for a model of {size:,} values (at most {MAX_MODEL_VALUES:,})")
    model = create_model(name, **config)
    if foreign:
        state = model.convert_foreign_state(state, metadata)
    check_weights(state, path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first_lines = "\n".join(str(exc).splitlines()[:4])
        raise ValueError(f"{path} does not fit model {resolve_name(name)!r}: {first_lines}") from exc
    return model.to(map_location).eval()


@dataclass
class LoadReport:
    """What :func:`load_backbone_weights` did, by parameter name of the backbone."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"loaded {len(self.loaded)} tensors, missing {len(self.missing)}, "
                f"shape mismatch {len(self.mismatched)}, ignored {len(self.unexpected)} from the file")


def load_backbone_weights(backbone: nn.Module, path, strict: bool = False) -> LoadReport:
    """Copy weights from ``path`` into ``backbone`` by name where the shapes match.

    Accepts torchvision-named files (``features.0.weight``, ``layer1.0.conv1.weight``; prefixes
    ``module.``/``backbone.`` are stripped) and the SiamFC file (``conv1..conv5`` mapped through
    ``backbone.conv_paths``). ``strict=True`` raises unless every backbone tensor was loaded.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights file not found: {path}")
    state = _read_safetensors(path) if path.suffix == ".safetensors" else _torch_load_state_dict(path)
    state = {re.sub(r"^(module\.|backbone\.)+", "", k): v for k, v in state.items()}
    conv_paths = getattr(backbone, "conv_paths", {})
    state = {_rename_conv(k, conv_paths): v for k, v in state.items()}
    own = backbone.state_dict()
    report = LoadReport()
    # A layer loads whole or not at all (a conv's bias without its weight would be meaningless).
    misfit_layers = {k.rpartition(".")[0] for k, v in state.items() if k in own and own[k].shape != v.shape}
    update = {}
    for key, value in state.items():
        if key not in own:
            report.unexpected.append(key)
        elif key.rpartition(".")[0] in misfit_layers:
            report.mismatched.append(key)
        else:
            update[key] = value
            report.loaded.append(key)
    report.missing = [k for k in own if k not in update and not k.endswith("num_batches_tracked")]
    if strict and (report.missing or report.mismatched):
        raise ValueError(f"{path} does not fit the backbone: missing {report.missing[:8]}, "
                         f"shape mismatch {report.mismatched[:8]}")
    with torch.no_grad():
        for key, value in update.items():
            own[key].copy_(value)
    return report


def _is_registered(name: str) -> bool:
    try:
        resolve_name(name)
    except KeyError:
        return False
    return True


def _rename_conv(key: str, conv_paths: dict) -> str:
    head, _, tail = key.partition(".")
    return f"{conv_paths[head]}.{tail}" if head in conv_paths and tail else key


def _open_safetensors(path: Path):
    """``safe_open``, with a one-line ValueError (that the CLI prints) for a file that is not safetensors."""
    try:
        return safe_open(str(path), framework="pt")
    except SafetensorError as exc:
        raise ValueError(f"{path} is {NOT_WEIGHTS}") from exc


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    with _open_safetensors(path) as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def _torch_load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the unpickler refuses anything but tensors and plain containers
        # torch's own message is ten lines suggesting weights_only=False, which must never be followed.
        raise ValueError(f"{path} is {NOT_WEIGHTS}, nor a torch state dict of plain tensors") from exc
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    return obj
