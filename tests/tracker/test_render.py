"""Rendering: H.264 mp4 that browsers play, compact GIFs that keep the drawing colours, the legend."""

from __future__ import annotations

import io

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from tracker.datasets import load_otb
from tracker.render import (
    BOX_COLOUR_RGB,
    GIF_MAX_BYTES,
    GIF_MAX_WIDTH_PX,
    GT_COLOUR_RGB,
    VideoSink,
    annotate,
    draw_box,
    encode_gif,
)


@pytest.fixture(scope="module")
def deer(shared_data):
    """OTB Deer: 71 real 704x400 frames with fast motion (hard to compress) and their ground truth."""
    seq = load_otb(shared_data / "otb", ["Deer"])[0]
    return [seq.frame(i) for i in range(len(seq))], seq.gt_xywh


def colour_count(image_rgb: np.ndarray, colour) -> int:
    return int(np.all(image_rgb == np.asarray(colour, np.uint8), axis=-1).sum())


def test_mp4_is_h264_yuv420p_with_even_sides(deer, tmp_path):
    """Browsers and chat tools play H.264 in yuv420p only, and yuv420p needs even sides: a 703x399
    frame is padded to 704x400, not rejected or rescaled."""
    frames, gt = deer
    path = tmp_path / "deer.mp4"
    sink = VideoSink(path, fps=25)
    for frame, box in zip(frames[:6], gt):
        sink.write(annotate(frame[:399, :703], box, 0.5))
    sink.close()
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (704, 400) and meta["fps"] == 25
    assert sum(1 for _ in reader) == 6
    assert not list(tmp_path.glob(".*partial*"))


def test_gif_of_a_real_sequence_is_small_scaled_and_keeps_box_and_legend_colours(deer, tmp_path):
    """All 71 Deer frames (704x400) fit the budget at 360 px wide without skipping; one global palette
    keeps the exact box colours, so the 2-px boxes and the legend's swatches survive quantisation."""
    frames, gt = deer
    path = tmp_path / "deer.gif"
    sink = VideoSink(path, fps=30)
    for frame, box in zip(frames, gt):
        sink.write(annotate(frame, box + [4, 4, 0, 0], 0.8, box, max_width_px=sink.max_width_px))
    sink.close()
    assert path.stat().st_size <= GIF_MAX_BYTES
    gif = Image.open(path)
    assert gif.size == (GIF_MAX_WIDTH_PX, 205) and gif.n_frames == 71 and sink.frame_step == 1
    gif.seek(40)
    shown = np.asarray(gif.convert("RGB"))
    legend = shown[:40, :120]
    assert colour_count(legend, BOX_COLOUR_RGB) > 40 and colour_count(legend, GT_COLOUR_RGB) > 40
    assert colour_count(shown[40:], BOX_COLOUR_RGB) > 100 and colour_count(shown[40:], GT_COLOUR_RGB) > 100


def test_gif_over_budget_keeps_every_nth_frame_at_the_same_speed(deer):
    """Frames are skipped only when the file would exceed the budget, and each kept frame is shown
    longer, so the clip lasts as long as the video."""
    frames = [annotate(f, b, None, max_width_px=GIF_MAX_WIDTH_PX) for f, b in zip(*deer)]
    full, step = encode_gif(frames, fps=25)
    assert step == 1
    budget = len(full) // 2
    data, step = encode_gif(frames, fps=25, max_bytes=budget)
    assert len(data) <= budget and step >= 2
    gif = Image.open(io.BytesIO(data))
    assert gif.n_frames == len(frames[::step])
    assert gif.info["duration"] == pytest.approx(1000 * step / 25, abs=10)


def test_legend_names_only_the_boxes_drawn(deer):
    frame = deer[0][0]
    box, gt = [300, 200, 50, 40], [310, 210, 50, 40]
    corner = (slice(0, 45), slice(0, 130))
    assert colour_count(frame[corner], BOX_COLOUR_RGB) == 0
    alone = annotate(frame, box, 0.5)
    both = annotate(frame, box, 0.5, gt)
    assert colour_count(alone[corner], BOX_COLOUR_RGB) > 40 and colour_count(alone[corner], GT_COLOUR_RGB) == 0
    assert colour_count(both[corner], GT_COLOUR_RGB) > 40
    assert np.array_equal(alone[300:], frame[300:])  # the legend stays in its corner


@pytest.mark.parametrize("box_xywh", [
    [1e12, 5, 1e13, 1e13],  # a diverged prediction: finite, beyond int32 (cv2.rectangle raised)
    [5, 5, 1e13, 1e13], [-1e13, -1e13, 2e13, 2e13], [5, 5, 1e300, 1e300],
    [np.nan, 5, 20, 20], [5, 5, np.inf, 20], [-np.inf, -np.inf, np.inf, np.inf],
    [20, 10, -15, 10], [20, 10, 0, 0], [-40, 10, 20, 20], [200, 10, 20, 20],
])
def test_draw_box_clips_wild_boxes_and_skips_undrawable_ones(box_xywh):
    """Any box, labelled or not, draws without an error, on the frame only, and only near its visible edges:
    a picture must never end a training run or a tracking session."""
    frame = np.full((80, 120, 3), 50, np.uint8)
    for label in (None, "0.93"):
        out = draw_box(frame, box_xywh, label=label)
        assert out.shape == frame.shape and np.array_equal(frame, np.full((80, 120, 3), 50, np.uint8))
        changed = np.flatnonzero(np.any(out != frame, axis=-1).any(axis=0))  # columns drawn in
        x = np.asarray(box_xywh, dtype=np.float64)
        if not np.isfinite(x).all() or x[2] <= 0 or x[3] <= 0 or x[0] >= 120 or x[0] + x[2] <= 0:
            assert not changed.size
        elif changed.size:
            assert changed.min() >= max(round(x[0]), 0) - 2  # nothing left of the box's left edge
    out = draw_box(frame, [5, 5, 1e13, 1e13])
    assert np.any(out[5:7, 60] != 50) and np.all(out[10:, 10:] == 50)  # top/left edges only: the rest is off the frame
