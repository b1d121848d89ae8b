"""Chunk specs, frame reading (files, zips, corrupt/truncated JPEGs), JPEG header parsing, registry."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest

from dataprep.sources import FrameError, FrameRef, get_source, parse_chunks, read_frame, trackingnet, vid
from dataprep.sources.base import format_indices, invalidate_boxes
from dataprep.sources.frames import jpeg_is_complete, jpeg_min_bytes, jpeg_size_wh

from testkit.bad_inputs import corrupt_jpeg_bytes, forge_jpeg_size, truncate_jpeg_bytes
from testkit.scene import encode_jpeg


@pytest.mark.parametrize(
    "spec, chunks",
    [("0-5", [0, 1, 2, 3, 4, 5]), ("0,2,4-5", [0, 2, 4, 5]), (" 3 ", [3]), ("5,1,1-2", [1, 2, 5]),
     ("11", [11]), ("0-11", list(range(12))), (7, [7]), ([2, 0], [0, 2])],
)
def test_parse_chunks_good(spec, chunks):
    assert parse_chunks(spec) == chunks


@pytest.mark.parametrize(
    "spec, message",
    [("", "empty"), ("12", "0..11"), ("0-12", "0..11"), ("5-4", "backwards"), ("a", "not a number"),
     ("1,,2", "not a number"), ("-1", "not a number"), ("1-2-3", "not a number")],
)
def test_parse_chunks_bad(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_chunks(spec)


def test_registry():
    assert get_source("trackingnet") is trackingnet.SPEC
    assert get_source("vid") is vid.SPEC
    with pytest.raises(ValueError, match="trackingnet"):
        get_source("no-such-dataset")


def _jpeg(w=64, h=48, seed=0) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return encode_jpeg(rgb)


def test_read_frame_file_is_rgb(tmp_path):
    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[..., 0] = 250  # pure red
    (tmp_path / "f.jpg").write_bytes(encode_jpeg(rgb, quality=95))
    img = read_frame(FrameRef(str(tmp_path / "f.jpg")))
    assert img.shape == (40, 50, 3) and img.dtype == np.uint8
    assert img[..., 0].mean() > 240 and img[..., 2].mean() < 15


def test_read_frame_zip_member_and_errors(tmp_path):
    data = _jpeg()
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as zf:
        zf.writestr("s/0.jpg", data)
    assert read_frame(FrameRef(str(tmp_path / "s.zip"), "s/0.jpg")).shape == (48, 64, 3)
    with pytest.raises(FrameError) as e:
        read_frame(FrameRef(str(tmp_path / "s.zip"), "s/1.jpg"))
    assert e.value.reason == "missing_frame"
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(FrameError) as e:
        read_frame(FrameRef(str(tmp_path / "bad.zip"), "0.jpg"))
    assert e.value.reason == "bad_zip"
    with pytest.raises(FrameError) as e:
        read_frame(FrameRef(str(tmp_path / "nope.jpg")))
    assert e.value.reason == "missing_frame" and "nope.jpg" in str(e.value)


def test_truncated_jpeg_is_rejected(tmp_path):
    """OpenCV 4.x decodes a truncated JPEG partially (warning only); 5.x refuses it: rejected either way."""
    truncated = truncate_jpeg_bytes(_jpeg(160, 120))
    assert not jpeg_is_complete(truncated)
    assert not jpeg_is_complete(_jpeg()[:-2])  # only the end-of-image marker missing
    assert jpeg_is_complete(_jpeg())
    (tmp_path / "t.jpg").write_bytes(truncated)
    with pytest.raises(FrameError) as e:
        read_frame(FrameRef(str(tmp_path / "t.jpg")))
    assert e.value.reason == "corrupt_jpeg"


def test_corrupt_and_non_jpeg_rejected(tmp_path):
    for i, data in enumerate([corrupt_jpeg_bytes(_jpeg(), seed=3), b"", b"GIF89a....", _jpeg()[:200]]):
        (tmp_path / f"{i}.jpg").write_bytes(data)
        with pytest.raises(FrameError) as e:
            read_frame(FrameRef(str(tmp_path / f"{i}.jpg")))
        assert e.value.reason == "corrupt_jpeg"


def test_complete_jpeg_with_trailing_bytes_is_accepted(tmp_path):
    (tmp_path / "x.jpg").write_bytes(_jpeg() + b"\x00" * 16)
    assert read_frame(FrameRef(str(tmp_path / "x.jpg"))).shape == (48, 64, 3)


def test_frame_over_the_pixel_limit_is_refused_from_its_header(tmp_path, shared_data):
    path = tmp_path / "f.jpg"
    path.write_bytes((shared_data / "otb" / "Couple" / "img" / "0001.jpg").read_bytes())  # 320x240
    assert read_frame(FrameRef(str(path)), max_pixels=320 * 240).shape == (240, 320, 3)
    with pytest.raises(FrameError) as e:
        read_frame(FrameRef(str(path)), max_pixels=320 * 240 - 1)
    assert e.value.reason == "frame_too_large" and "320x240" in str(e.value) and "max_frame_pixels" in str(e.value)
    with pytest.raises(FrameError) as e:
        read_frame(FrameRef(str(path)), max_bytes=path.stat().st_size - 1)
    assert e.value.reason == "frame_too_large" and "max_frame_bytes" in str(e.value)


def test_forged_header_that_the_data_cannot_fill_is_corrupt(tmp_path, shared_data):
    """OpenCV decodes a 19 KB file whose header says 4000x3000 into 12 Mpx of grey: refused as corrupt.
    The bound (one bit per 8x8 block) holds for every real frame, even a flat black progressive 4K one."""
    real = (shared_data / "otb" / "Couple" / "img" / "0001.jpg").read_bytes()
    (tmp_path / "forged.jpg").write_bytes(forge_jpeg_size(real, 4000, 3000))
    with pytest.raises(FrameError) as e:
        read_frame(FrameRef(str(tmp_path / "forged.jpg")))
    assert e.value.reason == "corrupt_jpeg" and "4000x3000" in str(e.value)
    flat = cv2.imencode(".jpg", np.zeros((2160, 3840, 3), np.uint8),
                        [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_OPTIMIZE, 1])[1].tobytes()
    (tmp_path / "flat.jpg").write_bytes(flat)
    assert read_frame(FrameRef(str(tmp_path / "flat.jpg"))).shape == (2160, 3840, 3)
    real_files = sorted((shared_data / "coco128" / "train2017").glob("*.jpg"))
    real_files += [shared_data / "vot" / "bag" / "00000001.jpg", shared_data / "otb" / "Girl" / "img" / "0001.jpg"]
    for f in real_files:
        data = f.read_bytes()
        assert 0 < jpeg_min_bytes(data) <= len(data), f


def test_jpeg_size_from_header(shared_data):
    assert jpeg_size_wh(_jpeg(64, 48)) == (64, 48)
    assert jpeg_size_wh((shared_data / "vot" / "bag" / "00000001.jpg").read_bytes()) == (480, 360)
    assert jpeg_size_wh((shared_data / "otb" / "Couple" / "img" / "0001.jpg").read_bytes()) == (320, 240)
    assert jpeg_size_wh(b"not a jpeg") is None
    assert jpeg_size_wh(b"\xff\xd8\xff\xe0\x00") is None


def test_invalidate_boxes():
    boxes = np.array([[1, 1, 5, 5], [np.nan] * 4, [0, 0, 0, 5], [0, 0, 5, -1], [np.nan, 0, 5, 5], [200, 0, 5, 5],
                      [-10, -10, 10, 5], [-10, -10, 10.5, 10.5]], dtype=float)
    skips = invalidate_boxes(boxes, [(100, 50)] * len(boxes), "u")
    assert {s.reason for s in skips} == {"invalid_box", "box_outside_frame"}
    assert [s.detail.split(": ")[-1] for s in skips] == ["2-4", "5-6"]
    assert np.isnan(boxes[1:7]).all() and not np.isnan(boxes[[0, 7]]).any()


def test_format_indices():
    assert format_indices([5, 0, 1, 2, 9, 10]) == "0-2,5,9-10"
    assert format_indices(range(0, 100, 2)).endswith(",...")
