"""Small datasets in the real ILSVRC2015 VID layout (``Annotations/VID/<split>/<snippet>/%06d.xml`` +
``Data/VID/<split>/<snippet>/%06d.JPEG``), generated or on real frames, plus one broken snippet per
bad-input case (:func:`write_vid_bad`).

Writers return the ground truth they wrote. Files are written in place (not atomically); the same call
writes identical bytes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from siamcore.datasets.vid import WNID_TO_CLASS

from testkit.bad_inputs import BadInput, corrupt_jpeg_bytes, truncate_jpeg_bytes
from testkit.scene import Mover, Scene, encode_jpeg, path_list, real_window, seeded_rng

VID_WNIDS = tuple(WNID_TO_CLASS)


def vid_snippet_name(split: str, index: int) -> str:
    """Snippet path (relative to the split folder) of the ``index``-th generated snippet."""
    if split == "train":
        return f"ILSVRC2015_VID_train_{index // 1000:04d}/ILSVRC2015_train_{index:08d}"
    return f"ILSVRC2015_val_{index:08d}"


def vid_xml(folder: str, frame: int, frame_wh: tuple[int, int], objects) -> str:
    """One ILSVRC VID annotation file. ``objects``: ``(trackid, wnid, (xmin, ymin, xmax, ymax))``;
    the coordinates are written as given (numbers, or strings to make broken files)."""
    parts = [
        "<annotation>",
        f"\t<folder>{folder}</folder>",
        f"\t<filename>{frame:06d}</filename>",
        "\t<source>\n\t\t<database>ILSVRC_2015</database>\n\t</source>",
        f"\t<size>\n\t\t<width>{frame_wh[0]}</width>\n\t\t<height>{frame_wh[1]}</height>\n\t</size>",
    ]
    for trackid, wnid, (x0, y0, x1, y1) in objects:
        parts.append(
            f"\t<object>\n\t\t<trackid>{trackid}</trackid>\n\t\t<name>{wnid}</name>\n\t\t<bndbox>\n"
            f"\t\t\t<xmax>{x1}</xmax>\n\t\t\t<xmin>{x0}</xmin>\n\t\t\t<ymax>{y1}</ymax>\n\t\t\t<ymin>{y0}</ymin>\n"
            f"\t\t</bndbox>\n\t\t<occluded>0</occluded>\n\t\t<generated>0</generated>\n\t</object>"
        )
    parts.append("</annotation>\n")
    return "\n".join(parts)


def _vid_dirs(root: Path, split: str, name: str) -> tuple[Path, Path]:
    return root / "Annotations" / "VID" / split / name, root / "Data" / "VID" / split / name


def _write_vid_snippet(root: Path, split: str, name: str, seed: int, frames: int, size, tracks: int, sources,
                       index: int) -> dict[str, tuple[str, np.ndarray]]:
    """Write one snippet; returns ``{trackid: (wnid, boxes_xywh with NaN where absent)}``.

    Track 0 is visible throughout; track t >= 1 is visible on a sub-range only (absent frames).
    With real sources, frames are the real ones (re-encoded) and track 0 is the real target.
    """
    rng = seeded_rng(seed, f"vid/{split}/{name}")
    real_files, real_boxes = real_window(sources, index, rng, frames) if sources else (None, None)
    if real_files is not None:
        frames = len(real_files)
        size = tuple(int(v) for v in cv2.imread(str(real_files[0])).shape[1::-1])
    scene = None if real_files is not None else Scene(rng, size, frames)
    movers = [Mover.random(rng, size) for _ in range(tracks)]
    wnids = [str(w) for w in rng.choice(VID_WNIDS, tracks, replace=False)]
    spans = [(0, frames)] + [
        tuple(sorted(int(v) for v in rng.integers(0, frames + 1, 2))) for _ in range(tracks - 1)
    ]
    spans = [(a, max(b, a + 1)) for a, b in spans]
    boxes = {t: np.full((frames, 4), np.nan) for t in range(tracks)}
    anno_dir, data_dir = _vid_dirs(root, split, name)
    anno_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        if real_files is not None:
            img = cv2.cvtColor(cv2.imread(str(real_files[i])), cv2.COLOR_BGR2RGB)
        else:
            img = scene.frame(i)
        objects = []
        for t in range(tracks):
            if not spans[t][0] <= i < spans[t][1]:
                continue
            if t == 0 and real_files is not None:
                x, y, w, h = (int(round(v)) for v in real_boxes[i])
            else:
                x, y, w, h = movers[t].box_xywh(i / frames, size)
                movers[t].paint(img, (x, y, w, h))
            boxes[t][i] = (x, y, w, h)
            objects.append((t, wnids[t], (x, y, x + w, y + h)))
        (anno_dir / f"{i:06d}.xml").write_text(vid_xml(name, i, size, objects))
        (data_dir / f"{i:06d}.JPEG").write_bytes(encode_jpeg(img))
    return {str(t): (wnids[t], boxes[t]) for t in range(tracks)}


def write_vid(
    root: str | Path,
    snippets: dict[str, int] | None = None,
    frames: int = 20,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    tracks_per_snippet: int = 2,
    real_frames_from=None,
) -> dict[str, tuple[str, np.ndarray]]:
    """Write ILSVRC VID-layout snippets: ``snippets`` maps split -> count (default 2 train, 1 val),
    named by :func:`vid_snippet_name`. Each snippet has ``tracks_per_snippet`` tracks with real
    WordNet ids; tracks after the first are absent on part of the frames. Integer boxes, as in VID.
    ``real_frames_from``: OTB/VOT folders giving real frames and the track-0 target.
    Returns ``{sequence uid: (wnid, boxes_xywh with NaN where absent)}``.
    """
    root, sources = Path(root), path_list(real_frames_from)
    snippets = {"train": 2, "val": 1} if snippets is None else snippets
    written, count = {}, 0
    for split in sorted(snippets):
        for i in range(snippets[split]):
            name = vid_snippet_name(split, i)
            tracks = _write_vid_snippet(root, split, name, seed, frames, size, tracks_per_snippet, sources, count)
            written.update({f"vid/{split}/{name}/{t}": v for t, v in tracks.items()})
            count += 1
    return written



# --- broken inputs ------------------------------------------------------------------------------


def write_vid_bad(root: str | Path, frames: int = 10, size=(160, 120), seed: int = 0) -> list[BadInput]:
    """Add one broken train snippet per bad-input case (``ILSVRC2015_VID_train_0099/bad_<case>``);
    each has one track (trackid 0), its other frames stay good."""
    root = Path(root)
    bad: list[BadInput] = []

    def make(case: str):
        name = f"ILSVRC2015_VID_train_0099/bad_{case}"
        tracks = _write_vid_snippet(root, "train", name, seed, frames, size, 1, [], 0)
        anno_dir, data_dir = _vid_dirs(root, "train", name)
        wnid, boxes = tracks["0"]
        return name, f"vid/train/{name}", anno_dir, data_dir, wnid, boxes

    def rewrite(anno_dir, name, wnid, i, xyxy):
        (anno_dir / f"{i:06d}.xml").write_text(vid_xml(name, i, size, [(0, wnid, xyxy)]))

    name, uid, anno_dir, _, _, _ = make("unreadable_xml")
    (anno_dir / "000002.xml").write_text("<annotation><size><width>160</wid")
    bad.append(BadInput(uid, "unreadable_xml", "load", (2,)))

    name, uid, anno_dir, _, wnid, _ = make("malformed_annotation")
    rewrite(anno_dir, name, wnid, 3, ("abc", 10, 50, 60))
    bad.append(BadInput(uid, "malformed_annotation", "load", (3,)))

    name, uid, anno_dir, _, wnid, _ = make("invalid_box")
    rewrite(anno_dir, name, wnid, 1, (50, 10, 40, 60))  # xmax < xmin
    bad.append(BadInput(uid + "/0", "invalid_box", "load", (1,)))

    name, uid, anno_dir, _, wnid, _ = make("box_outside_frame")
    rewrite(anno_dir, name, wnid, 4, (size[0] + 5, 10, size[0] + 40, 60))
    bad.append(BadInput(uid + "/0", "box_outside_frame", "load", (4,)))

    name, uid, _, data_dir, _, _ = make("missing_frame")
    (data_dir / "000005.JPEG").unlink()
    bad.append(BadInput(uid, "missing_frame", "load", (5,)))

    name, uid, _, data_dir, _, _ = make("corrupt_jpeg")
    path = data_dir / "000006.JPEG"
    path.write_bytes(corrupt_jpeg_bytes(path.read_bytes(), seed))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (6,)))

    name, uid, _, data_dir, _, _ = make("truncated_jpeg")
    path = data_dir / "000007.JPEG"
    path.write_bytes(truncate_jpeg_bytes(path.read_bytes()))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (7,)))

    name, uid, anno_dir, _, _, _ = make("empty_sequence")
    for f in anno_dir.iterdir():
        f.unlink()
    bad.append(BadInput(uid, "empty_sequence", "load"))
    return bad
