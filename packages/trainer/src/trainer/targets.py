"""Training targets (seed 3.1): match default boxes to the ground truth of each search crop.

A default box is *positive* when its IoU with the target is ``>= iou_positive`` (0.55), *negative*
when ``<= iou_negative`` (0.3) and *ignored* in between. A negative pair (the exemplar shows another
object) has no positives: every default box is a negative. The author's code had no "best box is always
positive" rule; ``best_positive`` adds SSD's: a target's best-overlapping default box is positive when its
IoU is above ``iou_negative``. Without it, a target that is 0.67x or 1.5x the anchors' size (IoU <= 0.45
with a same-shape anchor) has no positive at all: it is only ever taught as background, so a tracker
whose box is off by that much is pushed further off instead of back. Regression targets use the shared
:func:`siamcore.encoding.encode`.

Pure torch, vectorised over the batch, no I/O.
"""

from __future__ import annotations

import torch

from siamcore.boxes import cxcywh_to_xyxy, iou_matrix_xyxy, xyxy_to_cxcywh
from siamcore.encoding import encode

POSITIVE, NEGATIVE, IGNORE = 1, 0, -1


def match_default_boxes(
    gt_xyxy: torch.Tensor,
    negative_pair: torch.Tensor,
    default_boxes_cxcywh: torch.Tensor,
    iou_positive: float = 0.55,
    iou_negative: float = 0.3,
    variances=(1.0, 1.0),
    best_positive: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Labels and regression targets for a batch.

    ``gt_xyxy [B, 4]`` (search-crop px), ``negative_pair [B]`` bool, ``default_boxes_cxcywh [N, 4]``.
    Returns ``labels [B, N]`` int64 in {POSITIVE, NEGATIVE, IGNORE}, ``loc_targets [B, N, 4]``
    (zero where not positive, so degenerate boxes never put inf/NaN into the loss) and
    ``iou [B, N]``.
    """
    gt_xyxy = gt_xyxy.to(torch.float32)
    priors = default_boxes_cxcywh.to(device=gt_xyxy.device, dtype=torch.float32)
    iou = iou_matrix_xyxy(gt_xyxy, cxcywh_to_xyxy(priors))  # [B, N]
    negative_pair = negative_pair.to(device=gt_xyxy.device, dtype=torch.bool)[:, None]
    positive = (iou >= iou_positive) & ~negative_pair
    if best_positive and iou.shape[1] > 0:
        best_iou, best = iou.max(dim=1, keepdim=True)
        is_best = torch.zeros_like(positive).scatter_(1, best, True)
        positive |= is_best & (best_iou > iou_negative) & ~negative_pair
    negative = (iou <= iou_negative) | negative_pair
    labels = torch.full_like(iou, IGNORE, dtype=torch.int64)
    labels[negative] = NEGATIVE
    labels[positive] = POSITIVE
    loc = encode(xyxy_to_cxcywh(gt_xyxy)[:, None, :], priors[None, :, :], variances)
    loc_targets = torch.where(positive[..., None], loc, torch.zeros_like(loc))
    return labels, loc_targets, iou
