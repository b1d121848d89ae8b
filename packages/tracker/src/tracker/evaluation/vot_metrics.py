"""VOT supervised (reset-based) measures: region overlap, accuracy, failures, expected average overlap.

Pure functions, no I/O. A run is described per frame by a *kind* (the vot-toolkit baseline codes,
``vot/region/io.py`` / pysot ``toolkit/utils/statistics.py``): ``INIT`` (1, the tracker was (re)started
on this frame), ``FAILURE`` (2), ``SKIPPED`` (0, a frame between a failure and the re-start, or one whose
ground truth is empty), or ``TRACKED`` (a box was reported), plus a per-frame ``overlaps`` array (NaN
where no overlap is defined: special frames and frames with empty ground truth).

Sources of the rules (cited where used):
- votchallenge/toolkit ``vot/analysis/supervised.py``: ``compute_accuracy`` (burn-in, pooling),
  ``compute_eao_curve`` / ``EAOCurve`` / ``EAOScore`` (fragments, zero padding, interval);
- STVIR/pysot ``toolkit/evaluation/eao_benchmark.py`` (VOT2017/2018 interval 100-356),
  ``ar_benchmark.py`` (pooled accuracy over all frames, failure rate per 100 frames),
  ``toolkit/utils/statistics.py`` (``calculate_accuracy`` burn-in, ``calculate_expected_overlap``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

SKIPPED, INIT, FAILURE, TRACKED = 0, 1, 2, 3
BURNIN_FRAMES = 10
VOT2018_EAO_INTERVAL = (100, 356)  # pysot eao_benchmark.py: VOT2017/VOT2018 low 100, high 356


def region_polygon(region) -> shapely.Polygon | None:
    """A shapely polygon from a 4-value ``x, y, w, h`` box or an 8-value ``x1, y1, ..., x4, y4`` polygon
    (continuous pixel coordinates); None for an empty region (NaN values, non-positive size)."""
    r = np.asarray(region, dtype=np.float64).reshape(-1)
    if r.size not in (4, 8) or not np.isfinite(r).all():
        return None
    if r.size == 4:
        if r[2] <= 0 or r[3] <= 0:
            return None
        return shapely.box(r[0], r[1], r[0] + r[2], r[1] + r[3])
    poly = shapely.Polygon(r.reshape(4, 2))
    if not poly.is_valid:  # a self-crossing annotation: its valid parts, as shapely repairs it
        poly = shapely.make_valid(poly)
    return poly if poly.area > 0 else None


def region_overlap(pred, gt, image_size_wh: tuple[float, float]) -> float:
    """IoU of two regions (4-value box or 8-value polygon each) after clipping both to the image
    ``[0, W] x [0, H]``, as the vot-toolkit's ``calculate_overlaps(..., bounds=sequence.size)`` does
    (``vot/region``; pysot ``toolkit/utils/region.vot_overlap`` with ``bound``): a box drifting out of
    the frame is not penalised for the part nobody can see. NaN when the ground truth is empty,
    0 when the prediction is empty or nothing remains inside the image."""
    w, h = image_size_wh
    frame = shapely.box(0.0, 0.0, float(w), float(h))
    g = region_polygon(gt)
    if g is None:
        return float("nan")
    p = region_polygon(pred)
    if p is None:
        return 0.0
    g, p = g.intersection(frame), p.intersection(frame)
    union = shapely.union(g, p).area
    return float(shapely.intersection(g, p).area / union) if union > 0 else 0.0


def accuracy(overlaps: np.ndarray, kinds: np.ndarray, burnin: int = BURNIN_FRAMES) -> tuple[float, int]:
    """(mean overlap, number of frames averaged) of one run.

    Excluded, as in vot-toolkit ``compute_accuracy`` and pysot ``calculate_accuracy``: skipped frames,
    failure frames, and the ``burnin`` frames starting at each (re)initialisation (the INIT frame and
    the ``burnin - 1`` frames after it); frames with undefined (NaN) overlap too. ``(nan, 0)`` when no
    frame is left (the toolkit returns 0; NaN keeps such a sequence visible and out of any mean).
    """
    overlaps = np.asarray(overlaps, dtype=np.float64)
    kinds = np.asarray(kinds)
    mask = (kinds == TRACKED) & np.isfinite(overlaps)
    for i in np.flatnonzero(kinds == INIT):
        mask[i:i + burnin] = False
    n = int(mask.sum())
    return (float(overlaps[mask].mean()) if n else float("nan")), n


def failure_frames(kinds: np.ndarray) -> np.ndarray:
    """0-based indices of the failure frames (pysot ``calculate_failures``)."""
    return np.flatnonzero(np.asarray(kinds) == FAILURE)


def eao_fragments(overlaps: np.ndarray, kinds: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """The run cut into ``(overlaps from an INIT frame, failed)`` fragments (vot-toolkit ``EAOCurve``):
    each INIT frame up to (not including) the failure that ends it, ``failed=True``; the last one, when it
    reaches the end of the sequence without failing, ``failed=False``. Undefined overlaps count 0
    (pysot ``eao_benchmark.py``: ``fragment[np.isnan(fragment)] = 0``)."""
    overlaps = np.nan_to_num(np.asarray(overlaps, dtype=np.float64), nan=0.0)
    kinds = np.asarray(kinds)
    inits, fails = np.flatnonzero(kinds == INIT), failure_frames(kinds)
    fragments = []
    for start in inits:
        later = fails[fails > start]
        if len(later):
            fragments.append((overlaps[start:later[0]], True))
        else:
            fragments.append((overlaps[start:], False))
    return fragments


def expected_overlap_curve(fragments: list[tuple[np.ndarray, bool]], length: int | None = None) -> np.ndarray:
    """``curve[n]``: the expected average overlap over the first ``n`` frames after a (re)initialisation
    (the INIT frame itself, index 0 of each fragment, is not averaged), ``n = 0 .. L - 1``; ``curve[0]``
    is 1 by convention (pysot). ``L`` is ``length`` when given, at least the longest fragment: pysot
    (``eao_benchmark.py``, ``max_len``) runs the curve to the longest *sequence*, the vot-toolkit to the
    longest *fragment*; they differ only when that sequence had a failure (then only failed fragments,
    padded with zeros, define the end of the curve).

    vot-toolkit ``compute_eao_curve``: a fragment that ended in a failure is padded with zeros to ``L``
    and counts for every ``n``; one that reached the end of its sequence counts only for ``n`` below its
    length; every fragment weighs 1 (pysot's per-sequence and tag weights are all equal for the
    ``all`` tag). Where no fragment counts the value is NaN.
    """
    if not fragments:
        return np.zeros(0)
    length = max([len(f) for f, _ in fragments] + [length or 0])
    values = np.zeros((len(fragments), length))
    counts = np.zeros((len(fragments), length), bool)
    for row, (frag, failed) in enumerate(fragments):
        values[row, :len(frag)] = frag
        counts[row, :] = True if failed else np.arange(length) < len(frag)
    running = np.zeros_like(values)
    running[:, 1:] = np.cumsum(values[:, 1:], axis=1) / np.arange(1, length)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = (running * counts).sum(0) / counts.sum(0)
    curve[0] = 1.0
    return curve


def eao_score(curve: np.ndarray, interval: tuple[int, int] = VOT2018_EAO_INTERVAL) -> float:
    """Mean of ``curve[low .. high]`` (both included, vot-toolkit ``EAOScore``:
    ``np.mean(curve[low:high + 1])``), over the lengths the curve has; NaN when it has none.

    The curve only reaches the longest fragment, so on short sequences the interval is cut, as in both
    toolkits (the vot-toolkit slices, pysot masks its weight vector). pysot averages ``curve[low - 1 ..
    high - 1]`` (one frame earlier); the difference is within a curve's frame-to-frame change.
    """
    low, high = interval
    part = np.asarray(curve, dtype=np.float64)[low:high + 1]
    part = part[np.isfinite(part)]
    return float(part.mean()) if len(part) else float("nan")


@dataclass
class SequenceAR:
    """One sequence's accuracy and robustness."""
    accuracy: float
    accuracy_frames: int  # frames averaged into ``accuracy``
    failures: int
    frames: int


def sequence_ar(overlaps: np.ndarray, kinds: np.ndarray, burnin: int = BURNIN_FRAMES) -> SequenceAR:
    acc, n = accuracy(overlaps, kinds, burnin)
    return SequenceAR(acc, n, int(len(failure_frames(kinds))), int(len(kinds)))


def pooled_ar(per_sequence: dict[str, SequenceAR]) -> dict[str, float]:
    """Benchmark-level accuracy and robustness from per-sequence values.

    - ``accuracy``: per-sequence accuracies weighted by sequence length (vot-toolkit
      ``AverageAccuracyRobustness.aggregate``, weight = ``len(trajectory)``);
    - ``accuracy_frames``: the mean over all averaged frames of all sequences (pysot ``ar_benchmark``:
      ``np.nanmean`` of the concatenated overlaps);
    - ``failures``: total failures; ``failure_rate``: failures per 100 frames (pysot's "Robustness" column:
      ``sum(failures) / sum(lengths) * 100``).
    Sequences whose accuracy is undefined are left out of both accuracies.
    """
    seqs = [s for s in per_sequence.values() if np.isfinite(s.accuracy)]
    frames = sum(s.frames for s in per_sequence.values())
    failures = sum(s.failures for s in per_sequence.values())
    w = sum(s.frames for s in seqs)
    n = sum(s.accuracy_frames for s in seqs)
    return {
        "accuracy": sum(s.accuracy * s.frames for s in seqs) / w if w else float("nan"),
        "accuracy_frames": sum(s.accuracy * s.accuracy_frames for s in seqs) / n if n else float("nan"),
        "failures": failures,
        "failure_rate": failures / frames * 100 if frames else float("nan"),
        "frames": frames,
    }
