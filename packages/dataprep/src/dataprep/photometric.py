"""Photometric differences between the two crops of a still-image pair. Pure, explicit generator.

A COCO pair cuts its exemplar and search crops from the *same* photo; with geometric jitter alone
the network could match pixels exactly. A brightness shift, a contrast change and sometimes a
slight blur on the search crop stand in for the appearance change between two video frames.
Parameters are drawn once per sample (:func:`draw`) and applied to every search view
(:func:`apply`), so all views of a record show the same change.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Photometric:
    """One drawn change: ``out = (in - mean) * contrast + mean + brightness``, then a Gaussian blur
    of ``blur_sigma_ref_px`` (at a 255-px crop; scaled with the crop size; 0 = none)."""

    brightness: float
    contrast: float
    blur_sigma_ref_px: float


def draw(
    rng: np.random.Generator, brightness: float, contrast: float, p_blur: float, blur_sigma_max_px: float
) -> Photometric:
    """Draw a change: brightness uniform in ``+-brightness x 255``, contrast factor uniform in
    ``[1 - contrast, 1 + contrast]``, and with probability ``p_blur`` a blur sigma uniform in
    ``[0.3, blur_sigma_max_px]``. Always draws four uniforms, in this order."""
    u_b, u_c, u_p, u_s = (float(u) for u in rng.random(4))
    sigma = 0.3 + u_s * max(blur_sigma_max_px - 0.3, 0.0) if (u_p < p_blur and blur_sigma_max_px > 0) else 0.0
    return Photometric(
        brightness=(2.0 * u_b - 1.0) * brightness * 255.0,
        contrast=1.0 + (2.0 * u_c - 1.0) * contrast,
        blur_sigma_ref_px=sigma,
    )


def apply(image_rgb: np.ndarray, change: Photometric, ref_size: int = 255) -> np.ndarray:
    """``image_rgb`` (uint8 HxWx3) with ``change`` applied; a new array."""
    img = image_rgb.astype(np.float32)
    mean = np.asarray(cv2.mean(image_rgb)[:3], dtype=np.float32)
    img = (img - mean) * change.contrast + mean + change.brightness
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if change.blur_sigma_ref_px > 0:
        sigma = change.blur_sigma_ref_px * image_rgb.shape[1] / ref_size
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)
    return out
