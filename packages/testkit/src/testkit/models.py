"""Tiny model configurations: the four architectures, narrow and shallow, for fast CPU tests.

``create_model(name, **TINY_CONFIGS[name])`` builds each model at test size (trainer and tracker tests
alike); the layers, heads and exports are the real ones, only widths and depths shrink.
"""

from __future__ import annotations

TINY_CONFIGS = {
    "siamfc": {},
    "siamrpn": {"channels": 32},
    "siamconcatrpn": {"backbone_width": 8, "backbone_blocks": [1, 1, 1], "channels": 32,
                      "refine_channels": 16, "extra_channels": [32, 16, 16]},
    "siambroadcastrpn": {"backbone_width": 8, "backbone_blocks": [1, 1], "channels": 32,
                         "block_channels": 8},
}
