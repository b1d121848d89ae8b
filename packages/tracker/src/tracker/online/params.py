"""Tracking hyper-parameters per model family, loaded strictly from ``pipelines/track/<model>.toml``.

The dataclass defaults are the published values (SiamFC: Bertinetto et al. 2016; RPN family: pysot's
SiamRPN-AlexNet, and the seed author's DaSiamRPN values for the SSD models in their TOML files); a
test keeps ``pipelines/track/*.toml`` loadable. Unknown keys and values of the wrong type are errors:
a typo must never silently fall back to a default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import siamcore.config
from siamcore.config import UnknownKeyError, WrongTypeError, build_dataclass
from siamcore.toml import read_toml

from ..models import model_class


class ParamsError(siamcore.config.ConfigError):
    """Hyper-parameters that cannot be used as written."""


@dataclass(frozen=True)
class SiamFCParams:
    """SiamFC's 3-scale search (values of the SiamFC-3s-color release)."""

    scale_count: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745  # multiplies the responses of the side scales
    scale_lr: float = 0.59
    window_influence: float = 0.176  # Hann window mixed into the normalised response
    response_upsample: int = 16  # 17x17 -> 272x272, bicubic
    total_stride: int = 8
    min_size_factor: float = 0.2  # target size kept within [factor * init, max_factor * init]
    max_size_factor: float = 5.0


@dataclass(frozen=True)
class RPNParams:
    """Post-processing of the RPN family (SiamRPN, SiamConcatRPN, SiamBroadcastRPN)."""

    penalty_k: float = 0.16
    window_influence: float = 0.40
    lr: float = 0.30  # size learning rate; the effective one is penalty * confidence * lr
    # "pysot": penalty = exp(-(r_c * s_c - 1) * k). "seed": the seed's divisor exp(k * r_c * s_c),
    # i.e. the pysot penalty times exp(-k) (changes the balance with the window and the size lr).
    penalty_form: str = "pysot"
    min_size_px: float = 10.0
    size_range_factor: float = 3.0  # size kept within [init / f, init * f]; 0 disables
    clamp_to_frame: bool = True
    # SiamFC's scale search on top of the RPN head (1 = off, pysot's single search): the search is cropped at
    # ``scale_step^{-1, 0, 1}`` x the window; the scale whose best candidate has the highest penalised logit
    # (``logit + log(change penalty)``, side scales minus ``scale_margin``) wins, and the size follows it with
    # ``scale_lr`` before the regression's update (``lr``). A head on a frozen SiamFC trunk measures scale this
    # way far better than by regressing it from one crop (benchmarks/RESULTS.md, "Size from the scale search").
    scale_count: int = 1
    scale_step: float = 1.0375
    scale_margin: float = 0.5
    scale_lr: float = 0.59


PENALTY_FORMS = ("pysot", "seed")

# Bounds of the values a tracker can use: beyond them a parameters file (or an export's sidecar) would
# ask for absurd work (``response_upsample = 10**6`` is a 2-PiB response map) or meaningless weights.
_RANGES = {
    "scale_count": (1, 15), "scale_step": (1.0, 2.0), "scale_penalty": (0.0, 1.0), "scale_lr": (0.0, 1.0),
    "scale_margin": (0.0, 100.0),
    "window_influence": (0.0, 1.0), "response_upsample": (1, 64), "total_stride": (1, 64),
    "min_size_factor": (0.0, 1.0), "max_size_factor": (1.0, 1000.0), "penalty_k": (0.0, 10.0),
    "lr": (0.0, 1.0), "min_size_px": (0.0, 10000.0), "size_range_factor": (0.0, 1000.0),
}

# The parameters of each online tracker (a model class's ``online_tracker``, tracker.models.registry).
PARAMS_CLASSES = {"siamfc": SiamFCParams, "rpn": RPNParams}


def params_class(model_name: str) -> type:
    """The params dataclass of the online tracker that ``model_name``'s class names."""
    return PARAMS_CLASSES[model_class(model_name).online_tracker]


def default_params(model_name: str):
    """The built-in hyper-parameters of ``model_name``: its family's published values with the model
    class's own ``tracking_defaults``; ``pipelines/track/<model>.toml`` holds the same."""
    return params_class(model_name)(**model_class(model_name).tracking_defaults)


def params_from_dict(base, values: dict, source: str = "<dict>"):
    """``base`` (a params dataclass) with ``values`` replaced; unknown keys or wrong types raise
    :class:`ParamsError`."""
    try:
        params = build_dataclass(type(base), values, base=base)
    except UnknownKeyError as exc:
        allowed = ", ".join(exc.known)
        raise ParamsError(f"{source}: unknown key(s) {', '.join(sorted(exc.unknown))}; allowed: {allowed}") from None
    except WrongTypeError as exc:
        raise ParamsError(f"{source}: {exc.key} must be {exc.expected}, got {exc.value!r}") from None
    for name, value in asdict(params).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamsError(f"{source}: {name} must be a finite number, got {value!r}")
        low, high = _RANGES.get(name, (None, None))
        if low is not None and not low <= value <= high:
            raise ParamsError(f"{source}: {name} must be in [{low}, {high}], got {value!r}")
    if isinstance(params, RPNParams) and params.penalty_form not in PENALTY_FORMS:
        raise ParamsError(f"{source}: penalty_form must be one of {PENALTY_FORMS}, got {params.penalty_form!r}")
    if params.scale_count < 1 or params.scale_count % 2 == 0:
        raise ParamsError(f"{source}: scale_count must be odd and positive, got {params.scale_count}")
    return params


def load_params(path: Path | None, model_name: str):
    """Hyper-parameters for ``model_name`` from a TOML file (flat keys; keys it leaves out keep
    :func:`default_params`), or :func:`default_params` when ``path`` is None."""
    base = default_params(model_name)
    if path is None:
        return base
    path = Path(path)
    try:
        values = read_toml(path, ParamsError)
    except FileNotFoundError as e:
        raise ParamsError(f"tracking parameters file not found: {path}") from e
    return params_from_dict(base, values, str(path))
