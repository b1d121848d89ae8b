"""Box conversions and overlaps, generic over numpy arrays and torch tensors.

All functions take boxes in the last dimension (``[..., 4]``) and return the same kind of
array they got, so the trainer (torch, on GPU) and dataprep (numpy) share one implementation.
"""

from __future__ import annotations

import math

import numpy as np


def _xp(a):
    """The array module of ``a``: torch for tensors, numpy otherwise (torch is never imported here)."""
    if type(a).__module__.startswith("torch"):
        import torch

        return torch
    return np


def _asarray(a):
    """Tensors pass through; anything else becomes a floating numpy array."""
    if _xp(a) is not np:
        return a
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def xywh_to_xyxy(b):
    b = _asarray(b)
    return _xp(b).stack([b[..., 0], b[..., 1], b[..., 0] + b[..., 2], b[..., 1] + b[..., 3]], -1)


def xyxy_to_xywh(b):
    b = _asarray(b)
    return _xp(b).stack([b[..., 0], b[..., 1], b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]], -1)


def xyxy_to_cxcywh(b):
    b = _asarray(b)
    return _xp(b).stack(
        [(b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2, b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]], -1
    )


def cxcywh_to_xyxy(b):
    b = _asarray(b)
    return _xp(b).stack(
        [b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2, b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2], -1
    )


def xywh_to_cxcywh(b):
    return xyxy_to_cxcywh(xywh_to_xyxy(b))


def cxcywh_to_xywh(b):
    return xyxy_to_xywh(cxcywh_to_xyxy(b))


def area_xyxy(b):
    b = _asarray(b)
    return (b[..., 2] - b[..., 0]).clip(min=0) * (b[..., 3] - b[..., 1]).clip(min=0)


def iou_xyxy(a, b):
    """Element-wise IoU of broadcastable ``[..., 4]`` xyxy boxes; 0 where the union is empty."""
    a, b = _asarray(a), _asarray(b)
    xp = _xp(a)
    iw = (xp.minimum(a[..., 2], b[..., 2]) - xp.maximum(a[..., 0], b[..., 0])).clip(min=0)
    ih = (xp.minimum(a[..., 3], b[..., 3]) - xp.maximum(a[..., 1], b[..., 1])).clip(min=0)
    inter = iw * ih
    union = area_xyxy(a) + area_xyxy(b) - inter
    return inter / union.clip(min=1e-12) * (union > 0)


def iou_matrix_xyxy(a, b):
    """Pairwise IoU: ``a`` ``[N, 4]`` x ``b`` ``[M, 4]`` -> ``[N, M]``."""
    return iou_xyxy(a[:, None, :], b[None, :, :])


def iou_xywh(a, b):
    return iou_xyxy(xywh_to_xyxy(a), xywh_to_xyxy(b))


def is_valid_xywh(b, frame_wh: tuple[float, float] | None = None) -> bool:
    """A box is usable when finite, of positive size and (if the frame size is given) overlaps the frame."""
    b = np.asarray(b, dtype=np.float64)
    if b.shape != (4,):
        return False
    x, y, bw, bh = b.tolist()  # plain floats: called for every crop of a build, numpy per element is slow
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(bw) and math.isfinite(bh)) or bw <= 0 or bh <= 0:
        return False
    if frame_wh is not None:
        w, h = frame_wh
        if x >= w or y >= h or x + bw <= 0 or y + bh <= 0:
            return False
    return True


def clip_xyxy(b, width: float, height: float):
    """Clip xyxy boxes to ``[0, width] x [0, height]``."""
    b = _asarray(b)
    xp = _xp(b)
    return xp.stack(
        [b[..., 0].clip(0, width), b[..., 1].clip(0, height), b[..., 2].clip(0, width), b[..., 3].clip(0, height)], -1
    )
