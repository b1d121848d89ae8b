"""Pure post-processing functions of the online trackers (numpy, no I/O, no torch).

RPN family (NETWORKS.md "Tracking post-processing"): the scale/ratio change penalty, a Hann window
per source map, the penalised-and-windowed score, and the smoothed size update. SiamFC: Hann window
of the upsampled response and the response normalisation.
"""

from __future__ import annotations

import numpy as np


def change(r: np.ndarray) -> np.ndarray:
    """``max(r, 1/r)``: how far a ratio is from 1, symmetric in both directions."""
    return np.maximum(r, 1.0 / r)


def padded_size(w, h):
    """SiamRPN's size measure ``sqrt((w + p)(h + p))`` with ``p = (w + h) / 2``."""
    p = (w + h) * 0.5
    return np.sqrt((w + p) * (h + p))


def change_penalty(pred_w, pred_h, target_w: float, target_h: float, k: float, form: str = "pysot") -> np.ndarray:
    """Penalty in (0, 1] for candidates whose scale ``s`` and aspect ratio ``r`` differ from the target's.

    ``s_c = change(s'/s)``, ``r_c = change(r'/r)``; ``pysot``: ``exp(-(r_c s_c - 1) k)`` (1 for no
    change); ``seed``: the seed's divisor ``exp(k r_c s_c)`` as a factor, i.e. ``exp(-k r_c s_c)``.
    Sizes must be in the same unit (search-crop px).
    """
    s_c = change(padded_size(pred_w, pred_h) / padded_size(target_w, target_h))
    r_c = change((target_w / target_h) / (pred_w / pred_h))
    if form == "pysot":
        return np.exp(-(r_c * s_c - 1.0) * k)
    if form == "seed":
        return np.exp(-k * r_c * s_c)
    raise ValueError(f"unknown penalty form {form!r}")


def hann(u: np.ndarray) -> np.ndarray:
    """Hann window on ``u`` in [0, 1]: ``0.5 - 0.5 cos(2 pi u)`` (``np.hanning(M)[i]`` at ``u = i/(M-1)``)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * u)


def source_windows(default_boxes_cxcywh) -> np.ndarray:
    """Per-box cosine window: a 2-D Hann window over each source map's grid of cells.

    The source maps are recovered from the ordering contract of :mod:`siamcore.anchors` (source map,
    then row y, then column x, then box in cell): a run of boxes with the same centre is one cell,
    and a new source map starts when the next cell's centre is not after the previous one in
    row-major order. On a map of ``f x f`` cells this equals ``np.outer(np.hanning(f), np.hanning(f))``
    (pysot's window, 0 on the border cells); a 1x1 map gets 1.
    """
    boxes = np.asarray(default_boxes_cxcywh, dtype=np.float64)
    n = len(boxes)
    if n == 0:
        return np.zeros(0)
    centres = boxes[:, :2]
    new_cell = np.ones(n, dtype=bool)
    new_cell[1:] = np.any(centres[1:] != centres[:-1], axis=1)
    cell_starts = np.flatnonzero(new_cell)
    cell_of_box = np.cumsum(new_cell) - 1
    cell_xy = centres[cell_starts]
    new_source = np.ones(len(cell_starts), dtype=bool)
    prev, cur = cell_xy[:-1], cell_xy[1:]
    new_source[1:] = (cur[:, 1] < prev[:, 1]) | ((cur[:, 1] == prev[:, 1]) & (cur[:, 0] <= prev[:, 0]))
    source_of_cell = np.cumsum(new_source) - 1
    cell_window = np.ones(len(cell_starts))
    for s in range(source_of_cell[-1] + 1):
        sel = source_of_cell == s
        xy = cell_xy[sel]
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        extent = np.where(hi > lo, hi - lo, 1.0)
        u = (xy - lo) / extent
        w = np.where(hi > lo, hann(u), 1.0)
        cell_window[sel] = w[:, 0] * w[:, 1]
    return cell_window[cell_of_box]


def search_scale_factors(count: int, step: float) -> np.ndarray:
    """SiamFC's search scales ``step^{-(count-1)/2 .. (count-1)/2}`` (window side factors; 1 in the middle)."""
    return step ** (np.arange(count) - (count - 1) / 2)


def normalised_hann_2d(size: int) -> np.ndarray:
    """SiamFC's window: ``outer(hanning(size), hanning(size))`` scaled to sum 1."""
    h = np.hanning(size)
    w = np.outer(h, h)
    return w / w.sum()


def normalise_response(response: np.ndarray) -> np.ndarray:
    """SiamFC: shift the response to min 0 and scale it to sum 1 (comparable with the window)."""
    r = response - response.min()
    return r / (r.sum() + 1e-16)


def smooth_size(old_wh, new_wh, lr: float):
    """``old * (1 - lr) + new * lr`` per component."""
    return (old_wh[0] * (1.0 - lr) + new_wh[0] * lr, old_wh[1] * (1.0 - lr) + new_wh[1] * lr)


def clamp_state(cx: float, cy: float, w: float, h: float, frame_wh, init_wh, min_size_px: float,
                size_range_factor: float, clamp_to_frame: bool = True):
    """Keep the centre in the frame and the size within ``[init / f, init * f]``, ``>= min_size_px``
    and (when clamping to the frame) no larger than the frame."""
    fw, fh = frame_wh
    if size_range_factor > 0:
        w = min(max(w, init_wh[0] / size_range_factor), init_wh[0] * size_range_factor)
        h = min(max(h, init_wh[1] / size_range_factor), init_wh[1] * size_range_factor)
    if clamp_to_frame:
        cx = min(max(cx, 0.0), float(fw))
        cy = min(max(cy, 0.0), float(fh))
        w = min(w, float(fw))
        h = min(h, float(fh))
    w = max(w, min_size_px)
    h = max(h, min_size_px)
    return cx, cy, w, h
