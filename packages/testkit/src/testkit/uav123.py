"""The UAV123 layout (``anno/UAV123/<seq>.txt``, ``data_seq/UAV123/<folder>/%06d.jpg``, sub-sequences
sharing one folder) on real OTB Car4 and Couple frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from testkit.real_frames import car4_pingpong, couple, link_frames, xywh_rows


def write_uav123(shared: Path, root: Path) -> dict:
    """A UAV123 root (``anno/UAV123/<seq>.txt`` 1-based ``x,y,w,h``, ``data_seq/UAV123/<folder>/%06d.jpg``):
    ``truck4`` (1261 Car4 frames) split into the official sub-sequences truck4_1 (frames 1-577, NaN rows at
    frames 3-4, a malformed row at frame 6) and truck4_2 (577-1261, NaN rows at frames 586-595, its last
    frame without a row); ``person3_s`` (Couple, 140 frames, NaN rows first and last; ``_s`` is a folder of
    its own); an ``att/`` folder that is not a sequence. Returns ``{name: (expected 0-based xywh, absent)}``."""
    anno = root / "anno" / "UAV123"
    (anno / "att").mkdir(parents=True)
    (anno / "att" / "truck4_1.txt").write_text("0,1,0,0,1,0,0,0,0,0,0,1\n")
    truth = {}

    def sequence(name, boxes, first, absent_numbers=(), malformed_numbers=(), rows=None):
        expected = np.array(boxes, dtype=np.float64)
        absent = np.zeros(len(expected), bool)
        lines = []
        for i, box in enumerate(boxes[:rows]):
            number = first + i
            if number in absent_numbers:
                lines.append("NaN,NaN,NaN,NaN")
                absent[i] = True
                expected[i] = np.nan
            elif number in malformed_numbers:
                lines.append("12,NaN,3,4")
                expected[i] = np.nan
            else:
                lines.append(xywh_rows([box], shift=1.0).strip())
        expected[len(lines):] = np.nan
        (anno / f"{name}.txt").write_text("\n".join(lines) + "\n")
        truth[name] = (expected, absent)

    frames, boxes = car4_pingpong(shared, 1261)
    link_frames(frames, root / "data_seq" / "UAV123" / "truck4", "{:06d}.jpg")
    sequence("truck4_1", boxes[0:577], 1, absent_numbers={3, 4}, malformed_numbers={6})
    sequence("truck4_2", boxes[576:1261], 577, absent_numbers=set(range(586, 596)), rows=684)
    frames, boxes = couple(shared, 1, 140)
    link_frames(frames, root / "data_seq" / "UAV123" / "person3_s", "{:06d}.jpg")
    sequence("person3_s", boxes, 1, absent_numbers={1, 140})
    return truth
