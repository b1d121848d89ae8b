"""Tracking hyper-parameter search (pysot's ``tools/tune.py``, as a plain grid): which window influence,
change penalty and size lr suit a model, measured by OPE success AUC on sequences *you train on or hold
out for validation*, never on the sequences you report (that would tune to the test set).

``param_grid`` expands value lists into parameter sets (pure); ``tune`` runs the online tracker with each
on every sequence and returns the results best first.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from siamcore.toml import toml_dumps

from .datasets import Sequence
from .evaluate import track_sequence
from .metrics import sequence_curves
from .online import build_tracker
from .online.params import params_from_dict


@dataclass
class TuneResult:
    params: object  # RPNParams or SiamFCParams
    changed: dict  # the grid values of this point
    auc: float  # mean over sequences
    per_sequence: dict[str, float]


def param_grid(base, values: dict[str, list]) -> list[tuple[object, dict]]:
    """Every combination of ``values`` (key -> candidate values) applied to ``base``; keys are checked
    like a params file's (unknown key or wrong type: :class:`tracker.online.ParamsError`)."""
    keys = sorted(values)
    out = []
    for combo in itertools.product(*(values[k] for k in keys)):
        changed = dict(zip(keys, combo))
        out.append((params_from_dict(base, changed, "--grid"), changed))
    return out


def tune(model, sequences: list[Sequence], grid: list[tuple[object, dict]],
         on_result: Callable[[TuneResult], None] | None = None) -> list[TuneResult]:
    """OPE of ``model`` with each parameter set on ``sequences``; results sorted by mean AUC, best first."""
    results = []
    for params, changed in grid:
        tracker = build_tracker(model, params)
        per_sequence = {}
        for seq in sequences:
            run = track_sequence(tracker, seq)
            per_sequence[seq.name] = float(sequence_curves(run.boxes_xywh, seq.gt_xywh).auc)
        result = TuneResult(params, changed, float(np.mean(list(per_sequence.values()))), per_sequence)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return sorted(results, key=lambda r: -r.auc)


def params_toml(params, comment: str = "") -> str:
    """A params file (flat keys, as ``--params`` reads) holding every value of ``params``."""
    return toml_dumps(dataclasses.asdict(params), comment)
