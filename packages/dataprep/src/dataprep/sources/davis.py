"""DAVIS as training pairs, through :mod:`siamcore.datasets.davis`: ``ROOT/JPEGImages/480p/<seq>/%05d.jpg``
+ ``ROOT/Annotations/480p/<seq>/%05d.png``; the box is the mask's extent, an empty mask an absent
target. DAVIS-2016 binary masks give one sequence per video, DAVIS-2017 palette masks one per object
(``<seq>.<id>``). See :mod:`dataprep.sources.folders` for the adaptation."""

from __future__ import annotations

from pathlib import Path

from siamcore.datasets import davis as reader
from siamcore.datasets import list_davis, load_davis_video

from dataprep.sources import folders

NAME = "davis"


def _load_folder(root: Path, ref) -> list:
    return load_davis_video(root, ref.video)


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    return folders.list_videos(NAME, "DAVIS", list_davis, root, chunks, splits, sequences, exclude_sequences)


def load_video(video):
    return folders.load_video(list_davis, _load_folder, video)


SPEC = folders.folder_spec(
    name=NAME, title="DAVIS", root_default="data/DAVIS",
    help="JPEGImages/480p + Annotations/480p; box = mask extent",
    list_videos=list_videos, load_video=load_video, reader=reader,
)
