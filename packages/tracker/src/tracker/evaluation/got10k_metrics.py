"""GOT-10k one-pass-evaluation metrics: AO, SR@0.5, SR@0.75 (pure numpy, no I/O).

The protocol is the official toolkit's (got-10k/toolkit ``got10k/experiments/got10k.py``,
``ExperimentGOT10k.report`` and ``_evaluate``; ``got10k/utils/metrics.py`` ``rect_iou``):

- **Frame 0 is excluded**: IoUs are taken over ``boxes[1:]`` and ``anno[1:]`` (the tracker was
  initialised there).
- **Only frames with the target visible** count: ``cover[1:] > 0`` (``cover.label``, visible fraction
  in levels 0..8; the toolkit reads ``meta['cover']``). Absent/occluded frames are dropped, not failed.
- **IoU bounded by the image**: both boxes are first clipped to the image (``bound`` = the meta's
  ``resolution`` ``(W, H)``) exactly as ``rect_iou`` does it: ``x <- clip(x, 0, W)``, then
  ``w <- clip(w, 0, W - x)`` with the clipped ``x`` (and so for ``y, h``); ``iou = inter / (union +
  eps)`` clipped to ``[0, 1]``.
- **Pooled over frames**: the IoUs of every sequence (and every repetition of it) are concatenated,
  then ``AO = mean(iou)``, ``SR@t = mean(iou > t)`` (strictly greater); a long sequence weighs more.
  The success curve has 101 thresholds ``linspace(0, 1, 101)``.
- **Speed**: ``mean(1 / t)`` over the positive, non-NaN per-frame times; -1 when there are none.

One deviation: a non-finite predicted box (NaN from a failed tracker) gets IoU 0 here, where the
toolkit's NaN would turn AO into NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUCCESS_THRESHOLDS_101 = np.linspace(0.0, 1.0, 101)
SR_THRESHOLDS = (0.5, 0.75)


def clip_to_image_xywh(boxes_xywh, image_size_wh) -> np.ndarray:
    """Boxes clipped to the image as the toolkit's ``rect_iou(..., bound)`` does (x first, then w with
    the clipped x: a box starting left of the image keeps its width up to the right edge)."""
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4).copy()
    width, height = float(image_size_wh[0]), float(image_size_wh[1])
    b[:, 0] = np.clip(b[:, 0], 0, width)
    b[:, 1] = np.clip(b[:, 1], 0, height)
    b[:, 2] = np.clip(b[:, 2], 0, width - b[:, 0])
    b[:, 3] = np.clip(b[:, 3], 0, height - b[:, 1])
    return b


def got10k_iou(pred_xywh, gt_xywh, image_size_wh=None) -> np.ndarray:
    """Per-row IoU as the toolkit's ``rect_iou``; non-finite predictions get 0."""
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth rows")
    finite = np.all(np.isfinite(pred), axis=1)
    pred = np.where(finite[:, None], pred, 0.0)
    if image_size_wh is not None:
        pred, gt = clip_to_image_xywh(pred, image_size_wh), clip_to_image_xywh(gt, image_size_wh)
    x1 = np.maximum(pred[:, 0], gt[:, 0])
    y1 = np.maximum(pred[:, 1], gt[:, 1])
    x2 = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2])
    y2 = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    with np.errstate(invalid="ignore"):
        iou = np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)
    return np.where(finite, np.nan_to_num(iou, nan=0.0), 0.0)


def scored_ious(pred_xywh, gt_xywh, cover, image_size_wh=None) -> np.ndarray:
    """The IoUs GOT-10k scores for one run on one sequence: frames 1.. with ``cover > 0``.

    ``cover`` is the per-frame ``cover.label`` (0..8) or a visibility bool array, same length as
    ``gt_xywh``; ``pred_xywh`` must have one row per frame (the toolkit asserts equal shapes)."""
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    cover = np.asarray(cover).reshape(-1)
    if not (len(pred) == len(gt) == len(cover)):
        raise ValueError(f"{len(pred)} predicted boxes, {len(gt)} ground-truth rows, {len(cover)} cover values")
    iou = got10k_iou(pred[1:], gt[1:], image_size_wh)
    return iou[cover[1:] > 0]


@dataclass(frozen=True)
class Got10kScores:
    ao: float
    sr50: float
    sr75: float
    success_curve: np.ndarray  # at SUCCESS_THRESHOLDS_101
    frames: int
    speed_fps: float = -1.0

    def summary(self) -> dict:
        return {"ao": self.ao, "sr50": self.sr50, "sr75": self.sr75, "frames": self.frames,
                "speed_fps": self.speed_fps}


def speed_fps(times_s) -> float:
    """``mean(1 / t)`` over the positive, non-NaN times (the toolkit's speed); -1 when none."""
    t = np.asarray(times_s, dtype=np.float64).reshape(-1)
    t = t[~np.isnan(t)]
    t = t[t > 0]
    return float(np.mean(1.0 / t)) if len(t) else -1.0


def got10k_scores(ious, times_s=()) -> Got10kScores:
    """AO, SR@0.5, SR@0.75 and the 101-point success curve of pooled per-frame IoUs.

    ``ious`` is one array or a list of arrays (sequences, repetitions): they are concatenated, every
    frame weighing the same, as in ``ExperimentGOT10k.report``. ValueError when there are no frames
    (the toolkit's mean would be NaN)."""
    if isinstance(ious, np.ndarray):
        pooled = ious.reshape(-1).astype(np.float64)
    else:
        parts = [np.asarray(i, dtype=np.float64).reshape(-1) for i in ious]
        pooled = np.concatenate(parts) if parts else np.zeros(0)
    if pooled.size == 0:
        raise ValueError("no scored frames (frame 0 and frames without the visible target do not count)")
    curve = (pooled[:, None] > SUCCESS_THRESHOLDS_101[None, :]).mean(axis=0)
    return Got10kScores(ao=float(pooled.mean()), sr50=float(np.mean(pooled > 0.5)),
                        sr75=float(np.mean(pooled > 0.75)), success_curve=curve, frames=int(pooled.size),
                        speed_fps=speed_fps(times_s))
