"""What every dataset reader returns (frames are read by :mod:`dataprep.sources.frames`).

A dataset's adapter (``dataprep/sources/<name>.py``, declared by its ``SPEC``) has two functions:

- ``list_videos(root, chunks=None, splits=None) -> (videos, skips)``: cheap enumeration of
  listing units (directory listings only, no annotation parsing), sorted and stable. It raises
  :class:`SourceError` *before any work* when the root, a requested chunk or split is missing.
- ``load_video(video) -> (sequences, skips)``: parses the annotations of one video (runs inside
  Dask tasks). It never raises for bad input: what cannot be used is returned as :class:`Skip`.

Frame index convention: ``Sequence.frames[i]`` is frame ``i`` of the video (the number in its
file name); a frame whose file or annotation is missing stays in place with a NaN box, so
indices recorded in shards always name the source file. The sequence-folder datasets (``folders``)
use the position in their reader's frame list instead (their files are numbered from 1, and an OTB
sequence with a frame range starts at its first used frame).

Boxes are xywh, pixel-continuous with the origin at the top-left corner of the top-left pixel.
A NaN row in ``Sequence.boxes_xywh`` means "no usable box in this frame" (target absent,
malformed line, invalid or out-of-frame box, missing frame file); every such case except a
target that is simply absent (VID) is recorded as a Skip (one per sequence and reason, the frame
indices in its detail).

Frames are not decoded while loading, so JPEG corruption is found when a frame is read:
:func:`dataprep.sources.frames.read_frame` raises :class:`FrameError` with a reason code, and the
caller records it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from siamcore.boxes import is_valid_xywh

#: Skip reason codes used by the readers (and by the build for frame errors; ``load_error`` /
#: ``crop_error``: an unexpected exception while loading a video / cutting a sample's crops;
#: ``unreadable_sequence``: a sequence-folder reader could not read the folder, its message says why;
#: ``too_few_frames``: a sequence with a single usable frame, no pair of two frames;
#: ``frame_too_large``: a frame over ``[limits]`` max_frame_pixels / max_frame_bytes).
REASONS = (
    "malformed_annotation",
    "missing_annotation",
    "corrupt_jpeg",
    "missing_frame",
    "frame_too_large",
    "invalid_box",
    "box_outside_frame",
    "frame_count_mismatch",
    "empty_sequence",
    "too_few_frames",
    "bad_zip",
    "unreadable_xml",
    "unreadable_sequence",
    "load_error",
    "crop_error",
)

TRACKINGNET_CHUNKS = range(12)

MAX_FRAME_PIXELS = 64_000_000
"""Default ``[limits] max_frame_pixels``: a frame with more pixels (by its JPEG header) is not decoded.
8K video is 33 Mpx; a forged header can claim 65535 x 65535 (4.3 Gpx, 13 GB decoded)."""
MAX_FRAME_BYTES = 256 << 20
"""Default ``[limits] max_frame_bytes``: a frame file or zip member larger than this is not read
(a 64 Mpx JPEG at quality 100 is ~40 MB; a zip member can inflate from a 1 MB zip to 1 GB)."""


class SourceError(Exception):
    """A fatal problem found before any work (missing root, chunk or split); the message says what to do."""


class FrameError(Exception):
    """A frame that cannot be read or decoded; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FrameRef:
    """Where one frame's JPEG bytes are: a file, or ``member`` inside the zip file ``path``."""

    path: str
    member: str | None = None


@dataclass(frozen=True)
class VideoRef:
    """One listing unit (a TrackingNet sequence, a VID snippet), cheap to enumerate."""

    dataset: str  # a registered dataset name (dataprep.sources.registry)
    chunk: int  # TrackingNet chunk k, -1 for the others
    split: str  # "TRAIN_k" (TrackingNet), "train" / "val" (VID), "all" (sequence-folder datasets)
    name: str  # TrackingNet sequence name, VID snippet path relative to the split folder, or the
    #            sequence name of a sequence-folder dataset (siamcore.datasets)
    root: str  # dataset root, so a worker can resolve paths

    @property
    def uid(self) -> str:
        return f"{self.dataset}/{self.split}/{self.name}"


@dataclass(frozen=True, eq=False)
class Sequence:
    """One target track over all frames of a video (``eq=False``: it holds an array; compare ``uid``)."""

    video: VideoRef
    track: str  # "0" for TrackingNet, the VID trackid
    class_name: str  # "" when unknown (TrackingNet)
    frames: tuple[FrameRef, ...]
    boxes_xywh: np.ndarray  # [len(frames), 4] float64, read-only; NaN row = no usable box

    @property
    def uid(self) -> str:
        return f"{self.video.uid}/{self.track}"


@dataclass(frozen=True)
class Skip:
    """A recorded skip: what (``where``), why (a code from :data:`REASONS`) and a human message."""

    where: str
    reason: str
    detail: str


def parse_chunks(spec: str | int | list[int] | tuple[int, ...]) -> list[int]:
    """``"0,2,4-5"`` -> ``[0, 2, 4, 5]`` (sorted, unique, each in 0..11); ValueError saying what is wrong."""
    if isinstance(spec, int):
        items = [spec]
    elif isinstance(spec, (list, tuple)):
        items = [int(c) for c in spec]
    else:
        items = []
        text = str(spec).strip()
        if not text:
            raise ValueError("empty chunk spec: use e.g. '0-5' or '0,2,4-5'")
        for part in text.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
            if not m:
                raise ValueError(f"bad chunk spec {spec!r}: {part!r} is not a number or a range like '4-5'")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if hi < lo:
                raise ValueError(f"bad chunk spec {spec!r}: range {part!r} goes backwards")
            items.extend(range(lo, hi + 1))
    bad = [c for c in items if c not in TRACKINGNET_CHUNKS]
    if bad:
        raise ValueError(f"bad chunk spec {spec!r}: TrackingNet chunks are 0..11, got {bad}")
    return sorted(set(items))


def format_indices(indices) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2,5"`` (at most 20 runs, then ``...``): compact frame lists for skip details."""
    runs: list[list[int]] = []
    for i in sorted(set(int(i) for i in indices)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:20])
    return text + (",..." if len(runs) > 20 else "")


def invalidate_boxes(boxes_xywh: np.ndarray, frame_wh: list[tuple[float, float] | None], where: str) -> list[Skip]:
    """Set rows that are unusable to NaN in place, and say which.

    ``invalid_box``: a non-finite value or a width/height <= 0. ``box_outside_frame``: no overlap
    with the frame (only where ``frame_wh[i]`` is known). Rows already all-NaN are not reported
    (absent target or already recorded as malformed).
    """
    skips = []
    present = ~np.all(np.isnan(boxes_xywh), axis=1)
    finite = np.all(np.isfinite(boxes_xywh), axis=1)
    with np.errstate(invalid="ignore"):
        invalid = present & ~(finite & (boxes_xywh[:, 2] > 0) & (boxes_xywh[:, 3] > 0))
    if invalid.any():
        idx = np.flatnonzero(invalid)
        skips.append(Skip(where, "invalid_box",
                          f"{len(idx)} frame(s) with a NaN/zero/negative box: {format_indices(idx)}"))
        boxes_xywh[invalid] = np.nan
    outside = [i for i, wh in enumerate(frame_wh)
               if wh is not None and not np.isnan(boxes_xywh[i, 0]) and not is_valid_xywh(boxes_xywh[i], wh)]
    if outside:
        skips.append(
            Skip(where, "box_outside_frame", f"{len(outside)} frame(s) with the box fully outside the frame: "
                 f"{format_indices(outside)}")
        )
        boxes_xywh[outside] = np.nan
    return skips
