"""DAVIS video object segmentation data as tracking sequences: the box is the mask's extent.

Layout (the DAVIS download, e.g. ``../shared/data/davis2016``): ``ROOT/JPEGImages/480p/<seq>/%05d.jpg``
and ``ROOT/Annotations/480p/<seq>/%05d.png``, a mask per frame with the frame's file stem.

Masks come in two kinds, told apart by the PNG's colour type:

- **DAVIS-2016**: 8-bit greyscale, 0 = background, 255 = the one object (the shared data's README;
  every mask there is 0/255). Any non-zero pixel is the target; one sequence named ``<seq>``.
- **DAVIS-2017**: palette (indexed) PNGs whose index is the object id, 0 = background and 255 =
  "void" (not an object). As davisvideochallenge/davis2017-evaluation (``davis2017/davis.py``,
  ``get_all_masks``) does, the objects are the ids ``1 .. max`` of the first frame's mask (255 set to
  0). One sequence per object, named ``<seq>.<id>`` (``<seq>`` alone when there is one object, with
  ``<seq>.1`` as an alias). OpenCV expands palettes to colours, so the ids are recovered from the
  PNG's own ``PLTE`` chunk.

Boxes are continuous: a mask whose non-zero columns are ``c0..c1`` and rows ``r0..r1`` gives
``x0 = c0, x1 = c1 + 1`` (``w = c1 - c0 + 1``), likewise for y. A frame whose mask has no pixel of the
target is a NaN row flagged absent; a frame whose mask file is missing or unreadable is a NaN row
that is not flagged. The class of the object is not in the DAVIS annotations: ``class_name`` is "".
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .sequence import Layout, Sequence, SequenceRef, list_images, load_selected, nan_rows, normalise_name

RESOLUTION = "480p"
VOID_ID = 255
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunks(buf: bytes):
    """(type, data) of each chunk of a PNG file, up to IDAT (all a palette lookup needs)."""
    if buf[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    i = 8
    while i + 8 <= len(buf):
        length, kind = struct.unpack(">I4s", buf[i : i + 8])
        data = buf[i + 8 : i + 8 + length]
        if len(data) != length:
            raise ValueError("truncated PNG chunk")
        yield kind, data
        if kind in (b"IDAT", b"IEND"):
            return
        i += 12 + length


def _palette_of(buf: bytes) -> np.ndarray | None:
    """The ``[n, 3]`` palette of an indexed PNG (colour type 3), None for any other PNG."""
    palette, colour_type = None, None
    for kind, data in _png_chunks(buf):
        if kind == b"IHDR":
            colour_type = data[9]
        elif kind == b"PLTE":
            palette = np.frombuffer(data[: len(data) // 3 * 3], np.uint8).reshape(-1, 3)
    if colour_type != 3:
        return None
    if palette is None:
        raise ValueError("indexed PNG without a PLTE chunk")
    return palette


def _rgb_key(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def read_mask(path: Path) -> tuple[np.ndarray, bool]:
    """(``H x W`` label array, is_indexed) of a mask PNG. Indexed PNGs give their palette indices
    (object ids); greyscale ones their grey values. ValueError when the file cannot be read. OpenCV is
    imported here: listing the dataset names never needs it."""
    import cv2

    buf = Path(path).read_bytes()
    try:
        palette = _palette_of(buf)
    except ValueError as exc:
        raise ValueError(f"mask {path}: {exc}") from None
    if palette is None:
        mask = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise ValueError(f"cannot decode mask {path}")
        return (mask if mask.ndim == 2 else mask[..., :3].max(axis=2)), False
    rgb = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR_RGB)
    if rgb is None:
        raise ValueError(f"cannot decode mask {path}")
    keys, inverse = np.unique(_rgb_key(rgb), return_inverse=True)
    index_of = {}
    for idx, key in enumerate(_rgb_key(palette).tolist()):
        index_of.setdefault(key, idx)  # the lowest index wins when a palette repeats a colour
    unknown = [k for k in keys.tolist() if k not in index_of]
    if unknown:
        raise ValueError(f"{path}: colour #{unknown[0]:06x} is not in the PNG's palette")
    ids = np.asarray([index_of[k] for k in keys.tolist()], dtype=np.int32)
    return ids[inverse].reshape(rgb.shape[:2]), True


def mask_extent_xywh(mask: np.ndarray) -> np.ndarray:
    """Continuous ``xywh`` extent of the True pixels of a boolean mask; NaN row when there are none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return np.full(4, np.nan)
    return np.asarray([cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1], dtype=np.float64)


def _folders(root: Path, resolution: str) -> tuple[Path, Path]:
    root = Path(root)
    images, annotations = root / "JPEGImages" / resolution, root / "Annotations" / resolution
    if not images.is_dir() or not annotations.is_dir():
        have = sorted(p.name for p in (root / "JPEGImages").iterdir()) if (root / "JPEGImages").is_dir() else []
        raise ValueError(
            f"DAVIS root {root}: expected JPEGImages/{resolution}/<seq>/ and Annotations/{resolution}/<seq>/"
            + (f" (JPEGImages has: {', '.join(have)})" if have else "")
        )
    return images, annotations


def _object_ids(first: tuple[np.ndarray, bool] | None) -> list[int]:
    """Object ids of a video from its first readable mask (davis2017-evaluation's rule, module doc);
    [] for a binary DAVIS-2016 mask."""
    if first is None or not first[1]:
        return []
    labels = np.where(first[0] == VOID_ID, 0, first[0])
    return list(range(1, max(int(labels.max()), 1) + 1))


def _targets(video: str, ids: list[int]) -> list[tuple[str, int | None, tuple[str, ...]]]:
    """(name, object id, aliases) of each target of a video (id None: the binary DAVIS-2016 object)."""
    if not ids:
        return [(video, None, ())]
    if len(ids) == 1:
        return [(video, ids[0], (normalise_name(f"{video}.{ids[0]}"),))]
    return [(f"{video}.{i}", i, ()) for i in ids]


def _mask_paths(annotations: Path, frames: list[Path]) -> list[Path]:
    return [annotations / f"{p.stem}.png" for p in frames]


def _read_or_none(path: Path) -> tuple[np.ndarray, bool] | None:
    try:
        return read_mask(path) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _first_readable(paths: list[Path]) -> tuple[np.ndarray, bool] | None:
    return next((m for m in map(_read_or_none, paths) if m is not None), None)


def list_davis(root: Path, resolution: str = RESOLUTION) -> list[SequenceRef]:
    """The targets of every video under ``root`` (reads each video's first mask for its object ids),
    sorted by video then object id. ValueError when ``root`` is not a DAVIS root or holds no video."""
    images, annotations = _folders(root, resolution)
    refs = []
    for video_dir in sorted(p for p in images.iterdir() if p.is_dir()):
        ids = _object_ids(_first_readable(_mask_paths(annotations / video_dir.name, list_images(video_dir))))
        for name, target, aliases in _targets(video_dir.name, ids):
            refs.append(SequenceRef(name, video_dir, target, aliases))
    if not refs:
        raise ValueError(f"DAVIS root {root}: no video folders in {images}")
    return refs


def load_davis_video(root: Path, video: str, resolution: str = RESOLUTION) -> list[Sequence]:
    """Every target sequence of one video (one per object, see the module doc)."""
    images, annotations = _folders(root, resolution)
    frames = list_images(images / video) if (images / video).is_dir() else []
    if not frames:
        raise ValueError(f"DAVIS video {images / video}: no frames")
    labels = [_read_or_none(p) for p in _mask_paths(annotations / video, frames)]
    ids = _object_ids(next((m for m in labels if m is not None), None))
    indexed = bool(ids)
    sequences = []
    for name, target, aliases in _targets(video, ids):
        gt, absent = nan_rows(len(frames)), np.zeros(len(frames), bool)
        for i, item in enumerate(labels):
            if item is None or item[1] != indexed:
                continue
            mask = item[0] == target if indexed else item[0] != 0
            gt[i] = mask_extent_xywh(mask)
            absent[i] = np.isnan(gt[i, 0])
        sequences.append(Sequence(name=name, frames=frames, gt_xywh=gt, absent=absent, aliases=list(aliases)))
    return sequences


def load_davis(root: Path, names: list[str] | None = None, resolution: str = RESOLUTION) -> list[Sequence]:
    """DAVIS target sequences under ``root`` (see :func:`list_davis`); ``names`` selects some (a video
    name selects all its objects), in that order."""
    return load_selected(list_davis(root, resolution), names, str(root),
                         lambda ref: load_davis_video(root, ref.video, resolution))


LAYOUT = Layout("davis", load_davis)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
