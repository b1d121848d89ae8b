"""A tracking sequence: ordered frame files and optional ground truth, read lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import re

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def normalise_name(name: str) -> str:
    """Key for matching sequence names: case-insensitive, ``.``/``-``/``_`` before a target number alike."""
    return re.sub(r"[.\-_](\d+)$", r".\1", name.strip()).lower()


def read_image_rgb(path: Path) -> np.ndarray:
    """Decode an image file to an RGB uint8 ``H x W x 3`` array (clear error when unreadable)."""
    buf = np.fromfile(str(path), dtype=np.uint8)
    frame = cv2.imdecode(buf, cv2.IMREAD_COLOR_RGB) if buf.size else None
    if frame is None:
        raise ValueError(f"cannot decode image {path} (missing, empty or not an image)")
    return frame


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder in name order (OTB/VOT names are zero-padded numbers)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


@dataclass
class Sequence:
    """One target in one video.

    ``gt_xywh`` is ``[len(frames), 4]`` in this project's convention (continuous pixel coordinates,
    origin at the top-left corner of the top-left pixel) or None when unknown. Invalid rows (target
    out of view) are kept as they are: the metrics decide what they mean.
    """

    name: str
    frames: list[Path]
    gt_xywh: np.ndarray | None = None
    attributes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # other normalised names (see otb.normalise_name)

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, index: int) -> np.ndarray:
        return read_image_rgb(self.frames[index])

    def __iter__(self):
        for path in self.frames:
            yield read_image_rgb(path)

    def match_keys(self) -> list[str]:
        """Normalised names under which result files and ``--sequences`` find this sequence."""
        return list(dict.fromkeys([normalise_name(self.name), *self.aliases]))

    @property
    def init_box_xywh(self) -> np.ndarray | None:
        return None if self.gt_xywh is None else np.asarray(self.gt_xywh[0], dtype=np.float64)
