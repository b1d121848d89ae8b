"""The RPN-family model contract, shared by trainer and tracker, and small shared layers.

Every model takes float NCHW **RGB images in 0..255** and normalises inside itself, so the trainer
and the tracker can never feed different inputs. ``template()`` runs once per target (the
tracker caches its result); ``detect()`` runs per frame and returns ``conf_logits [B, N]``
(one sigmoid logit per default box) and ``loc_deltas [B, N, 4]`` in the
:mod:`siamcore.encoding` form against ``default_boxes_cxcywh`` (search-crop px, ordered as
:mod:`siamcore.anchors` states: source map, row y, column x, box in cell).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


class SiamModel(nn.Module):
    """Base class of SiamRPN, SiamConcatRPN and SiamBroadcastRPN (see module docstring)."""

    name: str = ""
    needs_guide: bool = False
    # The model's own facts (tracker.models.registry): the RPN post-processing tracks it, with the family's
    # published hyper-parameters unless a subclass says otherwise; no foreign weights files.
    online_tracker: str = "rpn"
    tracking_defaults = MappingProxyType({})
    foreign_names: tuple[str, ...] = ()
    views: dict
    variances: tuple[float, float] = (1.0, 1.0)
    default_boxes_cxcywh: torch.Tensor

    def __init__(self, config: dict):
        super().__init__()
        self._config = dict(config)
        self.variances = tuple(float(v) for v in config.get("variances", (1.0, 1.0)))

    def config(self) -> dict:
        """Constructor kwargs (JSON-able): ``create_model(self.name, **self.config())`` rebuilds it."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._config.items()}

    def _set_default_boxes(self, boxes_cxcywh) -> None:
        # Not persistent: derived from the config, so checkpoints cannot disagree with the code.
        boxes = torch.as_tensor(boxes_cxcywh, dtype=torch.float32)
        self.register_buffer("default_boxes_cxcywh", boxes, persistent=False)

    def backbone_modules(self) -> list[nn.Module]:
        """The feature trunks that ImageNet weights load into (``load_backbone_weights``)."""
        return [self.backbone]

    # --- trunk / head split -------------------------------------------------------------------
    # A model is a feature trunk per role followed by heads. When the trunk takes no guide and is
    # frozen, the trainer can compute its features once per crop and train the heads on them
    # (``trainer.feature_cache``); ``template``/``detect`` are always trunk + heads.
    trunk_takes_guide: bool = False

    def trunk_modules(self) -> dict[str, nn.Module]:
        """Role -> the trunk that turns that role's crop into features (the same module for both
        roles when the trunk is shared)."""
        return {"exemplar": self.backbone, "search": self.backbone}

    def exemplar_features(self, exemplar: torch.Tensor, exemplar_guide: torch.Tensor | None = None):
        return self.trunk_modules()["exemplar"](exemplar)

    def search_features(self, search: torch.Tensor, search_guide: torch.Tensor | None = None):
        return self.trunk_modules()["search"](search)

    def template_from_features(self, features: Any, exemplar_guide: torch.Tensor | None = None) -> Any:
        raise NotImplementedError

    def detect_from_features(self, template_state: Any, features: Any, search_guide: torch.Tensor | None = None):
        raise NotImplementedError

    def template(self, exemplar: torch.Tensor, exemplar_guide: torch.Tensor | None = None) -> Any:
        return self.template_from_features(self.exemplar_features(exemplar, exemplar_guide), exemplar_guide)

    def detect(self, template_state: Any, search: torch.Tensor, search_guide: torch.Tensor | None = None):
        return self.detect_from_features(template_state, self.search_features(search, search_guide), search_guide)

    def forward(self, exemplar, search, exemplar_guide=None, search_guide=None, features: bool = False):
        """``(conf_logits, loc_deltas)`` of crop pairs; with ``features=True`` the first two arguments
        are the trunk's outputs instead (the trainer's feature cache), so that DDP wraps this call too."""
        if features:
            return self.detect_from_features(self.template_from_features(exemplar, exemplar_guide), search,
                                             search_guide)
        return self.detect(self.template(exemplar, exemplar_guide), search, search_guide)

    def regression_outputs(self) -> list[nn.Conv2d]:
        """The last layers that produce box deltas (zero-initialised: see :func:`zero_init_`)."""
        return []


def prepare_for_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """Eval mode, no gradients, channels-last weights (measured on 2 CPU cores: SiamFC's 3 scales
    ~1.9x faster, SiamRPN ~1.35x). Feed inputs with ``.contiguous(memory_format=torch.channels_last)``."""
    model.eval().requires_grad_(False)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model


class ImageNetNormalize(nn.Module):
    """RGB 0..255 -> ImageNet mean/std normalised input of the ResNet trunks."""

    def __init__(self):
        super().__init__()
        mean = torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1) * 255.0
        inv_std = 1.0 / (torch.tensor(IMAGENET_STD_RGB).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("mean_255", mean, persistent=False)
        self.register_buffer("inv_std_255", inv_std, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean_255) * self.inv_std_255


def box_mask(boxes_xyxy: torch.Tensor, size: int) -> torch.Tensor:
    """Binary guide mask ``[B, 1, size, size]``: 1 where a pixel's centre lies inside the box.

    ``boxes_xyxy`` is ``[B, 4]`` in crop px (pixel-continuous, origin at the top-left corner).
    The pixel holding the box centre is always set, so tiny boxes still leave a mark.
    """
    boxes = torch.as_tensor(boxes_xyxy, dtype=torch.float32).reshape(-1, 4)
    centres = torch.arange(size, dtype=torch.float32, device=boxes.device) + 0.5
    x0, y0, x1, y1 = (boxes[:, i, None] for i in range(4))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    inside_x = ((centres >= x0) & (centres < x1)) | ((centres - cx).abs() <= 0.5)
    inside_y = ((centres >= y0) & (centres < y1)) | ((centres - cy).abs() <= 0.5)
    mask = inside_y[:, :, None] & inside_x[:, None, :]
    return mask.to(torch.float32).unsqueeze(1)


def xcorr(search_feat: torch.Tensor, kernels: torch.Tensor, n_out: int) -> torch.Tensor:
    """Cross-correlate ``search_feat [B, C, H, W]`` with ``kernels [Bt * n_out, C, kh, kw]``.

    ``Bt == 1``: one template against every search image (plain conv, e.g. SiamFC's scales);
    ``Bt == B``: pair ``b`` with template ``b`` as one grouped conv (batch as groups).
    Returns ``[B, n_out, H - kh + 1, W - kw + 1]``.
    """
    b, c, h, w = search_feat.shape
    bt = kernels.shape[0] // n_out
    if bt == 1:
        return F.conv2d(search_feat, kernels)
    if bt != b:
        raise ValueError(f"template batch {bt} does not match search batch {b}")
    out = F.conv2d(search_feat.reshape(1, b * c, h, w), kernels, groups=b)
    return out.view(b, n_out, out.shape[-2], out.shape[-1])


def xcorr_depthwise(search_feat: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Depth-wise cross-correlation (SiamRPN++'s DW-XCorr): channel ``c`` of the search map with
    channel ``c`` of its kernel. ``search_feat [B, C, H, W]``, ``kernels [Bt, C, kh, kw]`` with
    ``Bt`` 1 (one template for every search image) or ``B``. Returns ``[B, C, H - kh + 1, W - kw + 1]``."""
    b, c, h, w = search_feat.shape
    bt, _, kh, kw = kernels.shape
    if bt == 1 and b > 1:
        kernels = kernels.expand(b, -1, -1, -1)
    elif bt != b:
        raise ValueError(f"template batch {bt} does not match search batch {b}")
    out = F.conv2d(search_feat.reshape(1, b * c, h, w), kernels.reshape(b * c, 1, kh, kw), groups=b * c)
    return out.view(b, c, out.shape[-2], out.shape[-1])


def zero_init_(conv: nn.Conv2d) -> nn.Conv2d:
    """Zero a box-delta output layer: every decoded box equals its default box at step 0.

    A randomly initialised regression layer decodes boxes far from the anchors (delta std ~0.6-1
    against target std ~0.15, measured), so the first hundreds of steps only undo the init; the
    gradient still reaches the layer (its input is not zero), so it learns from the first step.
    """
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


def flatten_conf(x: torch.Tensor) -> torch.Tensor:
    """``[B, k, H, W]`` -> ``[B, H*W*k]`` in the anchors' order (row, column, box in cell)."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


def flatten_loc(x: torch.Tensor) -> torch.Tensor:
    """``[B, 4k, H, W]`` -> ``[B, H*W*k, 4]`` in the anchors' order."""
    b, c, h, w = x.shape
    return x.view(b, c // 4, 4, h, w).permute(0, 3, 4, 1, 2).reshape(b, -1, 4)


def conv_bn_relu(in_ch: int, out_ch: int, k: int = 3, stride: int = 1, padding: int | None = None) -> nn.Sequential:
    padding = k // 2 if padding is None else padding
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, k, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def halving_block(in_ch: int, mid_ch: int, out_ch: int) -> nn.Sequential:
    """SSD extra layer: 1x1 reduce to ``mid_ch``, then 3x3 stride 2 to ``out_ch`` (halves the map).

    SiamConcatRPN's extra sources and SiamBroadcastRPN's two source blocks are this layer.
    """
    return nn.Sequential(nn.Conv2d(in_ch, mid_ch, 1), nn.ReLU(inplace=True),
                         nn.Conv2d(mid_ch, out_ch, 3, stride=2, padding=1), nn.ReLU(inplace=True))
