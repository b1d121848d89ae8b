"""ResNet-50 trunk with torchvision parameter names, truncatable, with an optional guide input.

Names match torchvision's ``resnet50`` (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``layerN.0.downsample.0/.1``; Bottleneck v1.5: stride on the 3x3 conv), so ImageNet weights load
from a local file. ``last_layer`` truncates the trunk (``"layer2"``: stride 8, 512 channels;
``"layer3"``: stride 16, 1024 channels); layers past it are not built, so their weights are
reported as unexpected (ignored) by :func:`tracker.weights.load_backbone_weights`.

``guide=True`` adds ``guide_conv`` (1 -> 64, k7 s2 p3, SiamConcatRPN's binary box mask), whose
output is added to ``conv1``'s output before ``bn1``. It starts at zero so that ImageNet features
are unchanged at the start of training.

``width`` (64 in ResNet-50) and ``blocks`` exist so tests can build a tiny trunk of the same
shape; the defaults are the real ResNet-50.
"""

from __future__ import annotations

import torch
from torch import nn


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1):
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = nn.Conv2d(in_ch, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet trunk ``conv1 .. last_layer``; ``forward`` returns ``{"layer1": ..., ...}``."""

    def __init__(self, blocks=(3, 4, 6, 3), width: int = 64, last_layer: str = "layer4", guide: bool = False):
        super().__init__()
        n_layers = int(last_layer.removeprefix("layer"))
        if not 1 <= n_layers <= len(blocks):
            raise ValueError(f"last_layer must be layer1..layer{len(blocks)}, got {last_layer!r}")
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.guide_conv = nn.Conv2d(1, width, 7, stride=2, padding=3, bias=False) if guide else None
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_ch = width
        self.layer_names: list[str] = []
        self.out_channels: dict[str, int] = {}
        for i in range(n_layers):
            planes = width * 2**i
            stride = 1 if i == 0 else 2
            layer = [Bottleneck(in_ch, planes, stride)]
            in_ch = planes * Bottleneck.expansion
            layer += [Bottleneck(in_ch, planes) for _ in range(blocks[i] - 1)]
            name = f"layer{i + 1}"
            self.add_module(name, nn.Sequential(*layer))
            self.layer_names.append(name)
            self.out_channels[name] = in_ch
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.guide_conv is not None:
            nn.init.zeros_(self.guide_conv.weight)

    def forward(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        x = self.conv1(x)
        if self.guide_conv is not None and guide is not None:
            x = x + self.guide_conv(guide)
        x = self.maxpool(self.relu(self.bn1(x)))
        out = {}
        for name in self.layer_names:
            x = getattr(self, name)(x)
            out[name] = x
        return out


def resnet50(last_layer: str = "layer4", guide: bool = False, width: int = 64, blocks=(3, 4, 6, 3)) -> ResNet:
    """torchvision-named ResNet-50 trunk up to ``last_layer`` (tiny ones via ``width``/``blocks``)."""
    return ResNet(blocks=tuple(blocks), width=width, last_layer=last_layer, guide=guide)
