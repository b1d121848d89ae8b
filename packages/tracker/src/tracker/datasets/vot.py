"""VOT sequences: ``00000001.jpg``... plus ``groundtruth.txt`` (rotated polygons or boxes).

Coordinates are read as they are (VOT's region files are treated as continuous 0-based pixel
coordinates, the convention pysot uses); no shift is applied on read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .sequence import Sequence, list_images

POLYGON_MODES = ("bounding", "area")


def polygon_to_xywh(polygon, mode: str = "bounding") -> np.ndarray:
    """Axis-aligned box of 4-point polygons ``[..., 8]`` (x1, y1, ..., x4, y4).

    ``bounding``: the bounding rectangle. ``area``: the box centred on the polygon's mean point,
    with the bounding rectangle's aspect ratio scaled so that its area equals the polygon's
    parallelogram area ``|p1 - p2| * |p2 - p3|`` (SiamRPN-style trackers' initialisation;
    without pysot's ``+1`` pixel term, since boxes here are continuous).
    """
    if mode not in POLYGON_MODES:
        raise ValueError(f"polygon mode must be one of {POLYGON_MODES}, got {mode!r}")
    p = np.asarray(polygon, dtype=np.float64)
    xs, ys = p[..., 0::2], p[..., 1::2]
    x0, x1 = xs.min(-1), xs.max(-1)
    y0, y1 = ys.min(-1), ys.max(-1)
    if mode == "bounding":
        return np.stack([x0, y0, x1 - x0, y1 - y0], -1)
    cx, cy = xs.mean(-1), ys.mean(-1)
    side_a = np.hypot(xs[..., 0] - xs[..., 1], ys[..., 0] - ys[..., 1])
    side_b = np.hypot(xs[..., 1] - xs[..., 2], ys[..., 1] - ys[..., 2])
    bw, bh = x1 - x0, y1 - y0
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(side_a * side_b / (bw * bh))
    s = np.where(np.isfinite(s), s, 1.0)
    w, h = s * bw, s * bh
    return np.stack([cx - w / 2, cy - h / 2, w, h], -1)


def read_vot_groundtruth(path: Path, polygon_mode: str = "bounding") -> np.ndarray:
    """``[N, 4]`` xywh from a VOT ``groundtruth.txt`` of 4-value boxes or 8-value polygons.

    Lines that are empty or hold NaN (VOT's "no target") become NaN rows.
    """
    rows = []
    for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
        values = [v for v in line.replace("\t", ",").replace(" ", ",").split(",") if v]
        try:
            nums = [float(v) for v in values]
        except ValueError as e:
            raise ValueError(f"{path}:{lineno}: not numbers: {line!r}") from e
        if len(nums) == 8:
            rows.append(polygon_to_xywh(nums, polygon_mode))
        elif len(nums) == 4:
            rows.append(np.asarray(nums))
        elif len(nums) in (0, 1):  # empty or a VOT special code (0 = lost, 1 = init)
            rows.append(np.full(4, np.nan))
        else:
            raise ValueError(f"{path}:{lineno}: expected 4 or 8 values, got {len(nums)}")
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def is_vot_sequence(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / "groundtruth.txt").is_file() and bool(list_images(folder) or list_images_in(folder / "color"))


def list_images_in(folder: Path) -> list[Path]:
    return list_images(folder) if folder.is_dir() else []


def load_vot_sequence(folder: Path, polygon_mode: str = "bounding") -> Sequence:
    """A VOT sequence folder (images beside ``groundtruth.txt``, or in ``color/`` as in VOT2020+)."""
    folder = Path(folder)
    frames = list_images(folder) or list_images_in(folder / "color")
    if not frames:
        raise ValueError(f"{folder}: no images found (expected 00000001.jpg... or color/)")
    gt = read_vot_groundtruth(folder / "groundtruth.txt", polygon_mode)
    if len(gt) < len(frames):
        raise ValueError(f"{folder}: {len(frames)} images but only {len(gt)} ground-truth rows")
    return Sequence(name=folder.name, frames=frames, gt_xywh=gt[: len(frames)])
