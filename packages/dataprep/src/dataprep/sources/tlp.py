"""TLP / TinyTLP as training pairs, through :mod:`siamcore.datasets.tlp`: ``ROOT/<seq>/img/%05d.jpg`` +
``ROOT/<seq>/groundtruth_rect.txt`` (``frame,x,y,w,h,absent``, read as OTB's 1-based coordinates);
absent frames are never used. See :mod:`dataprep.sources.folders` for the adaptation."""

from __future__ import annotations

from pathlib import Path

from siamcore.datasets import tlp as reader
from siamcore.datasets import list_tlp, load_tlp_sequence

from dataprep.sources import folders

NAME = "tlp"


def _load_folder(root: Path, ref) -> list:
    return [load_tlp_sequence(ref.folder)]


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    return folders.list_videos(NAME, "TLP", list_tlp, root, chunks, splits, sequences, exclude_sequences)


def load_video(video):
    return folders.load_video(list_tlp, _load_folder, video)


SPEC = folders.folder_spec(
    name=NAME, title="TLP", root_default="data/TLP",
    help="<seq>/img + groundtruth_rect.txt with an absent column",
    list_videos=list_videos, load_video=load_video, reader=reader,
)
