"""Crops and records: boxes where they should be, content of a known object, colours, guide boxes."""

import io

import numpy as np
import pytest
from PIL import Image

from siamcore import schema
from siamcore.crop import context_side, crop_square, frame_to_crop_xyxy, window_for_box_xywh

from dataprep.config import ViewConfig, default_views
from dataprep.pairs import Jitter, PairPlan
from dataprep.records import (
    assemble_record,
    crop_views,
    decode_jpeg_rgb,
    encode_jpeg_rgb,
    manifest_row,
    noisy_guide_xyxy,
)
from dataprep.sources import FrameRef, Sequence, VideoRef

RED = (220, 30, 30)
BACKGROUND = (40, 90, 160)


def _frame_with_object(box_xywh=(300.0, 200.0, 80.0, 60.0), wh=(640, 480)):
    frame = np.empty((wh[1], wh[0], 3), np.uint8)
    frame[:] = BACKGROUND
    x, y, w, h = (int(v) for v in box_xywh)
    frame[y : y + h, x : x + w] = RED
    return frame


def _views():
    return default_views()


def _mean_in(image, box_xyxy, shrink=3):
    x0, y0, x1, y1 = (int(round(v)) for v in box_xyxy)
    return image[y0 + shrink : y1 - shrink, x0 + shrink : x1 - shrink].reshape(-1, 3).mean(0)


def test_jpeg_colours_are_standard_rgb():
    image = np.zeros((32, 32, 3), np.uint8)
    image[:] = RED
    data = encode_jpeg_rgb(image, 95)
    via_pillow = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))  # an independent, standard decoder
    assert np.abs(via_pillow.astype(int) - RED).max() < 6
    assert np.abs(decode_jpeg_rgb(data).astype(int) - RED).max() < 6


def test_centred_crop_puts_the_object_in_the_middle_at_the_seed_scale():
    box = (300.0, 200.0, 80.0, 60.0)
    frame = _frame_with_object(box)
    crops = crop_views(frame, (0.0, 0.0, 0.0), box, {"exemplar": _views()["exemplar"]}, Jitter((0.0, 0.0), 1.0), 95)
    c = crops["exemplar"]
    scale = 127 / context_side(80, 60, 0.5)
    w, h = 80 * scale, 60 * scale
    assert c["box_xyxy"] == pytest.approx([63.5 - w / 2, 63.5 - h / 2, 63.5 + w / 2, 63.5 + h / 2])
    assert c["guide_xyxy"] == pytest.approx(c["box_xyxy"])  # exemplar guide = own box
    img = decode_jpeg_rgb(c["jpeg"])
    assert img.shape == (127, 127, 3)
    assert np.abs(_mean_in(img, c["box_xyxy"]) - RED).max() < 8
    assert np.abs(img[2, 2].astype(int) - BACKGROUND).max() < 10  # context is background
    assert c["frame_wh"] == [640, 480] and c["role"] == "exemplar" and c["size"] == 127


def test_jittered_search_crop_box_equals_the_mapped_frame_box_and_shows_the_object():
    box = (300.0, 200.0, 80.0, 60.0)
    frame = _frame_with_object(box)
    jitter = Jitter((50.0, -40.0), 1.15)
    crops = crop_views(frame, (0.0, 0.0, 0.0), box, {"search": _views()["search"]}, jitter, 95, box, (0, 0, 0, 0), 0.0)
    c = crops["search"]
    view = _views()["search"].view()
    window = window_for_box_xywh(box, view, scale=1.15, shift_px=(50.0, -40.0))
    assert c["window_xyxy"] == pytest.approx(list(window))
    expected = frame_to_crop_xyxy([300, 200, 380, 260], window, 255)
    assert c["box_xyxy"] == pytest.approx(list(expected))
    # the target moved off-centre by the shift: left of / below the centre
    cx, cy = (expected[0] + expected[2]) / 2, (expected[1] + expected[3]) / 2
    assert cx == pytest.approx(127.5 - 50.0) and cy == pytest.approx(127.5 + 40.0)
    img = decode_jpeg_rgb(c["jpeg"])
    assert np.abs(_mean_in(img, c["box_xyxy"]) - RED).max() < 8
    # and the pixels equal the shared crop of that window
    direct = crop_square(frame, window, 255, fill=(0.0, 0.0, 0.0))
    assert np.abs(img.astype(int) - direct.astype(int)).mean() < 2.0


def test_out_of_frame_area_uses_the_given_fill():
    box = (0.0, 0.0, 40.0, 40.0)  # at the corner: the search window leaves the frame
    frame = _frame_with_object(box)
    fill = (10.0, 200.0, 10.0)
    c = crop_views(frame, fill, box, {"search": _views()["search"]}, Jitter((0.0, 0.0), 1.0), 95, box)["search"]
    img = decode_jpeg_rgb(c["jpeg"])
    assert np.abs(img[3, 3].astype(int) - fill).max() < 8


def test_all_views_of_a_role_share_one_jitter():
    box = (300.0, 200.0, 80.0, 60.0)
    views = {"search": ViewConfig("search", 255, 1.5), "search_small": ViewConfig("search", 127, 1.5)}
    jitter = Jitter((64.0, 0.0), 1.0)
    crops = crop_views(_frame_with_object(box), (0, 0, 0), box, views, jitter, 90, box)
    big, small = crops["search"]["box_xyxy"], crops["search_small"]["box_xyxy"]
    # same relative position of the target in both views: the shift scales with the view size
    assert np.asarray(big) / 255 == pytest.approx(np.asarray(small) / 127, abs=1e-9)
    # same frame window: identical window_xyxy
    assert crops["search"]["window_xyxy"] == pytest.approx(crops["search_small"]["window_xyxy"])


def test_guide_box_noise_and_clipping():
    box = [100.0, 100.0, 140.0, 120.0]  # w 40, h 20
    assert noisy_guide_xyxy(box, (0, 0, 0, 0), 0.25, 255) == pytest.approx(box)
    moved = noisy_guide_xyxy(box, (1.0, -2.0, 0.0, 0.0), 0.25, 255)
    assert moved == pytest.approx([110.0, 90.0, 150.0, 110.0])  # centre += 0.25 * (40, 20) * (1, -2)
    grown = noisy_guide_xyxy(box, (0.0, 0.0, 1.0, 0.0), 0.5, 255)
    assert grown[2] - grown[0] == pytest.approx(40 * np.exp(0.5))
    clipped = noisy_guide_xyxy([240.0, 10.0, 300.0, 50.0], (0, 0, 0, 0), 0.25, 255)
    assert clipped == pytest.approx([240.0, 10.0, 255.0, 50.0])
    assert noisy_guide_xyxy([300.0, 300.0, 340.0, 340.0], (0, 0, 0, 0), 0.25, 255) is None


def test_search_guide_uses_the_previous_box_with_noise():
    box, prev = (300.0, 200.0, 80.0, 60.0), (290.0, 204.0, 80.0, 60.0)
    frame = _frame_with_object(box)
    noise = (0.5, -0.3, 0.2, -0.1)
    c = crop_views(frame, (0, 0, 0), box, {"search": _views()["search"]}, Jitter((0.0, 0.0), 1.0), 90, prev, noise, 0.25)["search"]
    prev_in_crop = frame_to_crop_xyxy([290, 204, 370, 264], c["window_xyxy"], 255)
    assert c["guide_xyxy"] == pytest.approx(noisy_guide_xyxy(prev_in_crop, noise, 0.25, 255))
    assert c["guide_xyxy"] != pytest.approx(list(prev_in_crop))


def _sequence(name, track="0", cls=""):
    video = VideoRef("vid", -1, "train", name, "/data")
    return Sequence(video, track, cls, (FrameRef("/data/0.JPEG"),), np.zeros((1, 4)))


def test_record_assembly_is_a_valid_schema_record_and_manifest_row():
    box = (300.0, 200.0, 80.0, 60.0)
    frame = _frame_with_object(box)
    views = _views()
    ex = crop_views(frame, (0, 0, 0), box, {"exemplar": views["exemplar"]}, Jitter((1.0, 2.0), 1.01), 90)
    se = crop_views(frame, (0, 0, 0), box, {"search": views["search"]}, Jitter((3.0, 4.0), 0.9), 90, box)
    plan = PairPlan("vid/train/s1/2/000", 0, 7, 1, 3, True, Jitter((0, 0), 1), Jitter((0, 0), 1), 6, (0, 0, 0, 0))
    rec = assemble_record(plan, _sequence("s1", "2", "zebra"), _sequence("s9", "0", "dog"), ex, se)
    assert schema.unpack(schema.pack(rec)) == rec
    assert (rec["sequence"], rec["track"], rec["class_name"], rec["chunk"]) == ("s1", "2", "zebra", -1)
    assert (rec["exemplar_sequence"], rec["exemplar_track"], rec["negative"]) == ("s9", "0", True)
    assert (rec["exemplar_frame"], rec["search_frame"], rec["distractors"]) == (3, 7, [])
    row = manifest_row(rec, "shard-00003", 1234, "search")
    assert [row[k] for k in ("x0", "y0", "x1", "y1")] == rec["crops"]["search"]["box_xyxy"]
    assert (row["shard"], row["bytes"], row["negative"], row["has_distractor"]) == ("shard-00003", 1234, True, False)
