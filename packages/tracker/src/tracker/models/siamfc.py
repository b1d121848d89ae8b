"""SiamFC (Bertinetto et al. 2016): grouped AlexNet and a cross-correlation score map.

Input RGB 0..255 float, **no normalisation** (the shipped weights were trained that way, batch
norm folded into the convs). 127 -> 6x6x256 template, 255 -> 22x22x256 search, score
``xcorr * adjust_scale + adjust_bias`` = ``xcorr * 0.001 - 2.1483638`` -> ``[B, 1, 17, 17]``.
"""

from __future__ import annotations

import re
from types import MappingProxyType

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
    online_tracker = "siamfc"  # the score map's 3-scale search (tracker.online.siamfc)
    tracking_defaults = MappingProxyType({})  # the SiamFC-3s-color release's values (SiamFCParams)
    foreign_names = ("siamfc-alexnet",)  # the shipped SiamFC file: convert_foreign_state

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

    def convert_foreign_state(self, state: dict, metadata: dict) -> dict:
        """The shipped SiamFC file: ``conv1..conv5`` -> ``backbone.features.i``; score affine from its
        ``score`` metadata (``"xcorr * 0.001 - 2.1483638"``), else this model's own."""
        conv_paths = self.backbone.conv_paths
        out = {}
        for key, value in state.items():
            head, _, tail = key.partition(".")
            out[f"backbone.{conv_paths[head]}.{tail}" if head in conv_paths and tail else f"backbone.{key}"] = value
        match = re.search(r"\*\s*([-+0-9.eE]+)\s*([-+])\s*([0-9.eE]+)", metadata.get("score", ""))
        if match:
            scale, sign, bias = float(match.group(1)), match.group(2), float(match.group(3))
            out["adjust_scale"] = torch.tensor([scale])
            out["adjust_bias"] = torch.tensor([bias if sign == "+" else -bias])
        else:
            out["adjust_scale"] = self.adjust_scale.detach().clone()
            out["adjust_bias"] = self.adjust_bias.detach().clone()
        return out

    def forward(self, exemplar: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        return self.score(self.template(exemplar), search)
