"""Result layouts of the GOT-10k and TrackingNet evaluation servers and toolkits (writers and the
GOT-10k reader). Boxes are written as they are: GOT-10k and TrackingNet boxes are 0-based pixel
``x, y, w, h`` read unchanged by this project (see :mod:`siamcore.datasets.got10k`), unlike OTB's
1-based files (:mod:`.results`).

- **GOT-10k** (got-10k/toolkit ``got10k/experiments/got10k.py``, ``ExperimentGOT10k._record``):
  ``<tracker>/<seq>/<seq>_001.txt`` (repetition 1; ``_002``, ``_003`` for more), one ``x,y,w,h`` line
  per frame, ``%.3f``, comma-separated; ``<tracker>/<seq>/<seq>_time.txt`` one line per frame, one
  ``%.8f`` column per repetition (seconds). For the test split the server takes a zip of the tracker
  folder's contents (``report`` runs ``compress('.', '../<tracker>')`` inside it): entries
  ``<seq>/<seq>_001.txt`` and ``<seq>/<seq>_time.txt``.
- **TrackingNet** test (pytracking ``pytracking/util_scripts/pack_trackingnet_results.py``): a zip with
  one ``<seq>.txt`` per sequence at its root, ``x,y,w,h`` comma-separated, ``%.2f``, one line per frame.

Every file is written atomically (:mod:`siamcore.atomic`); zips are built in memory and written last.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from siamcore.atomic import write_bytes_atomic


def _rows(boxes_xywh, fmt: str) -> str:
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    return "".join(",".join(fmt % v for v in row) + "\n" for row in boxes)


def got10k_record_paths(tracker_dir: Path, seq_name: str, repetition: int = 1) -> tuple[Path, Path]:
    """``(<seq>/<seq>_00r.txt, <seq>/<seq>_time.txt)`` under ``tracker_dir``."""
    folder = Path(tracker_dir) / seq_name
    return folder / f"{seq_name}_{repetition:03d}.txt", folder / f"{seq_name}_time.txt"


def write_got10k_record(tracker_dir: Path, seq_name: str, boxes_xywh, times_s, repetition: int = 1) -> Path:
    """Write one repetition's boxes and add its per-frame times as a column of ``<seq>_time.txt``
    (a rerun of repetition 1 replaces the time file). Returns the box file's path."""
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    times = np.asarray(times_s, dtype=np.float64).reshape(-1, 1)
    if len(times) != len(boxes):
        raise ValueError(f"{len(times)} times for {len(boxes)} boxes")
    box_path, time_path = got10k_record_paths(tracker_dir, seq_name, repetition)
    write_bytes_atomic(box_path, _rows(boxes, "%.3f").encode())
    if repetition > 1 and time_path.is_file():
        before = np.loadtxt(time_path, delimiter=",", ndmin=2)
        if len(before) == len(times):
            times = np.concatenate([before[:, : repetition - 1], times], axis=1)
    write_bytes_atomic(time_path, "".join(",".join(f"{t:.8f}" for t in row) + "\n" for row in times).encode())
    return box_path


def read_got10k_records(tracker_dir: Path, seq_name: str) -> list[np.ndarray]:
    """Every repetition's boxes of ``seq_name`` (``<seq>_[0-9]*.txt``, as the toolkit globs them)."""
    folder = Path(tracker_dir) / seq_name
    paths = sorted(p for p in folder.glob(f"{seq_name}_[0-9]*.txt"))
    return [np.loadtxt(p, delimiter=",", ndmin=2) for p in paths]


def read_got10k_times(tracker_dir: Path, seq_name: str) -> np.ndarray:
    """All per-frame times of ``seq_name`` (every repetition), empty when there is no time file."""
    path = got10k_record_paths(tracker_dir, seq_name)[1]
    return np.loadtxt(path, delimiter=",", ndmin=2).reshape(-1) if path.is_file() else np.zeros(0)


def write_got10k_submission(tracker_dir: Path, zip_path: Path) -> Path:
    """The GOT-10k test-server zip of a results folder: its ``<seq>/<seq>_*.txt`` files, paths relative
    to ``tracker_dir``. ValueError when it holds none."""
    tracker_dir = Path(tracker_dir)
    files = sorted(p for p in tracker_dir.glob("*/*.txt") if p.stem.startswith(p.parent.name + "_"))
    if not files:
        raise ValueError(f"{tracker_dir}: no <seq>/<seq>_001.txt result files to submit")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            zf.write(p, p.relative_to(tracker_dir).as_posix())
    write_bytes_atomic(zip_path, buf.getvalue())
    return Path(zip_path)


def write_trackingnet_submission(boxes_by_sequence: dict[str, np.ndarray], zip_path: Path) -> Path:
    """The TrackingNet test-server zip: ``<seq>.txt`` per sequence at the root, ``x,y,w,h`` (``%.2f``,
    commas), one row per frame. Non-finite boxes are refused (the server cannot parse them)."""
    if not boxes_by_sequence:
        raise ValueError("no sequences to submit")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, boxes in sorted(boxes_by_sequence.items()):
            boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            if not np.isfinite(boxes).all():
                raise ValueError(f"{name}: non-finite boxes cannot be submitted")
            zf.writestr(f"{name}.txt", _rows(boxes, "%.2f"))
    write_bytes_atomic(zip_path, buf.getvalue())
    return Path(zip_path)
