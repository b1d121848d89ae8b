"""LaSOT one-pass-evaluation metrics: success AUC, precision@20 px, normalised precision@0.2 (pure
numpy, no I/O), with the absent-frame handling of pytracking's analysis code, which LaSOT's Python
numbers are computed with (visionml/pytracking ``pytracking/analysis/extract_results.py``,
``calc_seq_err_robust`` with ``dataset='lasot'`` and the default ``exclude_invalid_frames=False``):

- Frame 0's prediction is replaced by the ground truth (``pred_bb[0, :] = anno_bb[0, :]``).
- A prediction with ``w`` or ``h`` equal to 0 takes the previous frame's box (where the ground truth
  is not NaN); negative sizes or NaN predictions are refused there (``Invalid results``): here a
  non-finite prediction is a miss.
- ``valid = (gt w > 0) & (gt h > 0) & visible`` (``visible`` = not ``full_occlusion`` and not
  ``out_of_view``). **Absent (invalid) frames stay in the denominator** (the sequence length) and are
  **failures for all three curves**: IoU -1, centre error ``inf``, normalised centre error ``inf``
  for frames where the target is not visible (a visible frame with an invalid box would be a hit for
  normalised precision, -1: pytracking's quirk, kept).
- Thresholds as OTB: IoU ``> t`` for ``t = 0, 0.05, ..., 1`` (AUC = their mean), centre error ``<= t``
  px for ``t = 0..50`` (reported at 20), normalised error ``<= t`` for ``t = 0, 0.01, ..., 0.5``
  (reported at 0.2); the normalised error divides the centre offset by the ground-truth ``w, h``.
- Sequences weigh equally (per-sequence curves averaged): :func:`tracker.evaluation.metrics.mean_curves`.

This is pytracking's rule, not checked against the LaSOT MATLAB toolkit; OTB's own handling of
invalid rows is in :mod:`tracker.evaluation.metrics`.
"""

from __future__ import annotations

import numpy as np

from .metrics import (
    NORM_PRECISION_THRESHOLDS,
    SequenceCurves,
    centre_errors_px,
    normalised_centre_errors,
    overlaps,
    precision_curve,
    success_curve,
)


def fill_zero_size_predictions(pred_xywh, gt_xywh) -> np.ndarray:
    """pytracking's repair: a predicted box of zero width or height (frames 1..) takes the previous
    frame's (already repaired) box, unless the ground truth of that frame is NaN."""
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4).copy()
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    for i in range(1, len(pred)):
        if (pred[i, 2:] == 0.0).any() and not np.isnan(gt[i]).any():
            pred[i] = pred[i - 1]
    return pred


def lasot_sequence_curves(pred_xywh, gt_xywh, visible=None) -> SequenceCurves:
    """Success, precision and normalised-precision curves of one LaSOT sequence (see module doc).

    ``visible`` is per frame (True where the target is in view); None means every frame. More
    predicted rows than ground-truth rows are cut (pytracking does so for LaSOT); fewer is an error."""
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    if len(pred) < len(gt):
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth rows")
    pred = fill_zero_size_predictions(pred[: len(gt)], gt)
    if len(gt):
        pred[0] = gt[0]
    visible = np.ones(len(gt), bool) if visible is None else np.asarray(visible, bool).reshape(-1)
    if len(visible) != len(gt):
        raise ValueError(f"{len(visible)} visibility flags for {len(gt)} ground-truth rows")
    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2] > 0) & (gt[:, 3] > 0) & visible
    safe_gt = np.where(valid[:, None], gt, 1.0)  # invalid rows are overwritten below
    iou = np.where(valid, overlaps(pred, safe_gt), -1.0)
    err = np.where(valid, centre_errors_px(pred, safe_gt), np.inf)
    nerr = np.where(valid, normalised_centre_errors(pred, safe_gt), -1.0)
    nerr = np.where(visible, nerr, np.inf)
    return SequenceCurves(
        success=success_curve(iou),
        precision=precision_curve(err),
        norm_precision=precision_curve(nerr, NORM_PRECISION_THRESHOLDS),
        frames=int(len(gt)),
    )
