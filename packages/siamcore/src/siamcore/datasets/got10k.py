"""GOT-10k (Huang, Zhao & Huang, arXiv:1810.11981): ``ROOT/{train,val,test}/list.txt`` naming the
sequence folders of each split, ``ROOT/<split>/GOT-10k_Train_000001/00000001.jpg``... beside
``groundtruth.txt`` (one comma-separated ``x,y,w,h`` per frame), as the official toolkit reads it
(got-10k/toolkit ``got10k/datasets/got10k.py``: ``list.txt`` per subset, ``*.jpg`` sorted, rows
one-to-one with the images, ``meta_info.ini`` and the ``cover`` / ``absence`` / ``cut_by_image``
``.label`` files, one value per line).

- **Test split.** Its ``groundtruth.txt`` holds the first frame's box only (the toolkit's ``anno.ndim
  == 1`` case): the other rows are NaN and not flagged absent (unknown, not absent), so such a
  sequence has one usable frame and is no training material.
- **Absent.** ``absence.label`` = 1 marks frames without the target; ``cover.label`` is the visible
  fraction in 9 levels 0..8 (0 = fully occluded). Both make the frame a NaN row flagged in
  ``Sequence.absent`` (pytracking's ``ltr/dataset/got10k.py`` counts a frame visible only when it is
  not absent and its cover is > 0). The raw labels are kept per frame in ``frame_tags``: ``absence``
  and ``cut_by_image`` (bool), ``cover`` (uint8 0..8).
- **Meta.** ``meta_info.ini`` is a ``[METAINFO]`` header then ``key: value`` lines; ``object_class``
  becomes ``class_name`` and ``motion_class`` the first attribute; ``cut_by_image`` /
  ``absence`` join the attributes when set in some frame. The test split has no meta.
- **Coordinates.** The toolkit reads and scores the boxes as they are (no shift), so they are taken
  as this project's 0-based continuous ``xywh`` unchanged.

A root may be the GOT-10k folder (its ``train`` / ``val`` / ``test`` sub-folders) or one split folder
(holding ``list.txt``). Sequence names (``GOT-10k_Val_000001``) are unique across splits.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..paths import join_inside
from .sequence import Layout, Sequence, SequenceRef, list_images, load_selected, nan_rows, read_xywh_rows

SPLITS = ("train", "val", "test")
LIST_FILE = "list.txt"
GT_FILE = "groundtruth.txt"
META_FILE = "meta_info.ini"
LABELS = ("absence", "cover", "cut_by_image")


def read_got10k_groundtruth(path: Path) -> np.ndarray:
    """``[N, 4]`` xywh of a ``groundtruth.txt`` (read as written; see :func:`read_xywh_rows`)."""
    return read_xywh_rows(path)


LABEL_MAX = {"absence": 1, "cover": 8, "cut_by_image": 1}
"""The largest value of each label: absence and cut_by_image are flags, cover is 0..8 (GOT-10k's paper)."""


def read_label(path: Path, n_frames: int, max_value: int = 8) -> np.ndarray | None:
    """One integer in ``[0, max_value]`` per frame from a ``*.label`` file as ``[n_frames]`` int, or None
    when the file does not exist. ValueError naming the file and line for a value that is not such an
    integer (``inf``, ``1e30``, text) and for a file with fewer lines than frames: a damaged label must
    not turn into absent or visible frames."""
    path = Path(path)
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:n_frames]
    if len(lines) < n_frames:
        raise ValueError(f"{path}: {len(lines)} lines for {n_frames} frames (expected one value per frame)")
    values = np.zeros(n_frames, np.int64)
    for i, line in enumerate(lines):
        text = line.strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value == int(value) and 0 <= value <= max_value):
            raise ValueError(f"{path}:{i + 1}: {text!r} is not an integer in [0, {max_value}]")
        values[i] = int(value)
    return values


def read_meta_info(path: Path) -> dict[str, str]:
    """The ``key: value`` lines of a ``meta_info.ini`` ({} when there is none)."""
    path = Path(path)
    if not path.is_file():
        return {}
    meta = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.lstrip().startswith("["):
            meta[key.strip()] = value.strip()
    return meta


def load_got10k_sequence(folder: Path) -> Sequence:
    """One GOT-10k sequence folder (see the module doc for rows, absent frames and meta)."""
    folder = Path(folder)
    frames = list_images(folder) if folder.is_dir() else []
    if not frames:
        raise ValueError(f"{folder}: no images (expected 00000001.jpg... beside {GT_FILE})")
    if not (folder / GT_FILE).is_file():
        raise ValueError(f"{folder}: no {GT_FILE}")
    n = len(frames)
    rows = read_got10k_groundtruth(folder / GT_FILE)[:n]
    gt = np.concatenate([rows, nan_rows(n - len(rows))])
    labels = {name: read_label(folder / f"{name}.label", n, LABEL_MAX[name]) for name in LABELS}
    tags: dict[str, np.ndarray] = {}
    absent = np.zeros(n, bool)
    if labels["absence"] is not None:
        tags["absence"] = labels["absence"] != 0
        absent |= tags["absence"]
    if labels["cover"] is not None:
        tags["cover"] = np.clip(labels["cover"], 0, 8).astype(np.uint8)
        absent |= tags["cover"] == 0
    if labels["cut_by_image"] is not None:
        tags["cut_by_image"] = labels["cut_by_image"] != 0
    gt[absent] = np.nan
    meta = read_meta_info(folder / META_FILE)
    attributes = [meta["motion_class"]] if meta.get("motion_class") else []
    attributes += [t for t in ("absence", "cut_by_image") if t in tags and tags[t].any()]
    return Sequence(name=folder.name, frames=frames, gt_xywh=gt, absent=absent,
                    class_name=meta.get("object_class", ""), attributes=attributes, frame_tags=tags)


def _split_folders(root: Path, split: str | None) -> list[Path]:
    """The split folders to list: ``root`` itself when it holds ``list.txt``, else ``root/<split>``."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"GOT-10k split must be one of {', '.join(SPLITS)}, got {split!r}")
    if (root / LIST_FILE).is_file():
        if split is not None and root.name != split:
            raise ValueError(f"{root} is the GOT-10k split folder {root.name!r}, not {split!r}")
        return [root]
    if split is not None:
        if not (root / split / LIST_FILE).is_file():
            raise ValueError(f"GOT-10k split {split!r}: expected {root / split / LIST_FILE}")
        return [root / split]
    found = [root / s for s in SPLITS if (root / s / LIST_FILE).is_file()]
    if not found:
        raise ValueError(f"{root}: no GOT-10k split (expected {'|'.join(SPLITS)}/{LIST_FILE}, or {LIST_FILE} here)")
    return found


def list_got10k(root: Path, split: str | None = None) -> list[SequenceRef]:
    """The sequences named by the ``list.txt`` of ``split`` (every split present when None), sorted by
    name. ValueError when the root or split is missing or a listed folder does not exist."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"GOT-10k root {root} is not a folder")
    refs = []
    for folder in _split_folders(root, split):
        names = [n.strip() for n in (folder / LIST_FILE).read_text(encoding="utf-8").splitlines() if n.strip()]
        for i, n in enumerate(names):
            join_inside(folder, n, folder / LIST_FILE, f"line {i + 1}")
        missing = [n for n in names if not (folder / n).is_dir()]
        if missing:
            raise ValueError(f"{folder / LIST_FILE} names sequence folders that do not exist: {', '.join(missing)}")
        refs += [SequenceRef(n, folder / n) for n in names]
    return sorted(refs, key=lambda r: r.name)


def got10k_split_of(ref: SequenceRef) -> str:
    """The split a listed sequence belongs to (the name of the split folder holding it)."""
    return ref.folder.parent.name


def load_got10k(root: Path, names: list[str] | None = None, split: str | None = None) -> list[Sequence]:
    """GOT-10k sequences of ``split`` (all present splits when None) under ``root``; ``names`` selects
    some, in that order."""
    return load_selected(list_got10k(root, split), names, str(root),
                         lambda ref: [load_got10k_sequence(ref.folder)])


LAYOUT = Layout("got10k", load_got10k)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
