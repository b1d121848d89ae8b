"""The GOT-10k layout (``<split>/<name>/%08d.jpg``, ``groundtruth.txt``, the ``absence`` / ``cover`` /
``cut_by_image`` labels, ``meta_info.ini``, ``list.txt``) on real OTB Couple and DAVIS-2016 frames, with
the layout's quirks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from testkit.real_frames import couple, davis, link_frames, xywh_rows


def write_got10k(shared: Path, root: Path) -> dict:
    """A GOT-10k root: train (Couple with absent / fully covered frames; blackswan; dog visible in one
    frame only), val (Couple), test (Couple with the first row only). Returns ``{name: expected xywh}``."""
    truth = {}

    def sequence(split, name, frames, boxes, absence=None, cover=None, cut=None, meta=None, first_row_only=False):
        folder = root / split / name
        link_frames(frames, folder)
        (folder / "groundtruth.txt").write_text(xywh_rows(boxes[:1] if first_row_only else boxes))
        n = len(frames)
        for label, values in (("absence", absence), ("cover", cover), ("cut_by_image", cut)):
            if values is not None:
                (folder / f"{label}.label").write_text("".join(f"{v}\n" for v in values))
        if meta:
            (folder / "meta_info.ini").write_text("[METAINFO]\n" + "".join(f"{k}: {v}\n" for k, v in meta.items()))
        expected = np.array(boxes, dtype=np.float64)
        if first_row_only:
            expected[1:] = np.nan
        hidden = np.zeros(n, bool)
        if absence is not None:
            hidden |= np.asarray(absence) != 0
        if cover is not None:
            hidden |= np.asarray(cover) == 0
        expected[hidden] = np.nan
        truth[name] = expected
        with open(root / split / "list.txt", "a") as f:
            f.write(name + "\n")

    frames, boxes = couple(shared, 1, 20)
    absence = [1 if i in (4, 5) else 0 for i in range(20)]
    cover = [0 if i == 9 else 3 if i == 10 else 8 for i in range(20)]
    cut = [1 if i == 14 else 0 for i in range(20)]
    meta = {"url": "https://youtu.be/x", "object_class": "person", "motion_class": "walking",
            "major_class": "person", "root_class": "person", "motion_adverb": "slowly"}
    sequence("train", "GOT-10k_Train_000001", frames, boxes, absence, cover, cut, meta)
    frames, boxes = davis(shared, "blackswan", 12)
    sequence("train", "GOT-10k_Train_000002", frames, boxes, [1] + [0] * 10 + [1], [8] * 12, [0] * 12,
             {"object_class": "black swan", "motion_class": "swimming"})
    frames, boxes = davis(shared, "dog", 6)
    sequence("train", "GOT-10k_Train_000003", frames, boxes, [1, 1, 0, 1, 1, 1], [8] * 6, [0] * 6,
             {"object_class": "dog", "motion_class": "running"})
    frames, boxes = couple(shared, 30, 10)
    sequence("val", "GOT-10k_Val_000001", frames, boxes, [0] * 10, [8] * 10, [0] * 10,
             {"object_class": "person", "motion_class": "walking"})
    frames, boxes = couple(shared, 60, 10)
    sequence("test", "GOT-10k_Test_000001", frames, boxes, first_row_only=True)
    return truth
