"""The one crop: geometry, resampling and out-of-frame fill."""

import cv2
import numpy as np
import pytest

from siamcore.crop import (
    View,
    context_side,
    crop_square,
    crop_to_frame_xyxy,
    frame_mean,
    frame_to_crop_xyxy,
    square_window_xyxy,
    window_for_box_xywh,
)


def _frame(h=240, w=320, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_context_side_matches_seed_formula():
    w, h, a = 40.0, 20.0, 0.5
    c = a * (w + h) / 2
    assert context_side(w, h, a) == pytest.approx(np.sqrt((w + 2 * c) * (h + 2 * c)))


def test_view_extent_scales_side():
    exemplar, search = View(127, 0.5), View(255, 0.5, extent=255 / 127)
    assert search.side(30, 50) == pytest.approx(exemplar.side(30, 50) * 255 / 127)


def test_unit_scale_integer_window_is_an_exact_copy():
    frame = _frame()
    out = crop_square(frame, [50, 60, 114, 124], 64)
    np.testing.assert_array_equal(out, frame[60:124, 50:114])


def test_half_scale_averages_2x2_blocks():
    frame = _frame()
    out = crop_square(frame, [40, 20, 168, 148], 64)
    expected = cv2.resize(frame[20:148, 40:168], (64, 64), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_out_of_frame_area_is_filled_with_frame_mean():
    frame = _frame()
    fill = frame_mean(frame)
    out = crop_square(frame, [-100, -100, 0, 0], 50)
    np.testing.assert_array_equal(out, np.full((50, 50, 3), np.round(fill), dtype=np.uint8))
    half = crop_square(frame, [-64, 0, 64, 128], 128)
    np.testing.assert_array_equal(half[:, :63], np.broadcast_to(np.round(fill).astype(np.uint8), (128, 63, 3)))
    np.testing.assert_array_equal(half[:, 65:], frame[0:128, 1:64])


@pytest.mark.parametrize("side", [40.0, 97.3, 300.0, 700.0])
def test_object_lands_where_the_mapping_says(side):
    """A bright square in the frame appears in the crop at frame_to_crop_xyxy of its box."""
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    box_xyxy = np.array([600.0, 300.0, 640.0, 340.0])
    frame[300:340, 600:640] = 255
    cx, cy = 625.3, 318.9
    window = square_window_xyxy(cx, cy, side)
    out = crop_square(frame, window, 127, fill=(0, 0, 0)).astype(float)[..., 0]
    mapped = np.clip(frame_to_crop_xyxy(box_xyxy, window, 127), 0, 127)  # the visible part
    ys, xs = np.mgrid[0:127, 0:127] + 0.5
    mass = out.sum()
    centroid = np.array([(out * xs).sum() / mass, (out * ys).sum() / mass])
    np.testing.assert_allclose(centroid, [(mapped[0] + mapped[2]) / 2, (mapped[1] + mapped[3]) / 2], atol=0.35)
    assert mass / 255 == pytest.approx((mapped[2] - mapped[0]) * (mapped[3] - mapped[1]), rel=0.05)


def test_window_shift_is_in_output_pixels_and_maps_back():
    view = View(255, 1.5)
    box = [100.0, 80.0, 40.0, 60.0]
    window = window_for_box_xywh(box, view, scale=1.2, shift_px=(10.0, -5.0))
    in_crop = frame_to_crop_xyxy([100, 80, 140, 140], window, 255)
    centre = (in_crop[:2] + in_crop[2:]) / 2
    np.testing.assert_allclose(centre, [127.5 - 10.0, 127.5 + 5.0])
    np.testing.assert_allclose(crop_to_frame_xyxy(in_crop, window, 255), [100, 80, 140, 140])
    assert window[2] - window[0] == pytest.approx(view.side(40, 60) * 1.2)


def test_degenerate_window_is_refused():
    with pytest.raises(ValueError, match="positive finite side"):
        crop_square(_frame(), [10, 10, 10, 10], 32)
