"""SiamBroadcastRPN (seed 3.2): max-pooled exemplar vector broadcast over the search map.

Views: exemplar ``63 @ 0.1`` (tight), search ``255 @ 2.0``; a square target spans ~52 px in both.
Input RGB 0..255, ImageNet mean/std applied here. Two ResNet-50 trunks ``conv1..layer2`` (stride
8, 512 channels), not shared: exemplar 63 -> 8x8x512 -> global max pool -> 512-vector (the
template, computed once); search 255 -> 32x32x512. Broadcast + concat -> 1024 -> 3x3 conv 256 +
BN + ReLU -> transposed conv x2 (+ BN + ReLU) -> 64x64x256 -> two blocks (1x1 -> 64, 3x3 stride
2 -> 256) -> sources 32x32 and 16x16, 6 default boxes per cell -> ``N = 7680``; box sizes
50..75 px (``box_sizes_px``).
"""

from __future__ import annotations

import torch
from siamcore.anchors import boxes_per_cell, ssd_default_boxes_cxcywh
from siamcore.crop import View
from torch import nn

from ..backbones import resnet50
from .base import ImageNetNormalize, SiamModel, conv_bn_relu, flatten_conf, flatten_loc, halving_block
from .registry import register_model


@register_model
class SiamBroadcastRPN(SiamModel):
    name = "siambroadcastrpn"
    needs_guide = False

    def __init__(
        self,
        exemplar_size: int = 63,
        exemplar_context: float = 0.1,
        search_size: int = 255,
        search_context: float = 2.0,
        box_sizes_px=(50.0, 62.0, 75.0),
        ratios=(2.0, 3.0),
        channels: int = 256,
        block_channels: int = 64,
        backbone_width: int = 64,
        backbone_blocks=(3, 4),
        variances=(1.0, 1.0),
    ):
        super().__init__(dict(exemplar_size=exemplar_size, exemplar_context=exemplar_context,
                              search_size=search_size, search_context=search_context,
                              box_sizes_px=tuple(box_sizes_px), ratios=tuple(ratios), channels=channels,
                              block_channels=block_channels, backbone_width=backbone_width,
                              backbone_blocks=tuple(backbone_blocks), variances=tuple(variances)))
        if len(box_sizes_px) != 3:
            raise ValueError("box_sizes_px needs 3 entries (two sources, plus one)")
        self.views = {"exemplar": View(exemplar_size, exemplar_context), "search": View(search_size, search_context)}
        self.normalize = ImageNetNormalize()
        self.exemplar_backbone = resnet50("layer2", width=backbone_width, blocks=backbone_blocks)
        self.search_backbone = resnet50("layer2", width=backbone_width, blocks=backbone_blocks)
        feat = self.search_backbone.out_channels["layer2"]
        self.fuse = conv_bn_relu(2 * feat, channels, 3)
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
        )
        self.blocks = nn.ModuleList([halving_block(channels, block_channels, channels),
                                     halving_block(channels, block_channels, channels)])
        m = boxes_per_cell(tuple(ratios))
        self.conf_heads = nn.ModuleList(nn.Conv2d(channels, m, 3, padding=1) for _ in range(2))
        self.loc_heads = nn.ModuleList(nn.Conv2d(channels, 4 * m, 3, padding=1) for _ in range(2))
        f = self.search_feature_size(search_size)
        self.feature_sizes = [f, f // 2]
        boxes = ssd_default_boxes_cxcywh(self.feature_sizes, tuple(box_sizes_px), search_size, tuple(ratios))
        self._set_default_boxes(boxes)

    def backbone_modules(self):
        return [self.exemplar_backbone, self.search_backbone]

    @staticmethod
    def search_feature_size(search_size: int) -> int:
        """Side of the layer2 map (stride 8): 255 -> 32; the sources are that and half of it."""
        n = (search_size + 6 - 7) // 2 + 1
        n = (n + 2 - 3) // 2 + 1
        return (n + 2 - 3) // 2 + 1

    def template(self, exemplar, exemplar_guide=None):
        """The exemplar's max-pooled layer2 vector ``[B, 512, 1, 1]``."""
        f = self.exemplar_backbone(self.normalize(exemplar))["layer2"]
        return torch.amax(f, dim=(2, 3), keepdim=True)

    def detect(self, template_state, search, search_guide=None):
        x = self.search_backbone(self.normalize(search))["layer2"]
        z = template_state.expand(x.shape[0], -1, x.shape[2], x.shape[3])
        x = self.upsample(self.fuse(torch.cat([z, x], dim=1)))
        s1 = self.blocks[0](x)
        s2 = self.blocks[1](s1)
        sources = (s1, s2)
        conf = torch.cat([flatten_conf(h(s)) for h, s in zip(self.conf_heads, sources)], dim=1)
        loc = torch.cat([flatten_loc(h(s)) for h, s in zip(self.loc_heads, sources)], dim=1)
        return conf, loc
