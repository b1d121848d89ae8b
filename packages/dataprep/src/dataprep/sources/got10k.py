"""GOT-10k as training pairs, through :mod:`siamcore.datasets.got10k` (the reader ``tracker eval``
uses): ``ROOT/{train,val,test}/list.txt`` + ``ROOT/<split>/GOT-10k_Train_000001/00000001.jpg`` +
``groundtruth.txt``; ``absence.label`` and cover 0 (fully occluded) frames are never used. ``--split``
chooses train (the default), val or test; the test split's sequences carry the first box only and are
skipped (recorded). See :mod:`dataprep.sources.folders` for the adaptation."""

from __future__ import annotations

from pathlib import Path

from siamcore.datasets import got10k as reader
from siamcore.datasets import got10k_split_of, list_got10k, load_got10k_sequence

from dataprep.sources import folders

NAME = "got10k"


def _list_all(root: Path) -> list:
    return list_got10k(root)  # every split: sequence names are unique across splits


def _load_folder(root: Path, ref) -> list:
    return [load_got10k_sequence(ref.folder)]


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    return folders.list_split_videos(NAME, "GOT-10k", list_got10k, got10k_split_of, root, chunks, splits,
                                     sequences, exclude_sequences)


def load_video(video):
    return folders.load_video(_list_all, _load_folder, video)


SPEC = folders.folder_spec(
    name=NAME, title="GOT-10k", root_default="data/GOT-10k",
    help="<split>/list.txt + <split>/<seq>/groundtruth.txt; --split train, val or test",
    list_videos=list_videos, load_video=load_video, reader=reader,
    splits=("train", "val", "test"), defaults={"splits": ["train"]},
)
