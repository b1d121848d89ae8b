"""Generated frames and real annotated sequences: what every test-data writer of this kit paints with.

Frames are either generated (textured ellipses/rectangles moving and scaling smoothly over a
textured, slowly panning background) or taken from a real annotated sequence (OTB folder with
``img/`` + ``groundtruth_rect.txt``, or VOT folder with ``*.jpg`` + ``groundtruth.txt``).
Everything is a deterministic function of ``seed`` and a stable id (:func:`seeded_rng`), so a writer
called twice writes identical bytes, and a test's golden hashes hold across machines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from siamcore.datasets import is_otb_sequence, is_vot_sequence, load_otb_folder, load_vot_sequence

from dataprep.pairs import stable_int
from dataprep.records import encode_jpeg_rgb

JPEG_QUALITY = 90


def seeded_rng(seed: int, uid: str) -> np.random.Generator:
    """The generator of the thing named ``uid``: seeded by its stable hash (never Python's ``hash``, which
    changes per process), so each sequence's pixels do not depend on what else a call writes."""
    return np.random.default_rng([seed, stable_int(uid, bits=63)])


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """An RGB frame as JPEG bytes, through the product's encoder (the one the shards use)."""
    return encode_jpeg_rgb(rgb, quality)


# --- generated scenes ---------------------------------------------------------------------------


def random_texture(rng: np.random.Generator, side: int = 64) -> np.ndarray:
    """Two-colour stripes at a random angle and frequency, plus noise: an object with edges to track."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    angle, freq = rng.uniform(0, math.pi), rng.uniform(0.15, 0.6)
    stripes = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * freq) > 0
    c1, c2 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    tex = np.where(stripes[..., None], c1, c2) + rng.normal(0, 12, (side, side, 3))
    return np.clip(tex, 0, 255).astype(np.uint8)


def random_canvas(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A textured background: smooth colour blobs, fine grain and a few flat rectangles."""
    low = rng.integers(0, 256, (h // 48 + 2, w // 48 + 2, 3), dtype=np.uint8)
    canvas = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    canvas += rng.integers(-18, 19, (h, w, 1), dtype=np.int16)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(w // 20, w // 5)), y0 + int(rng.integers(h // 20, h // 5))
        cv2.rectangle(canvas, (x0, y0), (x1, y1), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    return canvas


@dataclass
class Mover:
    """A textured shape on a smooth (sinusoidal) path with smooth scale changes."""

    shape: str
    texture: np.ndarray
    centre_frac: np.ndarray  # (2,) fraction of the frame
    amp_frac: np.ndarray  # (2,)
    freq: np.ndarray  # (3,) cycles per sequence for x, y, scale
    phase: np.ndarray  # (3,)
    size0_px: tuple[float, float]

    @classmethod
    def random(cls, rng: np.random.Generator, frame_wh: tuple[int, int]) -> Mover:
        w, h = frame_wh
        w0 = rng.uniform(0.1, 0.22) * w
        h0 = min(w0 * rng.uniform(0.5, 2.0), 0.45 * h)
        return cls(
            shape=str(rng.choice(["ellipse", "rect"])),
            texture=random_texture(rng),
            centre_frac=rng.uniform(0.3, 0.7, 2),
            amp_frac=rng.uniform(0.05, 0.25, 2),
            freq=rng.uniform(0.3, 1.2, 3),
            phase=rng.uniform(0, 2 * math.pi, 3),
            size0_px=(w0, h0),
        )

    def box_xywh(self, t: float, frame_wh: tuple[int, int]) -> tuple[int, int, int, int]:
        """Integer pixel box at time ``t`` in [0, 1), kept inside the frame."""
        fw, fh = frame_wh
        ang = 2 * math.pi * self.freq * t + self.phase
        s = 1.0 + 0.25 * math.sin(ang[2])
        w = int(np.clip(round(self.size0_px[0] * s), 4, fw - 1))
        h = int(np.clip(round(self.size0_px[1] * s), 4, fh - 1))
        cx = fw * (self.centre_frac[0] + self.amp_frac[0] * math.sin(ang[0]))
        cy = fh * (self.centre_frac[1] + self.amp_frac[1] * math.sin(ang[1]))
        x = int(np.clip(round(cx - w / 2), 0, fw - w))
        y = int(np.clip(round(cy - h / 2), 0, fh - h))
        return x, y, w, h

    def paint(self, frame: np.ndarray, box: tuple[int, int, int, int]) -> None:
        x, y, w, h = box
        patch = cv2.resize(self.texture, (w, h), interpolation=cv2.INTER_LINEAR)
        roi = frame[y : y + h, x : x + w]
        if self.shape == "rect":
            roi[:] = patch
        else:
            mask = np.zeros((h, w), np.uint8)
            cv2.ellipse(mask, ((w / 2 - 0.5, h / 2 - 0.5), (float(w), float(h)), 0.0), 1, -1)
            np.copyto(roi, patch, where=mask[..., None].astype(bool))


class Scene:
    """Background with a slow camera pan; ``frame(i)`` returns a fresh RGB array to paint on."""

    def __init__(self, rng: np.random.Generator, frame_wh: tuple[int, int], n_frames: int):
        self.w, self.h = frame_wh
        self.pad = max(8, min(self.w, self.h) // 10)
        self.canvas = random_canvas(rng, self.w + 2 * self.pad, self.h + 2 * self.pad)
        self.pan_phase = rng.uniform(0, 2 * math.pi, 2)
        self.n = max(n_frames, 1)

    def frame(self, i: int) -> np.ndarray:
        t = 2 * math.pi * i / self.n
        dx = int(round(self.pad * (1 + 0.8 * math.sin(t + self.pan_phase[0]))))
        dy = int(round(self.pad * (1 + 0.8 * math.sin(t + self.pan_phase[1]))))
        return self.canvas[dy : dy + self.h, dx : dx + self.w].copy()


# --- real annotated sequences -------------------------------------------------------------------


def load_real_sequence(folder: str | Path) -> tuple[list[Path], np.ndarray]:
    """(frame files in order, xywh boxes) of an OTB or VOT sequence folder, read by the shared readers
    (:mod:`siamcore.datasets`; an OTB folder's first target)."""
    folder = Path(folder)
    if is_otb_sequence(folder):
        seq = load_otb_folder(folder)[0]
    elif is_vot_sequence(folder):
        seq = load_vot_sequence(folder)
    else:
        raise FileNotFoundError(f"{folder} is neither an OTB (img/ + groundtruth_rect.txt) nor a VOT "
                                f"(frames + groundtruth.txt) sequence")
    return list(seq.frames), np.asarray(seq.gt_xywh, dtype=np.float64)


def real_window(sources: list[Path], index: int, rng: np.random.Generator, frames: int):
    """A ``frames``-long window of the real sequence ``sources[index % len]`` (start drawn from ``rng``)."""
    files, boxes = load_real_sequence(sources[index % len(sources)])
    n = min(frames, len(files))
    start = int(rng.integers(0, len(files) - n + 1))
    return files[start : start + n], boxes[start : start + n]


def path_list(real_frames_from) -> list[Path]:
    if real_frames_from is None:
        return []
    if isinstance(real_frames_from, (str, Path)):
        return [Path(real_frames_from)]
    return [Path(p) for p in real_frames_from]

