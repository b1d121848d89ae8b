"""LaSOT as training pairs, through :mod:`siamcore.datasets.lasot`: ``ROOT/<class>/<class>-<n>/img/%08d.jpg``
+ ``groundtruth.txt`` (1-based, as OTB), fully occluded / out-of-view frames never used, the class is the
folder's. ``--split`` train (the default) or test selects by the lists ``ROOT/training_set.txt`` /
``ROOT/testing_set.txt``, else by the official ones shipped with siamcore (the sequences of them that
are in ROOT: LaSOT is downloaded class by class). See
:mod:`dataprep.sources.folders` for the adaptation."""

from __future__ import annotations

from pathlib import Path

from siamcore.datasets import lasot as reader
from siamcore.datasets import list_lasot, load_lasot_sequence

from dataprep.sources import folders

NAME = "lasot"


def _list_all(root: Path) -> list:
    return list_lasot(root)


def _load_folder(root: Path, ref) -> list:
    return [load_lasot_sequence(ref.folder)]


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    return folders.list_split_videos(NAME, "LaSOT", list_lasot, lambda ref: "all", root, chunks, splits,
                                     sequences, exclude_sequences)


def load_video(video):
    return folders.load_video(_list_all, _load_folder, video)


SPEC = folders.folder_spec(
    name=NAME, title="LaSOT", root_default="data/LaSOT",
    help="<class>/<class>-<n>/img + groundtruth.txt; --split train or test",
    list_videos=list_videos, load_video=load_video, reader=reader,
    splits=("train", "test"), defaults={"splits": ["train"]},  # never the test split unless asked
)
