"""Processing: cut the crops of a planned pair from decoded frames and assemble the shard record.

Pure functions (no file I/O): frames in, JPEG bytes and record dicts out. Geometry is
:mod:`siamcore.crop` (the one crop), boxes are float xyxy in crop pixels (see
:mod:`siamcore.schema` for the record layout).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from siamcore.boxes import clip_xyxy, xywh_to_xyxy
from siamcore.crop import crop_square, frame_to_crop_xyxy, reduced_window_xyxy, window_for_box_xywh
from siamcore.schema import SCHEMA_VERSION

from dataprep.config import ViewConfig
from dataprep.pairs import Jitter, PairPlan


def encode_jpeg_rgb(image_rgb: np.ndarray, quality: int) -> bytes:
    """Standard JPEG of an RGB image (cv2 expects BGR, so standard decoders show the right colours)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - cv2 only fails on invalid arrays
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def decode_jpeg_rgb(data: bytes) -> np.ndarray | None:
    """RGB uint8 image of JPEG bytes, or None when they do not decode."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)


def _clip_to_crop_xyxy(box, size: int) -> list[float] | None:
    """Box clipped to the crop ``[0, size]^2``; None when nothing of positive area is left."""
    x0, y0, x1, y1 = (float(v) for v in clip_xyxy(box, size, size))
    return [x0, y0, x1, y1] if x1 > x0 and y1 > y0 else None


def noisy_guide_xyxy(box_xyxy, noise, sigma: float, size: int) -> list[float] | None:
    """The guide box: ``box_xyxy`` (crop px) with its centre moved by ``sigma x (w, h) x noise[:2]``
    and its size scaled by ``exp(sigma x noise[2:])``, clipped to the crop. Falls back to the
    clipped noise-free box, then to None, when the noisy box leaves the crop."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2 + sigma * w * noise[0]
    cy = (y0 + y1) / 2 + sigma * h * noise[1]
    w *= math.exp(sigma * noise[2])
    h *= math.exp(sigma * noise[3])
    noisy = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    return _clip_to_crop_xyxy(noisy, size) or _clip_to_crop_xyxy(box_xyxy, size)


def view_windows(box_xywh, views: dict[str, ViewConfig], jitter: Jitter) -> dict[str, np.ndarray]:
    """The crop window (frame px, xyxy) of each view around ``box_xywh`` under ``jitter``: what
    :func:`crop_views` cuts, and what the build decides a frame's decode reduction from before
    decoding it (so both always agree)."""
    return {
        name: window_for_box_xywh(box_xywh, v.view(), scale=jitter.scale, shift_px=jitter.shift_px(v.role, v.size))
        for name, v in views.items()
    }


def crop_views(
    frame_rgb: np.ndarray,
    fill: tuple[float, float, float],
    box_xywh,
    views: dict[str, ViewConfig],
    jitter: Jitter,
    jpeg_quality: int,
    guide_box_xywh=None,
    guide_noise=(0.0, 0.0, 0.0, 0.0),
    guide_sigma: float = 0.0,
    edit=None,
    reduction: int = 1,
    frame_wh=None,
) -> dict[str, dict]:
    """The crop maps of one role (``views`` all share ``jitter``) around ``box_xywh`` (frame px).

    Exemplar views (``guide_box_xywh`` None) guide with their own box; search views guide with
    ``guide_box_xywh`` (the previous frame's box) made noisy by :func:`noisy_guide_xyxy`.
    ``edit(view name, image, window_xyxy) -> image``, when given, changes each crop before encoding
    (distractor pasting, photometric change: :mod:`dataprep.search_extras`).

    ``frame_rgb`` may be the frame decoded at 1/``reduction`` (a reduced JPEG decode, then
    ``frame_wh`` is the full frame's (width, height)): windows, boxes and ``frame_wh`` stay in full
    frame pixels; only the pixels are taken from the reduced image, through the window scaled by 1/r.
    """
    frame_w, frame_h = frame_wh if frame_wh is not None else (frame_rgb.shape[1], frame_rgb.shape[0])
    box_xyxy = xywh_to_xyxy(np.asarray(box_xywh, dtype=np.float64))
    guide_xyxy = None if guide_box_xywh is None else xywh_to_xyxy(np.asarray(guide_box_xywh, dtype=np.float64))
    crops = {}
    windows = view_windows(box_xywh, views, jitter)
    for name, v in views.items():
        window = windows[name]
        image = crop_square(frame_rgb, window if reduction == 1 else reduced_window_xyxy(window, reduction), v.size,
                            fill=fill)
        if edit is not None:
            image = edit(name, image, window)
        box_in_crop = frame_to_crop_xyxy(box_xyxy, window, v.size)
        if guide_xyxy is None:
            guide = _clip_to_crop_xyxy(box_in_crop, v.size)
        else:
            guide = noisy_guide_xyxy(frame_to_crop_xyxy(guide_xyxy, window, v.size), guide_noise, guide_sigma, v.size)
        crops[name] = {
            "role": v.role,
            "size": int(v.size),
            "context": float(v.context),
            "extent": float(v.extent),
            "jpeg": encode_jpeg_rgb(image, jpeg_quality),
            "window_xyxy": [float(x) for x in window],
            "frame_wh": [int(frame_w), int(frame_h)],
            "box_xyxy": [float(x) for x in box_in_crop],
            "guide_xyxy": guide,
        }
    return crops


def assemble_record(plan: PairPlan, search_seq, exemplar_seq, exemplar_crops: dict, search_crops: dict) -> dict:
    """The shard record of a planned pair (``search_seq``/``exemplar_seq``: source ``Sequence``s)."""
    crops = {**exemplar_crops, **search_crops}
    return {
        "schema": SCHEMA_VERSION,
        "key": plan.key,
        "dataset": search_seq.video.dataset,
        "chunk": int(search_seq.video.chunk),
        "sequence": search_seq.video.name,
        "track": search_seq.track,
        "class_name": search_seq.class_name,
        "exemplar_sequence": exemplar_seq.video.name,
        "exemplar_track": exemplar_seq.track,
        "exemplar_frame": plan.exemplar_frame,
        "search_frame": plan.search_frame,
        "negative": plan.negative,
        "crops": {name: crops[name] for name in sorted(crops)},
        "distractors": [],
        "flags": [],
    }


def manifest_row(record: dict, shard: str, nbytes: int, search_view: str) -> dict:
    """One row of ``manifest/samples.parquet``; the box is the target in the ``search_view`` crop."""
    x0, y0, x1, y1 = record["crops"][search_view]["box_xyxy"]
    return {
        "shard": shard,
        "key": record["key"],
        "dataset": record["dataset"],
        "chunk": record["chunk"],
        "sequence": record["sequence"],
        "track": record["track"],
        "class_name": record["class_name"],
        "exemplar_sequence": record["exemplar_sequence"],
        "exemplar_track": record["exemplar_track"],
        "exemplar_frame": record["exemplar_frame"],
        "search_frame": record["search_frame"],
        "negative": record["negative"],
        "has_distractor": bool(record["distractors"]),
        "flags": ",".join(record["flags"]),
        "x0": x0,
        "y0": y0,
        "x1": x1,
        "y1": y1,
        "bytes": nbytes,
    }
