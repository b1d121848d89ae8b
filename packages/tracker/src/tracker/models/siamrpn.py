"""SiamRPN (Li et al. 2018): AlexNet with batch norm and an up-channel RPN.

Input: RGB 0..255 float, **no normalisation** (as SiamFC and pysot's AlexNet): batch norm right
after the unpadded first conv absorbs any per-channel scale and shift, so normalising would change
nothing but add a pass; it also lets SiamFC's conv1/conv3 weights initialise this trunk.

Template ``127 -> 6x6x256`` -> 3x3 convs to ``256*k`` (conf) and ``256*4k`` (loc) channels,
i.e. ``4x4`` kernels, computed once in :meth:`template`. Search ``255 -> 22x22x256`` -> 3x3 convs
-> ``20x20x256``; grouped cross-correlation -> ``17x17 x k`` conf logits (+ a per-anchor bias)
and ``17x17 x 4k`` deltas (+ a 1x1 adjust conv). k = 5 anchors, stride 8: ``N = 1445``.
"""

from __future__ import annotations

import math

import torch
from siamcore.anchors import SIAMRPN_RATIOS, rpn_anchors_cxcywh
from siamcore.crop import View
from torch import nn

from ..backbones import AlexNet
from .base import SiamModel, flatten_conf, flatten_loc, xcorr
from .registry import register_model


@register_model
class SiamRPN(SiamModel):
    name = "siamrpn"
    needs_guide = False

    def __init__(
        self,
        ratios=SIAMRPN_RATIOS,
        anchor_scale: float = 8.0,
        stride: int = 8,
        exemplar_size: int = 127,
        search_size: int = 255,
        search_context: float = 1.5,
        channels: int = 256,
        variances=(1.0, 1.0),
    ):
        super().__init__(dict(ratios=tuple(ratios), anchor_scale=anchor_scale, stride=stride,
                              exemplar_size=exemplar_size, search_size=search_size,
                              search_context=search_context, channels=channels, variances=tuple(variances)))
        self.k = k = len(ratios)
        self.channels = c = channels
        self.views = {"exemplar": View(exemplar_size, 0.5), "search": View(search_size, search_context)}
        self.backbone = AlexNet("bn")
        feat = self.backbone.out_channels
        self.template_conf = nn.Conv2d(feat, c * k, 3)
        self.template_loc = nn.Conv2d(feat, c * 4 * k, 3)
        self.search_conf = nn.Conv2d(feat, c, 3)
        self.search_loc = nn.Conv2d(feat, c, 3)
        self.loc_adjust = nn.Conv2d(4 * k, 4 * k, 1)
        self.conf_bias = nn.Parameter(torch.zeros(k))
        score_size = self.score_size(exemplar_size, search_size)
        # Fan-in normalisation of the cross-correlations (C channels x kernel^2 taps): without it
        # the initial logits are ~17 in size and Adam at the seed's lr 1e-3 diverges.
        kernel_side = self._feature_side(exemplar_size) - 2
        self.xcorr_scale = 1.0 / math.sqrt(c * kernel_side * kernel_side)
        self._set_default_boxes(rpn_anchors_cxcywh(score_size, stride, search_size, tuple(ratios), (anchor_scale,)))

    @staticmethod
    def _feature_side(n: int) -> int:
        """Side of the unpadded AlexNet feature map for an ``n``-px input (127 -> 6, 255 -> 22)."""
        n = (n - 11) // 2 + 1
        n = (n - 3) // 2 + 1
        n = (n - 5) + 1
        n = (n - 3) // 2 + 1
        return n - 6

    @classmethod
    def score_size(cls, exemplar_size: int, search_size: int) -> int:
        """Side of the score map: AlexNet stride 8, template kernel ``feat - 2``, search ``feat - 2``."""
        return (cls._feature_side(search_size) - 2) - (cls._feature_side(exemplar_size) - 2) + 1

    def template(self, exemplar, exemplar_guide=None):
        """Precomputed RPN kernels ``(conf [B*k, C, 4, 4], loc [B*4k, C, 4, 4])``."""
        f = self.backbone(exemplar)
        b = f.shape[0]
        conf = self.template_conf(f)
        loc = self.template_loc(f)
        kh, kw = conf.shape[-2:]
        return (conf.reshape(b * self.k, self.channels, kh, kw),
                loc.reshape(b * 4 * self.k, self.channels, kh, kw))

    def detect(self, template_state, search, search_guide=None):
        conf_kernel, loc_kernel = template_state
        f = self.backbone(search)
        conf = xcorr(self.search_conf(f), conf_kernel, self.k) * self.xcorr_scale + self.conf_bias.view(1, -1, 1, 1)
        loc = self.loc_adjust(xcorr(self.search_loc(f), loc_kernel, 4 * self.k) * self.xcorr_scale)
        return flatten_conf(conf), flatten_loc(loc)
