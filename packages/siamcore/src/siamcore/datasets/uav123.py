"""UAV123 (Mueller, Smith & Ghanem, "A Benchmark and Simulator for UAV Tracking", ECCV 2016):
``ROOT/data_seq/UAV123/<folder>/000001.jpg``... plus ``ROOT/anno/UAV123/<seq>.txt``, one ``x,y,w,h``
row per frame (comma-separated; ``ROOT/anno/UAV123/att/`` holds attribute files and is not read).

- **Sub-sequences.** 123 sequences come from 91 folders: a long video is cut into frame ranges that
  share one folder (``bird1_1``, ``bird1_2``, ``bird1_3`` are frames 1-253, 775-1477, 1573-2437 of
  ``data_seq/UAV123/bird1``; the gaps are not annotated). The ranges are not in the data, only in the
  official toolkit's ``configSeqs.m``; :data:`SUBSEQUENCE_FRAMES` copies them as transcribed by
  pytracking (visionml/pytracking ``pytracking/evaluation/uavdataset.py``, ``startFrame`` /
  ``endFrame``), the same ranges pysot's ``UAV123.json`` lists. Any other annotation file names its
  folder and starts at frame 1 (``car1_s`` is a folder, not a sub-sequence). A name like ``x_4`` that is
  not in the table and has no folder of its own cannot be placed: loading it is a ValueError.
- **Rows.** Row ``i`` of ``<seq>.txt`` is frame ``first + i`` of the range (pytracking pairs frame
  ``start + i`` with row ``i``). ``NaN,NaN,NaN,NaN`` marks frames where the target is out of view (the
  UAV123 annotations' convention for full occlusion / out of view): a NaN row, flagged in
  ``Sequence.absent``. A malformed row (not 4 numbers, or only some NaN) and a frame past the last
  row are NaN rows that are *not* flagged (dataprep records them as ``missing_annotation``). A frame
  file missing on disk is left out of ``frames`` (rows stay matched by frame number).
- **Coordinates.** The UAV123 evaluation code is the OTB toolkit (``configSeqs.m``, ``perfPlot.m``)
  with UAV123's sequence list, and its annotations are read like OTB's ``groundtruth_rect.txt``:
  ``x, y`` are read as OTB's 1-based pixel indices (1 is subtracted, :mod:`siamcore.datasets.otb`).
- The target class is not annotated (pytracking's ``object_class`` is its own addition): ``class_name`` "".
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .sequence import Layout, Sequence, SequenceRef, frame_number, list_images, load_selected, nan_rows

ANNO_DIR = ("anno", "UAV123")
DATA_DIR = ("data_seq", "UAV123")

#: Sub-sequence name -> (frame folder, first frame, last frame), 1-based and inclusive: the official
#: toolkit's configSeqs.m ranges as listed by pytracking's uavdataset.py. Sequences not listed here use
#: their own folder from frame 1.
SUBSEQUENCE_FRAMES: dict[str, tuple[str, int, int]] = {
    "bird1_1": ("bird1", 1, 253), "bird1_2": ("bird1", 775, 1477), "bird1_3": ("bird1", 1573, 2437),
    "car1_1": ("car1", 1, 751), "car1_2": ("car1", 751, 1627), "car1_3": ("car1", 1627, 2629),
    "car16_1": ("car16", 1, 415), "car16_2": ("car16", 415, 1993),
    "car6_1": ("car6", 1, 487), "car6_2": ("car6", 487, 1807), "car6_3": ("car6", 1807, 2953),
    "car6_4": ("car6", 2953, 3925), "car6_5": ("car6", 3925, 4861),
    "car8_1": ("car8", 1, 1357), "car8_2": ("car8", 1357, 2575),
    "group1_1": ("group1", 1, 1333), "group1_2": ("group1", 1333, 2515), "group1_3": ("group1", 2515, 3925),
    "group1_4": ("group1", 3925, 4873),
    "group2_1": ("group2", 1, 907), "group2_2": ("group2", 907, 1771), "group2_3": ("group2", 1771, 2683),
    "group3_1": ("group3", 1, 1567), "group3_2": ("group3", 1567, 2827), "group3_3": ("group3", 2827, 4369),
    "group3_4": ("group3", 4369, 5527),
    "person12_1": ("person12", 1, 601), "person12_2": ("person12", 601, 1621),
    "person14_1": ("person14", 1, 847), "person14_2": ("person14", 847, 1813),
    "person14_3": ("person14", 1813, 2923),
    "person17_1": ("person17", 1, 1501), "person17_2": ("person17", 1501, 2347),
    "person19_1": ("person19", 1, 1243), "person19_2": ("person19", 1243, 2791),
    "person19_3": ("person19", 2791, 4357),
    "person2_1": ("person2", 1, 1189), "person2_2": ("person2", 1189, 2623),
    "person4_1": ("person4", 1, 1501), "person4_2": ("person4", 1501, 2743),
    "person5_1": ("person5", 1, 877), "person5_2": ("person5", 877, 2101),
    "person7_1": ("person7", 1, 1249), "person7_2": ("person7", 1249, 2065),
    "person8_1": ("person8", 1, 1075), "person8_2": ("person8", 1075, 1525),
    "truck4_1": ("truck4", 1, 577), "truck4_2": ("truck4", 577, 1261),
    "uav1_1": ("uav1", 1, 1555), "uav1_2": ("uav1", 1555, 2377), "uav1_3": ("uav1", 2473, 3469),
}


def read_uav123_groundtruth(path: Path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(xywh [N, 4] in this project's convention, absent [N] bool, malformed row indices)`` of a
    UAV123 annotation file: one row per line, 1 subtracted from x, y; ``NaN,NaN,NaN,NaN`` is absent;
    a malformed line is a NaN row, not absent, and its 0-based index is listed."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    gt, absent, malformed = nan_rows(len(lines)), np.zeros(len(lines), bool), []
    for i, line in enumerate(lines):
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        nans = [np.isnan(v) for v in values]
        if len(values) == 4 and all(nans):
            absent[i] = True
        elif len(values) == 4 and not any(nans) and all(np.isfinite(values)):
            gt[i] = np.asarray(values) - [1.0, 1.0, 0.0, 0.0]
        else:
            malformed.append(i)
    return gt, absent, malformed


def frame_range(name: str, root: Path) -> tuple[str, int, int | None]:
    """``(folder, first, last or None for "to the last image")`` of a UAV123 sequence name (see the
    module doc); ValueError for a ``_<n>`` name with neither a table entry nor a folder of its own."""
    if name in SUBSEQUENCE_FRAMES:
        return SUBSEQUENCE_FRAMES[name]
    if re.search(r"_\d+$", name) and not Path(root, *DATA_DIR, name).is_dir():
        raise ValueError(f"{name}: a sub-sequence whose frame range is not known (not in SUBSEQUENCE_FRAMES "
                         f"and no folder {Path(*DATA_DIR, name)})")
    return name, 1, None


def _anno_files(root: Path) -> list[Path]:
    folder = Path(root, *ANNO_DIR)
    return sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file()) if folder.is_dir() else []


def list_uav123(root: Path) -> list[SequenceRef]:
    """The UAV123 sequences of ``root`` (the folder holding ``anno/UAV123`` and ``data_seq/UAV123``), one per
    annotation file, sorted by name; ``folder`` is the frame folder (shared by sub-sequences). Nothing
    but file names is read. ValueError when there is no annotation file or no ``data_seq/UAV123``."""
    root = Path(root)
    files = _anno_files(root)
    if not files or not Path(root, *DATA_DIR).is_dir():
        raise ValueError(f"{root}: not a UAV123 root (expected anno/UAV123/<seq>.txt and data_seq/UAV123/<seq>/)")
    refs = []
    for path in files:
        folder = SUBSEQUENCE_FRAMES.get(path.stem, (path.stem,))[0]
        refs.append(SequenceRef(path.stem, Path(root, *DATA_DIR, folder)))
    return refs


def load_uav123_sequence(root: Path, name: str) -> Sequence:
    """One UAV123 sequence (see the module doc for sub-sequences, rows and coordinates)."""
    root = Path(root)
    folder_name, first, last = frame_range(name, root)
    folder = Path(root, *DATA_DIR, folder_name)
    anno = Path(root, *ANNO_DIR, f"{name}.txt")
    if not folder.is_dir():
        raise ValueError(f"{name}: frame folder {folder} not found")
    if not anno.is_file():
        raise ValueError(f"{name}: annotation file {anno} not found")
    numbered = [(n, p) for p in list_images(folder) if (n := frame_number(p)) is not None]
    frames = [(n, p) for n, p in numbered if n >= first and (last is None or n <= last)]
    if not frames:
        raise ValueError(f"{folder}: no images in frames {first}-{last if last is not None else 'end'} for {name}")
    rows, absent_rows, _ = read_uav123_groundtruth(anno)
    gt, absent = nan_rows(len(frames)), np.zeros(len(frames), bool)
    for i, (n, _) in enumerate(frames):
        row = n - first
        if row < len(rows):
            gt[i], absent[i] = rows[row], absent_rows[row]
    return Sequence(name=name, frames=[p for _, p in frames], gt_xywh=gt, absent=absent)


def load_uav123(root: Path, names: list[str] | None = None) -> list[Sequence]:
    """UAV123 sequences under ``root`` (see :func:`list_uav123`); ``names`` selects some, in that order
    (a folder name such as ``bird1`` selects all its sub-sequences)."""
    refs = list_uav123(root)

    def load_folder(ref: SequenceRef) -> list[Sequence]:
        return [load_uav123_sequence(root, r.name) for r in refs if r.folder == ref.folder]

    return load_selected(refs, names, str(root), load_folder)


LAYOUT = Layout("uav123", load_uav123)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
