"""Distractor placement and pasting (pure), photometric changes, and guide-box jitter statistics."""

import numpy as np
import pytest

from siamcore.boxes import iou_xyxy

from dataprep import distractors as D
from dataprep import photometric
from dataprep.class_map import VID_TO_COCO, VID_WITHOUT_COCO, distractor_categories
from dataprep.config import AugmentConfig, PairsConfig
from dataprep.pairs import SequenceFrames, plan_pairs
from dataprep.records import noisy_guide_xyxy
from dataprep.sources.vid import WNID_TO_CLASS


def test_choose_source_never_picks_the_target_and_covers_the_rest():
    candidates = (3, 8, 11, 20)
    picks = [D.choose_source(np.random.default_rng([0, i]), candidates, exclude=11) for i in range(400)]
    assert 11 not in picks and set(picks) == {3, 8, 20}
    counts = [picks.count(c) for c in (3, 8, 20)]
    assert min(counts) > 400 / 3 * 0.7  # uniform among the three
    assert D.choose_source(np.random.default_rng(0), (11,), exclude=11) is None  # single-instance category
    assert D.choose_source(np.random.default_rng(0), (), exclude=None) is None
    assert D.choose_source(np.random.default_rng(0), (5,), exclude=11) == 5


def test_size_keeps_the_source_aspect_and_the_target_scale():
    target = np.array([100.0, 100.0, 164.0, 136.0])  # 64 x 36: geometric mean 48
    for i in range(200):
        w, h = D.distractor_size_px(np.random.default_rng(i), target, (90, 30), (0.8, 1.25))
        assert 48 * 0.8 - 1 <= np.sqrt(w * h) <= 48 * 1.25 + 1
        assert w / h == pytest.approx(3.0, rel=0.06)


@pytest.mark.parametrize("max_iou", [0.0, 0.3])
def test_placement_is_inside_the_crop_with_bounded_iou(max_iou):
    target = np.array([90.0, 100.0, 160.0, 170.0])
    placed = 0
    for i in range(300):
        box = D.place_box_xyxy(np.random.default_rng([7, i]), (60, 50), target, 255, max_iou, 10)
        if box is None:
            continue
        placed += 1
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= 255 and box[3] <= 255  # fully inside
        assert (box[2] - box[0], box[3] - box[1]) == (60, 50)
        assert float(iou_xyxy(box, target)) <= max_iou + 1e-12
        assert np.all(box == np.round(box))  # whole pixels
    assert placed > 250


def test_no_forced_overlap_and_no_oversized_paste():
    target = np.array([0.0, 0.0, 255.0, 255.0])  # the target fills the crop: nothing can keep IoU <= 0.3
    assert D.place_box_xyxy(np.random.default_rng(0), (200, 200), target, 255, 0.3, 10) is None
    assert not D.fits_in_crop((256, 20), 255) and D.fits_in_crop((255, 255), 255)
    assert D.place_box_xyxy(np.random.default_rng(0), (300, 20), np.array([10.0, 10, 20, 20]), 255, 0.3, 10) is None


def test_placement_is_deterministic_per_generator():
    target = np.array([90.0, 100.0, 160.0, 170.0])
    a = D.place_box_xyxy(np.random.default_rng([1, 2]), (40, 40), target, 255, 0.3, 10)
    b = D.place_box_xyxy(np.random.default_rng([1, 2]), (40, 40), target, 255, 0.3, 10)
    assert np.array_equal(a, b)


def _patch_and_mask(h=40, w=30):
    rng = np.random.default_rng(3)
    patch = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    mask = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2 <= 1.0
    return patch, mask


@pytest.mark.parametrize("feather_px", [0.0, 1.5])
def test_paste_changes_only_pixels_inside_the_mask(feather_px):
    image = np.random.default_rng(5).integers(0, 256, (255, 255, 3), dtype=np.uint8)
    patch, mask = _patch_and_mask()
    box = np.array([100.0, 60.0, 160.0, 140.0])  # scaled 2x
    out, pasted_mask = D.paste_into_box(image, patch, mask, box, feather_px)
    assert pasted_mask.shape == (80, 60)
    inside = np.zeros((255, 255), bool)
    inside[60:140, 100:160] = pasted_mask
    changed = np.any(out != image, axis=2)
    assert not np.any(changed & ~inside)  # outside the mask: exact same pixels
    assert changed[inside].mean() > 0.9
    if feather_px == 0:
        resized, _ = D.resize_patch(patch, mask, (60, 80))
        assert np.array_equal(out[60:140, 100:160][pasted_mask], resized[pasted_mask])
    assert np.array_equal(image, np.random.default_rng(5).integers(0, 256, (255, 255, 3), dtype=np.uint8))


def test_feathered_alpha_is_soft_at_the_edge_and_zero_outside():
    _, mask = _patch_and_mask(60, 60)
    alpha = D.feather_alpha(mask, 2.0)
    assert np.all(alpha[~mask] == 0) and alpha.max() == pytest.approx(1.0, abs=1e-3)
    edge = mask & ~np.pad(mask, 1)[2:, 1:-1]  # mask pixels whose lower neighbour is outside
    assert 0.2 < alpha[edge].mean() < 0.8


def test_paste_clips_at_the_image_border():
    image = np.zeros((50, 50, 3), np.uint8)
    patch = np.full((20, 20, 3), 200, np.uint8)
    out = D.paste(image, patch, np.ones((20, 20), np.float32), 40, -5)
    assert out[:15, 40:].min() == 200 and out[15:].max() == 0 and out[:, :40].max() == 0


def test_vid_classes_map_to_coco_names_where_one_exists():
    assert set(VID_TO_COCO) | set(VID_WITHOUT_COCO) == set(WNID_TO_CLASS.values())
    assert distractor_categories("vid", "domestic_cat") == ("cat",)
    assert distractor_categories("vid", "watercraft") == ("boat",)
    assert distractor_categories("vid", "fox") is None  # no COCO fox: any category
    assert distractor_categories("coco", "kite") == ("kite",)
    assert distractor_categories("trackingnet", "") is None


def test_photometric_change_is_bounded_and_deterministic():
    image = np.random.default_rng(0).integers(40, 200, (255, 255, 3), dtype=np.uint8)
    a = photometric.draw(np.random.default_rng(9), 0.1, 0.2, 1.0, 1.5)
    assert a == photometric.draw(np.random.default_rng(9), 0.1, 0.2, 1.0, 1.5)
    assert abs(a.brightness) <= 25.5 and 0.8 <= a.contrast <= 1.2 and 0.3 <= a.blur_sigma_ref_px <= 1.5
    out = photometric.apply(image, a)
    assert out.shape == image.shape and out.dtype == np.uint8 and not np.array_equal(out, image)
    plain = photometric.apply(image, photometric.Photometric(30.0, 1.0, 0.0))
    assert np.array_equal(plain.astype(int), np.clip(image.astype(int) + 30, 0, 255))
    none = photometric.draw(np.random.default_rng(9), 0.0, 0.0, 0.0, 1.5)
    assert np.array_equal(photometric.apply(image, none), image)


def test_guide_jitter_statistics_over_many_samples():
    """Guide = the (same/previous) frame's box, centre moved by N(0, (0.25 w)^2), size x exp(N(0, 0.25^2))."""
    sigma = 0.25
    frames = [SequenceFrames(f"coco/train2017/{i}/{i}", f"coco/train2017/{i}", (0,)) for i in range(2)]
    plans = plan_pairs(frames, 0, PairsConfig(per_sequence=999, p_negative=0.0), AugmentConfig(), seed=3)
    assert all(p.guide_frame == p.search_frame == 0 for p in plans)  # stills: the same frame guides
    box = np.array([100.0, 110.0, 160.0, 190.0])  # 60 x 80, well inside a 255 crop
    dx, dy, lw, lh = [], [], [], []
    for p in plans:
        g = noisy_guide_xyxy(box, p.guide_noise, sigma, 255)
        if g[0] <= 0 or g[1] <= 0 or g[2] >= 255 or g[3] >= 255:
            continue  # clipped at the crop edge: not a clean sample
        dx.append(((g[0] + g[2]) - (box[0] + box[2])) / 2 / 60)
        dy.append(((g[1] + g[3]) - (box[1] + box[3])) / 2 / 80)
        lw.append(np.log((g[2] - g[0]) / 60))
        lh.append(np.log((g[3] - g[1]) / 80))
    assert len(dx) > 900
    for values in (dx, dy, lw, lh):
        assert abs(np.mean(values)) < 0.03
        assert np.std(values) == pytest.approx(sigma, rel=0.1)
    clipped = noisy_guide_xyxy(np.array([240.0, 240.0, 300.0, 300.0]), (1.0, 1.0, 0.0, 0.0), sigma, 255)
    assert clipped is not None and max(clipped) <= 255 and min(clipped) >= 0
