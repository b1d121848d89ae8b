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
from pathlib import Path

import numpy as np

from siamcore.datasets import load_sequences, normalise_name
from siamcore.toml import toml_dumps, toml_value

from .datasets import Sequence
from .errors import UsageError
from .evaluation.metrics import sequence_curves
from .evaluation.ope import track_sequence
from .online import build_tracker
from .online.params import params_from_dict


@dataclass
class TuneResult:
    params: object  # RPNParams or SiamFCParams
    changed: dict  # the grid values of this point
    auc: float  # mean over sequences
    per_sequence: dict[str, float]


def parse_grid(items: list[str]) -> dict[str, list]:
    """``--grid KEY=V1,V2,...`` as ``{key: [values]}``, each value read as a TOML value (``0.3``, ``true``,
    ``"seed"``; anything else as the text itself)."""
    values: dict[str, list] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not raw:
            raise UsageError(f"--grid expects KEY=V1,V2,..., got {item!r}")
        values[key.strip()] = [toml_value(v.strip()) for v in raw.split(",") if v.strip()]
    return values


def tune_sequences(roots: list[Path], layouts: list[str] | None, names: list[str] | None) -> list[Sequence]:
    """The sequences to tune on: those of every root in its layout (one for all, or one per root; default
    otb) named in ``names`` (all when None). With several roots a name need only exist in one of them."""
    layouts = layouts or ["otb"]
    if len(layouts) not in (1, len(roots)):
        raise UsageError(f"give one --layout for all --root folders or one per folder ({len(roots)}), got "
                         f"{len(layouts)}")
    seqs = []
    try:
        for folder, layout in zip(roots, layouts * len(roots) if len(layouts) == 1 else layouts):
            seqs += _matching_sequences(layout, folder, names, several=len(roots) > 1)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not seqs:
        raise UsageError(f"no sequence of {', '.join(map(str, roots))} matches --sequences {', '.join(names or [])}")
    return seqs


def _matching_sequences(layout: str, root: Path, names: list[str] | None, several: bool) -> list[Sequence]:
    """The sequences of ``root`` named in ``names`` (all when None). With several roots a name need only
    exist in one of them; with one, an unknown name is an error (ValueError) as elsewhere."""
    if not several or not names:
        return load_sequences(layout, root, names)
    wanted = {normalise_name(n) for n in names}
    return [s for s in load_sequences(layout, root) if wanted & set(s.match_keys())]


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
