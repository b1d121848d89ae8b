"""Loose image files for the reader tests: numbered random JPEG frames and the PNG masks DAVIS uses
(8-bit palette PNGs written by hand as the PNG spec says, and greyscale ones)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np


def write_frames(folder: Path, count: int, pattern: str = "{:08d}.jpg", start: int = 1, size=(48, 64)) -> list[Path]:
    """``count`` random JPEG frames named ``pattern.format(i)`` for i from ``start``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([count, start])
    paths = []
    for i in range(start, start + count):
        paths.append(folder / pattern.format(i))
        cv2.imwrite(str(paths[-1]), rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    return paths


def voc_palette() -> np.ndarray:
    """The 256-colour PASCAL VOC palette that DAVIS-2017 masks use (index 1 = (128, 0, 0), ...)."""
    palette = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette[i] = (r, g, b)
    return palette


def write_indexed_png(path: Path, labels: np.ndarray, palette: np.ndarray | None = None) -> None:
    """An 8-bit indexed (palette, colour type 3) PNG of ``labels``, written by hand as the PNG spec says."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    labels = np.asarray(labels, np.uint8)
    h, w = labels.shape
    raw = b"".join(b"\x00" + labels[r].tobytes() for r in range(h))
    palette = voc_palette() if palette is None else palette
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", palette.astype(np.uint8).tobytes()) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def write_grey_png(path: Path, mask: np.ndarray) -> None:
    """An 8-bit greyscale PNG of ``mask`` (DAVIS-2016's masks: 0 background, 255 object)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.asarray(mask, np.uint8)):
        raise OSError(f"could not write {path}")

