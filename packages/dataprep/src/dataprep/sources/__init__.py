"""Dataset readers: ``get_source(name)`` (a name of :data:`SOURCES`: trackingnet, vid, coco, det, got10k,
lasot, uav123, otb, vot, davis, tlp, mot17) returns a module with ``NAME``, ``list_videos(root, chunks=None,
splits=None)`` and ``load_video(video)`` (see ``base``). Every one reads through the shared readers of
:mod:`siamcore.datasets` (the modules here only adapt: selection, skips); the sequence-folder ones (see
``folders``) also take ``sequences`` / ``exclude_sequences`` in ``list_videos``."""

from __future__ import annotations

from types import ModuleType

from dataprep.sources import coco, davis, det, got10k, lasot, mot17, otb, tlp, trackingnet, uav123, vid, vot
from dataprep.sources.base import (
    REASONS,
    FrameError,
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    DecodedFrame,
    VideoRef,
    decode_jpeg,
    parse_chunks,
    read_frame,
    read_frame_bytes,
    read_frame_reduced,
)

SOURCES: dict[str, ModuleType] = {
    m.NAME: m for m in (trackingnet, vid, coco, det, got10k, lasot, uav123, otb, vot, davis, tlp, mot17)
}

__all__ = [
    "REASONS", "SOURCES", "FrameError", "FrameRef", "Sequence", "Skip", "SourceError", "VideoRef",
    "decode_jpeg", "get_source", "parse_chunks", "read_frame", "read_frame_bytes",
    "DecodedFrame", "read_frame_reduced",
]


def get_source(name: str) -> ModuleType:
    """The reader module for a dataset name; ValueError listing the known names otherwise."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}: choose from {sorted(SOURCES)}") from None
