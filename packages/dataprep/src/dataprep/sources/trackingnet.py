"""TrackingNet reader.

Layout: ``ROOT/TRAIN_k/anno/<seq>.txt`` (one ``x,y,w,h`` line per frame, xywh in pixels) and
``ROOT/TRAIN_k/frames/<seq>/<i>.jpg`` (0-based, unpadded: sorted numerically). When
``frames/<seq>/`` is absent the frames are read from ``ROOT/TRAIN_k/zips/<seq>.zip`` (members
``<i>.jpg``, possibly inside a folder). One sequence (track ``"0"``) per video, class unknown.

Box checks done here: malformed lines, NaN/zero/negative sizes, and boxes fully outside the
frame. The frame size comes from the JPEG header of frame 0 (a TrackingNet video has one
resolution; reading a header costs one small file read, no decode). If frame 0 is unreadable the
out-of-frame check is left to crop time, where the build checks every box against its decoded
frame with ``siamcore.boxes.is_valid_xywh`` anyway.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np

from dataprep.sources.base import (
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    format_indices,
    frame_wh_from_header,
    invalidate_boxes,
    numbered_files,
    open_zip,
    parse_chunks,
)

NAME = "trackingnet"
FRAME_PATTERN = r"(\d+)\.jpe?g"

__all__ = ["NAME", "list_videos", "load_video", "parse_chunks", "parse_anno"]


def _chunk_dirs(root: Path) -> dict[int, Path]:
    out = {}
    for p in root.iterdir() if root.is_dir() else ():
        m = re.fullmatch(r"TRAIN_(\d+)", p.name)
        if m and p.is_dir():
            out[int(m.group(1))] = p
    return out


def list_videos(root: str | os.PathLike, chunks=None, splits=None) -> tuple[list[VideoRef], list[Skip]]:
    """All sequences of the requested chunks (all present ``TRAIN_k`` when ``chunks`` is None),
    sorted by (chunk, name). A listing unit is an annotation file; a frames folder or zip without
    one is recorded as ``missing_annotation``. ``splits`` is accepted for a uniform signature
    and must be None. Raises SourceError when the root or a requested chunk folder is missing."""
    if splits is not None:
        raise SourceError("TrackingNet has no splits: select chunks with --chunks (e.g. '0-5')")
    root = Path(root).absolute()  # workers may run elsewhere (cwd)
    if not root.is_dir():
        raise SourceError(
            f"TrackingNet root not found: looked in {root}. Set it with --root DIR (or the config's "
            f"'root' key); it must contain TRAIN_0 ... TRAIN_11 folders."
        )
    present = _chunk_dirs(root)
    wanted = sorted(present) if chunks is None else parse_chunks(chunks)
    missing = [k for k in wanted if k not in present]
    if missing or not wanted:
        names = ", ".join(f"TRAIN_{k}" for k in missing) or "any TRAIN_k folder"
        have = ", ".join(f"TRAIN_{k}" for k in sorted(present)) or "none"
        raise SourceError(
            f"TrackingNet chunk folder missing: {names} not found in {root} (present: {have}). "
            f"Download/extract those chunks or pass --chunks with the ones you have."
        )
    videos, skips = [], []
    for k in wanted:
        split = f"TRAIN_{k}"
        cdir = present[k]
        anno_dir = cdir / "anno"
        if anno_dir.is_dir():
            names = sorted(p.name[:-4] for p in anno_dir.iterdir() if p.suffix == ".txt")
        else:
            names = []
            skips.append(Skip(f"{NAME}/{split}", "missing_annotation", f"no anno/ folder in {cdir}"))
        annotated = set(names)
        unannotated = set()
        if (cdir / "frames").is_dir():
            unannotated |= {p.name for p in (cdir / "frames").iterdir() if p.is_dir()} - annotated
        if (cdir / "zips").is_dir():
            unannotated |= {p.name[:-4] for p in (cdir / "zips").iterdir() if p.suffix == ".zip"} - annotated
        for name in sorted(unannotated):
            skips.append(Skip(f"{NAME}/{split}/{name}", "missing_annotation", f"no {anno_dir / (name + '.txt')}"))
        videos += [VideoRef(NAME, k, split, name, str(root)) for name in names]
    return videos, skips


def parse_anno(text: str) -> tuple[np.ndarray, list[int]]:
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


def _frame_refs(video: VideoRef) -> tuple[dict[int, FrameRef], Skip | None]:
    """``{index: FrameRef}`` from ``frames/<seq>/`` or else ``zips/<seq>.zip``."""
    cdir = Path(video.root) / video.split
    fdir = cdir / "frames" / video.name
    if fdir.is_dir():
        files = numbered_files(os.listdir(fdir), FRAME_PATTERN)
        return {i: FrameRef(str(fdir / n)) for i, n in files.items()}, None
    zpath = cdir / "zips" / f"{video.name}.zip"
    if not zpath.is_file():
        return {}, Skip(video.uid, "missing_frame", f"neither {fdir}/ nor {zpath} exists")
    try:
        members = [n for n in open_zip(str(zpath)).namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return {}, Skip(video.uid, "bad_zip", f"{zpath} is not a readable zip file: {e}")
    files = numbered_files(members, FRAME_PATTERN)
    return {i: FrameRef(str(zpath), n) for i, n in files.items()}, None


def load_video(video: VideoRef) -> tuple[list[Sequence], list[Skip]]:
    """The one sequence of a TrackingNet video, or skips saying why there is none. Never raises
    for bad input. Frames and annotation lines are matched by index; when their counts differ
    the shorter wins (``frame_count_mismatch``); index gaps are ``missing_frame``."""
    uid = video.uid
    anno_path = Path(video.root) / video.split / "anno" / f"{video.name}.txt"
    try:
        text = anno_path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return [], [Skip(uid, "missing_annotation", f"cannot read {anno_path}: {e.strerror or e}")]
    boxes, malformed = parse_anno(text)
    refs, skip = _frame_refs(video)
    if skip is not None:
        return [], [skip]
    skips: list[Skip] = []
    n_frames = max(refs) + 1 if refs else 0
    n = min(n_frames, len(boxes))
    if n == 0:
        what = "no annotation lines" if len(boxes) == 0 else "no frames"
        return [], [Skip(uid, "empty_sequence", f"{what} ({anno_path})")]
    if n_frames != len(boxes):
        skips.append(
            Skip(uid, "frame_count_mismatch", f"{n_frames} frames but {len(boxes)} annotation lines; using {n}")
        )
    boxes = boxes[:n].copy()
    malformed = [i for i in malformed if i < n]
    if malformed:
        skips.append(Skip(uid, "malformed_annotation", f"unparsable lines (0-based): {format_indices(malformed)}"))
    missing = [i for i in range(n) if i not in refs]
    if missing:
        skips.append(Skip(uid, "missing_frame", f"{len(missing)} frame file(s) missing: {format_indices(missing)}"))
        boxes[missing] = np.nan
    frames = tuple(refs.get(i, FrameRef(str(Path(video.root) / video.split / "frames" / video.name / f"{i}.jpg")))
                   for i in range(n))
    wh = frame_wh_from_header(refs.get(0))
    skips += invalidate_boxes(boxes, [wh] * n, uid)
    if np.all(np.isnan(boxes)):
        skips.append(Skip(uid, "empty_sequence", "no frame with a usable box"))
        return [], skips
    boxes.setflags(write=False)
    return [Sequence(video, "0", "", frames, boxes)], skips
