"""TrackingNet as training pairs, through :mod:`siamcore.datasets.trackingnet` (the layout, the
annotation parsing and the frame lookup, frames or zips, live there; the tracker evaluates on the
same reader). This module adapts: chunk selection and its errors, and skip records.

One sequence (track ``"0"``) per video, class unknown. Box checks done here: malformed lines,
NaN/zero/negative sizes, and boxes fully outside the frame. The frame size comes from the JPEG
header of frame 0 (a TrackingNet video has one resolution; reading a header costs one small file
read, no decode). If frame 0 is unreadable the out-of-frame check is left to crop time, where the
build checks every box against its decoded frame with ``siamcore.boxes.is_valid_xywh`` anyway.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siamcore.datasets import trackingnet as tn
from siamcore.datasets.sequence import ZipFrame

from dataprep.sources.base import (
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    format_indices,
    invalidate_boxes,
    parse_chunks,
)
from dataprep.sources.frames import frame_wh_from_header
from dataprep.sources.spec import VIDEO, DatasetSpec, no_splits

NAME = "trackingnet"
FRAME_PATTERN = tn.FRAME_PATTERN
parse_anno = tn.parse_trackingnet_anno

__all__ = ["NAME", "list_videos", "load_video", "parse_chunks", "parse_anno"]


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
    present = tn.trackingnet_chunks(root)
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
        names = tn.annotated_videos(cdir)
        if names is None:
            names = []
            skips.append(Skip(f"{NAME}/{split}", "missing_annotation", f"no anno/ folder in {cdir}"))
        for name in tn.unannotated_videos(cdir):
            skips.append(Skip(f"{NAME}/{split}/{name}", "missing_annotation", f"no {anno_dir / (name + '.txt')}"))
        videos += [VideoRef(NAME, k, split, name, str(root)) for name in names]
    return videos, skips


def _frame_ref(frame) -> FrameRef:
    return FrameRef(str(frame.path), frame.member) if isinstance(frame, ZipFrame) else FrameRef(str(frame))


def load_video(video: VideoRef) -> tuple[list[Sequence], list[Skip]]:
    """The one sequence of a TrackingNet video, or skips saying why there is none. Never raises
    for bad input. Frames and annotation lines are matched by index; when their counts differ
    the shorter wins (``frame_count_mismatch``); index gaps are ``missing_frame``."""
    uid = video.uid
    try:
        read = tn.read_trackingnet_video(Path(video.root) / video.split, video.name)
    except tn.TrackingNetError as e:
        return [], [Skip(uid, e.reason, str(e))]
    skips: list[Skip] = []
    n = len(read.sequence.frames)
    if read.n_frames != read.n_rows:
        skips.append(Skip(uid, "frame_count_mismatch",
                          f"{read.n_frames} frames but {read.n_rows} annotation lines; using {n}"))
    if read.malformed:
        skips.append(Skip(uid, "malformed_annotation", f"unparsable lines (0-based): {format_indices(read.malformed)}"))
    if read.missing:
        skips.append(Skip(uid, "missing_frame",
                          f"{len(read.missing)} frame(s) missing: {format_indices(read.missing)}"))
    boxes = read.sequence.gt_xywh
    frames = tuple(_frame_ref(f) for f in read.sequence.frames)
    wh = frame_wh_from_header(frames[0]) if 0 not in read.missing else None
    skips += invalidate_boxes(boxes, [wh] * n, uid)
    if np.all(np.isnan(boxes)):
        skips.append(Skip(uid, "empty_sequence", "no frame with a usable box"))
        return [], skips
    boxes.setflags(write=False)
    return [Sequence(video, "0", "", frames, boxes)], skips


def check_config(cfg, fail) -> None:
    """``chunks`` must parse; TrackingNet has no splits."""
    if cfg.chunks is not None:
        try:
            parse_chunks(cfg.chunks)
        except ValueError as exc:
            fail(str(exc))
    if cfg.splits is not None:
        no_splits(fail)


def resolve_selection(cfg, videos):
    """The chunks asked for, or the ones found, written out (``"0,1,2"``)."""
    chunks = parse_chunks(cfg.chunks) if cfg.chunks is not None else sorted({v.chunk for v in videos})
    return cfg.replace(chunks=",".join(str(c) for c in chunks))


SPEC = DatasetSpec(
    name=NAME, title="TrackingNet", kind=VIDEO, root_default="data/trackingnet",
    help="TRAIN_k/ folders of anno/ + frames/ or zips/; --chunks selects them",
    list_videos=list_videos, load_video=load_video, reader=tn, check=check_config, resolve_selection=resolve_selection,
)
