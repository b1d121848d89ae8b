"""SiamFC (Bertinetto et al. 2016): grouped AlexNet and a cross-correlation score map.

Input RGB 0..255 float, **no normalisation** (the shipped weights were trained that way, batch
norm folded into the convs). 127 -> 6x6x256 template, 255 -> 22x22x256 search, score
``xcorr * adjust_scale + adjust_bias`` = ``xcorr * 0.001 - 2.1483638`` -> ``[B, 1, 17, 17]``.
"""

from __future__ import annotations

import torch
from siamcore.crop import View
from torch import nn

from ..backbones import AlexNet
from .base import xcorr
from .registry import register_model

SIAMFC_SCORE_SCALE = 0.001
SIAMFC_SCORE_BIAS = -2.1483638


@register_model(aliases=("siamfc-alexnet",))
class SiamFC(nn.Module):
    name = "siamfc"
    needs_guide = False
    stride = 8

    def __init__(self):
        super().__init__()
        self.backbone = AlexNet("siamfc")
        self.adjust_scale = nn.Parameter(torch.tensor([SIAMFC_SCORE_SCALE]))
        self.adjust_bias = nn.Parameter(torch.tensor([SIAMFC_SCORE_BIAS]))
        self.views = {"exemplar": View(127, 0.5), "search": View(255, 0.5, extent=255 / 127)}

    def config(self) -> dict:
        return {}

    def backbone_modules(self) -> list[nn.Module]:
        return [self.backbone]

    def template(self, exemplar: torch.Tensor) -> torch.Tensor:
        """Template features ``[B, 256, 6, 6]`` of ``exemplar [B, 3, 127, 127]`` (computed once)."""
        return self.backbone(exemplar)

    def score(self, feat: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """Score map ``[S, 1, 17, 17]`` of ``search [S, 3, 255, 255]``; ``feat`` has batch 1 or S."""
        out = xcorr(self.backbone(search), feat, 1)
        return out * self.adjust_scale + self.adjust_bias

    def forward(self, exemplar: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        return self.score(self.template(exemplar), search)
