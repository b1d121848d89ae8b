"""Semantic distractors: choose a source instance, size it, place it, paste it through its mask. Pure.

A distractor is an object of the target's class cut out of another image with its segmentation
mask and pasted into the search crop, so a tracker learns to tell *this* person from *a* person.
Every function here is pure (no I/O): the caller loads the source patch and passes explicit
``numpy.random.Generator``s keyed by the sample id, drawing in a fixed order:

1. :func:`wants_distractor` (one uniform), 2. :func:`choose_source` (one integer),
3. :func:`distractor_size_px` (one uniform), 4. :func:`place_box_xyxy` (two integers per try).

Conventions: boxes are float ``xyxy`` in search-crop pixels (origin at the top-left corner of the
top-left pixel). A pasted distractor occupies whole pixels, so its box has integer corners.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import cv2
import numpy as np

from siamcore.boxes import iou_xyxy

#: Flags a record gets when a distractor was wanted but not pasted (the reason).
FLAG_NO_SOURCE = "distractor_no_source"
"""No instance of the target's category other than the target itself (e.g. a single-instance category)."""
FLAG_TOO_LARGE = "distractor_too_large"
"""The scaled source does not fit inside the search crop."""
FLAG_NO_ROOM = "distractor_no_room"
"""No position inside the crop kept the IoU with the target under the bound within the tries."""
FLAG_SOURCE_UNREADABLE = "distractor_source_unreadable"
"""The source image is missing/corrupt or its mask is empty."""
NOT_PASTED_FLAGS = (FLAG_NO_SOURCE, FLAG_TOO_LARGE, FLAG_NO_ROOM, FLAG_SOURCE_UNREADABLE)


def wants_distractor(rng: np.random.Generator, p_distractor: float) -> bool:
    """Whether this sample gets a distractor (probability ``p_distractor``); always draws one uniform."""
    return bool(rng.random() < p_distractor)


def choose_source(rng: np.random.Generator, candidates: Sequence[int], exclude: int | None = None) -> int | None:
    """A uniform choice among the sorted ids ``candidates``, never ``exclude`` (the target itself).

    Returns None when nothing is left (e.g. the target is the only instance of its category).
    Always draws exactly one integer when a choice exists, none otherwise.
    """
    n = len(candidates)
    pos = bisect.bisect_left(candidates, exclude) if exclude is not None else n
    excluded = pos < n and candidates[pos] == exclude
    usable = n - int(excluded)
    if usable <= 0:
        return None
    i = int(rng.integers(usable))
    if excluded and i >= pos:
        i += 1
    return int(candidates[i])


def distractor_size_px(
    rng: np.random.Generator, target_box_xyxy, source_wh: tuple[float, float], scale_range: tuple[float, float]
) -> tuple[int, int]:
    """Whole-pixel ``(w, h)`` of the pasted distractor: the target's geometric-mean size times a
    factor uniform in ``scale_range``, with the source's aspect ratio kept."""
    x0, y0, x1, y1 = (float(v) for v in target_box_xyxy)
    side = math.sqrt(max(x1 - x0, 0.0) * max(y1 - y0, 0.0)) * float(rng.uniform(*scale_range))
    aspect = float(source_wh[0]) / float(source_wh[1])
    w, h = side * math.sqrt(aspect), side / math.sqrt(aspect)
    return max(1, int(round(w))), max(1, int(round(h)))


def place_box_xyxy(
    rng: np.random.Generator,
    size_wh: tuple[int, int],
    target_box_xyxy,
    crop_size: int,
    max_iou: float,
    tries: int,
) -> np.ndarray | None:
    """A box of ``size_wh`` at a uniform whole-pixel position fully inside the ``crop_size`` crop
    whose IoU with ``target_box_xyxy`` is at most ``max_iou``; None after ``tries`` failures (never a
    forced overlap). The caller checks :func:`fits_in_crop` first."""
    w, h = int(size_wh[0]), int(size_wh[1])
    if not fits_in_crop(size_wh, crop_size):
        return None
    target = np.asarray(target_box_xyxy, dtype=np.float64)
    for _ in range(tries):
        x0 = int(rng.integers(0, crop_size - w + 1))
        y0 = int(rng.integers(0, crop_size - h + 1))
        box = np.array([x0, y0, x0 + w, y0 + h], dtype=np.float64)
        if float(iou_xyxy(box, target)) <= max_iou:
            return box
    return None


def fits_in_crop(size_wh: tuple[int, int], crop_size: int) -> bool:
    return 0 < size_wh[0] <= crop_size and 0 < size_wh[1] <= crop_size


def resize_patch(patch_rgb: np.ndarray, mask: np.ndarray, size_wh: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The source patch and its boolean mask resized to ``size_wh`` (area averaging when shrinking,
    bilinear when enlarging; the mask is thresholded at one half after resizing)."""
    w, h = int(size_wh[0]), int(size_wh[1])
    shrink = w < patch_rgb.shape[1] or h < patch_rgb.shape[0]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    patch = cv2.resize(patch_rgb, (w, h), interpolation=interp)
    soft = cv2.resize(mask.astype(np.float32), (w, h), interpolation=interp)
    return patch, soft >= 0.5


def feather_alpha(mask: np.ndarray, feather_px: float) -> np.ndarray:
    """Float alpha in [0, 1]: 1 deep inside ``mask``, about one half at its edge (a Gaussian fade of
    ``feather_px`` sigma), 0 outside. The fade is *inward* (blurred mask times mask), so no pixel
    outside the mask changes; the patch border counts as an edge."""
    m = mask.astype(np.float32)
    if feather_px <= 0:
        return m
    padded = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0.0)  # patch borders are edges too
    blurred = cv2.GaussianBlur(padded, (0, 0), sigmaX=float(feather_px), borderType=cv2.BORDER_CONSTANT)[1:-1, 1:-1]
    return np.clip(blurred, 0.0, 1.0) * m


def paste(image_rgb: np.ndarray, patch_rgb: np.ndarray, alpha: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """A copy of ``image_rgb`` with ``patch_rgb`` blended in by ``alpha`` with its top-left pixel at
    ``(x0, y0)``; the parts falling outside the image are dropped. Pixels where alpha is 0 keep
    their exact values."""
    out = image_rgb.copy()
    ih, iw = out.shape[:2]
    ph, pw = patch_rgb.shape[:2]
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + pw, iw), min(y0 + ph, ih)
    if ix1 <= ix0 or iy1 <= iy0:
        return out
    px0, py0 = ix0 - x0, iy0 - y0
    a = alpha[py0 : py0 + iy1 - iy0, px0 : px0 + ix1 - ix0, None]
    src = patch_rgb[py0 : py0 + iy1 - iy0, px0 : px0 + ix1 - ix0].astype(np.float32)
    region = out[iy0:iy1, ix0:ix1]
    blended = region.astype(np.float32) * (1.0 - a) + src * a
    inside = a[..., 0] > 0
    region[inside] = np.clip(np.rint(blended[inside]), 0, 255).astype(np.uint8)
    return out


def paste_into_box(image_rgb: np.ndarray, patch_rgb: np.ndarray, mask: np.ndarray, box_xyxy, feather_px: float):
    """Resize the source ``patch_rgb``/``mask`` to the whole-pixel ``box_xyxy`` and paste it there
    through its (feathered) mask. Returns ``(new image, pasted boolean mask of the box size)``."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box_xyxy)
    if x1 <= x0 or y1 <= y0:
        return image_rgb.copy(), np.zeros((0, 0), bool)
    patch, m = resize_patch(patch_rgb, mask, (x1 - x0, y1 - y0))
    return paste(image_rgb, patch, feather_alpha(m, feather_px), x0, y0), m
