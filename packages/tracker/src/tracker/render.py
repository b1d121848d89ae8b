"""Draw tracked boxes on frames and write them as a video (``.mp4`` with OpenCV's mp4v codec,
``.avi`` MJPG) or an animated ``.gif`` (Pillow). Written to a temp file, renamed when complete."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

BOX_COLOUR_RGB = (255, 40, 40)
GT_COLOUR_RGB = (40, 220, 40)
VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG"}
GIF_MAX_SIDE_PX = 480  # GIF frames are kept in memory; larger frames are scaled down


def draw_box(frame_rgb: np.ndarray, box_xywh, colour=BOX_COLOUR_RGB, label: str | None = None,
             thickness: int = 2) -> np.ndarray:
    """A copy of ``frame_rgb`` with ``box_xywh`` drawn (and an optional label above it)."""
    out = frame_rgb.copy()
    box = np.asarray(box_xywh, dtype=np.float64)
    if np.all(np.isfinite(box)):
        x, y, w, h = box
        p0 = (int(round(x)), int(round(y)))
        p1 = (int(round(x + w)) - 1, int(round(y + h)) - 1)
        cv2.rectangle(out, p0, p1, colour, thickness, cv2.LINE_AA)
        if label:
            cv2.putText(out, label, (p0[0], max(p0[1] - 5, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1,
                        cv2.LINE_AA)
    return out


class VideoSink:
    """Collects RGB frames and writes ``path`` (mp4/avi/gif by suffix) on :meth:`close`."""

    def __init__(self, path: Path, fps: float = 30.0):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_SUFFIXES and suffix != ".gif":
            raise ValueError(f"--render must end in .mp4, .avi or .gif, got {self.path.name}")
        self.fps = fps if fps and fps > 0 else 30.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{suffix}")
        self._writer = None
        self._gif_frames: list[Image.Image] = []
        self.count = 0

    def write(self, frame_rgb: np.ndarray) -> None:
        self.count += 1
        if self.path.suffix.lower() == ".gif":
            img = Image.fromarray(frame_rgb)
            scale = GIF_MAX_SIDE_PX / max(img.size)
            if scale < 1:
                img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)
            self._gif_frames.append(img.quantize(colors=256, method=Image.Quantize.MEDIANCUT))
            return
        if self._writer is None:
            h, w = frame_rgb.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_SUFFIXES[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(self.tmp), fourcc, self.fps, (w, h))
            if not self._writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {self.path.suffix} video to {self.tmp}")
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> Path:
        if self.path.suffix.lower() == ".gif":
            if not self._gif_frames:
                raise ValueError("no frames to render")
            first, *rest = self._gif_frames
            first.save(self.tmp, format="GIF", save_all=True, append_images=rest,
                       duration=max(20, round(1000 / self.fps)), loop=0)
            self._gif_frames = []
        else:
            if self._writer is None:
                raise ValueError("no frames to render")
            self._writer.release()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
        Path(self.tmp).unlink(missing_ok=True)
