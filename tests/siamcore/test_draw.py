"""The one box-drawing helper: any box a model or a file gives is drawn clipped, or skipped, never an error."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from siamcore.draw import draw_rect_xyxy, pixel_rect_xyxy

WILD = [
    [1e12, 5, 1e13, 1e13],  # finite, beyond int32: cv2.rectangle raised "Can't parse 'pt1'"
    [5, 5, 1e300, 1e300],
    [-1e13, -1e13, 1e13, 1e13],  # around the whole image: no edge in it
    [np.nan, 5, 20, 20], [5, 5, np.inf, 20], [-np.inf, 5, 20, 20],
    [30, 20, 10, 10], [10, 10, 10, 30],  # negative, zero width
    [70, 5, 90, 20], [-30, -30, -2, 20],  # outside the 60 x 40 image
]


@pytest.mark.parametrize("box", WILD)
@pytest.mark.parametrize("thickness", [1, 2, cv2.FILLED])
def test_wild_boxes_are_clipped_or_skipped(box, thickness):
    image = np.zeros((40, 60, 3), np.uint8)
    drawn = draw_rect_xyxy(image, box, (255, 0, 0), thickness, cv2.LINE_AA)
    changed = image.any(axis=-1)
    if drawn is None:
        assert not changed.any()
    else:
        x0, y0, x1, y1 = drawn
        assert 0 <= x0 <= x1 < 60 and 0 <= y0 <= y1 < 40
        pad = max(thickness, 1)  # anti-aliased lines spread by up to the line width
        inside = np.zeros_like(changed)
        inside[max(y0 - pad, 0) : y1 + pad + 1, max(x0 - pad, 0) : x1 + pad + 1] = True
        assert not (changed & ~inside).any()  # an outline around the whole image changes nothing at all


def test_clipping_keeps_edges_off_the_image_out_of_sight():
    """[5, 5, 1e13, 1e13] shows its top and left edges only: the right and bottom ones are off the image."""
    image = np.zeros((40, 60, 3), np.uint8)
    assert draw_rect_xyxy(image, [5, 5, 1e13, 1e13], (255, 0, 0), 2) == (5, 5, 59, 39)
    changed = image.any(axis=-1)
    assert changed[5, 30] and changed[20, 5] and not changed[20:, 10:].any() and not changed[:4].any()
    assert pixel_rect_xyxy([np.nan] * 4, 60, 40) is None and pixel_rect_xyxy([1, 2, 3], 60, 40) is None


def test_a_box_inside_the_image_is_drawn_as_opencv_draws_it():
    """Pixel i covers [i, i+1): the box [10.4, 5, 30.6, 20] has the pixel corners (10, 5) and (30, 19)."""
    ours, theirs = np.zeros((40, 60, 3), np.uint8), np.zeros((40, 60, 3), np.uint8)
    assert draw_rect_xyxy(ours, [10.4, 5, 30.6, 20], (0, 255, 0), 2, cv2.LINE_AA) == (10, 5, 30, 19)
    cv2.rectangle(theirs, (10, 5), (30, 19), (0, 255, 0), 2, cv2.LINE_AA)
    np.testing.assert_array_equal(ours, theirs)
