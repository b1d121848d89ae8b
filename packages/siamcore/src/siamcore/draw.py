"""Boxes drawn on images: the one place where siamtrack hands a box to OpenCV (tracker frames and videos,
the trainer's validation figures, ``dataprep show`` grids).

A box to draw can be anything a model or a file gives: NaN, inf, or finite but far beyond int32 (a
diverged regression), which ``cv2.rectangle`` refuses with an exception ("Can't parse 'pt1'"). A picture
must never end a training run or a tracking session, so every box is clipped first and skipped when
nothing of it can be drawn. Clipping keeps a margin of the line width beyond the image, so that an edge
outside the image stays out of sight (the box visibly runs off the frame) exactly as OpenCV drew it.
"""

from __future__ import annotations

import cv2
import numpy as np


def pixel_rect_xyxy(box_xyxy, width: int, height: int, margin: int = 0) -> tuple[int, int, int, int] | None:
    """The inclusive pixel corners ``(x0, y0, x1, y1)`` of the continuous ``box_xyxy`` (pixel ``i`` covers
    ``[i, i+1)``: the right edge ``x1`` is pixel ``round(x1) - 1``), clipped to ``margin`` px beyond a
    ``width`` x ``height`` image; None for a box that is not 4 finite numbers, has no pixel, or has no
    pixel inside the image."""
    b = np.asarray(box_xyxy, dtype=np.float64).reshape(-1)
    if b.shape != (4,) or not np.isfinite(b).all():
        return None
    x0, y0 = round(float(b[0])), round(float(b[1]))
    x1, y1 = round(float(b[2])) - 1, round(float(b[3])) - 1
    if x1 < max(x0, 0) or y1 < max(y0, 0) or x0 >= width or y0 >= height:
        return None
    return max(x0, -margin), max(y0, -margin), min(x1, width - 1 + margin), min(y1, height - 1 + margin)


def draw_rect_xyxy(image: np.ndarray, box_xyxy, colour, thickness: int = 1,
                   line_type: int = cv2.LINE_8) -> tuple[int, int, int, int] | None:
    """Draw ``box_xyxy`` (continuous px) on ``image`` in place (``thickness`` ``cv2.FILLED`` fills it);
    returns its pixel corners clipped to the image, or None when it was skipped (module doc)."""
    height, width = image.shape[:2]
    rect = pixel_rect_xyxy(box_xyxy, width, height, margin=max(thickness, 0) + 1)
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    cv2.rectangle(image, (x0, y0), (x1, y1), tuple(int(c) for c in colour), thickness, line_type)
    return max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
