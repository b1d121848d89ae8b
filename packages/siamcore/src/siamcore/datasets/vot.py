"""VOT sequences, in both layouts found in the wild:

- a single sequence folder: ``00000001.jpg``... beside ``groundtruth.txt`` (pysot's copies, e.g.
  ``../shared/data/vot/bag``);
- the vot-toolkit layout: ``ROOT/list.txt`` (one sequence name per line), ``ROOT/<seq>/color/%08d.jpg``,
  ``ROOT/<seq>/groundtruth.txt``, per-frame ``ROOT/<seq>/<tag>.tag`` files (one 0/1 per frame:
  ``occlusion``, ``camera_motion``...) and a ``ROOT/<seq>/sequence`` metadata file of ``key=value``
  lines whose ``channels.color`` gives the frame pattern (e.g. ``color/%08d.jpg``). This is what
  votchallenge/toolkit's ``vot/dataset/vot.py`` (``VOTSequence``) reads; ``../shared/data/vot2017``.

Ground truth: one region per line, a 4-value ``x,y,w,h`` box or an 8-value rotated polygon
``x1,y1,...,x4,y4``; polygons become axis-aligned boxes with :func:`polygon_to_xywh` (``bounding`` by
default). Coordinates are read as they are (VOT's region files are treated as continuous 0-based
pixel coordinates, the convention pysot uses); no shift is applied. An all-NaN line (VOT-LT's "target
absent") becomes a NaN row flagged absent; an empty line, a 1-value line (a special code) or one that
cannot be parsed (e.g. VOT2020's RLE masks) becomes a NaN row that is not flagged absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..paths import join_inside
from .sequence import Layout, Sequence, SequenceRef, list_images, load_selected, nan_rows

POLYGON_MODES = ("bounding", "area")
LIST_FILE = "list.txt"
META_FILE = "sequence"


def polygon_to_xywh(polygon, mode: str = "bounding") -> np.ndarray:
    """Axis-aligned box of 4-point polygons ``[..., 8]`` (x1, y1, ..., x4, y4).

    ``bounding``: the bounding rectangle. ``area``: the box centred on the polygon's mean point,
    with the bounding rectangle's aspect ratio scaled so that its area equals the polygon's
    parallelogram area ``|p1 - p2| * |p2 - p3|`` (SiamRPN-style trackers' initialisation;
    without pysot's ``+1`` pixel term, since boxes here are continuous).
    """
    if mode not in POLYGON_MODES:
        raise ValueError(f"polygon mode must be one of {POLYGON_MODES}, got {mode!r}")
    p = np.asarray(polygon, dtype=np.float64)
    xs, ys = p[..., 0::2], p[..., 1::2]
    x0, x1 = xs.min(-1), xs.max(-1)
    y0, y1 = ys.min(-1), ys.max(-1)
    if mode == "bounding":
        return np.stack([x0, y0, x1 - x0, y1 - y0], -1)
    cx, cy = xs.mean(-1), ys.mean(-1)
    side_a = np.hypot(xs[..., 0] - xs[..., 1], ys[..., 0] - ys[..., 1])
    side_b = np.hypot(xs[..., 1] - xs[..., 2], ys[..., 1] - ys[..., 2])
    bw, bh = x1 - x0, y1 - y0
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(side_a * side_b / (bw * bh))
    s = np.where(np.isfinite(s), s, 1.0)
    w, h = s * bw, s * bh
    return np.stack([cx - w / 2, cy - h / 2, w, h], -1)


def _parse_groundtruth(path: Path, polygon_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(``[N, 4]`` xywh with NaN rows, ``[N]`` absent flags) of a ``groundtruth.txt``."""
    if polygon_mode not in POLYGON_MODES:
        raise ValueError(f"polygon mode must be one of {POLYGON_MODES}, got {polygon_mode!r}")
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    gt, absent = nan_rows(len(lines)), np.zeros(len(lines), bool)
    for i, line in enumerate(lines):
        values = [v for v in line.replace("\t", ",").replace(" ", ",").split(",") if v]
        try:
            nums = np.asarray([float(v) for v in values], dtype=np.float64)
        except ValueError:
            continue
        if len(nums) in (4, 8) and np.isnan(nums).all():
            absent[i] = True
        elif len(nums) == 8:
            gt[i] = polygon_to_xywh(nums, polygon_mode)
        elif len(nums) == 4:
            gt[i] = nums
    return gt, absent


def read_vot_groundtruth(path: Path, polygon_mode: str = "bounding") -> np.ndarray:
    """``[N, 4]`` xywh from a VOT ``groundtruth.txt`` of 4-value boxes or 8-value polygons (module doc:
    empty, NaN, special-code and unparsable lines become NaN rows; trailing blank lines are dropped)."""
    return _parse_groundtruth(path, polygon_mode)[0]


def read_sequence_meta(folder: Path) -> dict[str, str]:
    """The ``key=value`` lines of a vot-toolkit ``sequence`` file ({} when there is none)."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return {}
    meta = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            meta[key.strip()] = value.strip()
    return meta


def read_vot_tags(folder: Path, n_frames: int) -> dict[str, np.ndarray]:
    """Per-frame flags from the ``<tag>.tag`` files of a sequence folder: ``{tag: [n_frames] bool}``
    (missing lines are False, unparsable lines too)."""
    tags = {}
    for path in sorted(Path(folder).glob("*.tag")):
        flags = np.zeros(n_frames, bool)
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()[:n_frames]):
            try:
                flags[i] = float(line.strip() or 0) != 0
            except ValueError:
                pass
        tags[path.stem] = flags
    return tags


def _frame_folder(folder: Path) -> Path:
    """Where a sequence's frames are: ``channels.color`` of its ``sequence`` file, else ``color/`` when it
    exists, else the folder itself."""
    pattern = read_sequence_meta(folder).get("channels.color")
    if pattern:
        return join_inside(folder, pattern, folder / "sequence", "channels.color").parent
    return folder / "color" if (folder / "color").is_dir() else folder


def _images_in(folder: Path) -> list[Path]:
    return list_images(folder) if folder.is_dir() else []


def is_vot_sequence(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / "groundtruth.txt").is_file() and bool(_images_in(_frame_folder(folder)))


def load_vot_sequence(folder: Path, polygon_mode: str = "bounding") -> Sequence:
    """A VOT sequence folder (images beside ``groundtruth.txt``, or where its ``sequence`` file says /
    in ``color/``). Frames without a ground-truth line get NaN rows; extra lines are ignored."""
    folder = Path(folder)
    frames = _images_in(_frame_folder(folder))
    if not frames:
        raise ValueError(f"{folder}: no images found (expected 00000001.jpg... beside groundtruth.txt, or color/)")
    if not (folder / "groundtruth.txt").is_file():
        raise ValueError(f"{folder}: no groundtruth.txt")
    gt, absent = _parse_groundtruth(folder / "groundtruth.txt", polygon_mode)
    n = len(frames)
    if len(gt) < n:  # the VOT toolkit writes one line per frame: a short file is damaged, not absence
        raise ValueError(f"{folder / 'groundtruth.txt'}: {len(gt)} ground-truth lines for {n} frames "
                         "(expected one line per frame)")
    tags = read_vot_tags(folder, n)
    return Sequence(
        name=folder.name, frames=frames, gt_xywh=gt[:n], absent=absent[:n],
        attributes=[t for t, flags in tags.items() if flags.any()], frame_tags=tags,
    )


def list_vot(root: Path) -> list[SequenceRef]:
    """The VOT sequences under ``root``: ``root`` itself when it is a sequence folder, else the names in
    ``root/list.txt`` (each must be a sub-folder), else every sub-folder that is a sequence; sorted by
    name. ValueError when ``root`` holds none or ``list.txt`` names a missing folder."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"VOT root {root} is not a folder")
    if is_vot_sequence(root):
        return [SequenceRef(root.name, root)]
    if (root / LIST_FILE).is_file():
        names = [n.strip() for n in (root / LIST_FILE).read_text(encoding="utf-8").splitlines() if n.strip()]
        for i, n in enumerate(names):
            join_inside(root, n, root / LIST_FILE, f"line {i + 1}")
        missing = [n for n in names if not (root / n).is_dir()]
        if missing:
            raise ValueError(f"{root / LIST_FILE} names sequence folders that do not exist: {', '.join(missing)}")
        folders = [root / n for n in names]
    else:
        folders = [p for p in root.iterdir() if is_vot_sequence(p)]
    if not folders:
        raise ValueError(f"{root}: no VOT sequences (expected groundtruth.txt beside the frames or in <seq>/, "
                         f"or a {LIST_FILE} of sequence folders)")
    return [SequenceRef(p.name, p) for p in sorted(folders, key=lambda p: p.name)]


def load_vot(root: Path, names: list[str] | None = None, polygon_mode: str = "bounding") -> list[Sequence]:
    """VOT sequences under ``root`` (see :func:`list_vot`); ``names`` selects some, in that order."""
    return load_selected(list_vot(root), names, str(root), lambda ref: [load_vot_sequence(ref.folder, polygon_mode)])


LAYOUT = Layout("vot", load_vot)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
