"""SiamConcatRPN (seed 3.2): guided ResNet-50, channel concat, global conv, refine, SSD heads.

Both views are ``255 @ 1.5`` (the author used 300). Input RGB 0..255, ImageNet mean/std applied
here. One ResNet-50 trunk ``conv1..layer3`` is shared by both inputs; each gets its binary box
mask (exemplar box / previous box, :func:`box_mask`) through ``guide_conv`` (1 -> 64, k7 s2 p3)
added to ``conv1``'s output.

Geometry at 255 px: layer2 32x32x512, layer3 16x16x1024. Exemplar and search layer3 are
concatenated (2048) -> global convolution block (k=9: ``kx1 -> 1xk`` plus ``1xk -> kx1``, summed)
to 512 channels + a 3x3 residual block -> refine (1x1 to 256, upsample x2, add a 3x3 conv of
the search layer2, residual block) -> source 32x32x256 -> SSD extra layers (1x1 then 3x3 stride 2) ->
sources 16x16, 8x8, 4x4. A 3x3 head per source gives 1 conf logit and 4 deltas per default box
(6 per cell: 1:1 at ``s_k``, 1:1 at ``sqrt(s_k s_k+1)``, 2:1, 1:2, 3:1, 1:3): ``N = 8160``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from siamcore.anchors import boxes_per_cell, ssd_default_boxes_cxcywh
from siamcore.crop import View
from torch import nn

from ..backbones import resnet50
from .base import ImageNetNormalize, SiamModel, flatten_conf, flatten_loc, halving_block
from .registry import register_model


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
    ):
        super().__init__(dict(crop_size=crop_size, context=context, box_sizes_px=tuple(box_sizes_px),
                              ratios=tuple(ratios), gcn_kernel=gcn_kernel, channels=channels,
                              refine_channels=refine_channels,
                              extra_channels=tuple(extra_channels), backbone_width=backbone_width,
                              backbone_blocks=tuple(backbone_blocks), variances=tuple(variances)))
        if len(box_sizes_px) != len(extra_channels) + 2:
            raise ValueError("box_sizes_px needs len(extra_channels) + 2 entries (one per source, plus one)")
        self.views = {"exemplar": View(crop_size, context), "search": View(crop_size, context)}
        self.normalize = ImageNetNormalize()
        self.backbone = resnet50("layer3", guide=True, width=backbone_width, blocks=backbone_blocks)
        c2, c3 = self.backbone.out_channels["layer2"], self.backbone.out_channels["layer3"]
        self.gcn = GlobalConv(2 * c3, channels, gcn_kernel)
        self.gcn_refine = ResidualBlock(channels)
        self.refine = Refine(channels, c2, refine_channels)
        self.extras = nn.ModuleList()
        in_ch = refine_channels
        for out_ch in extra_channels:
            self.extras.append(halving_block(in_ch, out_ch // 2, out_ch))
            in_ch = out_ch
        m = boxes_per_cell(tuple(ratios))
        source_ch = [refine_channels, *extra_channels]
        self.conf_heads = nn.ModuleList(nn.Conv2d(ch, m, 3, padding=1) for ch in source_ch)
        self.loc_heads = nn.ModuleList(nn.Conv2d(ch, 4 * m, 3, padding=1) for ch in source_ch)
        self.feature_sizes = self.source_sizes(crop_size, len(extra_channels))
        boxes = ssd_default_boxes_cxcywh(self.feature_sizes, tuple(box_sizes_px), crop_size, tuple(ratios))
        self._set_default_boxes(boxes)

    @staticmethod
    def source_sizes(crop_size: int, n_extras: int) -> list[int]:
        """Source map sides: ResNet layer2 (stride 8), then each stride-2 extra layer."""
        n = (crop_size + 6 - 7) // 2 + 1  # conv1 k7 s2 p3
        n = (n + 2 - 3) // 2 + 1  # maxpool 3/2 p1
        n = (n + 2 - 3) // 2 + 1  # layer2's stride-2 3x3
        sizes = [n]
        for _ in range(n_extras):
            sizes.append((sizes[-1] + 2 - 3) // 2 + 1)
        return sizes

    def _check_guide(self, guide, role):
        if guide is None:
            raise ValueError(f"SiamConcatRPN needs a {role} guide mask [B, 1, H, W] (see tracker.models.box_mask)")
        return guide

    def template(self, exemplar, exemplar_guide=None):
        """Exemplar layer3 features ``[B, 1024, 16, 16]`` (guided by the exemplar box mask)."""
        guide = self._check_guide(exemplar_guide, "exemplar")
        return self.backbone(self.normalize(exemplar), guide)["layer3"]

    def detect(self, template_state, search, search_guide=None):
        guide = self._check_guide(search_guide, "search")
        feats = self.backbone(self.normalize(search), guide)
        z = template_state
        if z.shape[0] == 1 and feats["layer3"].shape[0] > 1:
            z = z.expand(feats["layer3"].shape[0], -1, -1, -1)
        x = torch.cat([z, feats["layer3"]], dim=1)
        x = F.relu(self.gcn_refine(self.gcn(x)))
        x = self.refine(x, feats["layer2"])
        sources = [x]
        for extra in self.extras:
            sources.append(extra(sources[-1]))
        conf = torch.cat([flatten_conf(h(s)) for h, s in zip(self.conf_heads, sources)], dim=1)
        loc = torch.cat([flatten_loc(h(s)) for h, s in zip(self.loc_heads, sources)], dim=1)
        return conf, loc
