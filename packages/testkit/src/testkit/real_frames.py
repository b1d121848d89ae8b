"""Real frames to lay out in the layouts of datasets far too big to ship (GOT-10k, LaSOT, UAV123).

The writers of those layouts take frames and boxes of the shared OTB and DAVIS-2016 sequences
(``$SIAMTRACK_SHARED_DATA``) and link them (hard links, renumbered) under each dataset's naming, so a
reader test runs on real pixels without a copy of the real dataset.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from siamcore.datasets import load_davis, load_otb


def link_frames(sources: list[Path], folder: Path, pattern: str = "{:08d}.jpg") -> list[Path]:
    """``sources`` as ``folder/pattern.format(1..)`` (hard links, copies across file systems)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, src in enumerate(sources, 1):
        dst = folder / pattern.format(i)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        out.append(dst)
    return out


def couple(shared: Path, first: int, count: int):
    """(frame files, 0-based xywh) of OTB Couple frames ``first..first+count-1`` (1-based numbers)."""
    (seq,) = load_otb(shared / "otb" / "Couple")
    return seq.frames[first - 1: first - 1 + count], np.array(seq.gt_xywh[first - 1: first - 1 + count])


def davis(shared: Path, video: str, count: int):
    """(frame files, 0-based mask-extent xywh) of the first ``count`` frames of a DAVIS-2016 video."""
    (seq,) = load_davis(shared / "davis2016", [video])
    return seq.frames[:count], np.array(seq.gt_xywh[:count])


def car4_pingpong(shared: Path, count: int):
    """(frame files, 0-based xywh) of ``count`` frames of OTB Car4 played forwards then backwards (Car4
    has 659 frames; UAV123's sub-sequences need longer folders): frame 660 is Car4's 658, and so on."""
    (seq,) = load_otb(shared / "otb" / "Car4")
    n = len(seq.frames)
    index = [i if i < n else 2 * (n - 1) - i for i in range(count)]
    return [seq.frames[i] for i in index], np.array(seq.gt_xywh)[index]


def xywh_rows(boxes, shift: float = 0.0) -> str:
    """Ground-truth lines ``x,y,w,h`` (``shift`` added to x and y: 1.0 for the 1-based layouts)."""
    return "".join(",".join(f"{v:g}" for v in (x + shift, y + shift, w, h)) + "\n" for x, y, w, h in boxes)
