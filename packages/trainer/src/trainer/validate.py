"""Per-epoch validation on held-out sequences: IoU of the best-scoring box, and a figure of pairs.

The prediction of a pair is the default box with the highest confidence, decoded with the shared
:func:`siamcore.encoding.decode`; its IoU with the ground truth is averaged over the held-out
positive pairs. The figure (the seed's figure 18) shows, on each search crop, the ground truth
(green), the prediction (red), the default box that overlaps the ground truth most (blue, what the
matcher could at best call positive) and the guide box when the model takes one (yellow).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from siamcore.boxes import cxcywh_to_xyxy, iou_matrix_xyxy, iou_xyxy
from siamcore.encoding import decode
from trainer.data import load_pairs
from trainer.loader import model_inputs
from trainer.sources import Sources


@dataclass
class ValidationResult:
    mean_iou: float
    success_50: float  # fraction of pairs with IoU > 0.5
    pairs: int
    shown: list[tuple]  # what pairs_figure draws: the first ``grid`` pairs, with their boxes and IoU


class Validator:
    """Holds the decoded held-out pairs (read once) and scores a model on them."""

    def __init__(self, sources: Sources, batch_size: int, grid: int = 8):
        self.batch_size = batch_size
        self.grid = grid
        self.batches = []
        keys, shards = sources.val_key, sources.val_shard
        for i in range(0, len(keys), batch_size):
            self.batches.append(load_pairs(sources, shards[i : i + batch_size], keys[i : i + batch_size]))

    @property
    def num_pairs(self) -> int:
        return sum(len(b["keys"]) for b in self.batches)

    @torch.no_grad()
    def run(self, model, device: torch.device, channels_last: bool = False,
            autocast=contextlib.nullcontext) -> ValidationResult:
        was_training = model.training
        model.eval()
        ious, shown = [], []
        priors = model.default_boxes_cxcywh.float()
        prior_xyxy = cxcywh_to_xyxy(priors)
        for batch in self.batches:
            inputs = model_inputs(batch, device, channels_last, model.needs_guide)
            gt = batch["search_box_xyxy"].to(device)
            with autocast():
                conf, loc = model(*inputs)
            best = conf.float().argmax(1)
            idx = torch.arange(len(best), device=best.device)
            pred = cxcywh_to_xyxy(decode(loc.float()[idx, best], priors[best], model.variances))
            iou = iou_xyxy(pred, gt)
            ious.append(torch.where(torch.isfinite(iou), iou, torch.zeros_like(iou)).cpu())  # exploded box: 0
            if len(shown) < self.grid:
                best_prior = iou_matrix_xyxy(gt, prior_xyxy).argmax(1)
                for i in range(min(len(best), self.grid - len(shown))):
                    shown.append(
                        (batch["search"][i].numpy(), gt[i].cpu().numpy(), pred[i].cpu().numpy(),
                         prior_xyxy[best_prior[i]].cpu().numpy(), batch["search_guide_xyxy"][i].numpy(),
                         float(ious[-1][i]))
                    )
        model.train(was_training)
        all_iou = torch.cat(ious) if ious else torch.zeros(0)
        return ValidationResult(
            mean_iou=float(all_iou.mean()) if len(all_iou) else float("nan"),
            success_50=float((all_iou > 0.5).float().mean()) if len(all_iou) else float("nan"),
            pairs=len(all_iou),
            shown=shown,
        )


def pairs_figure(shown: list[tuple], with_guide: bool):
    """A grid of search crops with GT (green), prediction (red), best default box (blue), guide (yellow)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from siamcore.boxes import xyxy_to_xywh
    from tracker.render import draw_box

    cols = min(4, len(shown))
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, gt, pred, prior, guide, iou) in zip(axes.flat, shown):
        boxes = [(gt, (0, 255, 0)), (pred, (255, 0, 0)), (prior, (0, 191, 255))]
        if with_guide:
            boxes.append((guide, (255, 255, 0)))
        for box_xyxy, colour_rgb in boxes:  # draw_box clips wild boxes and skips non-finite ones
            image = draw_box(image, xyxy_to_xywh(np.asarray(box_xyxy, dtype=np.float64)), colour_rgb)
        ax.imshow(image)
        ax.set_title(f"IoU {iou:.2f}", fontsize=9)
    fig.suptitle("GT green, prediction red, best default box blue" + (", guide yellow" if with_guide else ""),
                 fontsize=9)
    fig.tight_layout()
    return fig
