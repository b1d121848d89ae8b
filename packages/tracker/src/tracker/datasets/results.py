"""Result files in OTB format: one ``x,y,w,h`` line per frame, comma-separated, 1-based like OTB's
ground truth (this project's 0-based continuous boxes get 1 added to ``x, y`` on write and
subtracted on read, see :mod:`siamcore.datasets.otb`). Writes are atomic (:mod:`siamcore.atomic`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from siamcore.atomic import write_bytes_atomic
from siamcore.datasets import read_otb_groundtruth


def format_boxes_otb(boxes_xywh) -> str:
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4).copy()
    boxes[:, :2] += 1.0
    return "".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in boxes)


def write_results(path: Path, boxes_xywh) -> None:
    write_bytes_atomic(path, format_boxes_otb(boxes_xywh).encode())


def read_results(path: Path) -> np.ndarray:
    """``[N, 4]`` boxes of a result file (any of , tab space), back in this project's convention."""
    return read_otb_groundtruth(path)
