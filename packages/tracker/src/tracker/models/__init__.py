"""The four networks behind one small contract (see :mod:`tracker.models.base`) and a registry.

``create_model(name, **kwargs)`` builds ``"siamfc"``, ``"siamrpn"``, ``"siamconcatrpn"`` or
``"siambroadcastrpn"``; :func:`tracker.weights.load_model` rebuilds one from a weights file;
:func:`model_flops` gives the FLOPs of ``template`` and of one tracked frame.
"""

from .base import SiamModel, box_mask, prepare_for_inference, xcorr
from .flops import count_flops, model_flops
from .registry import create_model, list_models, model_class, register_model, resolve_name
from .siambroadcastrpn import SiamBroadcastRPN
from .siamconcatrpn import SiamConcatRPN
from .siamfc import SiamFC
from .siamrpn import SiamRPN

__all__ = [
    "SiamModel", "box_mask", "prepare_for_inference", "xcorr", "count_flops", "model_flops",
    "create_model", "list_models", "model_class", "register_model", "resolve_name",
    "SiamFC", "SiamRPN", "SiamConcatRPN", "SiamBroadcastRPN",
]
