import math

import pytest

import torch
import torch.nn.functional as F

from trainer.loss import hard_negative_mask, multibox_loss
from trainer.targets import IGNORE, NEGATIVE, POSITIVE, match_default_boxes


def _priors():
    # cxcywh: exact match, half-shifted (IoU 1/3), far away, shifted by 5 px (IoU 0.6), and IoU 0.4.
    return torch.tensor(
        [
            [50.0, 50.0, 20.0, 20.0],
            [60.0, 50.0, 20.0, 20.0],
            [200.0, 200.0, 20.0, 20.0],
            [55.0, 50.0, 20.0, 20.0],
            [50.0, 50.0, 20.0, 50.0],
        ]
    )


def test_match_labels_thresholds_and_negative_pairs():
    gt = torch.tensor([[40.0, 40.0, 60.0, 60.0], [40.0, 40.0, 60.0, 60.0]])
    labels, loc, iou = match_default_boxes(gt, torch.tensor([False, True]), _priors())
    assert torch.allclose(iou[0], torch.tensor([1.0, 1 / 3, 0.0, 0.6, 0.4]), atol=1e-6)
    assert labels[0].tolist() == [POSITIVE, IGNORE, NEGATIVE, POSITIVE, IGNORE]
    assert labels[1].tolist() == [NEGATIVE] * 5  # negative pair: no positives at all
    assert torch.allclose(loc[0, 0], torch.zeros(4))
    assert torch.allclose(loc[0, 3], torch.tensor([-0.25, 0.0, 0.0, 0.0]))
    assert torch.all(loc[1] == 0) and torch.all(loc[0, [1, 2, 4]] == 0)


def test_degenerate_gt_gives_finite_targets():
    gt = torch.tensor([[40.0, 40.0, 40.0, 60.0]])  # zero width
    labels, loc, _ = match_default_boxes(gt, torch.tensor([False]), _priors())
    assert torch.isfinite(loc).all() and (labels != POSITIVE).all()


def test_hard_negative_mining_ratio_and_floor():
    labels = torch.tensor([[1] + [0] * 9 + [-1], [0] * 11])
    loss = torch.arange(22, dtype=torch.float32).view(2, 11)
    keep = hard_negative_mask(loss, labels, negatives_per_positive=3, min_negatives=2)
    assert keep[0].nonzero().flatten().tolist() == [7, 8, 9]  # highest-loss negatives, not the ignored 10
    assert keep[1].nonzero().flatten().tolist() == [9, 10]  # floor for the positive-free sample


def test_loss_by_hand():
    labels = torch.tensor([[POSITIVE, NEGATIVE, NEGATIVE, IGNORE]])
    conf = torch.tensor([[0.5, 2.0, -1.0, 9.0]])
    loc = torch.tensor([[[0.1, 0.0, 2.0, 0.0]] + [[5.0, 5.0, 5.0, 5.0]] * 3])
    target = torch.zeros(1, 4, 4)
    out = multibox_loss(conf, loc, labels, target, alpha=1.5, negatives_per_positive=1, min_negatives=10)
    bce_pos = F.softplus(torch.tensor(-0.5))
    bce_neg = F.softplus(torch.tensor(2.0))  # the harder negative; the easy one (-1.0) is not mined
    reg = 0.5 * 0.1**2 + (2.0 - 0.5)
    assert math.isclose(out.conf.item(), (bce_pos + bce_neg).item(), rel_tol=1e-6)
    assert math.isclose(out.reg.item(), reg, rel_tol=1e-6)
    assert math.isclose(out.total.item(), out.conf.item() + 1.5 * reg, rel_tol=1e-6)
    assert out.num_positives.item() == 1 and out.num_negatives.item() == 1
    assert out.positive_accuracy.item() == 1.0 and out.negative_accuracy.item() == 0.5


def test_loss_without_positives_is_finite_and_normalised_by_one():
    labels = torch.zeros(2, 20, dtype=torch.int64)
    conf = torch.zeros(2, 20, requires_grad=True)
    out = multibox_loss(conf, torch.zeros(2, 20, 4), labels, torch.zeros(2, 20, 4), min_negatives=10)
    assert math.isclose(out.total.item(), 20 * math.log(2), rel_tol=1e-6)
    out.total.backward()
    assert torch.isfinite(conf.grad).all() and (conf.grad != 0).sum() == 20


def test_loss_is_vectorised_like_per_sample_sum():
    torch.manual_seed(0)
    gt = torch.tensor([[100.0, 100.0, 160.0, 150.0], [30.0, 40.0, 90.0, 120.0], [0.0, 0.0, 50.0, 50.0]])
    priors = torch.stack(torch.meshgrid(torch.arange(8.0, 255, 16), torch.arange(8.0, 255, 16), indexing="ij"), -1)
    priors = priors.reshape(-1, 2)
    priors = torch.cat([priors.repeat(3, 1), torch.tensor([[48.0, 48.0], [64.0, 64.0], [56.0, 72.0]]).repeat_interleave(256, 0)], 1)
    labels, loc_t, _ = match_default_boxes(gt, torch.tensor([False, False, True]), priors)
    assert (labels == POSITIVE).sum() > 0
    conf = torch.randn(3, priors.shape[0])
    loc = torch.randn(3, priors.shape[0], 4)
    whole = multibox_loss(conf, loc, labels, loc_t)
    n = (labels == POSITIVE).sum()
    parts = [multibox_loss(conf[i : i + 1], loc[i : i + 1], labels[i : i + 1], loc_t[i : i + 1]) for i in range(3)]
    summed = sum(p.total * p.num_positives.clamp(min=1) for p in parts) / n
    assert torch.allclose(whole.total, summed, rtol=1e-5)


def _anchor_grid():
    from siamcore.anchors import rpn_anchors_cxcywh

    return torch.as_tensor(rpn_anchors_cxcywh(17, 8, 255), dtype=torch.float32)


def _square_at(cx: float, cy: float, side: float) -> torch.Tensor:
    return torch.tensor([[cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]])


def test_off_size_targets_get_a_positive_only_with_best_positive():
    """The size-drift cause: a target at 0.67x or 1.5x the anchors' 64 px (a tracker's box off by that
    much) matches no anchor at IoU >= 0.55, so without SSD's best-box rule it is never a positive: the
    head is only taught that such targets are background and never learns to measure their size."""
    anchors = _anchor_grid()
    for side in (64 / 1.5, 64 * 1.5):
        gt = _square_at(131.0, 125.0, side)  # off the grid's cell centres too
        labels, loc, iou = match_default_boxes(gt, torch.tensor([False]), anchors)
        assert (labels == POSITIVE).sum() == 0
        labels, loc, iou = match_default_boxes(gt, torch.tensor([False]), anchors, best_positive=True)
        pos = (labels[0] == POSITIVE).nonzero().flatten()
        assert len(pos) >= 1 and int(iou[0].argmax()) in pos.tolist()
        # the regression target says how far the size is from the anchor's: log(side / 64)
        best = int(iou[0].argmax())
        assert loc[0, best, 2].item() == pytest.approx(math.log(side / anchors[best, 2].item()), abs=1e-5)


def test_best_positive_never_makes_a_negative_pair_or_a_far_target_positive():
    anchors = _anchor_grid()
    gt = _square_at(127.5, 127.5, 64.0)
    labels, _, _ = match_default_boxes(gt, torch.tensor([True]), anchors, best_positive=True)
    assert (labels == POSITIVE).sum() == 0
    tiny = _square_at(127.5, 127.5, 20.0)  # best IoU ~0.1: below iou_negative, stays background
    labels, _, iou = match_default_boxes(tiny, torch.tensor([False]), anchors, best_positive=True)
    assert iou.max() < 0.3 and (labels == POSITIVE).sum() == 0
    # in-range targets keep exactly the positives of the threshold rule (the best box is among them)
    gt = _square_at(127.5, 127.5, 60.0)
    plain, _, _ = match_default_boxes(gt, torch.tensor([False]), anchors)
    best, _, _ = match_default_boxes(gt, torch.tensor([False]), anchors, best_positive=True)
    assert torch.equal(plain, best)
