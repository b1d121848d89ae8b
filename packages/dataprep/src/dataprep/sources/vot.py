"""VOT as training pairs, through :mod:`siamcore.datasets.vot` (a single sequence folder with frames
beside ``groundtruth.txt``, or the vot-toolkit layout ``ROOT/list.txt``, ``ROOT/<seq>/color/%08d.jpg``,
``ROOT/<seq>/groundtruth.txt``); polygons become boxes by ``polygon_mode`` (the build's
``vot.polygon_mode``: ``bounding`` or ``area``, see :func:`siamcore.datasets.polygon_to_xywh`). See
:mod:`dataprep.sources.folders` for the adaptation."""

from __future__ import annotations

import functools
from pathlib import Path

from siamcore.datasets import vot as reader
from siamcore.datasets import list_vot, load_vot_sequence

from dataprep.sources import folders

NAME = "vot"


def _load_folder(root: Path, ref, polygon_mode: str = "bounding") -> list:
    return [load_vot_sequence(ref.folder, polygon_mode)]


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    return folders.list_videos(NAME, "VOT", list_vot, root, chunks, splits, sequences, exclude_sequences)


def load_video(video, polygon_mode: str = "bounding"):
    return folders.load_video(list_vot, functools.partial(_load_folder, polygon_mode=polygon_mode), video)


def load_options(cfg) -> dict:
    """How polygons become boxes (``vot.polygon_mode``)."""
    return {"polygon_mode": cfg.vot.polygon_mode}


SPEC = folders.folder_spec(
    name=NAME, title="VOT", root_default="data/vot",
    help="<seq>/ with groundtruth.txt, or list.txt + <seq>/color/",
    list_videos=list_videos, load_video=load_video, reader=reader, load_options=load_options,
)
