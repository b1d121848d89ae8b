"""Frame sources for ``tracker run``: a video file, a folder of frames, an OTB/VOT sequence folder,
or a camera (an OpenCV ``VideoCapture`` index such as ``0``).

Every source yields RGB uint8 ``H x W x 3`` frames in order and may know the first frame's box
(OTB/VOT ground truth) and a frame rate for rendering.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from siamcore.datasets import (
    Sequence,
    is_otb_sequence,
    is_tlp_sequence,
    is_vot_sequence,
    list_images,
    load_meta,
    load_otb_folder,
    load_tlp_sequence,
    load_vot_sequence,
    read_image_rgb,
)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass
class FrameSource:
    """Frames of one video. ``kind`` is ``video``, ``camera``, ``frames``, ``otb``, ``tlp`` or ``vot``."""

    path: Path
    kind: str
    sequence: Sequence | None = None  # for frame folders and OTB/VOT sequences
    fps: float = 30.0
    frame_count: int | None = None  # None: unknown (a camera runs until stopped)
    camera_index: int | None = None

    @property
    def init_box_xywh(self) -> np.ndarray | None:
        return None if self.sequence is None else self.sequence.init_box_xywh

    def __len__(self) -> int:
        return self.frame_count or 0

    def shortfall(self, frames_read: int) -> str | None:
        """A warning when a video file ended before the frame count its container states (a file cut
        short by a copy or a full disk: OpenCV then just stops, as at a normal end), else None."""
        if self.kind != "video" or not self.frame_count or frames_read >= self.frame_count:
            return None
        return (f"{self.path} ended after {frames_read} frames, but its container states {self.frame_count}: "
                "the file may be truncated or damaged")

    def frames(self) -> Iterator[np.ndarray]:
        if self.sequence is not None:
            yield from self.sequence
            return
        cap = cv2.VideoCapture(str(self.path) if self.camera_index is None else self.camera_index)
        if not cap.isOpened():
            raise ValueError(f"cannot open {'camera' if self.camera_index is not None else 'video'} {self.path}")
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()


class UnreadableFrame(ValueError):
    """Frame ``number`` (1-based, as OTB numbers frames) could not be read: where a run stopped."""

    def __init__(self, number: int, reason: str):
        super().__init__(f"frame {number} cannot be read: {reason}")
        self.number = number


def numbered_frames(frames: Iterable[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, frame)`` from index 0. A frame that cannot be read (an image file that does not decode
    or has gone) raises UnreadableFrame with its number, so that a caller can keep what it tracked before."""
    it = iter(frames)
    index = 0
    while True:
        try:
            frame = next(it)
        except StopIteration:
            return
        except (ValueError, OSError) as exc:
            raise UnreadableFrame(index + 1, str(exc)) from exc
        yield index, frame
        index += 1


def open_source(path: Path, otb_target: int = 1) -> FrameSource:
    """Recognise ``path``: OTB folder (``img/`` + ``groundtruth_rect*.txt``; ``otb_target`` picks the
    target in two-target folders; an ``OTB2015.json`` beside the folder decides its frame range, as in
    ``tracker eval``), TLP folder (the same layout with ``frame,x,y,w,h,absent`` rows), VOT folder
    (images + ``groundtruth.txt``), a folder of images, a video file readable by OpenCV, or a number
    naming a camera (when no such file exists)."""
    path = Path(path)
    if not path.exists() and str(path).isdigit():
        return open_camera(int(str(path)))
    if not path.exists():
        raise ValueError(f"source {path} does not exist")
    if path.is_dir():
        if is_tlp_sequence(path):  # before OTB: the same folder layout, 6 values per row
            seq = load_tlp_sequence(path)
            return FrameSource(path, "tlp", seq, frame_count=len(seq))
        if is_otb_sequence(path):
            sequences = load_otb_folder(path, load_meta(path.resolve().parent))
            if not 1 <= otb_target <= len(sequences):
                raise ValueError(f"{path} has {len(sequences)} targets; --target must be 1..{len(sequences)}")
            seq = sequences[otb_target - 1]
            return FrameSource(path, "otb", seq, frame_count=len(seq))
        if is_vot_sequence(path):
            seq = load_vot_sequence(path)
            return FrameSource(path, "vot", seq, frame_count=len(seq))
        images = list_images(path)
        if not images:
            raise ValueError(f"{path}: no images (and not an OTB/VOT sequence folder)")
        return FrameSource(path, "frames", Sequence(name=path.name, frames=images), frame_count=len(images))
    if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
        read_image_rgb(path)
        return FrameSource(path, "frames", Sequence(name=path.stem, frames=[path]), frame_count=1)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ValueError(f"cannot open {path} as a video (supported: {', '.join(VIDEO_SUFFIXES)} via OpenCV)")
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    finally:
        cap.release()
    return FrameSource(path, "video", None, fps=float(fps) if fps > 0 else 30.0, frame_count=count)


def open_camera(index: int) -> FrameSource:
    """Camera ``index`` (OpenCV ``VideoCapture(index)``), checked now so a missing camera is a clear
    error before any model loads. OpenCV's own warnings for a missing device are silenced: the
    error says it."""
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)
    try:
        cap = cv2.VideoCapture(index)
        try:
            if not cap.isOpened():
                raise ValueError(f"no camera {index}: OpenCV's VideoCapture({index}) cannot open it (no such "
                                 "device, no permission, or an OpenCV built without camera support)")
            fps = cap.get(cv2.CAP_PROP_FPS)
        finally:
            cap.release()
    finally:
        log.setLogLevel(level)
    return FrameSource(Path(str(index)), "camera", None, fps=float(fps) if fps > 0 else 30.0, camera_index=index)
