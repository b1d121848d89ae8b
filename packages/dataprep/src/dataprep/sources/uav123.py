"""UAV123 as training pairs, through :mod:`siamcore.datasets.uav123` (the reader ``tracker eval`` uses):
``ROOT/data_seq/UAV123/<folder>/%06d.jpg`` + ``ROOT/anno/UAV123/<seq>.txt``. Sub-sequences (``bird1_1``,
``bird1_2``, ...) are frame ranges of one folder, from the official toolkit's table; ``NaN`` rows
(target out of view) are never used. See :mod:`dataprep.sources.folders` for the adaptation; a frame
index in the shards is a position in the sub-sequence's frames (``bird1_2`` index 0 is ``000775.jpg``)."""

from __future__ import annotations

from pathlib import Path

from siamcore.datasets import uav123 as reader
from siamcore.datasets import list_uav123, load_uav123_sequence

from dataprep.sources import folders

NAME = "uav123"


def _load_folder(root: Path, ref) -> list:
    return [load_uav123_sequence(root, ref.name)]


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    return folders.list_videos(NAME, "UAV123", list_uav123, root, chunks, splits, sequences, exclude_sequences)


def load_video(video):
    return folders.load_video(list_uav123, _load_folder, video)


SPEC = folders.folder_spec(
    name=NAME, title="UAV123", root_default="data/UAV123",
    help="anno/UAV123/<seq>.txt + data_seq/UAV123/<folder>/; sub-sequences are frame ranges",
    list_videos=list_videos, load_video=load_video, reader=reader,
)
