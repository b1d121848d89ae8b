"""SiamConcatRPN (seed 3.2): guided trunk, channel concat, global conv, refine, SSD heads.

Both views are ``255 @ 1.5`` (the author used 300); the exemplar guide is the exemplar box, the
search guide the previous (jittered) box, as binary masks (:func:`box_mask`).

Trunks (``backbone``):

- ``"resnet50"`` (the seed's): input RGB 0..255, ImageNet mean/std applied here. One ResNet-50
  ``conv1..layer3`` shared by both inputs; each gets its mask through ``guide_conv`` (1 -> 64, k7
  s2 p3) added to ``conv1``'s output. At 255 px: layer2 32x32x512, layer3 16x16x1024. Exemplar and
  search layer3 are concatenated (2048) -> global convolution block (k=9: ``kx1 -> 1xk`` plus
  ``1xk -> kx1``, summed) to ``channels`` + a 3x3 residual block -> refine (1x1 to
  ``refine_channels``, upsample x2, add a 3x3 conv of the search layer2, residual block) -> source
  32x32 -> SSD extra layers (1x1 then 3x3 stride 2) -> sources 16x16, 8x8, 4x4: ``N = 8160``.
- ``"siamfc"``: one SiamFC AlexNet shared by both inputs (the real weights load into it), 255 ->
  22x22x256. Its weights were trained without masks, so the masks join *after* the trunk, sampled at
  the map's cell centres (43.5 + 8 i px) as one extra channel per input; the trunk then takes no
  guide and, frozen, its features can be cached. Concat (2 x 257) -> global conv -> residual block
  -> a 3x3 refine block (an unpadded AlexNet has no stride-4 map to refine with) -> source 22x22 ->
  extra layers -> 11x11, 6x6, 3x3; default boxes centred on the receptive fields.

A 3x3 head per source gives 1 conf logit and 4 deltas per default box (6 per cell: 1:1 at ``s_k``,
1:1 at ``sqrt(s_k s_k+1)``, 2:1, 1:2, 3:1, 1:3); the delta convs start at zero.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
import torch.nn.functional as F
from siamcore.anchors import boxes_per_cell, ssd_default_boxes_cxcywh
from siamcore.crop import View
from torch import nn

from ..backbones import AlexNet, resnet50
from .base import ImageNetNormalize, SiamModel, flatten_conf, flatten_loc, halving_block, zero_init_
from .registry import register_model

CONCAT_BACKBONES = ("resnet50", "siamfc")


class GlobalConv(nn.Module):
    """Large-kernel global convolution (Peng et al. 2017): ``kx1 -> 1xk`` plus ``1xk -> kx1``."""

    def __init__(self, in_ch: int, out_ch: int, k: int = 9):
        super().__init__()
        p = k // 2
        self.left = nn.Sequential(nn.Conv2d(in_ch, out_ch, (k, 1), padding=(p, 0)),
                                  nn.Conv2d(out_ch, out_ch, (1, k), padding=(0, p)))
        self.right = nn.Sequential(nn.Conv2d(in_ch, out_ch, (1, k), padding=(0, p)),
                                   nn.Conv2d(out_ch, out_ch, (k, 1), padding=(p, 0)))

    def forward(self, x):
        return self.left(x) + self.right(x)


class ResidualBlock(nn.Module):
    """``x + conv3x3(relu(conv3x3(x)))`` (the boundary-refinement block)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class Refine(nn.Module):
    """Upsample x2 and fuse with a skip map (3x3 conv of the search layer2), then a residual block.

    ``reduce`` (1x1, at the coarse size) brings ``in_ch`` to ``out_ch`` before upsampling.
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int):
        super().__init__()
        self.reduce = nn.Conv2d(in_ch, out_ch, 1)
        self.skip = nn.Conv2d(skip_ch, out_ch, 3, padding=1)
        self.fuse = ResidualBlock(out_ch)

    def forward(self, x, skip):
        up = F.interpolate(self.reduce(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return F.relu(self.fuse(up + self.skip(skip)))


@register_model
class SiamConcatRPN(SiamModel):
    name = "siamconcatrpn"
    needs_guide = True
    # The seed author's tracking values (differ from the RPN family's pysot defaults).
    tracking_defaults = MappingProxyType({"penalty_k": 0.055, "window_influence": 0.42, "lr": 0.295})

    def __init__(
        self,
        crop_size: int = 255,
        context: float = 1.5,
        box_sizes_px=(40.0, 64.0, 100.0, 160.0, 240.0),
        ratios=(2.0, 3.0),
        gcn_kernel: int = 9,
        channels: int = 512,
        refine_channels: int = 256,
        extra_channels=(512, 256, 256),
        backbone_width: int = 64,
        backbone_blocks=(3, 4, 6),
        variances=(1.0, 1.0),
        backbone: str = "resnet50",
    ):
        if backbone not in CONCAT_BACKBONES:
            raise ValueError(f"SiamConcatRPN backbone must be one of {CONCAT_BACKBONES}, got {backbone!r}")
        super().__init__(dict(crop_size=crop_size, context=context, box_sizes_px=tuple(box_sizes_px),
                              ratios=tuple(ratios), gcn_kernel=gcn_kernel, channels=channels,
                              refine_channels=refine_channels,
                              extra_channels=tuple(extra_channels), backbone_width=backbone_width,
                              backbone_blocks=tuple(backbone_blocks), variances=tuple(variances), backbone=backbone))
        if len(box_sizes_px) != len(extra_channels) + 2:
            raise ValueError("box_sizes_px needs len(extra_channels) + 2 entries (one per source, plus one)")
        self.views = {"exemplar": View(crop_size, context), "search": View(crop_size, context)}
        self.backbone_kind = backbone
        if backbone == "siamfc":
            self.trunk_takes_guide = False
            self.backbone = AlexNet("siamfc")
            side, first, stride = self.backbone.feature_grid(crop_size)
            self.register_buffer("guide_index", (first + stride * torch.arange(side)).floor().long(), persistent=False)
            fused_in, skip_ch = 2 * (self.backbone.out_channels + 1), None
            self.feature_sizes = [side]
            grids = [(first, stride)]
        else:
            self.trunk_takes_guide = True
            self.normalize = ImageNetNormalize()
            self.backbone = resnet50("layer3", guide=True, width=backbone_width, blocks=backbone_blocks)
            fused_in, skip_ch = 2 * self.backbone.out_channels["layer3"], self.backbone.out_channels["layer2"]
            self.feature_sizes = self.source_sizes(crop_size, 0)
            grids = None
        self.gcn = GlobalConv(fused_in, channels, gcn_kernel)
        self.gcn_refine = ResidualBlock(channels)
        if skip_ch is None:
            self.refine = nn.Sequential(nn.Conv2d(channels, refine_channels, 3, padding=1), nn.ReLU(inplace=True),
                                        ResidualBlock(refine_channels))
        else:
            self.refine = Refine(channels, skip_ch, refine_channels)
        self.extras = nn.ModuleList()
        in_ch = refine_channels
        for out_ch in extra_channels:
            self.extras.append(halving_block(in_ch, out_ch // 2, out_ch))
            in_ch = out_ch
            self.feature_sizes.append((self.feature_sizes[-1] + 1) // 2)
            if grids is not None:
                grids.append((grids[-1][0], 2 * grids[-1][1]))
        m = boxes_per_cell(tuple(ratios))
        source_ch = [refine_channels, *extra_channels]
        self.conf_heads = nn.ModuleList(nn.Conv2d(ch, m, 3, padding=1) for ch in source_ch)
        self.loc_heads = nn.ModuleList(zero_init_(nn.Conv2d(ch, 4 * m, 3, padding=1)) for ch in source_ch)
        boxes = ssd_default_boxes_cxcywh(self.feature_sizes, tuple(box_sizes_px), crop_size, tuple(ratios), grids)
        self._set_default_boxes(boxes)

    @staticmethod
    def source_sizes(crop_size: int, n_extras: int) -> list[int]:
        """Source map sides of the ResNet trunk: layer2 (stride 8), then each stride-2 extra layer."""
        n = (crop_size + 6 - 7) // 2 + 1  # conv1 k7 s2 p3
        n = (n + 2 - 3) // 2 + 1  # maxpool 3/2 p1
        n = (n + 2 - 3) // 2 + 1  # layer2's stride-2 3x3
        sizes = [n]
        for _ in range(n_extras):
            sizes.append((sizes[-1] + 2 - 3) // 2 + 1)
        return sizes

    def regression_outputs(self):
        return list(self.loc_heads)

    def _check_guide(self, guide, role):
        if guide is None:
            raise ValueError(f"SiamConcatRPN needs a {role} guide mask [B, 1, H, W] (see tracker.models.box_mask)")
        return guide

    def _with_mask(self, f, guide, role):
        """SiamFC trunk: append the guide mask, sampled at the map's cell centres, as a channel."""
        mask = self._check_guide(guide, role)[:, :, self.guide_index][:, :, :, self.guide_index]
        if mask.shape[0] != f.shape[0]:
            mask = mask.expand(f.shape[0], -1, -1, -1)
        return torch.cat([f, mask.to(f.dtype)], dim=1)

    def exemplar_features(self, exemplar, exemplar_guide=None):
        if self.backbone_kind == "siamfc":
            return self.backbone(exemplar)
        return self.backbone(self.normalize(exemplar), self._check_guide(exemplar_guide, "exemplar"))["layer3"]

    def search_features(self, search, search_guide=None):
        if self.backbone_kind == "siamfc":
            return self.backbone(search)
        return self.backbone(self.normalize(search), self._check_guide(search_guide, "search"))

    def template_from_features(self, f, exemplar_guide=None):
        """The exemplar map (ResNet: guided layer3 ``[B, 1024, 16, 16]``; SiamFC: ``[B, 257, 22, 22]``)."""
        return self._with_mask(f, exemplar_guide, "exemplar") if self.backbone_kind == "siamfc" else f

    def detect_from_features(self, template_state, feats, search_guide=None):
        if self.backbone_kind == "siamfc":
            x = self._with_mask(feats, search_guide, "search")
        else:
            x = feats["layer3"]
        z = template_state
        if z.shape[0] == 1 and x.shape[0] > 1:
            z = z.expand(x.shape[0], -1, -1, -1)
        x = F.relu(self.gcn_refine(self.gcn(torch.cat([z, x], dim=1))))
        x = self.refine(x) if self.backbone_kind == "siamfc" else self.refine(x, feats["layer2"])
        sources = [x]
        for extra in self.extras:
            sources.append(extra(sources[-1]))
        conf = torch.cat([flatten_conf(h(s)) for h, s in zip(self.conf_heads, sources)], dim=1)
        loc = torch.cat([flatten_loc(h(s)) for h, s in zip(self.loc_heads, sources)], dim=1)
        return conf, loc
