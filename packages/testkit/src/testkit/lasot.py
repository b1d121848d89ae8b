"""The LaSOT layout (``<class>/<class>-<n>/img/%08d.jpg``, 1-based ``groundtruth.txt``, one-line
``full_occlusion.txt``, ``out_of_view.txt``, ``nlp.txt``, the official split lists) on real OTB Couple and
DAVIS-2016 frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from testkit.real_frames import couple, davis, link_frames, xywh_rows


def write_lasot(shared: Path, root: Path) -> dict:
    """A LaSOT root: person-1 (Couple, occluded and out-of-view frames), person-2 (Couple), swan-1
    (blackswan, in view in one frame only), dog-1 (always occluded), with the official split lists
    (testing_set.txt: person-2, swan-1). Ground truth written 1-based as LaSOT's is; returns
    ``{name: expected 0-based xywh}``."""
    truth = {}

    def sequence(cls, n, frames, boxes, occlusion=None, out_of_view=None):
        folder = root / cls / f"{cls}-{n}"
        link_frames(frames, folder / "img")
        (folder / "groundtruth.txt").write_text(xywh_rows(boxes, shift=1.0))
        count = len(frames)
        occlusion = [0] * count if occlusion is None else occlusion
        out_of_view = [0] * count if out_of_view is None else out_of_view
        (folder / "full_occlusion.txt").write_text(",".join(map(str, occlusion)))  # one line, no newline
        (folder / "out_of_view.txt").write_text(",".join(map(str, out_of_view)) + "\n")
        (folder / "nlp.txt").write_text(f"the {cls} in the middle\n")
        expected = np.array(boxes, dtype=np.float64)
        expected[(np.asarray(occlusion) != 0) | (np.asarray(out_of_view) != 0)] = np.nan
        truth[folder.name] = expected

    frames, boxes = couple(shared, 1, 20)
    sequence("person", 1, frames, boxes, [1 if i in (2, 3) else 0 for i in range(20)],
             [1 if i == 6 else 0 for i in range(20)])
    frames, boxes = couple(shared, 40, 12)
    sequence("person", 2, frames, boxes)
    frames, boxes = davis(shared, "blackswan", 12)
    sequence("swan", 1, frames, boxes, out_of_view=[0] + [1] * 11)
    frames, boxes = davis(shared, "dog", 8)
    sequence("dog", 1, frames, boxes, occlusion=[1] * 8)
    (root / "testing_set.txt").write_text("person-2\nswan-1\n")
    (root / "training_set.txt").write_text("person-1\ndog-1\n")
    return truth
