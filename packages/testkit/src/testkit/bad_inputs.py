"""Broken inputs for the bad-input tests: JPEG forgers and what each injected case must produce.

The layout writers (:func:`testkit.trackingnet.write_trackingnet_bad`, :func:`testkit.vid.write_vid_bad`,
:func:`testkit.coco.write_coco_bad`) use these to damage one file per case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BadInput:
    """One injected broken input and what a reader/build must make of it.

    ``stage``: "list" (a Skip from ``list_videos``), "load" (a Skip from ``load_video``) or
    "read" (``read_frame`` raises FrameError with ``reason`` on ``frames``).
    """

    uid: str
    reason: str
    stage: str
    frames: tuple[int, ...] = ()


def corrupt_jpeg_bytes(data: bytes, seed: int = 0) -> bytes:
    """A start-of-image marker followed by random bytes (half the original length): not decodable."""
    rng = np.random.default_rng(seed)
    return b"\xff\xd8" + rng.integers(0, 256, max(len(data) // 2, 64), dtype=np.uint8).tobytes()


def truncate_jpeg_bytes(data: bytes) -> bytes:
    """The first 60% of a JPEG (OpenCV 4.x still decodes it, grey bottom and a warning only)."""
    return data[: int(len(data) * 0.6)]


def forge_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its start-of-frame header claiming ``width`` x ``height``: a complete file
    that OpenCV decodes to that size anyway, filling what the data lacks with grey."""
    i = 2
    while data[i + 1] not in (0xC0, 0xC1, 0xC2):  # walk the segments to the frame header
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return data[: i + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[i + 9 :]

