"""Small datasets in the TLP layout (a sequence-folder layout with absent frames), generated."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from testkit.scene import Mover, Scene, encode_jpeg, seeded_rng


def write_tlp(root: str | Path, absent: dict[str, list[int]], frames: int = 12, size: tuple[int, int] = (160, 120),
              seed: int = 0) -> dict[str, np.ndarray]:
    """Write TLP-layout sequences ``root/<name>/img/%05d.jpg`` + ``root/<name>/groundtruth_rect.txt``,
    one per key of ``absent`` (0-based indices of the frames where the target is out of view: it is not
    painted, and its row is ``n,0,0,0,0,1``). Rows are ``frame,x,y,w,h,absent`` with TLP's 1-based frame
    number and (as :mod:`siamcore.datasets.tlp` reads them) 1-based ``x, y``. Returns ``{name: xywh}``
    in this project's convention, NaN rows where absent."""
    root, truth = Path(root), {}
    for name, gone in absent.items():
        rng = seeded_rng(seed, f"tlp/{name}")
        scene = Scene(rng, size, frames)
        target = Mover.random(rng, size)
        img_dir = root / name / "img"
        img_dir.mkdir(parents=True, exist_ok=True)
        boxes, rows = np.full((frames, 4), np.nan), []
        for i in range(frames):
            img = scene.frame(i)
            if i in gone:
                rows.append(f"{i + 1},0,0,0,0,1")
            else:
                box = target.box_xywh(i / frames, size)
                target.paint(img, box)
                boxes[i] = box
                rows.append(f"{i + 1},{box[0] + 1},{box[1] + 1},{box[2]},{box[3]},0")
            (img_dir / f"{i + 1:05d}.jpg").write_bytes(encode_jpeg(img))
        (root / name / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
        truth[name] = boxes
    return truth

