"""SiamRPN (Li et al. 2018): an AlexNet trunk and a region-proposal head, 17x17 x k anchors.

Input: RGB 0..255 float, **no normalisation** (as SiamFC and pysot's AlexNet): batch norm right
after the unpadded first conv absorbs any per-channel scale and shift, and the SiamFC trunk was
trained on unnormalised input, so its weights load as they are.

Trunks (``backbone``): ``"bn"``, SiamRPN's modified AlexNet (no groups, batch norm); ``"siamfc"``,
SiamFC's grouped AlexNet, into which ``../shared/data/weights/siamfc_alexnet.safetensors`` loads
whole (``--backbone-weights``). Both give ``127 -> 6x6x256`` and ``255 -> 22x22x256``.

Heads (``head``):

- ``"upchannel"`` (the paper's): template through 3x3 convs to ``256*k`` (conf) and ``256*4k``
  (loc) channels, i.e. ``4x4`` kernels computed once in :meth:`template`; search through 3x3 convs
  to ``20x20x256``; grouped cross-correlation, each followed by batch norm -> ``17x17 x k`` conf
  logits and ``17x17 x 4k`` deltas (+ a 1x1 adjust conv).
- ``"dwxcorr"`` (SiamRPN++'s depth-wise cross-correlation, pysot's ``DepthwiseRPN``): per branch,
  3x3 conv + BN + ReLU on the template (-> ``4x4``) and on the search features (-> ``20x20``),
  channel-by-channel correlation -> ``17x17 x C``, then 1x1 conv + BN + ReLU and a 1x1 conv to k
  logits / 4k deltas. About 10x fewer parameters than the up-channel head.

In both heads the last regression layer starts at zero (:func:`zero_init_`): the decoded box is
the anchor at step 0. k = 5 anchors, stride 8: ``N = 1445``.
"""

from __future__ import annotations


import torch
from siamcore.anchors import SIAMRPN_RATIOS, rpn_anchors_cxcywh
from siamcore.crop import View
from torch import nn

from ..backbones import AlexNet
from .base import SiamModel, flatten_conf, flatten_loc, xcorr, xcorr_depthwise, zero_init_
from .registry import register_model

SIAMRPN_BACKBONES = ("bn", "siamfc")
SIAMRPN_HEADS = ("upchannel", "dwxcorr")


class DepthwiseBranch(nn.Module):
    """One DW-XCorr branch (pysot ``DepthwiseXCorr``): adjust both maps, correlate per channel, 1x1 head.

    ``adjust=False`` correlates the trunk's own maps (6x6 kernel over 22x22 -> 17x17), then batch norm:
    per channel, the terms of the trunk's own cross-correlation (SiamFC's score is their sum).
    """

    def __init__(self, in_ch: int, hidden: int, out_ch: int, adjust: bool = True, prior: bool = False):
        super().__init__()
        self.adjust = adjust
        # ``prior``: add the trunk's own score, the channel sum of the raw correlation (SiamFC's
        # xcorr), through a per-output affine that starts at SiamFC's calibration (score * 0.001 -
        # 2.148): at step 0 every anchor's logit is SiamFC's, and the head learns what to add.
        self.prior = nn.Conv2d(1, out_ch, 1) if prior else None
        if prior:
            if adjust:
                raise ValueError("the SiamFC score prior needs the unadjusted correlation (adjust=False)")
            nn.init.constant_(self.prior.weight, 0.001)
            nn.init.constant_(self.prior.bias, -2.1483638)
        if adjust:
            self.conv_kernel = nn.Sequential(nn.Conv2d(in_ch, hidden, 3, bias=False), nn.BatchNorm2d(hidden),
                                             nn.ReLU(inplace=True))
            self.conv_search = nn.Sequential(nn.Conv2d(in_ch, hidden, 3, bias=False), nn.BatchNorm2d(hidden),
                                             nn.ReLU(inplace=True))
            first = nn.Conv2d(hidden, hidden, 1, bias=False)
        else:
            self.conv_kernel = self.conv_search = nn.Identity()
            first = nn.Sequential(nn.BatchNorm2d(in_ch), nn.Conv2d(in_ch, hidden, 1, bias=False))
        self.head = nn.Sequential(first, nn.BatchNorm2d(hidden), nn.ReLU(inplace=True), nn.Conv2d(hidden, out_ch, 1))

    @property
    def output(self) -> nn.Conv2d:
        return self.head[-1]

    def kernel(self, template_feat: torch.Tensor) -> torch.Tensor:
        return self.conv_kernel(template_feat)

    def forward(self, kernel: torch.Tensor, search_feat: torch.Tensor) -> torch.Tensor:
        corr = xcorr_depthwise(self.conv_search(search_feat), kernel)
        out = self.head(corr)
        if self.prior is not None:
            out = out + self.prior(corr.sum(1, keepdim=True))
        return out


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
        backbone: str = "bn",
        head: str = "upchannel",
        conf_adjust: bool = True,
        loc_adjust: bool = True,
        conf_prior: bool = False,
    ):
        if backbone not in SIAMRPN_BACKBONES:
            raise ValueError(f"SiamRPN backbone must be one of {SIAMRPN_BACKBONES}, got {backbone!r}")
        if head not in SIAMRPN_HEADS:
            raise ValueError(f"SiamRPN head must be one of {SIAMRPN_HEADS}, got {head!r}")
        super().__init__(dict(ratios=tuple(ratios), anchor_scale=anchor_scale, stride=stride,
                              exemplar_size=exemplar_size, search_size=search_size,
                              search_context=search_context, channels=channels, variances=tuple(variances),
                              backbone=backbone, head=head, conf_adjust=conf_adjust,
                              loc_adjust=loc_adjust, conf_prior=conf_prior))
        self.k = k = len(ratios)
        self.channels = c = channels
        self.head_kind = head
        self.views = {"exemplar": View(exemplar_size, 0.5), "search": View(search_size, search_context)}
        self.backbone = AlexNet(backbone)
        feat = self.backbone.out_channels
        if head == "upchannel":
            self.template_conf = nn.Conv2d(feat, c * k, 3)
            self.template_loc = nn.Conv2d(feat, c * 4 * k, 3)
            self.search_conf = nn.Conv2d(feat, c, 3)
            self.search_loc = nn.Conv2d(feat, c, 3)
            self.loc_adjust = zero_init_(nn.Conv2d(4 * k, 4 * k, 1))
            # Batch norm on both correlations (as SiamFC's score "adjust"): the correlation is a product
            # of two learned maps summed over C x 4 x 4 taps, so every Adam step moves its scale by a
            # factor; unnormalised, the seed's Adam at lr 1e-3 drove the classification loss from 6 to
            # 90-135 within 50 steps (with or without warm-up), normalised it falls from 6.1 to 3.9 in 80
            # steps (benchmarks/RESULTS.md). The BN's shift is the per-anchor conf bias.
            self.conf_norm = nn.BatchNorm2d(k)
            self.loc_norm = nn.BatchNorm2d(4 * k)
        else:
            self.conf_branch = DepthwiseBranch(feat, c, k, adjust=conf_adjust, prior=conf_prior)
            self.loc_branch = DepthwiseBranch(feat, c, 4 * k, adjust=loc_adjust)
            zero_init_(self.loc_branch.output)
        score_size = self.score_size(exemplar_size, search_size)
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

    def regression_outputs(self) -> list[nn.Conv2d]:
        return [self.loc_adjust] if self.head_kind == "upchannel" else [self.loc_branch.output]

    def template_from_features(self, f, exemplar_guide=None):
        """Up-channel: RPN kernels ``(conf [B*k, C, 4, 4], loc [B*4k, C, 4, 4])``; DW-XCorr: the two
        adjusted template maps ``(conf [B, C, 4, 4], loc [B, C, 4, 4])``."""
        if self.head_kind == "dwxcorr":
            return self.conf_branch.kernel(f), self.loc_branch.kernel(f)
        b = f.shape[0]
        conf = self.template_conf(f)
        loc = self.template_loc(f)
        kh, kw = conf.shape[-2:]
        return (conf.reshape(b * self.k, self.channels, kh, kw),
                loc.reshape(b * 4 * self.k, self.channels, kh, kw))

    def detect_from_features(self, template_state, f, search_guide=None):
        conf_kernel, loc_kernel = template_state
        if self.head_kind == "dwxcorr":
            return flatten_conf(self.conf_branch(conf_kernel, f)), flatten_loc(self.loc_branch(loc_kernel, f))
        conf = self.conf_norm(xcorr(self.search_conf(f), conf_kernel, self.k))
        loc = self.loc_adjust(self.loc_norm(xcorr(self.search_loc(f), loc_kernel, 4 * self.k)))
        return flatten_conf(conf), flatten_loc(loc)
