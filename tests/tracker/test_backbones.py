"""Backbones: torchvision-compatible parameter names and shapes, output geometry, guide input."""

from __future__ import annotations

import pytest
import torch

from tracker.backbones import AlexNet, resnet50

# (name, shape) pairs as torchvision's alexnet / resnet50 state dicts name them.
TORCHVISION_ALEXNET = {
    "features.0.weight": (64, 3, 11, 11),
    "features.3.weight": (192, 64, 5, 5),
    "features.6.bias": (384,),
    "features.8.weight": (256, 384, 3, 3),
    "features.10.weight": (256, 256, 3, 3),
}
TORCHVISION_RESNET50 = {
    "conv1.weight": (64, 3, 7, 7),
    "bn1.running_var": (64,),
    "layer1.0.conv1.weight": (64, 64, 1, 1),
    "layer1.0.downsample.0.weight": (256, 64, 1, 1),
    "layer1.0.downsample.1.running_mean": (256,),
    "layer2.0.conv2.weight": (128, 128, 3, 3),
    "layer2.3.bn3.weight": (512,),
    "layer3.5.conv3.weight": (1024, 256, 1, 1),
    "layer4.2.conv3.weight": (2048, 512, 1, 1),
}


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_alexnet_torchvision_names_and_count():
    net = AlexNet("torchvision")
    shapes = _shapes(net)
    for name, shape in TORCHVISION_ALEXNET.items():
        assert shapes[name] == shape, name
    assert sum(p.numel() for p in net.parameters()) == 2_469_696  # torchvision alexnet().features


def test_alexnet_siamfc_layout_and_sizes():
    net = AlexNet("siamfc")
    shapes = _shapes(net)
    assert shapes["features.0.weight"] == (96, 3, 11, 11)
    assert shapes["features.3.weight"] == (256, 48, 5, 5)  # groups 2, as the shipped file
    assert shapes["features.8.weight"] == (384, 192, 3, 3)
    assert shapes["features.10.weight"] == (256, 192, 3, 3)
    assert net.conv_paths == {f"conv{i + 1}": f"features.{j}" for i, j in enumerate((0, 3, 6, 8, 10))}
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 127, 127)).shape == (1, 256, 6, 6)
        assert net(torch.zeros(2, 3, 255, 255)).shape == (2, 256, 22, 22)


def test_alexnet_bn_follows_pysot_legacy_indices():
    net = AlexNet("bn")
    shapes = _shapes(net)
    assert shapes["features.1.running_mean"] == (96,)
    assert shapes["features.4.weight"] == (256, 96, 5, 5)  # no groups
    assert shapes["features.14.weight"] == (256, 384, 3, 3)
    assert shapes["features.15.weight"] == (256,)
    assert list(net.conv_paths.values()) == [f"features.{j}" for j in (0, 4, 8, 11, 14)]
    with torch.no_grad():
        assert net.eval()(torch.zeros(1, 3, 255, 255)).shape == (1, 256, 22, 22)


def test_alexnet_unknown_variant_is_clear():
    with pytest.raises(ValueError, match="unknown AlexNet variant"):
        AlexNet("vgg")


def test_resnet50_torchvision_names_and_count():
    net = resnet50("layer4")
    shapes = _shapes(net)
    for name, shape in TORCHVISION_RESNET50.items():
        assert shapes[name] == shape, name
    # torchvision resnet50: 25,557,032 parameters, of which fc holds 2048 * 1000 + 1000.
    assert sum(p.numel() for p in net.parameters()) == 25_557_032 - 2_049_000


def test_resnet50_truncation_and_strides():
    net = resnet50("layer3").eval()
    assert not any(k.startswith("layer4") for k in net.state_dict())
    assert net.out_channels == {"layer1": 256, "layer2": 512, "layer3": 1024}
    small = resnet50("layer2", width=8, blocks=(1, 1)).eval()
    with torch.no_grad():
        out = small(torch.zeros(1, 3, 255, 255))
        assert out["layer2"].shape == (1, 64, 32, 32)
        assert small(torch.zeros(1, 3, 63, 63))["layer2"].shape == (1, 64, 8, 8)


def test_resnet_guide_starts_neutral_then_acts():
    net = resnet50("layer2", width=8, blocks=(1, 1), guide=True).eval()
    assert net.state_dict()["guide_conv.weight"].shape == (8, 1, 7, 7)
    x = torch.rand(1, 3, 63, 63) * 255
    guide = torch.zeros(1, 1, 63, 63)
    guide[..., 20:40, 20:40] = 1
    with torch.no_grad():
        plain = net(x)["layer2"]
        assert torch.equal(net(x, guide)["layer2"], plain)  # zero-initialised guide conv
        net.guide_conv.weight.fill_(0.1)
        assert not torch.allclose(net(x, guide)["layer2"], plain)
