"""The seed's multibox loss (3.1) with hard negative mining, vectorised over the batch.

``L = (1 / N) * (sum BCE(conf) over positives and mined negatives + alpha * sum smooth-L1(l - g)
over positives)`` with ``N`` the number of positives in the batch (guarded: ``max(N, 1)``).
Hard negative mining keeps, per sample, the negatives with the highest confidence loss:
``negatives_per_positive`` (3) per positive, or ``min_negatives`` (10) for a sample without any
positive (a negative pair, or a target no default box matches) so that such samples still teach
the network to say "not here". Pure torch, no I/O; computed in float32 whatever the autocast dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainer.targets import NEGATIVE, POSITIVE


@dataclass
class LossOutput:
    total: torch.Tensor  # scalar, what is back-propagated
    conf: torch.Tensor  # (1/N) sum of BCE over positives and mined negatives
    reg: torch.Tensor  # (1/N) sum of smooth-L1 over positives (before alpha)
    num_positives: torch.Tensor  # N (not guarded)
    num_negatives: torch.Tensor  # mined negatives
    positive_accuracy: torch.Tensor  # fraction of positives with logit > 0 (NaN without positives)
    negative_accuracy: torch.Tensor  # fraction of all negatives with logit < 0
    positive_correct: torch.Tensor  # counts behind the accuracies, for averaging over steps
    negative_correct: torch.Tensor
    num_all_negatives: torch.Tensor


def hard_negative_mask(
    conf_loss: torch.Tensor, labels: torch.Tensor, negatives_per_positive: int = 3, min_negatives: int = 10
) -> torch.Tensor:
    """``[B, N]`` bool: the negatives kept for the confidence loss.

    Sample ``b`` keeps its ``k_b`` highest-loss negatives, ``k_b = negatives_per_positive * P_b`` if it
    has ``P_b > 0`` positives, else ``min_negatives``; never more than it has.
    """
    negative = labels == NEGATIVE
    num_pos = (labels == POSITIVE).sum(1)
    wanted = torch.where(num_pos > 0, num_pos * negatives_per_positive, torch.full_like(num_pos, min_negatives))
    keep = torch.minimum(wanted, negative.sum(1))
    ranked = conf_loss.detach().masked_fill(~negative, float("-inf"))
    order = ranked.argsort(dim=1, descending=True)
    rank = order.argsort(dim=1)
    return negative & (rank < keep[:, None])


def multibox_loss(
    conf_logits: torch.Tensor,
    loc_deltas: torch.Tensor,
    labels: torch.Tensor,
    loc_targets: torch.Tensor,
    alpha: float = 1.5,
    negatives_per_positive: int = 3,
    min_negatives: int = 10,
) -> LossOutput:
    """``conf_logits [B, N]``, ``loc_deltas [B, N, 4]``, ``labels [B, N]``, ``loc_targets [B, N, 4]``."""
    conf_logits = conf_logits.float()
    loc_deltas = loc_deltas.float()
    positive = labels == POSITIVE
    negative = labels == NEGATIVE
    bce = F.binary_cross_entropy_with_logits(conf_logits, positive.float(), reduction="none")
    mined = hard_negative_mask(bce, labels, negatives_per_positive, min_negatives)
    num_pos = positive.sum()
    norm = num_pos.clamp(min=1).float()
    conf_sum = torch.where(positive | mined, bce, torch.zeros_like(bce)).sum()
    smooth = F.smooth_l1_loss(loc_deltas, loc_targets.float(), reduction="none", beta=1.0).sum(-1)
    reg_sum = torch.where(positive, smooth, torch.zeros_like(smooth)).sum()
    conf, reg = conf_sum / norm, reg_sum / norm
    with torch.no_grad():
        pos_correct = ((conf_logits > 0) & positive).sum()
        neg_correct = ((conf_logits < 0) & negative).sum()
        num_neg = negative.sum()
        pos_acc = pos_correct / num_pos.float()
        neg_acc = neg_correct / num_neg.clamp(min=1).float()
    return LossOutput(
        total=conf + alpha * reg,
        conf=conf,
        reg=reg,
        num_positives=num_pos,
        num_negatives=mined.sum(),
        positive_accuracy=pos_acc,
        negative_accuracy=neg_acc,
        positive_correct=pos_correct,
        negative_correct=neg_correct,
        num_all_negatives=num_neg,
    )
