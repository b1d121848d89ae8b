"""OTB-style one-pass-evaluation metrics (pure numpy, no I/O).

Protocol (the OTB toolkit's, as in got10k, pysot and pytracking):

- Boxes are continuous ``x, y, w, h`` (the toolkit's ``+1``/``-1`` pixel terms cancel).
- Success: for each of 21 thresholds ``t = 0, 0.05, ..., 1`` the fraction of frames whose IoU is
  *strictly greater* than ``t``; AUC is the mean of the 21 values.
- Precision: fraction of frames whose centre distance is ``<= t`` px for ``t = 0..50``; reported at 20.
- Normalised precision (pytracking): the centre offset divided by the ground-truth ``w, h`` before the
  norm; thresholds ``0, 0.01, ..., 0.5``; reported at 0.2.
- Invalid ground-truth rows (``w <= 0`` or ``h <= 0`` or not finite), e.g. frames where the target is
  out of view: as the OTB toolkit (``calcSeqErrRobust``) does, they stay in the denominator, count as
  **failures for success** (IoU set to -1) and as **hits for (normalised) precision** (distance set
  to -1). Pass ``invalid_gt="exclude"`` to drop those frames instead.
- Invalid predictions (not finite): IoU 0 and infinite centre distance (a miss everywhere).
- Several sequences: per-sequence curves averaged with equal weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from siamcore.boxes import iou_xywh

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS_PX = np.arange(0, 51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
PRECISION_REPORT_PX = 20.0
NORM_PRECISION_REPORT = 0.2

INVALID_GT_MODES = ("otb", "exclude")


def valid_gt_mask(gt_xywh) -> np.ndarray:
    """Rows of usable ground truth: finite with positive width and height."""
    gt = np.asarray(gt_xywh, dtype=np.float64)
    return np.all(np.isfinite(gt), axis=-1) & (gt[..., 2] > 0) & (gt[..., 3] > 0)


def centres_xywh(boxes_xywh) -> np.ndarray:
    b = np.asarray(boxes_xywh, dtype=np.float64)
    return b[..., :2] + b[..., 2:] / 2.0


def overlaps(pred_xywh, gt_xywh) -> np.ndarray:
    """Per-frame IoU of predictions vs ground truth; non-finite predictions get 0."""
    pred = np.asarray(pred_xywh, dtype=np.float64)
    gt = np.asarray(gt_xywh, dtype=np.float64)
    iou = iou_xywh(np.nan_to_num(pred, nan=0.0, posinf=0.0, neginf=0.0), np.nan_to_num(gt, nan=0.0))
    return np.where(np.all(np.isfinite(pred), axis=-1), iou, 0.0)


def centre_errors_px(pred_xywh, gt_xywh) -> np.ndarray:
    """Euclidean distance between box centres; ``inf`` for non-finite predictions."""
    d = centres_xywh(pred_xywh) - centres_xywh(gt_xywh)
    err = np.sqrt(np.sum(d * d, axis=-1))
    return np.where(np.isfinite(err), err, np.inf)


def normalised_centre_errors(pred_xywh, gt_xywh) -> np.ndarray:
    """Centre offset divided by the ground-truth size per axis, then the norm (pytracking)."""
    gt = np.asarray(gt_xywh, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (centres_xywh(pred_xywh) - centres_xywh(gt)) / gt[..., 2:]
        err = np.sqrt(np.sum(d * d, axis=-1))
    return np.where(np.isfinite(err), err, np.inf)


def success_curve(iou: np.ndarray, thresholds=SUCCESS_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with IoU strictly above each threshold."""
    iou = np.asarray(iou, dtype=np.float64)
    if iou.size == 0:
        return np.zeros(len(thresholds))
    return (iou[None, :] > np.asarray(thresholds)[:, None]).mean(axis=1)


def precision_curve(errors: np.ndarray, thresholds=PRECISION_THRESHOLDS_PX) -> np.ndarray:
    """Fraction of frames with centre error at most each threshold."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.size == 0:
        return np.zeros(len(thresholds))
    return (errors[None, :] <= np.asarray(thresholds)[:, None]).mean(axis=1)


@dataclass(frozen=True)
class SequenceCurves:
    """Curves of one tracker on one sequence (thresholds are the module constants)."""

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    frames: int

    @property
    def auc(self) -> float:
        return float(np.mean(self.success))

    @property
    def precision_at_20(self) -> float:
        return float(np.interp(PRECISION_REPORT_PX, PRECISION_THRESHOLDS_PX, self.precision))

    @property
    def norm_precision_at_02(self) -> float:
        return float(np.interp(NORM_PRECISION_REPORT, NORM_PRECISION_THRESHOLDS, self.norm_precision))

    def summary(self) -> dict:
        return {
            "auc": self.auc,
            "precision": self.precision_at_20,
            "norm_precision": self.norm_precision_at_02,
            "frames": self.frames,
        }


def sequence_curves(pred_xywh, gt_xywh, invalid_gt: str = "otb") -> SequenceCurves:
    """Success, precision and normalised-precision curves of one sequence (see module doc)."""
    if invalid_gt not in INVALID_GT_MODES:
        raise ValueError(f"invalid_gt must be one of {INVALID_GT_MODES}, got {invalid_gt!r}")
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth rows")
    valid = valid_gt_mask(gt)
    iou = overlaps(pred, gt)
    err = centre_errors_px(pred, gt)
    nerr = normalised_centre_errors(pred, gt)
    if invalid_gt == "otb":
        iou = np.where(valid, iou, -1.0)
        err = np.where(valid, err, -1.0)
        nerr = np.where(valid, nerr, -1.0)
    else:
        iou, err, nerr = iou[valid], err[valid], nerr[valid]
    return SequenceCurves(
        success=success_curve(iou),
        precision=precision_curve(err),
        norm_precision=precision_curve(nerr, NORM_PRECISION_THRESHOLDS),
        frames=int(len(iou)),
    )


def mean_curves(curves: list[SequenceCurves]) -> SequenceCurves:
    """Average per-sequence curves with equal weight per sequence."""
    if not curves:
        raise ValueError("no sequences to average")
    return SequenceCurves(
        success=np.mean([c.success for c in curves], axis=0),
        precision=np.mean([c.precision for c in curves], axis=0),
        norm_precision=np.mean([c.norm_precision for c in curves], axis=0),
        frames=int(sum(c.frames for c in curves)),
    )


def tracker_scores(per_sequence: dict[str, SequenceCurves]) -> dict:
    """The ``scores.json`` entry of one tracker: overall numbers plus one entry per sequence."""
    overall = mean_curves(list(per_sequence.values()))
    return {
        "auc": overall.auc,
        "precision": overall.precision_at_20,
        "norm_precision": overall.norm_precision_at_02,
        "sequences": {name: c.summary() for name, c in per_sequence.items()},
    }


# The OTB toolkit's attribute codes (attrs.txt) and the names its per-attribute plots carry, in its
# order (``attName`` in the toolkit's perfPlot.m).
OTB_ATTRIBUTES = {
    "IV": "illumination variation",
    "OPR": "out-of-plane rotation",
    "SV": "scale variation",
    "OCC": "occlusion",
    "DEF": "deformation",
    "MB": "motion blur",
    "FM": "fast motion",
    "IPR": "in-plane rotation",
    "OV": "out of view",
    "BC": "background clutter",
    "LR": "low resolution",
}


def sequences_by_attribute(attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    """``{attribute: [sequence, ...]}`` from ``{sequence: [attribute, ...]}``, for per-attribute scores.

    OTB codes come in the toolkit's order, other tags (VOT's) after them alphabetically; attributes no
    sequence has are left out, so every group can be averaged. Sequences keep their given order.
    """
    groups: dict[str, list[str]] = {}
    for seq, attrs in attributes.items():
        for attr in dict.fromkeys(attrs):
            groups.setdefault(attr, []).append(seq)
    order = list(OTB_ATTRIBUTES)
    return dict(sorted(groups.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0])))


# --- Size and centre drift (per frame) --------------------------------------------------------------
# Success and precision say *that* a tracker lost the target; these say *how*: a box that slowly grows
# or shrinks (scale drift) shows as a size ratio leaving 1, a box that slides off as a rising centre
# error. ``tracker drift`` and ``tracker eval --drift`` write them per frame (CSV) and draw them.

SIZE_BAND = (0.67, 1.5)
"""Default band of acceptable size ratios ``sqrt(pw*ph) / sqrt(gw*gh)``: about 2/3 to 3/2."""


def size_ratios(pred_xywh, gt_xywh) -> np.ndarray:
    """Per frame ``sqrt(pw*ph) / sqrt(gw*gh)``: 1 when the predicted box has the ground truth's area,
    2 when it is twice as wide and high. NaN where the ground truth is invalid (absent target, w or h
    <= 0, not finite) and where the prediction is not a box (not finite, w or h <= 0): no size to compare."""
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth rows")
    ok = valid_gt_mask(pred) & valid_gt_mask(gt)  # the same rule makes a predicted row a box
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.sqrt(pred[:, 2] * pred[:, 3]) / np.sqrt(gt[:, 2] * gt[:, 3])
    return np.where(ok, ratio, np.nan)


@dataclass(frozen=True)
class FrameDrift:
    """Per-frame size and centre diagnostics of one tracker on one sequence (``[N]`` arrays, frame 1 first).

    ``size_ratio`` (see :func:`size_ratios`), ``centre_error_px`` and ``iou`` are NaN where the ground
    truth is invalid (``valid`` is False); where the prediction is not a finite box the centre error is
    NaN too and the IoU 0 (a miss, as :func:`overlaps` scores it)."""

    pred_xywh: np.ndarray
    gt_xywh: np.ndarray
    size_ratio: np.ndarray
    centre_error_px: np.ndarray
    iou: np.ndarray
    valid: np.ndarray  # ground truth usable

    def __len__(self) -> int:
        return len(self.valid)

    def summary(self, band: tuple[float, float] = SIZE_BAND) -> DriftSummary:
        return drift_summary(self.size_ratio, self.valid, band)


def frame_drift(pred_xywh, gt_xywh) -> FrameDrift:
    """Size ratio, centre error (px) and IoU of every frame; see :class:`FrameDrift`."""
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    ratio = size_ratios(pred, gt)  # checks the shapes
    valid = valid_gt_mask(gt)
    err = centre_errors_px(pred, gt)
    err = np.where(valid & np.isfinite(err), err, np.nan)
    iou = np.where(valid, overlaps(pred, gt), np.nan)
    return FrameDrift(pred, gt, ratio, err, iou, valid)


@dataclass(frozen=True)
class DriftSummary:
    """How far one tracker's box sizes drift on one sequence.

    ``frames``: frames with valid ground truth, the denominator of the fractions; ``measured``: those of
    them with a size ratio (the prediction is a box). ``in_band``, ``below`` and ``above``: fractions of
    ``frames`` whose ratio lies within ``band`` (inclusive), under it (box too small) or over it (too
    large); a frame without a predicted box counts in none of them, so they sum to ``measured / frames``.
    ``median_ratio`` and ``geomean_ratio`` (``exp(mean(log r))``, the ratio's typical factor) are over the
    measured frames; NaN when there are none."""

    frames: int
    measured: int
    in_band: float
    below: float
    above: float
    median_ratio: float
    geomean_ratio: float
    band: tuple[float, float] = SIZE_BAND

    def to_dict(self) -> dict:
        """JSON-ready: NaN becomes None (JSON has no NaN)."""
        def num(v: float):
            return None if not np.isfinite(v) else float(v)

        return {"frames": self.frames, "measured": self.measured, "in_band": num(self.in_band),
                "below": num(self.below), "above": num(self.above), "median_ratio": num(self.median_ratio),
                "geomean_ratio": num(self.geomean_ratio), "band": [float(b) for b in self.band]}


def drift_summary(size_ratio, valid=None, band: tuple[float, float] = SIZE_BAND) -> DriftSummary:
    """Summarise per-frame size ratios (see :class:`DriftSummary`). ``valid`` marks the frames with valid
    ground truth (default: those with a finite ratio); NaN ratios among them are frames without a
    predicted box."""
    lo, hi = float(band[0]), float(band[1])
    if not 0 < lo <= hi:
        raise ValueError(f"size band must satisfy 0 < lo <= hi, got [{lo}, {hi}]")
    ratio = np.asarray(size_ratio, dtype=np.float64).reshape(-1)
    valid = np.isfinite(ratio) if valid is None else np.asarray(valid, dtype=bool).reshape(-1)
    if valid.shape != ratio.shape:
        raise ValueError(f"{len(valid)} validity flags for {len(ratio)} size ratios")
    r = ratio[valid & np.isfinite(ratio)]
    n = int(valid.sum())
    if n == 0:
        return DriftSummary(0, 0, np.nan, np.nan, np.nan, np.nan, np.nan, (lo, hi))
    nan = float("nan")
    return DriftSummary(
        frames=n,
        measured=len(r),
        in_band=float(np.count_nonzero((r >= lo) & (r <= hi)) / n),
        below=float(np.count_nonzero(r < lo) / n),
        above=float(np.count_nonzero(r > hi) / n),
        median_ratio=float(np.median(r)) if len(r) else nan,
        geomean_ratio=float(np.exp(np.mean(np.log(r)))) if len(r) else nan,
        band=(lo, hi),
    )
