"""Feature trunks written in the project, with torchvision-compatible parameter names."""

from .alexnet import ALEXNET_VARIANTS, AlexNet, alexnet
from .resnet import Bottleneck, ResNet, resnet50

__all__ = ["ALEXNET_VARIANTS", "AlexNet", "alexnet", "Bottleneck", "ResNet", "resnet50"]
