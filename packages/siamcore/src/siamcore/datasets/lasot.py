"""LaSOT (Fan et al., CVPR 2019, arXiv:1809.07845): ``ROOT/<class>/<class>-<n>/img/00000001.jpg``...
with ``groundtruth.txt`` (one comma-separated ``x,y,w,h`` per frame), ``full_occlusion.txt`` and
``out_of_view.txt`` (each ONE comma-separated line of 0/1 flags, one per frame) and ``nlp.txt`` (a
sentence describing the target), as pytracking's ``ltr/dataset/lasot.py`` reads them (``img/%08d.jpg``
from 1, the class = the parent folder's name, ``csv.reader(f)`` first line for the flag files).

- **Absent.** A frame flagged fully occluded or out of view has no usable box: a NaN row flagged in
  ``Sequence.absent`` (pytracking: ``visible = ~occlusion & ~out_of_view``). The two flag rows are
  kept in ``frame_tags`` (``full_occlusion``, ``out_of_view``) and, when set in some frame, in the
  attributes. A row that is not 4 numbers, or a frame past the last row, is a NaN row not flagged.
- **Splits.** The official protocol-II split lists the sequence names one per line: the
  280-sequence ``testing_set.txt`` and the 1120-sequence ``training_set.txt`` (the files of the LaSOT
  download and evaluation toolkit; pytracking ships the training list as
  ``ltr/data_specs/lasot_train_split.txt`` and the testing names in its evaluation code). A list in
  ``ROOT`` wins (a re-cut split is the user's to make); without one the official list shipped here as
  package data (``lasot_training_set.txt`` / ``lasot_testing_set.txt``) is used, because LaSOT is
  downloaded class by class and most copies hold neither file or only the testing one. With the
  shipped list the sequences of the split that are in ``ROOT`` are used (a partial download trains);
  a ``ROOT`` list must name only sequences that are there. ``split=None`` lists every sequence folder.
- **Coordinates.** LaSOT's evaluation toolkit is MATLAB, built on the OTB toolkit, and its ground
  truth uses OTB's 1-based pixel indices: 1 is subtracted from ``x, y`` as for OTB
  (:mod:`siamcore.datasets.otb`).
- ``nlp.txt`` is not read (``Sequence`` has no place for it).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from .sequence import Layout, Sequence, SequenceRef, list_images, load_selected, nan_rows, read_xywh_rows

SPLIT_FILES = {"train": "training_set.txt", "test": "testing_set.txt"}
GT_FILE = "groundtruth.txt"
FLAG_FILES = ("full_occlusion", "out_of_view")


def read_lasot_groundtruth(path: Path) -> np.ndarray:
    """``[N, 4]`` xywh in this project's convention (1 subtracted from x, y; see :func:`read_xywh_rows`)."""
    gt = read_xywh_rows(path)
    gt[:, :2] -= 1.0
    return gt


def read_flag_line(path: Path, n_frames: int) -> np.ndarray | None:
    """``[n_frames]`` bool from a one-line comma-separated 0/1 file (short or bad values False), or
    None when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    line = text.splitlines()[0] if text else ""
    flags = np.zeros(n_frames, bool)
    for i, value in enumerate(line.split(",")[:n_frames]):
        try:
            flags[i] = float(value.strip() or 0) != 0
        except ValueError:
            pass
    return flags


def is_lasot_sequence(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / "img").is_dir() and (folder / GT_FILE).is_file()


def load_lasot_sequence(folder: Path) -> Sequence:
    """One LaSOT sequence folder ``<class>/<class>-<n>`` (module doc: absent frames, flags, class)."""
    folder = Path(folder)
    if not is_lasot_sequence(folder):
        raise ValueError(f"{folder}: not a LaSOT sequence (expected img/ and {GT_FILE})")
    frames = list_images(folder / "img")
    if not frames:
        raise ValueError(f"{folder}/img: no images")
    n = len(frames)
    rows = read_lasot_groundtruth(folder / GT_FILE)[:n]
    gt = np.concatenate([rows, nan_rows(n - len(rows))])
    tags = {name: f for name in FLAG_FILES if (f := read_flag_line(folder / f"{name}.txt", n)) is not None}
    absent = np.zeros(n, bool)
    for flags in tags.values():
        absent |= flags
    gt[absent] = np.nan
    return Sequence(name=folder.name, frames=frames, gt_xywh=gt, absent=absent, class_name=folder.parent.name,
                    attributes=[t for t, f in tags.items() if f.any()], frame_tags=tags)


def _read_names(text: str) -> list[str]:
    return [n.strip() for n in text.splitlines() if n.strip()]


def official_split_names(split: str) -> list[str]:
    """The official LaSOT ``split`` list shipped with siamcore (module doc: Splits)."""
    if split not in SPLIT_FILES:
        raise ValueError(f"LaSOT split must be one of {', '.join(SPLIT_FILES)}, got {split!r}")
    return _read_names((resources.files(__package__) / f"lasot_{SPLIT_FILES[split]}").read_text(encoding="utf-8"))


def split_names(root: Path, split: str) -> tuple[list[str], Path | None]:
    """The names of ``split`` and the list file of ``root`` they came from, or None when ``root`` has no
    such file and the shipped official list is used."""
    names = official_split_names(split)  # checks the split name
    path = Path(root) / SPLIT_FILES[split]
    if path.is_file():
        return _read_names(path.read_text(encoding="utf-8")), path
    return names, None


def list_lasot(root: Path, split: str | None = None) -> list[SequenceRef]:
    """The LaSOT sequences under ``root`` (``<class>/<class>-<n>`` folders), those of the official
    ``split`` list when given (``root``'s own list, else the shipped one: module doc); sorted by name.
    ValueError when there are none, or when ``root``'s list names a sequence that is not there."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"LaSOT root {root} is not a folder")
    if split is not None:
        names, list_file = split_names(root, split)
        folders = [root / n.rsplit("-", 1)[0] / n for n in names]
        missing = [f.name for f in folders if not is_lasot_sequence(f)]
        if missing and list_file is not None:
            raise ValueError(f"{list_file} names sequences not found as <class>/<class>-<n>/ "
                             f"with img/ and {GT_FILE}: {', '.join(missing[:10])}"
                             + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""))
        absent = set(missing)  # only with the shipped list: a partial download uses what it has
        folders = [f for f in folders if f.name not in absent]
        if not folders and list_file is None:
            raise ValueError(f"{root}: no {SPLIT_FILES[split]}, and none of the {len(names)} sequences of the "
                             f"official LaSOT {split!r} list is there as <class>/<class>-<n>/ with img/ and {GT_FILE}")
    else:
        folders = [s for c in root.iterdir() if c.is_dir() for s in c.iterdir() if is_lasot_sequence(s)]
    if not folders:
        raise ValueError(f"{root}: no LaSOT sequences (expected <class>/<class>-<n>/img/ and {GT_FILE})")
    return [SequenceRef(p.name, p) for p in sorted(folders, key=lambda p: p.name)]


def load_lasot(root: Path, names: list[str] | None = None, split: str | None = None) -> list[Sequence]:
    """LaSOT sequences under ``root`` (see :func:`list_lasot`); ``names`` selects some, in that order."""
    return load_selected(list_lasot(root, split), names, str(root), lambda ref: [load_lasot_sequence(ref.folder)])


LAYOUT = Layout("lasot", load_lasot)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
