"""Online photometric augmentation of uint8 RGB crops (pure: explicit generator, no I/O).

Geometric jitter (shift, scale) is baked into the shards by ``dataprep``; here only colours and
sharpness change, cheaply enough for >1500 pairs/s per worker: brightness and contrast through one
256-entry lookup table (``cv2.LUT``), saturation as a blend with the gray image, a short motion blur
(``cv2.filter2D``), and grayscale for the whole pair with probability 0.2 (a grayscale video shows
both crops in gray). Boxes never change.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from trainer.config import AugmentConfig


def augment_pair(
    exemplar: np.ndarray, search: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Augment both crops of a pair: one grayscale decision, independent colour draws per crop."""
    gray = rng.random() < cfg.grayscale_p
    return augment_crop(exemplar, rng, cfg, gray), augment_crop(search, rng, cfg, gray)


def augment_crop(image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, gray: bool) -> np.ndarray:
    """One ``H x W x 3`` uint8 RGB crop -> augmented copy (same shape and dtype).

    The generator is always advanced by the same number of draws, whatever is applied, so that
    one crop's choices never shift the next crop's random numbers.
    """
    u = rng.random(8)
    out = image
    gain = 1.0 + cfg.contrast * (2 * u[1] - 1) if u[0] < cfg.contrast_p else 1.0
    offset = cfg.brightness_px * (2 * u[3] - 1) if u[2] < cfg.brightness_p else 0.0
    if gain != 1.0 or offset != 0.0:
        lut = np.clip((np.arange(256, dtype=np.float32) - 128.0) * gain + 128.0 + offset, 0, 255)
        out = cv2.LUT(out, np.rint(lut).astype(np.uint8))
    if gray:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    elif u[4] < cfg.saturation_p:
        factor = 1.0 + cfg.saturation * (2 * u[5] - 1)
        gray_img = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        out = cv2.addWeighted(out, factor, gray_img, 1.0 - factor, 0.0)
    if u[6] < cfg.blur_p and cfg.blur_max_px >= 3:
        length = 3 + int(u[7] * (cfg.blur_max_px - 2))
        angle = rng.random() * math.pi
        out = cv2.filter2D(out, -1, motion_blur_kernel(length, angle), borderType=cv2.BORDER_REFLECT)
    else:
        rng.random()
    return out


def motion_blur_kernel(length: int, angle_rad: float) -> np.ndarray:
    """Normalised line kernel of ``length`` px at ``angle_rad`` (a straight camera shake)."""
    k = np.zeros((length, length), dtype=np.float32)
    c = (length - 1) / 2.0
    dx, dy = math.cos(angle_rad) * c, math.sin(angle_rad) * c
    p0 = (int(round(c - dx)), int(round(c - dy)))
    p1 = (int(round(c + dx)), int(round(c + dy)))
    cv2.line(k, p0, p1, 1.0, 1)
    return k / k.sum()
