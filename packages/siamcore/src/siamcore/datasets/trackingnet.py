"""TrackingNet: ``ROOT/TRAIN_k/anno/<seq>.txt`` (one ``x,y,w,h`` line per frame) and
``ROOT/TRAIN_k/frames/<seq>/<i>.jpg`` (0-based, unpadded: sorted numerically) or, when that folder is
absent, ``ROOT/TRAIN_k/zips/<seq>.zip`` (members ``<i>.jpg``, possibly inside a folder; frames are
then :class:`ZipFrame` refs). One target per video, class unknown (``class_name`` "").

- **Coordinates.** The boxes are read as they are (no shift), as dataprep always has: ``x, y`` taken
  as the top-left corner in this project's convention.
- **Frames and rows** are matched by index (the number in the frame's file name, row ``i`` is frame
  ``i``); when their counts differ the shorter wins. A malformed line or a missing frame file is a
  NaN row (the frame keeps its place: the missing file's expected path stands in for it).
- A ``TRAIN_k`` folder name alone selects every sequence of that chunk (its ``SequenceRef.folder``).

:func:`read_trackingnet_video` also reports what it found (frame and row counts, malformed and
missing indices), which dataprep turns into its skip records.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .sequence import Frame, Layout, Sequence, SequenceRef, ZipFrame, numbered_files, select_sequences

FRAME_PATTERN = r"(\d+)\.jpe?g"


class TrackingNetError(ValueError):
    """A video that cannot be read at all; ``reason`` says why: ``missing_annotation`` (no readable
    ``anno/<seq>.txt``), ``missing_frame`` (neither ``frames/<seq>/`` nor ``zips/<seq>.zip``),
    ``bad_zip`` (an unreadable zip) or ``empty_sequence`` (no annotation lines or no frames)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def trackingnet_chunks(root: Path) -> dict[int, Path]:
    """``{k: ROOT/TRAIN_k}`` for the chunk folders present under ``root`` (empty when none or no root)."""
    out = {}
    root = Path(root)
    for p in root.iterdir() if root.is_dir() else ():
        m = re.fullmatch(r"TRAIN_(\d+)", p.name)
        if m and p.is_dir():
            out[int(m.group(1))] = p
    return out


def annotated_videos(chunk_dir: Path) -> list[str] | None:
    """Sorted names of the videos of a chunk folder that have ``anno/<seq>.txt``; None without ``anno/``."""
    anno_dir = Path(chunk_dir) / "anno"
    if not anno_dir.is_dir():
        return None
    return sorted(p.name[:-4] for p in anno_dir.iterdir() if p.suffix == ".txt")


def unannotated_videos(chunk_dir: Path) -> list[str]:
    """Sorted names of the frame folders and zips of a chunk folder that have no annotation file."""
    cdir = Path(chunk_dir)
    annotated = set(annotated_videos(cdir) or ())
    found = set()
    if (cdir / "frames").is_dir():
        found |= {p.name for p in (cdir / "frames").iterdir() if p.is_dir()}
    if (cdir / "zips").is_dir():
        found |= {p.name[:-4] for p in (cdir / "zips").iterdir() if p.suffix == ".zip"}
    return sorted(found - annotated)


def list_trackingnet(root: Path, chunks: list[int] | None = None) -> list[SequenceRef]:
    """The annotated TrackingNet videos of ``chunks`` (every present ``TRAIN_k`` when None), sorted by
    (chunk, name); ``SequenceRef.folder`` is the chunk folder. ValueError for a missing root or chunk."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"TrackingNet root {root} is not a folder")
    present = trackingnet_chunks(root)
    wanted = sorted(present) if chunks is None else sorted(set(chunks))
    missing = [k for k in wanted if k not in present]
    if missing or not wanted:
        names = ", ".join(f"TRAIN_{k}" for k in missing) or "any TRAIN_k folder"
        raise ValueError(f"{root}: {names} not found (expected TRAIN_k/anno/<seq>.txt)")
    return [SequenceRef(name, present[k]) for k in wanted for name in annotated_videos(present[k]) or ()]


def parse_trackingnet_anno(text: str) -> tuple[np.ndarray, list[int]]:
    """Annotation text -> (``[n, 4]`` float64 xywh with NaN rows for malformed lines, their indices).

    Values are comma separated (spaces/tabs tolerated); trailing blank lines are ignored, a blank
    line in the middle is malformed. ``nan`` parses as a number (and is rejected later as invalid).
    """
    lines = text.rstrip().splitlines() if text.strip() else []
    boxes = np.full((len(lines), 4), np.nan)
    malformed = []
    for i, line in enumerate(lines):
        parts = [p for p in re.split(r"[,\s]+", line.strip()) if p]
        try:
            if len(parts) != 4:
                raise ValueError
            boxes[i] = [float(p) for p in parts]
        except ValueError:
            malformed.append(i)
    return boxes, malformed


def trackingnet_frames(chunk_dir: Path, name: str) -> dict[int, Frame]:
    """``{index: frame}`` from ``frames/<seq>/`` or else ``zips/<seq>.zip``; TrackingNetError
    ``missing_frame`` / ``bad_zip`` when there is neither / the zip cannot be read."""
    fdir = Path(chunk_dir) / "frames" / name
    if fdir.is_dir():
        files = numbered_files(os.listdir(fdir), FRAME_PATTERN)
        return {i: fdir / n for i, n in files.items()}
    zpath = Path(chunk_dir) / "zips" / f"{name}.zip"
    if not zpath.is_file():
        raise TrackingNetError("missing_frame", f"neither {fdir}/ nor {zpath} exists")
    try:
        with zipfile.ZipFile(zpath) as zf:
            members = [n for n in zf.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise TrackingNetError("bad_zip", f"{zpath} is not a readable zip file: {e}") from None
    files = numbered_files(members, FRAME_PATTERN)
    return {i: ZipFrame(zpath, n) for i, n in files.items()}


@dataclass
class TrackingNetVideo:
    """One video as read: ``sequence`` has ``min(n_frames, n_rows)`` frames; ``malformed`` (unparsable
    lines) and ``missing`` (frames without a file) are indices below that, their rows NaN."""

    sequence: Sequence
    n_frames: int
    n_rows: int
    malformed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    anno_path: Path | None = None


def read_trackingnet_video(chunk_dir: Path, name: str) -> TrackingNetVideo:
    """Read one video of a chunk folder (see the module doc); TrackingNetError when it has no usable
    annotation or frames (``reason`` says which)."""
    cdir = Path(chunk_dir)
    anno_path = cdir / "anno" / f"{name}.txt"
    try:
        text = anno_path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise TrackingNetError("missing_annotation", f"cannot read {anno_path}: {e.strerror or e}") from None
    boxes, malformed = parse_trackingnet_anno(text)
    refs = trackingnet_frames(cdir, name)
    n_frames = max(refs) + 1 if refs else 0
    n = min(n_frames, len(boxes))
    if n == 0:
        what = "no annotation lines" if len(boxes) == 0 else "no frames"
        raise TrackingNetError("empty_sequence", f"{what} ({anno_path})")
    gt = boxes[:n].copy()
    missing = [i for i in range(n) if i not in refs]
    gt[missing] = np.nan
    frames = [refs.get(i, cdir / "frames" / name / f"{i}.jpg") for i in range(n)]
    return TrackingNetVideo(
        Sequence(name=name, frames=frames, gt_xywh=gt), n_frames, len(boxes),
        [i for i in malformed if i < n], missing, anno_path,
    )


def read_trackingnet_test_video(test_dir: Path, name: str) -> Sequence:
    """One video of the test split (``TEST/anno/<seq>.txt`` holds the first frame's box only): every
    frame of ``frames/<seq>/`` (or the zip), ground truth NaN after frame 0 (the server keeps the rest)."""
    tdir = Path(test_dir)
    boxes, _ = parse_trackingnet_anno((tdir / "anno" / f"{name}.txt").read_text(encoding="utf-8", errors="replace"))
    refs = trackingnet_frames(tdir, name)
    if not len(boxes) or not refs or not np.isfinite(boxes[0]).all():
        raise ValueError(f"{tdir / 'anno' / name}.txt: no first box or no frames")
    n = max(refs) + 1
    gt = np.full((n, 4), np.nan)
    gt[0] = boxes[0]
    return Sequence(name=name, frames=[refs.get(i, tdir / "frames" / name / f"{i}.jpg") for i in range(n)], gt_xywh=gt)


def load_trackingnet(root: Path, names: list[str] | None = None) -> list[Sequence]:
    """TrackingNet sequences under ``root`` (every chunk); ``names`` selects videos (or whole chunks by
    ``TRAIN_k``), in that order. ValueError for a video that cannot be read. The test split
    (``ROOT/TEST`` without ``TRAIN_k`` folders, or ``ROOT`` = ``TEST``) is read with
    :func:`read_trackingnet_test_video`: first box only, for the evaluation server."""
    root = Path(root)
    test_dir = root if root.name == "TEST" else root / "TEST"
    if test_dir.is_dir() and not trackingnet_chunks(root):
        refs = [SequenceRef(n, test_dir) for n in annotated_videos(test_dir) or ()]
        picked = select_sequences(refs, names, str(root)) if names else refs
        return [read_trackingnet_test_video(ref.folder, ref.name) for ref in picked]
    refs = list_trackingnet(root)
    picked = select_sequences(refs, names, str(root)) if names else refs
    return [read_trackingnet_video(ref.folder, ref.name).sequence for ref in picked]


LAYOUT = Layout("trackingnet", load_trackingnet)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
