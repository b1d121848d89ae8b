"""SiamBroadcastRPN (seed 3.2): max-pooled exemplar vector broadcast over the search map.

Trunks (``backbone``):

- ``"resnet50"`` (the seed's): views exemplar ``63 @ 0.1`` (tight), search ``255 @ 2.0``; a square
  target spans ~52 px in both. Input RGB 0..255, ImageNet mean/std applied here. Two ResNet-50
  trunks ``conv1..layer2`` (stride 8, 512 channels), not shared: exemplar 63 -> 8x8x512, search
  255 -> 32x32x512. Box sizes 50..75 px.
- ``"siamfc"``: one SiamFC AlexNet shared by both inputs (the real weights load into it; frozen, its
  features can be cached by the trainer). Its unpadded 87-px receptive field gives no map at all for
  a 63-px crop, so this variant uses SiamRPN's views, exemplar ``127 @ 0.5`` -> 6x6x256 and search
  ``255 @ 1.5`` -> 22x22x256 (a square target spans ~64 px in both): the same shards and the same
  cached features as SiamRPN, so the heads can be compared on equal terms. Box sizes 56..92 px,
  default boxes centred on the map's receptive fields (43.5 + 8 i px, not a grid over the whole crop).

The head is the same for both: global max pool of the exemplar map (the template, computed once) ->
broadcast + concat with the search map -> 3x3 conv 256 + BN + ReLU -> transposed conv x2 (+ BN +
ReLU) -> two blocks (1x1 -> 64, 3x3 stride 2 -> 256) -> two sources (32x32 and 16x16 for ResNet,
22x22 and 11x11 for SiamFC), 6 default boxes per cell (ResNet: ``N = 7680``); the box-delta convs
start at zero.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
from siamcore.anchors import boxes_per_cell, ssd_default_boxes_cxcywh
from siamcore.crop import View
from torch import nn

from ..backbones import AlexNet, resnet50
from .base import ImageNetNormalize, SiamModel, conv_bn_relu, flatten_conf, flatten_loc, halving_block, zero_init_
from .registry import register_model

# Per-trunk defaults of the views and box sizes (see the module docstring).
_DEFAULTS = {
    "resnet50": {"exemplar_size": 63, "exemplar_context": 0.1, "search_context": 2.0, "box_sizes_px": (50.0, 62.0, 75.0)},
    "siamfc": {"exemplar_size": 127, "exemplar_context": 0.5, "search_context": 1.5, "box_sizes_px": (56.0, 72.0, 92.0)},
}


@register_model
class SiamBroadcastRPN(SiamModel):
    name = "siambroadcastrpn"
    needs_guide = False
    # The seed author's tracking values (differ from the RPN family's pysot defaults).
    tracking_defaults = MappingProxyType({"penalty_k": 0.055, "window_influence": 0.42, "lr": 0.295})

    def __init__(
        self,
        exemplar_size: int | None = None,
        exemplar_context: float | None = None,
        search_size: int = 255,
        search_context: float | None = None,
        box_sizes_px=None,
        ratios=(2.0, 3.0),
        channels: int = 256,
        block_channels: int = 64,
        backbone_width: int = 64,
        backbone_blocks=(3, 4),
        variances=(1.0, 1.0),
        backbone: str = "resnet50",
    ):
        if backbone not in _DEFAULTS:
            raise ValueError(f"SiamBroadcastRPN backbone must be one of {tuple(_DEFAULTS)}, got {backbone!r}")
        d = _DEFAULTS[backbone]
        exemplar_size = d["exemplar_size"] if exemplar_size is None else exemplar_size
        exemplar_context = d["exemplar_context"] if exemplar_context is None else exemplar_context
        search_context = d["search_context"] if search_context is None else search_context
        box_sizes_px = d["box_sizes_px"] if box_sizes_px is None else box_sizes_px
        super().__init__(dict(exemplar_size=exemplar_size, exemplar_context=exemplar_context,
                              search_size=search_size, search_context=search_context,
                              box_sizes_px=tuple(box_sizes_px), ratios=tuple(ratios), channels=channels,
                              block_channels=block_channels, backbone_width=backbone_width,
                              backbone_blocks=tuple(backbone_blocks), variances=tuple(variances), backbone=backbone))
        if len(box_sizes_px) != 3:
            raise ValueError("box_sizes_px needs 3 entries (two sources, plus one)")
        self.views = {"exemplar": View(exemplar_size, exemplar_context), "search": View(search_size, search_context)}
        self.backbone_kind = backbone
        if backbone == "siamfc":
            self.backbone = AlexNet("siamfc")
            feat = self.backbone.out_channels
            side, first, stride = self.backbone.feature_grid(search_size)
            self.feature_sizes = [side, (side + 1) // 2]
            grids = [(first, stride), (first, 2 * stride)]
        else:
            self.normalize = ImageNetNormalize()
            self.exemplar_backbone = resnet50("layer2", width=backbone_width, blocks=backbone_blocks)
            self.search_backbone = resnet50("layer2", width=backbone_width, blocks=backbone_blocks)
            feat = self.search_backbone.out_channels["layer2"]
            f = self.search_feature_size(search_size)
            self.feature_sizes = [f, f // 2]
            grids = None
        self.fuse = conv_bn_relu(2 * feat, channels, 3)
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
        )
        self.blocks = nn.ModuleList([halving_block(channels, block_channels, channels),
                                     halving_block(channels, block_channels, channels)])
        m = boxes_per_cell(tuple(ratios))
        self.conf_heads = nn.ModuleList(nn.Conv2d(channels, m, 3, padding=1) for _ in range(2))
        self.loc_heads = nn.ModuleList(zero_init_(nn.Conv2d(channels, 4 * m, 3, padding=1)) for _ in range(2))
        boxes = ssd_default_boxes_cxcywh(self.feature_sizes, tuple(box_sizes_px), search_size, tuple(ratios), grids)
        self._set_default_boxes(boxes)

    def backbone_modules(self):
        return [self.backbone] if self.backbone_kind == "siamfc" else [self.exemplar_backbone, self.search_backbone]

    def trunk_modules(self):
        if self.backbone_kind == "siamfc":
            return {"exemplar": self.backbone, "search": self.backbone}
        return {"exemplar": self.exemplar_backbone, "search": self.search_backbone}

    def regression_outputs(self):
        return list(self.loc_heads)

    @staticmethod
    def search_feature_size(search_size: int) -> int:
        """Side of the ResNet layer2 map (stride 8): 255 -> 32; the sources are that and half of it."""
        n = (search_size + 6 - 7) // 2 + 1
        n = (n + 2 - 3) // 2 + 1
        return (n + 2 - 3) // 2 + 1

    def exemplar_features(self, exemplar, exemplar_guide=None):
        if self.backbone_kind == "siamfc":
            return self.backbone(exemplar)
        return self.exemplar_backbone(self.normalize(exemplar))["layer2"]

    def search_features(self, search, search_guide=None):
        if self.backbone_kind == "siamfc":
            return self.backbone(search)
        return self.search_backbone(self.normalize(search))["layer2"]

    def template_from_features(self, f, exemplar_guide=None):
        """The exemplar map's global max pool ``[B, C, 1, 1]``."""
        return torch.amax(f, dim=(2, 3), keepdim=True)

    def detect_from_features(self, template_state, x, search_guide=None):
        z = template_state.expand(x.shape[0], -1, x.shape[2], x.shape[3])
        x = self.upsample(self.fuse(torch.cat([z, x], dim=1)))
        s1 = self.blocks[0](x)
        s2 = self.blocks[1](s1)
        sources = (s1, s2)
        conf = torch.cat([flatten_conf(h(s)) for h, s in zip(self.conf_heads, sources)], dim=1)
        loc = torch.cat([flatten_loc(h(s)) for h, s in zip(self.loc_heads, sources)], dim=1)
        return conf, loc
