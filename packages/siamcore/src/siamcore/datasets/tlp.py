"""TLP and TinyTLP long-term sequences: ``ROOT/<seq>/img/%05d.jpg`` plus ``ROOT/<seq>/groundtruth_rect.txt``
with one ``frame,x,y,w,h,absent`` row per frame (``../shared/data/tlp/CarChase2``, a TinyTLP sequence).

- **Frames.** The ``frame`` column is the 1-based frame number, the number in the image's file name
  (row ``1`` is ``img/00001.jpg``); rows are matched to images by that number, so a missing row or
  image leaves a NaN row in place instead of shifting the rest.
- **Absent.** ``absent = 1`` marks frames where the target is out of view (the TLP page and paper:
  "absent" labels for out-of-view periods): a NaN row, flagged in ``Sequence.absent``. A malformed row
  or a frame without a row is a NaN row that is not flagged.
- **Coordinates.** The TLP authors (Moudgil & Gandhi, "Long-Term Visual Object Tracking Benchmark",
  ACCV 2018, arXiv:1712.01358; amoudgl.github.io/tlp) do not state where the pixel origin is, in any
  source we could find. TLP reuses OTB-2015's layout and file name (``img/``, ``groundtruth_rect.txt``,
  1-based frame numbering) and OTB's evaluation protocol, and the loaders that read it treat it as OTB
  with extra columns: oxuva's long-term toolkit (``load_tlp``: "The TLP format is close to the OTB
  format but with extra ground-truth fields", read by its OTB loader) and pytracking-style
  ``tlpdataset.py`` (e.g. TJUT-CV/SCLT, columns 1..4 read like its OTB boxes). So ``x, y`` are read as
  OTB's 1-based pixel indices: 1 is subtracted (:mod:`siamcore.datasets.otb`), and a TLP box means the
  same as an OTB box here. Were they 0-based, boxes would be off by 1 px.
- The class of the target is not annotated: ``class_name`` is "".
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .sequence import Layout, Sequence, SequenceRef, frame_number, list_images, load_selected, nan_rows

GT_FILE = "groundtruth_rect.txt"


def read_tlp_groundtruth(path: Path) -> dict[int, tuple[np.ndarray, bool]]:
    """``{frame number: (xywh in this project's convention, absent)}`` of a TLP ground-truth file.

    Values are separated by commas (spaces/tabs tolerated); malformed rows are left out (their frame
    then has no row); the first row of a frame number wins.
    """
    rows: dict[int, tuple[np.ndarray, bool]] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        if len(parts) not in (5, 6):
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            continue
        if not values[0].is_integer():
            continue
        box = np.asarray(values[1:5], dtype=np.float64) - [1.0, 1.0, 0.0, 0.0]
        rows.setdefault(int(values[0]), (box, len(values) == 6 and values[5] != 0))
    return rows


def is_tlp_sequence(folder: Path) -> bool:
    """``img/`` and a ``groundtruth_rect.txt`` whose first row has TLP's 6 values (OTB's has 4: the
    folders look alike otherwise)."""
    folder = Path(folder)
    if not ((folder / "img").is_dir() and (folder / GT_FILE).is_file()):
        return False
    with open(folder / GT_FILE, encoding="utf-8", errors="replace") as f:
        first = next((line for line in f if line.strip()), "")
    return len([p for p in re.split(r"[,\s]+", first.strip()) if p]) == 6


def load_tlp_sequence(folder: Path) -> Sequence:
    """One TLP sequence folder (see the module doc for frames, absent rows and coordinates)."""
    folder = Path(folder)
    if not is_tlp_sequence(folder):
        raise ValueError(f"{folder}: not a TLP sequence (expected img/ and {GT_FILE})")
    frames = list_images(folder / "img")
    if not frames:
        raise ValueError(f"{folder}/img: no images")
    rows = read_tlp_groundtruth(folder / GT_FILE)
    gt, absent = nan_rows(len(frames)), np.zeros(len(frames), bool)
    for i, path in enumerate(frames):
        row = rows.get(frame_number(path))
        if row is None:
            continue
        box, is_absent = row
        absent[i] = is_absent
        if not is_absent:
            gt[i] = box
    return Sequence(name=folder.name, frames=frames, gt_xywh=gt, absent=absent)


def list_tlp(root: Path) -> list[SequenceRef]:
    """The TLP sequences under ``root`` (``root`` itself when it is one, else its sequence sub-folders),
    sorted by name. ValueError when there are none."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"TLP root {root} is not a folder")
    folders = [root] if is_tlp_sequence(root) else sorted(p for p in root.iterdir() if is_tlp_sequence(p))
    if not folders:
        raise ValueError(f"{root}: no TLP sequence folders (expected <seq>/img/ and <seq>/{GT_FILE})")
    return [SequenceRef(p.name, p) for p in folders]


def load_tlp(root: Path, names: list[str] | None = None) -> list[Sequence]:
    """TLP sequences under ``root`` (see :func:`list_tlp`); ``names`` selects some, in that order."""
    return load_selected(list_tlp(root), names, str(root), lambda ref: [load_tlp_sequence(ref.folder)])


LAYOUT = Layout("tlp", load_tlp)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
