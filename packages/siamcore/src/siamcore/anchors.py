"""Anchors (SiamRPN) and SSD default boxes, in search-crop pixel coordinates (cxcywh).

Ordering contract shared by every network head, the trainer's targets and the tracker's
decoder: boxes are listed source map by source map, then row (y), then column (x), then the
box index within the cell. A head producing ``[B, k, H, W]`` is flattened with
``permute(0, 2, 3, 1).reshape(B, -1)`` (and ``[B, 4k, H, W]`` via
``view(B, k, 4, H, W).permute(0, 3, 4, 1, 2).reshape(B, -1, 4)``) to match.
"""

from __future__ import annotations

import math

import numpy as np

SIAMRPN_RATIOS = (0.33, 0.5, 1.0, 2.0, 3.0)


def rpn_anchors_cxcywh(
    score_size: int = 17,
    stride: int = 8,
    crop_size: int = 255,
    ratios=SIAMRPN_RATIOS,
    scales=(8.0,),
) -> np.ndarray:
    """SiamRPN anchors: one per (cell, ratio, scale), area ``(stride * scale)^2``, ratio = h / w.

    The grid is centred on the crop centre: cell ``i`` sits at
    ``crop_size / 2 + (i - (score_size - 1) / 2) * stride``. Returns ``[score_size^2 * k, 4]``.
    """
    shapes = []
    for r in ratios:
        for s in scales:
            area = (stride * s) ** 2
            w = math.sqrt(area / r)
            shapes.append((w, w * r))
    shapes = np.asarray(shapes, dtype=np.float64)  # [k, 2]
    offsets = crop_size / 2 + (np.arange(score_size) - (score_size - 1) / 2) * stride
    return _grid_boxes(offsets, shapes)


def ssd_cell_shapes(s_k: float, s_next: float, ratios=(2.0, 3.0)) -> np.ndarray:
    """Default box shapes of one SSD source: 1:1 at ``s_k``, 1:1 at ``sqrt(s_k s_next)``, then for
    each ratio ``a`` the pair ``a:1`` and ``1:a`` (width ``s_k sqrt(a)``, height ``s_k / sqrt(a)``)."""
    shapes = [(s_k, s_k), (math.sqrt(s_k * s_next),) * 2]
    for a in ratios:
        shapes.append((s_k * math.sqrt(a), s_k / math.sqrt(a)))
        shapes.append((s_k / math.sqrt(a), s_k * math.sqrt(a)))
    return np.asarray(shapes, dtype=np.float64)


def ssd_default_boxes_cxcywh(
    feature_sizes, box_sizes_px, crop_size: int = 255, ratios=(2.0, 3.0), grids_px=None
) -> np.ndarray:
    """SSD default boxes for source maps of ``feature_sizes`` (e.g. ``(32, 16)``).

    ``box_sizes_px`` has one more entry than ``feature_sizes``: source ``k`` uses ``s_k`` and
    ``s_{k+1}``. Cell centres are at ``(i + 0.5) * crop_size / f`` (padded trunks, whose maps tile
    the crop), or, when ``grids_px`` gives ``(first_centre, stride)`` per source, at
    ``first_centre + i * stride`` (unpadded trunks such as SiamFC's AlexNet, whose 22 x 22 map of a
    255-px crop has its cells at 43.5 + 8 i). Returns ``[sum f^2 * m, 4]``.
    """
    feature_sizes = list(feature_sizes)
    if len(box_sizes_px) != len(feature_sizes) + 1:
        raise ValueError("box_sizes_px needs one more entry than feature_sizes")
    if grids_px is not None and len(grids_px) != len(feature_sizes):
        raise ValueError("grids_px needs one (first_centre, stride) pair per source")
    out = []
    for k, f in enumerate(feature_sizes):
        shapes = ssd_cell_shapes(box_sizes_px[k], box_sizes_px[k + 1], ratios)
        if grids_px is None:
            offsets = (np.arange(f) + 0.5) * crop_size / f
        else:
            first, stride = grids_px[k]
            offsets = first + np.arange(f) * stride
        out.append(_grid_boxes(offsets, shapes))
    return np.concatenate(out, axis=0)


def boxes_per_cell(ratios=(2.0, 3.0)) -> int:
    return 2 + 2 * len(ratios)


def _grid_boxes(offsets: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    n, k = len(offsets), len(shapes)
    cy, cx = np.meshgrid(offsets, offsets, indexing="ij")  # [n, n], row = y
    boxes = np.empty((n, n, k, 4), dtype=np.float64)
    boxes[..., 0] = cx[:, :, None]
    boxes[..., 1] = cy[:, :, None]
    boxes[..., 2] = shapes[None, None, :, 0]
    boxes[..., 3] = shapes[None, None, :, 1]
    return boxes.reshape(-1, 4)
