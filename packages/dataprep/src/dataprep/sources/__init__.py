"""Dataset readers: ``get_source(name)`` (a name of :data:`SOURCES`, the dataset registry of
:mod:`dataprep.sources.registry`) returns the dataset's :class:`~dataprep.sources.spec.DatasetSpec`, with
``name``, ``list_videos(root, chunks=None, splits=None)`` and ``load_video(video)`` (see ``base``). Every
one reads through the shared readers of :mod:`siamcore.datasets` (the modules here only adapt:
selection, skips); the sequence-folder ones (see ``folders``) also take ``sequences`` /
``exclude_sequences`` in ``list_videos``."""

from __future__ import annotations

from dataprep.sources.base import (
    REASONS,
    FrameError,
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    parse_chunks,
)
from dataprep.sources.frames import DecodedFrame, decode_jpeg, read_frame, read_frame_bytes, read_frame_reduced
from dataprep.sources.registry import SPECS as SOURCES
from dataprep.sources.registry import get_spec as get_source

__all__ = [
    "REASONS", "SOURCES", "FrameError", "FrameRef", "Sequence", "Skip", "SourceError", "VideoRef",
    "decode_jpeg", "get_source", "parse_chunks", "read_frame", "read_frame_bytes",
    "DecodedFrame", "read_frame_reduced",
]
