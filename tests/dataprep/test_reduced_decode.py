"""Reduced JPEG decode (``output.reduced_decode``): the rule that picks a frame's reduction, the
reduced-pixel mapping, the decode's checks and sizes, and a build whose frames are decoded at 1/2."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from siamcore.crop import (
    REDUCED_DECODE_MIN_SHRINK,
    RESAMPLING,
    crop_square,
    decode_reduction,
    reduced_window_xyxy,
    resampling_method,
)
from siamcore.shards import ShardReader, open_build

from dataprep.build import run_build
from dataprep.config import OutputConfig, load_config, with_overrides
from dataprep.records import decode_jpeg_rgb
from dataprep.sources import FrameError, FrameRef, read_frame, read_frame_reduced
from dataprep.sources.frames import decode_jpeg_reduced

T = REDUCED_DECODE_MIN_SHRINK


def _smooth(h: int, w: int, scale: float = 1.0) -> np.ndarray:
    """A smooth RGB image with detail at every position (sinusoids of ~70-100 x ``scale`` px periods)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) / scale
    img = np.stack([128 + 100 * np.sin(x / 11.0 + y / 17.0), 128 + 90 * np.cos(y / 13.0),
                    128 + 80 * np.sin((x - y) / 15.0)], axis=-1)
    return np.clip(img, 0, 255).astype(np.uint8)


def _jpeg(img_rgb: np.ndarray, quality: int = 95) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes()


def test_reduction_is_the_largest_that_leaves_every_crop_shrinking_enough():
    assert decode_reduction([]) == 1
    assert decode_reduction([(T * 127 * 0.99, 127)]) == 1
    assert decode_reduction([(2 * T * 127, 127)]) == 2
    assert decode_reduction([(4 * T * 255 * 0.999, 255)]) == 2
    assert decode_reduction([(4 * T * 255, 255)]) == 4
    assert decode_reduction([(100 * 127, 127)]) == 4  # never more than 4
    # the crop that shrinks least decides, whatever the order
    crops = [(4 * T * 255, 255), (2 * T * 127, 127), (T * 63, 63)]
    assert decode_reduction(crops) == decode_reduction(crops[::-1]) == 1
    assert decode_reduction([(4 * T * 255, 255), (2 * T * 127, 127)]) == 2
    assert decode_reduction([(float("nan"), 127)]) == 1
    assert resampling_method(False) == RESAMPLING and RESAMPLING in resampling_method(True) != RESAMPLING


@pytest.mark.parametrize("r", [2, 4])
def test_reduced_decode_crop_matches_the_full_decode_crop_of_a_smooth_image(r):
    """Reduced pixel j covers frame pixels [r j, r j + r): the window maps by X / r. Mapping pixel
    centres instead (a (r - 1) / 2 px shift) is measurably further from the full-decode crop."""
    buf = _jpeg(_smooth(720, 1280, scale=r / 2))  # smooth at the crops' scale: ~8 output px periods
    full = decode_jpeg_reduced(buf).image
    reduced = decode_jpeg_reduced(buf, reduction=r).image
    rng = np.random.default_rng(0)
    errs, shifted_errs = [], []
    out = 126 // r
    for _ in range(8):
        side = T * r * out * rng.uniform(1.0, 1.2)  # a crop the rule decodes at 1/r
        x0, y0 = rng.uniform(-40, 1280 - side + 40), rng.uniform(-40, 720 - side + 40)  # may leave the frame
        win = np.array([x0, y0, x0 + side, y0 + side])
        assert decode_reduction([(side, out)]) == r
        expected = crop_square(full, win, out, fill=(0, 0, 0)).astype(float)
        got = crop_square(reduced, reduced_window_xyxy(win, r), out, fill=(0, 0, 0)).astype(float)
        centres = (win - (r - 1) / 2) / r
        shifted = crop_square(reduced, centres, out, fill=(0, 0, 0)).astype(float)
        inside = np.ones((out, out), bool)  # compare away from the frame edge (fill vs a partial pixel)
        edge = (np.array([-x0, -y0, x0 + side - 1280, y0 + side - 720]) / side * out).clip(0) + 2
        inside[: math.ceil(edge[1])] = inside[out - math.ceil(edge[3]):] = False
        inside[:, : math.ceil(edge[0])] = inside[:, out - math.ceil(edge[2]):] = False
        errs.append(np.abs(got - expected)[inside].mean())
        shifted_errs.append(np.abs(shifted - expected)[inside].mean())
    assert np.mean(errs) < 1.5
    assert np.mean(shifted_errs) > np.mean(errs) + 0.5


def test_reduced_decode_reports_the_full_size_and_keeps_every_check(tmp_path):
    img = _smooth(721, 1283)  # odd sizes: the reduced image (ceil(w / r)) does not say w
    buf = _jpeg(img)
    for r, shape in ((1, (721, 1283)), (2, (361, 642)), (4, (181, 321))):
        frame = decode_jpeg_reduced(buf, reduction=r)
        assert frame.image.shape == (*shape, 3) and frame.frame_wh == (1283, 721) and frame.reduction == r
    path = tmp_path / "f.jpg"
    path.write_bytes(buf)
    assert np.array_equal(read_frame_reduced(FrameRef(str(path))).image, read_frame(FrameRef(str(path))))
    with pytest.raises(ValueError):
        decode_jpeg_reduced(buf, reduction=3)
    # the checks of a full decode come first, and the pixel limit counts the full frame
    with pytest.raises(FrameError) as e:
        decode_jpeg_reduced(buf, max_pixels=1283 * 721 - 1, reduction=4)
    assert e.value.reason == "frame_too_large"
    with pytest.raises(FrameError) as e:
        decode_jpeg_reduced(buf[: len(buf) // 2], reduction=2)
    assert e.value.reason == "corrupt_jpeg"
    ok, png = cv2.imencode(".png", img)  # decoded by content, as what it is: in full (issue 19, case 12)
    frame = decode_jpeg_reduced(png.tobytes(), reduction=2)
    assert frame.reduction == 1 and frame.frame_wh == (1283, 721)
    np.testing.assert_array_equal(frame.image, cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    with pytest.raises(FrameError) as e:
        decode_jpeg_reduced(png.tobytes(), max_pixels=1283 * 721 - 1, reduction=2)
    assert e.value.reason == "frame_too_large"


def _write_otb(root, frames=4, size=(1283, 721), box=(330.0, 80.0, 620.0, 560.0)):
    """One OTB-layout sequence of large-target frames: every crop shrinks ~9x, so each frame is decoded at 1/2."""
    seq = root / "Big"
    (seq / "img").mkdir(parents=True)
    base = _smooth(size[1], size[0], scale=2.0)
    for i in range(frames):
        (seq / "img" / f"{i + 1:04d}.jpg").write_bytes(_jpeg(np.roll(base, 7 * i, axis=1)))
    (seq / "groundtruth_rect.txt").write_text("\n".join(",".join(f"{v:g}" for v in box) for _ in range(frames)) + "\n")
    return box


def _build(root, out, reduced: bool):
    cfg = load_config(None, "otb").replace(output=OutputConfig(videos_per_shard=16, reduced_decode=reduced))
    cfg = with_overrides(cfg, root=root, out=out, scheduler="synchronous", pairs_per_sequence=6)
    return run_build(cfg, show_progress=False)


def test_build_decodes_large_target_frames_reduced_with_the_same_geometry(tmp_path):
    _write_otb(tmp_path / "otb")
    on, off = _build(tmp_path / "otb", tmp_path / "on", True), _build(tmp_path / "otb", tmp_path / "off", False)
    b_on, b_off = on.build, off.build
    assert b_on["config_sha256"] != b_off["config_sha256"]  # the switch changes the bytes: it is hashed
    assert b_on["resampling"] == resampling_method(True) and b_off["resampling"] == RESAMPLING
    side_on = list(open_build(tmp_path / "on").shards)
    counts = [json.loads((tmp_path / "on" / "shards" / f"{s.name}.json").read_text())["counts"] for s in side_on]
    assert b_on["counts"]["frames_decoded"] == 4
    assert [c["frames_reduced"] for c in counts] == [{"2": 4}]  # every frame, at 1/2 (a ~9x shrink)
    off_shards = open_build(tmp_path / "off").shards
    assert json.loads((tmp_path / "off" / "shards" / f"{off_shards[0].name}.json").read_text())["counts"][
        "frames_reduced"] == {}
    rec_on = {r["key"]: r for s in side_on for r in ShardReader(s.path)}
    rec_off = {r["key"]: r for s in open_build(tmp_path / "off").shards for r in ShardReader(s.path)}
    assert rec_on.keys() == rec_off.keys() and len(rec_on) == b_on["counts"]["pairs"] > 0
    for key, r in rec_on.items():
        for name, crop in r["crops"].items():
            ref = rec_off[key]["crops"][name]
            # geometry is computed in full-frame pixels exactly as without the reduction
            for k in ("window_xyxy", "box_xyxy", "guide_xyxy", "frame_wh", "size"):
                assert crop[k] == ref[k], (key, name, k)
            assert crop["frame_wh"] == [1283, 721]
            diff = np.abs(decode_jpeg_rgb(crop["jpeg"]).astype(float) - decode_jpeg_rgb(ref["jpeg"]).astype(float))
            assert diff.mean() < 2.0, (key, name, diff.mean())
    # the same build again gives the same bytes (the reduction depends on the plan only)
    again = _build(tmp_path / "otb", tmp_path / "again", True).build
    assert [s["sha256"] for s in again["shards"]] == [s["sha256"] for s in b_on["shards"]]
