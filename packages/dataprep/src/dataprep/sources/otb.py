"""OTB-2013/2015 as training pairs, through :mod:`siamcore.datasets.otb` (the reader ``tracker eval``
uses): ``ROOT/<Seq>/img/0001.jpg`` + ``ROOT/<Seq>/groundtruth_rect.txt`` (or ``ROOT`` one such folder);
an ``OTB2015.json`` in ``ROOT`` decides the frame ranges. Two-target folders give ``Jogging.1`` and
``Jogging.2``. See :mod:`dataprep.sources.folders` for the adaptation; use ``--exclude-sequences`` to
keep the sequences you evaluate on out of training data."""

from __future__ import annotations

from pathlib import Path

from siamcore.datasets import otb as reader
from siamcore.datasets import list_otb, load_meta, load_otb_folder

from dataprep.sources import folders

NAME = "otb"


def _load_folder(root: Path, ref) -> list:
    return load_otb_folder(ref.folder, load_meta(root))


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    return folders.list_videos(NAME, "OTB", list_otb, root, chunks, splits, sequences, exclude_sequences)


def load_video(video):
    return folders.load_video(list_otb, _load_folder, video)


SPEC = folders.folder_spec(
    name=NAME, title="OTB", root_default="data/otb",
    help="<Seq>/img + groundtruth_rect.txt",
    list_videos=list_videos, load_video=load_video, reader=reader,
)
