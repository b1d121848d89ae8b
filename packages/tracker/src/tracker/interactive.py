"""Drawing the first box with the mouse (``tracker run --select``), for a webcam or any video without
ground truth. It needs a display and an OpenCV built with a GUI; this package installs the headless
wheel (servers, CI), so both are checked first and the command fails with a message, not a crash."""

from __future__ import annotations

import os
import re
import sys

import cv2
import numpy as np

SELECT_WINDOW = "tracker: drag a box around the target, then Enter or Space (c cancels)"


def gui_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "there is no display ($DISPLAY and $WAYLAND_DISPLAY are unset: a server or a remote shell)"
    if re.search(r"GUI:\s*NONE", cv2.getBuildInformation()):
        return ("this OpenCV has no GUI (opencv-python-headless); replace it with opencv-python "
                "(pip uninstall opencv-python-headless; pip install opencv-python)")
    return None


def select_box_xywh(frame_rgb: np.ndarray) -> np.ndarray:
    """The box the user drags on ``frame_rgb`` (cv2.selectROI), as x, y, w, h frame px; ValueError when
    the selection is cancelled or empty."""
    x, y, w, h = cv2.selectROI(SELECT_WINDOW, cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR), showCrosshair=True)
    cv2.destroyWindow(SELECT_WINDOW)
    if w <= 0 or h <= 0:
        raise ValueError("no box was selected (--select was cancelled)")
    return np.array([x, y, w, h], dtype=np.float64)
