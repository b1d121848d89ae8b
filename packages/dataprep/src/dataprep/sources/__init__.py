"""Dataset readers: ``get_source("trackingnet" | "vid" | "coco" | "otb" | "vot" | "davis" | "tlp")`` returns
a module with ``NAME``, ``list_videos(root, chunks=None, splits=None)`` and ``load_video(video)`` (see
``base``). TrackingNet, VID and the sequence-folder datasets (otb, vot, davis, tlp) read through the
shared readers of :mod:`siamcore.datasets` (the modules here only adapt: selection, skips); the
sequence-folder ones (see ``folders``) also take ``sequences`` / ``exclude_sequences`` in ``list_videos``."""

from __future__ import annotations

from types import ModuleType

from dataprep.sources import coco, davis, otb, tlp, trackingnet, vid, vot
from dataprep.sources import det, uav123
from dataprep.sources import got10k, lasot
from dataprep.sources.base import (
    REASONS,
    FrameError,
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    decode_jpeg,
    parse_chunks,
    read_frame,
    read_frame_bytes,
)

SOURCES: dict[str, ModuleType] = {
    m.NAME: m for m in (trackingnet, vid, coco, otb, vot, davis, tlp)
}
SOURCES.update({m.NAME: m for m in (det, uav123)})
SOURCES.update({m.NAME: m for m in (got10k, lasot)})

__all__ = [
    "REASONS", "SOURCES", "FrameError", "FrameRef", "Sequence", "Skip", "SourceError", "VideoRef",
    "decode_jpeg", "get_source", "parse_chunks", "read_frame", "read_frame_bytes",
]


def get_source(name: str) -> ModuleType:
    """The reader module for a dataset name; ValueError listing the known names otherwise."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}: choose from {sorted(SOURCES)}") from None
