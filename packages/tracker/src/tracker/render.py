"""Draw tracked boxes, their confidence and a legend on frames, and write the frames as a video.

``.mp4`` is H.264 in yuv420p (the video most browsers and chat tools play) and ``.avi`` MJPEG, both
encoded by the ffmpeg that the imageio-ffmpeg wheel ships; ``.gif`` is written by Pillow and kept
small for sharing: at most ``GIF_MAX_WIDTH_PX`` wide, one palette for all frames, and frames skipped
only when the file would exceed ``GIF_MAX_BYTES``. Files are written to a temp name, renamed when complete.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from siamcore.boxes import xywh_to_xyxy
from siamcore.draw import draw_rect_xyxy

BOX_COLOUR_RGB = (255, 40, 40)
GT_COLOUR_RGB = (40, 220, 40)
TEXT_COLOUR_RGB = (255, 255, 255)
# suffix -> (ffmpeg encoder, pixel format, encoder options); +faststart lets browsers play while loading
VIDEO_CODECS = {
    ".mp4": ("libx264", "yuv420p", ["-crf", "23", "-preset", "medium", "-movflags", "+faststart"]),
    ".avi": ("mjpeg", "yuvj420p", ["-q:v", "3"]),
}
GIF_MAX_WIDTH_PX = 360  # GIF frames are drawn at this width, so thin boxes and text stay sharp
GIF_COLOURS = 64  # far smaller files than 256; the drawing colours are always among them
GIF_MAX_BYTES = 3_000_000  # above this every 2nd (3rd, ...) frame is kept, at the same playback speed


def draw_box(frame_rgb: np.ndarray, box_xywh, colour=BOX_COLOUR_RGB, label: str | None = None,
             thickness: int = 2) -> np.ndarray:
    """A copy of ``frame_rgb`` with ``box_xywh`` drawn, and an optional label in white on a tab of the
    box's colour above it (coloured text alone is unreadable on busy backgrounds). A box that cannot be
    drawn (NaN, inf, no pixel in the frame) draws nothing; one running off the frame is clipped
    (:mod:`siamcore.draw`)."""
    out = frame_rgb.copy()
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, 1e308 + 1e308: skipped when drawn
        box_xyxy = xywh_to_xyxy(np.asarray(box_xywh, dtype=np.float64))
    drawn = draw_rect_xyxy(out, box_xyxy, colour, thickness, cv2.LINE_AA)
    if drawn and label:
        x0, y0 = drawn[:2]
        font_scale, text_thickness = text_style(out)
        (text_w, text_h), baseline = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_thickness)
        top = max(y0 - text_h - baseline - 2, 0)
        draw_rect_xyxy(out, (x0, top, x0 + text_w + 4, top + text_h + baseline + 2), colour, cv2.FILLED)
        cv2.putText(out, label, (x0 + 2, top + text_h + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    TEXT_COLOUR_RGB, text_thickness, cv2.LINE_AA)
    return out


def text_style(frame_rgb: np.ndarray) -> tuple[float, int]:
    """OpenCV font scale and thickness for labels that grow with the frame: readable on a 360 px GIF
    and on a 1080p video alike."""
    font_scale = max(0.4, min(frame_rgb.shape[:2]) / 700)
    return font_scale, 1 if font_scale < 0.8 else 2


def draw_legend(frame_rgb: np.ndarray, entries: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    """A copy of ``frame_rgb`` with a legend in its top-left corner: one exact-colour swatch and name per
    entry on a darkened panel, so a viewer knows which box is the prediction and which the ground truth."""
    out = frame_rgb.copy()
    font_scale, thickness = text_style(out)
    (_, text_h), baseline = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
    pad, row_h = max(3, text_h // 2), text_h + baseline + max(3, text_h // 2)
    swatch = text_h + baseline
    widths = [cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0] for name, _ in entries]
    x1 = min(out.shape[1], 2 * pad + swatch + pad + max(widths))
    y1 = min(out.shape[0], pad + row_h * len(entries))
    out[:y1, :x1] = out[:y1, :x1] // 3  # darken: light text and colours stay readable on any background
    for i, (name, colour) in enumerate(entries):
        top = pad + i * row_h
        draw_rect_xyxy(out, (pad, top, pad + swatch, top + swatch), colour, cv2.FILLED)
        cv2.putText(out, name, (2 * pad + swatch, top + text_h), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    TEXT_COLOUR_RGB, thickness, cv2.LINE_AA)
    return out


def annotate(frame_rgb: np.ndarray, box_xywh, score: float | None = None, gt_xywh=None,
             max_width_px: int | None = None) -> np.ndarray:
    """The frame as ``tracker run`` renders it: scaled down first when wider than ``max_width_px`` (a GIF
    is drawn at its final size, so lines and text are not blurred by a later resize), the ground truth
    when ``gt_xywh`` is given (a NaN box, for a frame without one, draws nothing), the prediction
    labelled with the tracker's confidence, and a legend of the boxes shown."""
    scale = 1.0
    h, w = frame_rgb.shape[:2]
    if max_width_px and w > max_width_px:
        scale = max_width_px / w
        frame_rgb = cv2.resize(frame_rgb, (max_width_px, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    thickness = max(2, round(min(frame_rgb.shape[:2]) / 300))
    entries = [("prediction", BOX_COLOUR_RGB)]
    if gt_xywh is not None:
        frame_rgb = draw_box(frame_rgb, np.asarray(gt_xywh, dtype=np.float64) * scale, GT_COLOUR_RGB,
                             thickness=thickness)
        entries.append(("ground truth", GT_COLOUR_RGB))
    label = None if score is None else f"{score:.2f}"
    out = draw_box(frame_rgb, np.asarray(box_xywh, dtype=np.float64) * scale, BOX_COLOUR_RGB, label=label,
                   thickness=thickness)
    return draw_legend(out, entries)


def gif_palette(frames_rgb: list[np.ndarray], colours: int = GIF_COLOURS) -> Image.Image:
    """One palette for the whole GIF: median cut over up to 16 frames spread through the video, plus the
    drawing colours exactly. Per-frame palettes flicker, cost a colour table per frame, and can lose a
    thin box's colour (a 1-px green box becomes grey)."""
    fixed = (BOX_COLOUR_RGB, GT_COLOUR_RGB, TEXT_COLOUR_RGB, (0, 0, 0))
    sample = frames_rgb[:: max(1, math.ceil(len(frames_rgb) / 16))]
    width = min(f.shape[1] for f in sample)
    mosaic = Image.fromarray(np.concatenate([f[:, :width] for f in sample], axis=0))
    learnt = mosaic.quantize(colors=colours - len(fixed), method=Image.Quantize.MEDIANCUT).getpalette()
    palette = Image.new("P", (1, 1))
    palette.putpalette(learnt[: 3 * (colours - len(fixed))] + [c for rgb in fixed for c in rgb])
    return palette


def encode_gif(frames_rgb: list[np.ndarray], fps: float, max_bytes: int = GIF_MAX_BYTES) -> tuple[bytes, int]:
    """The GIF bytes and the frame step used: all frames when the file fits in ``max_bytes``, else every
    ``step``-th frame shown ``step`` times longer (the clip keeps its duration). Sizes scale with the
    frame count, so the first step tried is the size ratio; GIF delays are whole 1/100 s."""
    palette = gif_palette(frames_rgb)
    step = 1
    while True:
        kept = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames_rgb[::step]]
        buf = io.BytesIO()
        kept[0].save(buf, format="GIF", save_all=True, append_images=kept[1:], loop=0, optimize=True,
                     duration=max(20, round(100 * step / fps) * 10))
        if buf.tell() <= max_bytes or len(kept) <= 2:
            return buf.getvalue(), step
        step = max(step + 1, math.ceil(step * buf.tell() / max_bytes))


class VideoSink:
    """Takes RGB frames one at a time and writes ``path`` (mp4/avi/gif by suffix) on :meth:`close`.

    Videos stream to an ffmpeg process; yuv420p needs even sides, so odd frames get one edge row or
    column repeated. GIF frames are kept (at most ``max_width_px`` wide; give that width to
    :func:`annotate`) until :meth:`close`, which needs them all for the palette and the size budget:
    a GIF is for short clips. ``frame_step`` is the GIF's frame step once written.
    """

    def __init__(self, path: Path, fps: float = 30.0):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_CODECS and suffix != ".gif":
            raise ValueError(f"--render must end in .mp4, .avi or .gif, got {self.path.name}")
        self.is_gif = suffix == ".gif"
        self.max_width_px = GIF_MAX_WIDTH_PX if self.is_gif else None
        self.fps = fps if fps and fps > 0 else 30.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{suffix}")
        self._writer = None
        self._size: tuple[int, int] | None = None
        self._gif_frames: list[np.ndarray] = []
        self.count = 0
        self.frame_step = 1

    def write(self, frame_rgb: np.ndarray) -> None:
        self.count += 1
        if self.is_gif:
            h, w = frame_rgb.shape[:2]
            if w > GIF_MAX_WIDTH_PX:
                frame_rgb = cv2.resize(frame_rgb, (GIF_MAX_WIDTH_PX, max(1, round(h * GIF_MAX_WIDTH_PX / w))),
                                       interpolation=cv2.INTER_AREA)
            self._gif_frames.append(np.ascontiguousarray(frame_rgb))
            return
        h, w = frame_rgb.shape[:2]
        if self._writer is None:
            self._open_video(w + w % 2, h + h % 2)
        if (w + w % 2, h + h % 2) != self._size:
            raise ValueError(f"frame {self.count} is {w}x{h}, the video's first frame was {self._size}")
        if w % 2 or h % 2:
            frame_rgb = np.pad(frame_rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        try:
            self._writer.send(np.ascontiguousarray(frame_rgb))
        except OSError as e:
            raise RuntimeError(f"ffmpeg could not write {self.path}: {e}") from e

    def _open_video(self, width: int, height: int) -> None:
        import imageio_ffmpeg

        codec, pix_fmt, options = VIDEO_CODECS[self.path.suffix.lower()]
        self._size = (width, height)
        self._writer = imageio_ffmpeg.write_frames(
            str(self.tmp), (width, height), fps=self.fps, codec=codec, pix_fmt_out=pix_fmt, quality=None,
            macro_block_size=1, output_params=options, ffmpeg_log_level="error")
        self._writer.send(None)  # starts ffmpeg

    def close(self) -> Path:
        if self.is_gif:
            if not self._gif_frames:
                raise ValueError("no frames to render")
            data, self.frame_step = encode_gif(self._gif_frames, self.fps)
            self.tmp.write_bytes(data)
            self._gif_frames = []
        else:
            if self._writer is None:
                raise ValueError("no frames to render")
            self._writer.close()
            self._writer = None
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._gif_frames = []
        Path(self.tmp).unlink(missing_ok=True)
