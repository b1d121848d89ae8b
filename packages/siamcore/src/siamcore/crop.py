"""The one square crop used by dataprep, trainer validation and the online tracker.

Geometry (SiamFC/SiamRPN): for a target box of size ``w x h`` and context amount ``a``,
the context margin is ``c = a * (w + h) / 2`` and the crop is the square of side
``s = sqrt((w + 2c) * (h + 2c))`` centred on the box centre, resized to ``size`` px.
Area outside the frame is filled with the frame's per-channel mean.

Resampling (measured on 1280x720 frames, one thread, see benchmarks/RESULTS.md): a plain
bilinear warp aliases when it shrinks by 2x or more; Pillow's antialiased resize costs
~1.7 ms per crop; cv2 INTER_AREA ~1.4 ms. We pre-shrink by the largest integer factor with
INTER_AREA (exact box averaging, fast for integer factors) and finish with one bilinear
affine warp: ~0.35 ms and antialiased. Its name, ``RESAMPLING``, is recorded in manifests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

RESAMPLING = "area-int-prefilter+bilinear-warp"


@dataclass(frozen=True)
class View:
    """One crop view of a target: output side ``size`` px at context amount ``context``.

    ``extent`` multiplies the context side (SiamFC's search view is the exemplar's side
    times 255/127, i.e. the same scale as the exemplar).
    """

    size: int
    context: float
    extent: float = 1.0

    def side(self, w: float, h: float) -> float:
        return context_side(w, h, self.context) * self.extent

    def as_dict(self) -> dict:
        return {"size": self.size, "context": self.context, "extent": self.extent}


def context_side(w: float, h: float, context: float) -> float:
    """Side of the square crop around a ``w x h`` target: ``sqrt((w + a(w+h)) * (h + a(w+h)))``."""
    c2 = context * (w + h)
    return math.sqrt((w + c2) * (h + c2))


def square_window_xyxy(cx: float, cy: float, side: float) -> np.ndarray:
    """The square crop window of ``side`` px centred at ``(cx, cy)``, in frame xyxy."""
    half = side / 2.0
    return np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float64)


def window_for_box_xywh(box_xywh, view: View, scale: float = 1.0, shift_px=(0.0, 0.0)) -> np.ndarray:
    """Crop window for a target box under ``view``.

    ``scale`` multiplies the window side (scale jitter, SiamFC scale pyramid) and ``shift_px``
    moves the window centre by that many *output* pixels (a positive shift moves the target
    towards the top-left of the crop's centre, i.e. the window moves right/down).
    """
    x, y, w, h = (float(v) for v in box_xywh)
    side = view.side(w, h) * scale
    px_per_out = side / view.size
    cx = x + w / 2 + shift_px[0] * px_per_out
    cy = y + h / 2 + shift_px[1] * px_per_out
    return square_window_xyxy(cx, cy, side)


def frame_to_crop_xyxy(box_xyxy, window_xyxy, out_size: int) -> np.ndarray:
    """Map frame xyxy boxes (``[..., 4]``) into the coordinates of the crop of ``window_xyxy``."""
    box = np.asarray(box_xyxy, dtype=np.float64)
    win = np.asarray(window_xyxy, dtype=np.float64)
    scale = out_size / (win[2] - win[0])
    offset = np.array([win[0], win[1], win[0], win[1]])
    return (box - offset) * scale


def crop_to_frame_xyxy(box_xyxy, window_xyxy, out_size: int) -> np.ndarray:
    """Inverse of :func:`frame_to_crop_xyxy`."""
    box = np.asarray(box_xyxy, dtype=np.float64)
    win = np.asarray(window_xyxy, dtype=np.float64)
    scale = (win[2] - win[0]) / out_size
    offset = np.array([win[0], win[1], win[0], win[1]])
    return box * scale + offset


def frame_mean(frame: np.ndarray) -> tuple[float, float, float]:
    """Per-channel mean colour, the fill for out-of-frame area (cv2.mean: ~0.1 ms on 720p vs ~14 ms numpy)."""
    m = cv2.mean(frame)
    return (m[0], m[1], m[2])


REDUCTIONS = (1, 2, 4)
"""Reductions a JPEG decoder can apply in the DCT domain for nearly free (libjpeg-turbo scaling,
``cv2.IMREAD_REDUCED_COLOR_2`` / ``_4``); 8 exists too but leaves too few pixels to be useful here."""

REDUCED_DECODE_MIN_SHRINK = 3.5
"""A frame is decoded at 1/r only if every crop cut from it still shrinks by at least this factor
after the reduction (window side / r >= this x output size). Measured against a Lanczos reference
(``benchmarks/crop_resampling.py``, benchmarks/RESULTS.md), on real JPEGs (TLP 720p, DAVIS 480p)
and a random texture: decode at 1/r + :func:`crop_square` is as accurate as :func:`crop_square` of
the full decode, or more, once the remaining shrink is >= 3.5; below that it can be worse, most
where the remaining shrink is just under 2 or 3 (the crop's integer pre-shrink then leaves a large
bilinear shrink), and it is always worse where it leaves <= 1.5 (the reduced frame is enlarged)."""


def decode_reduction(crops, min_shrink: float = REDUCED_DECODE_MIN_SHRINK, reductions=REDUCTIONS) -> int:
    """The largest reduction ``r`` of ``reductions`` such that every crop ``(window side in frame px,
    output size)`` still shrinks by at least ``min_shrink`` from the frame decoded at 1/r; 1 when there
    is no crop. Pure: decided from the crop plan alone, before decoding, so it does not depend on who
    decodes the frame (shards stay byte-identical whatever the workers)."""
    shrink = min((float(side) / float(size) for side, size in crops), default=0.0)
    if not math.isfinite(shrink):
        return 1
    return max((r for r in reductions if r == 1 or shrink / r >= min_shrink), default=1)


def reduced_window_xyxy(window_xyxy, reduction: int) -> np.ndarray:
    """``window_xyxy`` (frame px) in the pixel coordinates of the frame decoded at 1/``reduction``.

    Coordinates are continuous with the origin at the top-left corner of the top-left pixel (the
    convention of :func:`crop_square`), and reduced pixel j covers frame pixels [r j, r j + r), so a
    frame coordinate X is X / r there; mapping pixel *centres* instead would shift every crop by
    (r - 1) / 2 frame px."""
    return np.asarray(window_xyxy, dtype=np.float64) / float(reduction)


def resampling_method(reduced_decode: bool) -> str:
    """The resampling method's name recorded in ``build.json``: :data:`RESAMPLING`, preceded by the
    reduced-decode rule when frames may be decoded at 1/2 or 1/4 (it changes the crops' bytes)."""
    if not reduced_decode:
        return RESAMPLING
    return f"jpeg-dct-reduce(1/2,1/4 while shrink>={REDUCED_DECODE_MIN_SHRINK:g})+{RESAMPLING}"


def crop_square(frame: np.ndarray, window_xyxy, out_size: int, fill=None) -> np.ndarray:
    """Crop the square ``window_xyxy`` (frame px, may leave the frame) to ``out_size x out_size``.

    ``frame`` is ``H x W x 3`` uint8 (any channel order; the output keeps it). ``fill`` is the
    colour of out-of-frame area, by default :func:`frame_mean`. Pure: no I/O, no randomness.
    """
    if fill is None:
        fill = frame_mean(frame)
    fill = tuple(float(v) for v in fill)
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in window_xyxy)
    side = x1 - x0
    if not (side > 0 and math.isfinite(side)):
        raise ValueError(f"crop window must have a positive finite side, got {window_xyxy!r}")
    scale = out_size / side
    k = max(1, int(1.0 / scale)) if scale < 0.5 else 1

    # Integer region, aligned so that its k x k blocks start at floor(x0), floor(y0).
    ix0, iy0 = math.floor(x0), math.floor(y0)
    ix1, iy1 = math.ceil(x1) + 1, math.ceil(y1) + 1
    sx, sy = max(ix0, 0), max(iy0, 0)
    ex, ey = min(ix1, fw), min(iy1, fh)
    if ex <= sx or ey <= sy:
        return np.full((out_size, out_size, frame.shape[2]), fill[: frame.shape[2]], dtype=frame.dtype)
    pad_l, pad_t = (sx - ix0) % k, (sy - iy0) % k
    pad_r, pad_b = (-(ex - sx + pad_l)) % k, (-(ey - sy + pad_t)) % k
    region = frame[sy:ey, sx:ex]
    if pad_l or pad_t or pad_r or pad_b:
        region = cv2.copyMakeBorder(region, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_CONSTANT, value=fill)
    ox, oy = sx - pad_l, sy - pad_t  # frame position of region[0, 0]'s top-left corner
    if k > 1:
        region = cv2.resize(region, (region.shape[1] // k, region.shape[0] // k), interpolation=cv2.INTER_AREA)
    # Map region pixel index p (centre at p) to output index j: j = s_r * p + t,
    # from frame coordinate X = o + k (p + 0.5) and j = (X - x0) * scale - 0.5.
    s_r = scale * k
    tx = (ox - x0) * scale + 0.5 * s_r - 0.5
    ty = (oy - y0) * scale + 0.5 * s_r - 0.5
    matrix = np.array([[s_r, 0.0, tx], [0.0, s_r, ty]], dtype=np.float64)
    return cv2.warpAffine(
        region, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill
    )
