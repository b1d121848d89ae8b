"""AlexNet trunks with torchvision-style ``features.<index>`` parameter names.

Three variants share one class; the index of each layer inside ``features`` is its name:

- ``"torchvision"``: torchvision's ImageNet AlexNet features exactly (64/192/384/256/256
  channels, padding, final max-pool), so ``alexnet-owt`` weights load with ``strict=True``.
- ``"siamfc"``: SiamFC's AlexNet (Bertinetto et al. 2016): 96/256/384/384/256 channels,
  groups 2 in conv2/4/5, no padding, no final pool. Its convs sit at the *same* indices as
  torchvision's (``features.0/3/6/8/10``). 127 -> 6x6x256, 255 -> 22x22x256.
- ``"bn"``: SiamRPN's modified AlexNet: no groups, batch norm after every conv. Layer order and
  indices follow pysot's ``AlexNetLegacy`` (conv, BN, pool, ReLU), so its weights load too:
  convs at ``features.0/4/8/11/14``, batch norms at ``features.1/5/9/12/15``.

``conv_paths`` maps ``conv1..conv5`` to the module path of each conv (used to load the SiamFC
file, whose tensors are named ``conv1.weight`` ...). Input: float NCHW; no normalisation here
(each model does its own).
"""

from __future__ import annotations

import torch
from torch import nn

# (out_channels, kernel, stride, padding, groups, pool_after)
_CONVS = {
    "torchvision": [(64, 11, 4, 2, 1, True), (192, 5, 1, 2, 1, True), (384, 3, 1, 1, 1, False),
                    (256, 3, 1, 1, 1, False), (256, 3, 1, 1, 1, True)],
    "siamfc": [(96, 11, 2, 0, 1, True), (256, 5, 1, 0, 2, True), (384, 3, 1, 0, 1, False),
               (384, 3, 1, 0, 2, False), (256, 3, 1, 0, 2, False)],
    "bn": [(96, 11, 2, 0, 1, True), (256, 5, 1, 0, 1, True), (384, 3, 1, 0, 1, False),
           (384, 3, 1, 0, 1, False), (256, 3, 1, 0, 1, False)],
}
ALEXNET_VARIANTS = tuple(_CONVS)


class AlexNet(nn.Module):
    """AlexNet feature trunk (see module docstring for the variants and parameter names)."""

    def __init__(self, variant: str = "siamfc"):
        super().__init__()
        if variant not in _CONVS:
            raise ValueError(f"unknown AlexNet variant {variant!r}; choose one of {ALEXNET_VARIANTS}")
        self.variant = variant
        batch_norm = variant == "bn"
        layers: list[nn.Module] = []
        self.conv_paths: dict[str, str] = {}
        in_ch = 3
        last = len(_CONVS[variant]) - 1
        for i, (out_ch, k, s, p, g, pool) in enumerate(_CONVS[variant]):
            self.conv_paths[f"conv{i + 1}"] = f"features.{len(layers)}"
            layers.append(nn.Conv2d(in_ch, out_ch, k, stride=s, padding=p, groups=g))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_ch))
                if pool:
                    layers.append(nn.MaxPool2d(3, 2))
                if i < last:
                    layers.append(nn.ReLU(inplace=True))
            else:
                if i < last or variant == "torchvision":
                    layers.append(nn.ReLU(inplace=True))
                if pool:
                    layers.append(nn.MaxPool2d(3, 2))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.out_channels = in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def feature_grid(self, size: int) -> tuple[int, float, float]:
        """``(side, first_centre_px, stride_px)`` of the output map for a ``size``-px input: cell ``i``'s
        receptive field is centred at ``first_centre_px + i * stride_px`` (continuous crop px). For
        SiamFC's unpadded trunk, 255 -> ``(22, 43.5, 8)``: the map does not tile the whole crop."""
        side, centre, stride = float(size), 0.5, 1.0
        for layer in self.features:
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
                k, s, p = (v if isinstance(v, int) else v[0] for v in (layer.kernel_size, layer.stride, layer.padding))
                side = (side + 2 * p - k) // s + 1
                centre += ((k - 1) / 2 - p) * stride
                stride *= s
        return int(side), centre, stride


def alexnet(variant: str = "siamfc") -> AlexNet:
    return AlexNet(variant)
