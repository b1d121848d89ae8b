"""Dataset readers: ``get_source("trackingnet" | "vid" | "coco")`` returns a module with ``NAME``,
``list_videos(root, chunks=None, splits=None)`` and ``load_video(video)`` (see ``base``)."""

from __future__ import annotations

from types import ModuleType

from dataprep.sources import coco, trackingnet, vid
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

SOURCES: dict[str, ModuleType] = {trackingnet.NAME: trackingnet, vid.NAME: vid, coco.NAME: coco}

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
