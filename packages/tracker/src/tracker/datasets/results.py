"""Result files in OTB format: one ``x,y,w,h`` line per frame, comma-separated, 1-based like OTB's
ground truth (this project's 0-based continuous boxes get 1 added to ``x, y`` on write and
subtracted on read, see :mod:`tracker.datasets.otb`). Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .otb import read_otb_groundtruth


def format_boxes_otb(boxes_xywh) -> str:
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4).copy()
    boxes[:, :2] += 1.0
    return "".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in boxes)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(path: Path, boxes_xywh) -> None:
    atomic_write_text(path, format_boxes_otb(boxes_xywh))


def read_results(path: Path) -> np.ndarray:
    """``[N, 4]`` boxes of a result file (any of , tab space), back in this project's convention."""
    return read_otb_groundtruth(path)
