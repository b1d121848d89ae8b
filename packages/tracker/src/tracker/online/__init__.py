"""Online trackers: ``init(frame, box_xywh)`` then ``track(frame) -> (box_xywh, score)``."""

from .base import OnlineTracker
from .factory import build_tracker, load_tracker, resolve_weights_path
from .params import ParamsError, RPNParams, SiamFCParams, load_params
from .rpn import RPNTracker
from .siamfc import SiamFCTracker

Tracker = OnlineTracker  # the contract's name: Tracker.init(frame, box_xywh), Tracker.track(frame)

__all__ = [
    "OnlineTracker", "ParamsError", "Tracker", "RPNParams", "RPNTracker", "SiamFCParams", "SiamFCTracker",
    "build_tracker", "load_params", "load_tracker", "resolve_weights_path",
]
