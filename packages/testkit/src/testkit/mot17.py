"""The MOT17 layout (``<split>/MOT17-<nn>-<detector>/img1/%06d.jpg``, ``gt/gt.txt``, ``seqinfo.ini``) of
generated 64x48 JPEGs, with each of the ground truth's quirks the reader must handle.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MOT17_GT_02 = [  # MOT17-02 (6 frames by seqinfo, 7 images): rows as written, 1-based x, y
    "1,1,11,9,20,30,1,1,1.0", "2,1,12,9,20,30,1,1,0.8", "3,1,13,10,20,30,1,1,1",  # id 1: no row at frame 4
    "5,1,15,10,20,30,1,1,0.6", "6,1,16,10,20,30,1,1,0.2",                        # frame 6 below 0.5
    "1,2,31,5,12,25,1,1,0.9", "1,2,40,40,5,5,1,1,1.0",                            # a second row of frame 1
    "2,2,32,5,12,25,0,1,1.0", "3,2,33,5,12,25,1,1,0.5", "4,2,34,5,12,25,1,1,0.49",  # consider 0; 0.5 is kept
    "5,2,35,5,12,25,1,1,1.0", "6,2,36,5,12,25,1,7,1.0",                           # frame 6: class 7, ignored
    "1,3,1,1,10,10,0,7,1.0", "2,3,1,1,10,10,0,7,1.0",                             # id 3: static person, no track
    "2,4,41,20,10,20,1,1,1.0", "7,4,47,20,10,20,1,1,1.0",                         # frame 7 is past seqLength
    "1,5,5,20,10,20,1,1,0.1", "2,5,5,20,10,20,1,1,0.3",                           # never visible enough
    "3,1,10,10", "a,1,11,9,20,30,1,1,1", "2.5,1,11,9,20,30,1,1,1",                # malformed: lines 19-21
]


def _mot17_video(folder: Path, frames: int, gt: list[str] | None, seq_length: int | None = None):
    """One video folder: ``frames`` random JPEGs, ``seqinfo.ini`` when ``seq_length`` is given, ``gt/gt.txt``
    when ``gt`` is."""
    (folder / "img1").mkdir(parents=True)
    rng = np.random.default_rng(frames)
    for i in range(1, frames + 1):
        if not cv2.imwrite(str(folder / "img1" / f"{i:06d}.jpg"), rng.integers(0, 256, (48, 64, 3), np.uint8)):
            raise OSError(f"could not write a frame into {folder}")
    if seq_length is not None:
        (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate=30\n"
                                            f"seqLength={seq_length}\nimWidth=64\nimHeight=48\nimExt=.jpg\n")
    if gt is not None:
        (folder / "gt").mkdir()
        (folder / "gt" / "gt.txt").write_text("\n".join(gt) + "\n")


def write_mot17(root: Path) -> dict:
    """A MOT17 root of 64x48 JPEGs: ``train/MOT17-02-{DPM,FRCNN,SDP}`` (:data:`MOT17_GT_02`: absent frames,
    consider 0, class 7, low visibility, a duplicate row, a row past ``seqLength``, malformed rows; the DPM
    copy has an extra id 9, which must not appear), ``train/MOT17-05-{DPM,SDP}`` (no FRCNN: DPM is read; no
    seqinfo.ini; SDP has an extra id 9), ``train/MOT17-09-FRCNN`` without gt, ``test/MOT17-01-FRCNN``.
    Returns ``{track name: (expected 0-based xywh, absent)}``."""
    extra = ["1,9,5,5,10,10,1,1,1.0", "2,9,5,5,10,10,1,1,1.0"]
    for variant, gt in (("DPM", MOT17_GT_02 + extra), ("FRCNN", MOT17_GT_02), ("SDP", MOT17_GT_02)):
        _mot17_video(root / "train" / f"MOT17-02-{variant}", 7, gt, seq_length=6)
    gt05 = [f"{f},1,{10 + f},10,20,30,1,1,1" for f in range(1, 5)] + [f"{f},2,41,9,12,30,1,1,0.7" for f in (1, 2, 3)]
    _mot17_video(root / "train" / "MOT17-05-DPM", 4, gt05)
    _mot17_video(root / "train" / "MOT17-05-SDP", 4, gt05 + extra, seq_length=4)
    _mot17_video(root / "train" / "MOT17-09-FRCNN", 3, None, seq_length=3)
    _mot17_video(root / "test" / "MOT17-01-FRCNN", 3, None, seq_length=3)
    nan = [np.nan] * 4
    truth = {
        "MOT17-02.1": [[10, 8, 20, 30], [11, 8, 20, 30], [12, 9, 20, 30], nan, [14, 9, 20, 30], nan],
        "MOT17-02.2": [[30, 4, 12, 25], nan, [32, 4, 12, 25], nan, [34, 4, 12, 25], nan],
        "MOT17-02.4": [nan, [40, 19, 10, 20], nan, nan, nan, nan],
        "MOT17-02.5": [nan] * 6,
        "MOT17-05.1": [[9 + f, 9, 20, 30] for f in range(1, 5)],
        "MOT17-05.2": [[40, 8, 12, 30]] * 3 + [nan],
    }
    return {name: (np.array(b, np.float64), np.isnan(np.array(b, np.float64)[:, 0])) for name, b in truth.items()}
