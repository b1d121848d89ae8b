"""OTB-2013/2015 sequences: ``<Seq>/img/0001.jpg``... plus ``<Seq>/groundtruth_rect.txt``.

Conventions and quirks handled here:

- **Coordinates.** OTB ground truth is 1-based (MATLAB): ``x, y`` is the top-left pixel's index
  counted from 1. This project's boxes are continuous with the origin at the top-left corner of the
  top-left pixel, so reading subtracts 1 from ``x, y`` and the tracker's result writer
  (``tracker.datasets.results``) adds it back when writing result files (OTB format). Scores do not
  depend on this shift as long as results and ground truth are read the same way, which the
  tracker's ``read_results`` does (it is :func:`read_otb_groundtruth`).
- **Delimiters.** Rows are separated by commas, tabs or spaces depending on the sequence.
- **Two targets in one folder** (``groundtruth_rect.1.txt`` / ``.2.txt``: Jogging, Skating2) become
  the sequences ``Jogging.1`` and ``Jogging.2`` (the OTB toolkit's and got10k's naming). A folder with
  a single numbered file (Human4 has only ``groundtruth_rect.2.txt``) is named after the folder.
  Result files and ``--sequences`` may use other spellings (``Jogging-1`` as pysot writes it,
  ``jogging_1`` as in ``OTB2015.json``, ``Human4.2``): names match case-insensitively with ``.``,
  ``-`` and ``_`` before the target number alike (:func:`normalise_name`); the folder name alone
  (``Jogging``) selects both targets.
- **Frame ranges.** Some sequences use only part of their images (David 300-770, Tiger1 from 6,
  BlurCar1 247-988, Football1 has 81 images for 74 rows ...). When ``OTB2015.json`` (pysot/DaSiamRPN
  format) is found beside the sequence folders, its ``image_files`` list decides the frames; without
  it, the known ranges below are used and a sequence with more images than rows uses its first
  images. Ground-truth rows are matched one-to-one with those frames, or by frame number when the
  file covers every image from frame 1.

Sources: the OTB toolkit's ``configSeqs.m`` and ``OTB2015.json`` (foolwood/DaSiamRPN) for frame
ranges; the sequence folders in ``../shared/data/otb`` for the delimiters (see its README).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..paths import join_inside
from .sequence import Layout, Sequence, SequenceRef, frame_number, list_images, load_selected, normalise_name

META_FILENAME = "OTB2015.json"

# First and last frame numbers (1-based, inclusive) of the OTB-2015 sequences that do not use all
# their images from frame 1 (the same ranges as OTB2015.json and the OTB toolkit's configSeqs).
KNOWN_FRAME_RANGES = {
    "david": (300, 770),
    "tiger1": (6, 354),
    "blurcar1": (247, 988),
    "blurcar3": (3, 359),
    "blurcar4": (18, 397),
}

# OTB-2015 folders that ship more images than ground-truth rows: the rows cover the first frames.
MORE_IMAGES_THAN_ROWS = {"football1", "freeman3", "freeman4", "diving"}

_GT_FILE = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")


def read_otb_groundtruth(path: Path) -> np.ndarray:
    """``[N, 4]`` xywh in this project's convention (1 subtracted from x, y); any of , tab space."""
    rows = []
    for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
        values = [v for v in re.split(r"[,\s]+", line.strip()) if v]
        if not values:
            continue
        if len(values) != 4:
            raise ValueError(f"{path}:{lineno}: expected 4 values x,y,w,h, got {len(values)}: {line!r}")
        try:
            rows.append([float(v) for v in values])
        except ValueError as e:
            raise ValueError(f"{path}:{lineno}: not numbers: {line!r}") from e
    gt = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    gt[:, :2] -= 1.0
    return gt


def is_otb_sequence(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / "img").is_dir() and bool(_gt_files(folder))


def _gt_files(folder: Path) -> list[tuple[int | None, Path]]:
    out = []
    for p in Path(folder).iterdir() if Path(folder).is_dir() else []:
        m = _GT_FILE.match(p.name)
        if m:
            out.append((int(m.group(1)) if m.group(1) else None, p))
    return sorted(out, key=lambda t: (t[0] or 0))


def load_meta(root: Path) -> dict | None:
    """``OTB2015.json`` beside the sequence folders, indexed by normalised name, or None."""
    path = Path(root) / META_FILENAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable OTB JSON file ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected {{target: {{name, image_files, init_rect, gt_rect}}}} (OTB2015.json)")
    for key, entry in data.items():
        files = entry.get("image_files") if isinstance(entry, dict) else None
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise ValueError(f"{path}: {key}: image_files must be a non-empty list of file names")
        for i, f in enumerate(files):
            join_inside(path.parent, f, path, f"{key}.image_files[{i}]")
    return {normalise_name(key): entry for key, entry in data.items()}


def _targets(folder: Path) -> list[tuple[str, int | None, Path, list[str]]]:
    """(name, target number, ground-truth file, normalised keys) of each target of an OTB folder."""
    gt_files = _gt_files(folder)
    out = []
    for target, gt_path in gt_files:
        name = folder.name if len(gt_files) == 1 else f"{folder.name}.{target}"
        keys = [normalise_name(name)]
        if target is not None:
            keys.append(normalise_name(f"{folder.name}.{target}"))
        out.append((name, target, gt_path, list(dict.fromkeys(keys))))
    return out


def load_otb_folder(folder: Path, meta: dict | None = None) -> list[Sequence]:
    """All target sequences of one OTB folder (one, or several for two-target folders)."""
    folder = Path(folder)
    targets = _targets(folder)
    if not targets:
        raise ValueError(f"{folder}: no groundtruth_rect*.txt")
    images = list_images(folder / "img")
    if not images:
        raise ValueError(f"{folder}/img: no images")
    attributes = []
    if (folder / "attrs.txt").is_file():
        attributes = [a.strip() for a in (folder / "attrs.txt").read_text().split(",") if a.strip()]
    sequences = []
    for name, _, gt_path, keys in targets:
        entry = next((meta[k] for k in keys if meta and k in meta), None)
        frames = _select_frames(folder, images, entry)
        gt = read_otb_groundtruth(gt_path)
        gt = _align_rows(gt, frames, gt_path)
        sequences.append(Sequence(name=name, frames=frames, gt_xywh=gt, attributes=attributes, aliases=keys))
    return sequences


def _select_frames(folder: Path, images: list[Path], entry: dict | None) -> list[Path]:
    if entry is not None:
        by_name = {p.name: p for p in images}
        missing = [f for f in entry["image_files"] if f not in by_name]
        if missing:
            raise ValueError(
                f"{folder}/img: {len(missing)} images listed in {META_FILENAME} are missing, e.g. {missing[0]}"
            )
        return [by_name[f] for f in entry["image_files"]]
    known = KNOWN_FRAME_RANGES.get(folder.name.lower())
    if known is not None:
        first, last = known
        return [p for p in images if (n := frame_number(p)) is not None and first <= n <= last]
    return list(images)  # a copy: _align_rows may shorten it, and a two-target folder shares `images`


def _align_rows(gt: np.ndarray, frames: list[Path], gt_path: Path) -> np.ndarray:
    """Ground-truth rows for ``frames``: one-to-one, by frame number, or (the OTB-2015 folders in
    :data:`MORE_IMAGES_THAN_ROWS`) the first frames' rows. Empty or short ground truth elsewhere is an
    error: scored as it stands it would be a shorter sequence counted as if whole."""
    if len(gt) == 0:
        raise ValueError(f"{gt_path}: no ground-truth rows (expected one x,y,w,h row per frame)")
    if len(gt) == len(frames):
        return gt
    numbers = [frame_number(p) for p in frames]
    if all(n is not None for n in numbers) and len(gt) >= max(numbers) and len(gt) > len(frames):
        return gt[[n - 1 for n in numbers]]
    if len(gt) < len(frames) and gt_path.parent.name.lower() in MORE_IMAGES_THAN_ROWS:
        del frames[len(gt):]
        return gt
    raise ValueError(f"{gt_path}: {len(gt)} rows do not match {len(frames)} frames")


def _sequence_folders(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"OTB root {root} is not a folder")
    folders = [root] if is_otb_sequence(root) else sorted(p for p in root.iterdir() if is_otb_sequence(p))
    if not folders:
        raise ValueError(f"{root}: no OTB sequence folders (expected <Seq>/img/ and <Seq>/groundtruth_rect.txt)")
    return folders


def list_otb(root: Path) -> list[SequenceRef]:
    """The OTB targets under ``root`` (one sequence folder, or a folder of them), from file names only:
    no ground truth is read. ValueError when ``root`` holds none."""
    return [
        SequenceRef(name, folder, target, tuple(keys))
        for folder in _sequence_folders(root)
        for name, target, _, keys in _targets(folder)
    ]


def load_otb(root: Path, names: list[str] | None = None) -> list[Sequence]:
    """OTB sequences under ``root`` (every sub-folder with ``img/`` and a ground-truth file, or ``root``
    itself when it is one); an ``OTB2015.json`` in ``root`` decides the frame ranges.

    ``names`` selects sequences by name, alias or folder name, in that order (error listing what
    exists when one is missing); only their folders are read.
    """
    meta = load_meta(root) if Path(root).is_dir() else None
    return load_selected(list_otb(root), names, str(root), lambda ref: load_otb_folder(ref.folder, meta))


def load_otb_json(path: Path, names: list[str] | None = None) -> list[Sequence]:
    """The OTB targets described by an ``OTB2015.json`` file alone (pysot/DaSiamRPN format: per target
    ``name``, ``image_files``, ``init_rect``, ``gt_rect``): ground truth and frame ranges without the
    images, enough to score result files. ``frames`` are the paths the images would have
    (``<json folder>/<name>/img/<file>``); they need not exist.

    Targets are named as :func:`load_otb_folder` names them: ``Jogging.1``/``Jogging.2`` for the two
    targets of one video, the video name for a single target (the key ``human4_2`` gives ``Human4``,
    alias ``human4.2``). ``gt_rect`` rows are 1-based like ``groundtruth_rect.txt`` and converted the
    same way; they already cover exactly ``image_files`` (David 300-770, Tiger1 6-354 ...).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable OTB JSON file ({e})") from e
    if not isinstance(data, dict) or not all(isinstance(e, dict) and "gt_rect" in e for e in data.values()):
        raise ValueError(f"{path}: expected {{target: {{name, image_files, init_rect, gt_rect}}}} (OTB2015.json)")
    per_video: dict[str, int] = {}
    for key, entry in data.items():
        video = entry.get("name", key)
        per_video[video] = per_video.get(video, 0) + 1
    refs, by_name = [], {}
    for key, entry in sorted(data.items(), key=lambda kv: normalise_name(kv[0])):
        video = entry.get("name", key)
        m = re.search(r"[.\-_](\d+)$", key)
        name = f"{video}.{m.group(1)}" if m and per_video[video] > 1 else video
        keys = list(dict.fromkeys([normalise_name(name), normalise_name(key)]))
        folder = path.parent / video
        gt = np.asarray(entry["gt_rect"], dtype=np.float64).reshape(-1, 4)
        gt[:, :2] -= 1.0
        frames = [folder / "img" / f for f in entry.get("image_files", [])] or [folder / "img" / f"{i + 1:04d}.jpg"
                                                                               for i in range(len(gt))]
        if len(frames) != len(gt):
            raise ValueError(f"{path}: {key}: {len(gt)} gt_rect rows for {len(frames)} image_files")
        by_name[name] = Sequence(name=name, frames=frames, gt_xywh=gt, aliases=keys)
        refs.append(SequenceRef(name, folder, int(m.group(1)) if m else None, tuple(keys)))
    return load_selected(refs, names, str(path), lambda ref: list(by_name.values()))


LAYOUT = Layout("otb", load_otb)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
