"""FLOP counts per ``track()`` call, for the benchmark (``torch.utils.flop_counter``).

FLOPs count a multiply-add as 2 (convs, matmuls, transposed convs); element-wise work (BN, ReLU,
pooling) is not counted. Counts are for one target on the model's own view sizes.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from .base import box_mask


def count_flops(fn, *args, **kwargs) -> int:
    """FLOPs of ``fn(*args, **kwargs)`` run once under inference mode."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


def _image(model, role: str, batch: int = 1) -> torch.Tensor:
    size = model.views[role].size
    device = next(model.parameters()).device
    return torch.full((batch, 3, size, size), 128.0, device=device)


def _guide(model, role: str):
    if not getattr(model, "needs_guide", False):
        return None
    size = model.views[role].size
    centre = torch.tensor([[size / 4, size / 4, 3 * size / 4, 3 * size / 4]])
    return box_mask(centre, size).to(next(model.parameters()).device)


def model_flops(model, num_scales: int = 3) -> dict[str, int]:
    """``{"template": once per target, "track": per frame}`` FLOPs of ``model``.

    SiamFC's per-frame work is :meth:`score` on ``num_scales`` search crops; an RPN model's is
    one :meth:`detect`.
    """
    was_training = model.training
    model.eval()
    try:
        exemplar = _image(model, "exemplar")
        if hasattr(model, "score"):
            state = model.template(exemplar)
            template = count_flops(model.template, exemplar)
            track = count_flops(model.score, state, _image(model, "search", num_scales))
        else:
            guide = _guide(model, "exemplar")
            with torch.inference_mode():
                state = model.template(exemplar, guide)
            template = count_flops(model.template, exemplar, guide)
            track = count_flops(model.detect, state, _image(model, "search"), _guide(model, "search"))
    finally:
        model.train(was_training)
    return {"template": template, "track": track}
