"""Small datasets in the real TrackingNet layout (``TRAIN_k/anno/<name>.txt`` + ``TRAIN_k/frames/<name>/``
or ``TRAIN_k/zips/<name>.zip``), generated or copied from real sequences, plus one broken sequence per
bad-input case (:func:`write_trackingnet_bad`).

Writers return the ground truth they wrote, so tests can compare. Files are written in place (not
atomically): build a dataset into a fresh folder. The same call writes identical bytes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from testkit.bad_inputs import BadInput, corrupt_jpeg_bytes, truncate_jpeg_bytes
from testkit.scene import Mover, Scene, encode_jpeg, path_list, real_window, seeded_rng

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def trackingnet_name(chunk: int, index: int) -> str:
    """Name of the ``index``-th generated sequence of chunk ``chunk``."""
    return f"syn{chunk}_{index:03d}"


def write_stored_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A stored (uncompressed, like TrackingNet's) zip with fixed timestamps: identical bytes every time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, _ZIP_DATE), data)


def _anno_text(boxes_xywh: np.ndarray) -> str:
    return "".join(",".join(f"{v:.2f}" for v in row) + "\n" for row in boxes_xywh)


def _write_trackingnet_sequence(cdir: Path, name: str, jpegs: list[bytes], boxes_xywh: np.ndarray, zipped: bool):
    (cdir / "anno").mkdir(parents=True, exist_ok=True)
    (cdir / "anno" / f"{name}.txt").write_text(_anno_text(boxes_xywh))
    if zipped:
        write_stored_zip(cdir / "zips" / f"{name}.zip", [(f"{name}/{i}.jpg", b) for i, b in enumerate(jpegs)])
    else:
        fdir = cdir / "frames" / name
        fdir.mkdir(parents=True, exist_ok=True)
        for i, b in enumerate(jpegs):
            (fdir / f"{i}.jpg").write_bytes(b)


def _generated_track(uid: str, seed: int, frames: int, size: tuple[int, int], distractors: int = 1):
    """(JPEG bytes per frame, target xywh per frame) of a generated one-target sequence."""
    rng = seeded_rng(seed, uid)
    scene = Scene(rng, size, frames)
    target, others = Mover.random(rng, size), [Mover.random(rng, size) for _ in range(distractors)]
    jpegs, boxes = [], np.zeros((frames, 4))
    for i in range(frames):
        img = scene.frame(i)
        for m in others:
            m.paint(img, m.box_xywh(i / frames, size))
        boxes[i] = box = target.box_xywh(i / frames, size)
        target.paint(img, box)
        jpegs.append(encode_jpeg(img))
    return jpegs, boxes


def write_trackingnet(
    root: str | Path,
    chunks=(0, 1),
    sequences_per_chunk: int = 3,
    frames: int = 30,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    zipped=(),
    real_frames_from=None,
) -> dict[str, np.ndarray]:
    """Write TrackingNet-layout sequences ``trackingnet_name(k, i)`` into ``root/TRAIN_k``.

    ``size`` is (width, height) of generated frames. ``zipped``: names stored as
    ``zips/<name>.zip`` (members ``<name>/<i>.jpg``) instead of ``frames/<name>/``; ``True`` zips
    all. ``real_frames_from``: one or more OTB/VOT sequence folders; sequences then copy
    ``frames`` consecutive real JPEGs (window start drawn from the seed) with their converted boxes,
    cycling through the folders. Returns ``{video uid: boxes_xywh}`` as written.
    """
    root, sources = Path(root), path_list(real_frames_from)
    written = {}
    count = 0
    for k in chunks:
        cdir = root / f"TRAIN_{k}"
        for i in range(sequences_per_chunk):
            name = trackingnet_name(k, i)
            uid = f"trackingnet/TRAIN_{k}/{name}"
            if sources:
                files, boxes = real_window(sources, count, seeded_rng(seed, uid), frames)
                jpegs = [f.read_bytes() for f in files]
            else:
                jpegs, boxes = _generated_track(uid, seed, frames, size)
            _write_trackingnet_sequence(cdir, name, jpegs, boxes, zipped is True or name in zipped)
            written[uid] = boxes
            count += 1
    return written



# --- broken inputs ------------------------------------------------------------------------------


def write_trackingnet_bad(root: str | Path, chunk: int = 0, frames: int = 10, size=(160, 120), seed: int = 0
                          ) -> list[BadInput]:
    """Add one broken sequence per bad-input case to ``root/TRAIN_chunk`` (named ``bad_<case>``).

    The other frames/lines of each broken sequence stay good, so a build can still use them.
    """
    root = Path(root)
    cdir = root / f"TRAIN_{chunk}"
    split = f"TRAIN_{chunk}"
    bad: list[BadInput] = []

    def make(case: str, zipped: bool = False):
        name = f"bad_{case}"
        uid = f"trackingnet/{split}/{name}"
        jpegs, boxes = _generated_track(uid, seed, frames, size)
        _write_trackingnet_sequence(cdir, name, jpegs, boxes, zipped)
        return name, boxes, uid

    def rewrite_lines(name: str, boxes: np.ndarray, lines_by_index: dict[int, str]):
        lines = _anno_text(boxes).splitlines()
        for i, line in lines_by_index.items():
            lines[i] = line
        (cdir / "anno" / f"{name}.txt").write_text("\n".join(lines) + "\n")

    name, _, uid = make("corrupt_jpeg")
    path = cdir / "frames" / name / "3.jpg"
    path.write_bytes(corrupt_jpeg_bytes(path.read_bytes(), seed))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (3,)))

    name, _, uid = make("truncated_jpeg")
    path = cdir / "frames" / name / "4.jpg"
    path.write_bytes(truncate_jpeg_bytes(path.read_bytes()))
    bad.append(BadInput(uid, "corrupt_jpeg", "read", (4,)))

    name, _, uid = make("missing_frame")
    (cdir / "frames" / name / "5.jpg").unlink()
    bad.append(BadInput(uid, "missing_frame", "load", (5,)))

    name, boxes, uid = make("malformed_annotation")
    rewrite_lines(name, boxes, {2: "12,abc,30"})
    bad.append(BadInput(uid, "malformed_annotation", "load", (2,)))

    name, boxes, uid = make("invalid_box")
    rewrite_lines(name, boxes, {1: "nan,nan,nan,nan", 2: "10,10,0,20", 3: "10,10,20,-5"})
    bad.append(BadInput(uid, "invalid_box", "load", (1, 2, 3)))

    name, boxes, uid = make("box_outside_frame")
    rewrite_lines(name, boxes, {4: f"{size[0] + 10},5,20,20"})
    bad.append(BadInput(uid, "box_outside_frame", "load", (4,)))

    name, _, uid = make("empty_anno")
    (cdir / "anno" / f"{name}.txt").write_text("")
    bad.append(BadInput(uid, "empty_sequence", "load"))

    name, _, uid = make("empty_frames")
    for f in (cdir / "frames" / name).iterdir():
        f.unlink()
    bad.append(BadInput(uid, "empty_sequence", "load"))

    name, _, uid = make("not_a_zip", zipped=True)
    (cdir / "zips" / f"{name}.zip").write_bytes(b"this is not a zip file\n" * 10)
    bad.append(BadInput(uid, "bad_zip", "load"))

    name, _, uid = make("missing_annotation")
    (cdir / "anno" / f"{name}.txt").unlink()
    bad.append(BadInput(uid, "missing_annotation", "list"))
    return bad

