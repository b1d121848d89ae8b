"""MOT17 pedestrian tracks as training pairs, through :mod:`siamcore.datasets.mot17`:
``ROOT/train/MOT17-02-FRCNN/{img1/%06d.jpg, seqinfo.ini, gt/gt.txt}``, one variant folder per video
(``-FRCNN`` preferred: the three detector variants share images and ground truth).

- A listing unit is one pedestrian track, named ``<video>.<id>`` (``MOT17-02.1``); a video name
  (``MOT17-02``) selects or excludes all its tracks. A frame index in the shards is a position in the
  video's frames (image ``000001.jpg`` is index 0).
- Frames where the id is not annotated, rows the dataset ignores (``consider`` 0, a class other than
  pedestrian) and rows less visible than ``min_visibility`` (the build's ``mot17.min_visibility``) are
  NaN rows flagged absent: never used, not recorded.
- What spoils a whole video is found while listing and recorded once per video (``where`` =
  ``mot17/all/<video>``): no ``gt/gt.txt`` (``missing_annotation``), malformed rows, by line
  (``malformed_annotation``: the rest of the file is used), a ``gt.txt`` that cannot be read
  (``unreadable_sequence``) or has no pedestrian row (``empty_sequence``). An unreadable ``seqinfo.ini``
  or image folder makes each of the video's tracks an ``unreadable_sequence`` skip.
  See :mod:`dataprep.sources.folders` for the rest of the adaptation.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from siamcore.datasets import mot17 as reader
from siamcore.datasets.mot17 import GT_FILE, MIN_VISIBILITY, SEQINFO_FILE, list_mot17, load_mot17_video, scan_mot17

from dataprep.sources import folders
from dataprep.sources.base import Skip

NAME = "mot17"


def _stamp(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


@functools.lru_cache(maxsize=2)
def _video_tracks(folder: str, min_visibility: float, stamps: tuple[int, ...]) -> list:
    """Every track of a video, once per worker process while its files are unchanged (``stamps``): the
    tracks of a video are consecutive units of a shard, and each would parse the whole ``gt.txt``."""
    return load_mot17_video(Path(folder), min_visibility)


def _load_folder(root: Path, ref, min_visibility: float = MIN_VISIBILITY) -> list:
    stamps = tuple(_stamp(ref.folder / p) for p in (GT_FILE, SEQINFO_FILE, "img1"))
    return _video_tracks(str(ref.folder), min_visibility, stamps)


def list_videos(root, chunks=None, splits=None, sequences=None, exclude_sequences=None):
    """The selected tracks (see :func:`dataprep.sources.folders.list_videos`), plus a listing skip for
    each problem of a video that the selection keeps: a video with tracks when one of them is selected, a
    video without any when no ``sequences`` are named."""
    listing: dict = {}

    def list_refs(path: Path) -> list:
        listing["refs"], listing["problems"] = scan_mot17(path)
        return listing["refs"]

    videos, skips = folders.list_videos(NAME, "MOT17", list_refs, root, chunks, splits, sequences, exclude_sequences)
    kept = {v.name for v in videos}
    with_tracks = {r.video for r in listing["refs"]}
    selected = {r.video for r in listing["refs"] if r.name in kept}
    for p in listing["problems"]:
        if p.video in selected or (not sequences and p.video not in with_tracks):
            skips.append(Skip(f"{NAME}/{folders.SPLIT}/{p.video}", p.reason, p.detail))
    return videos, skips


def load_video(video, min_visibility: float = MIN_VISIBILITY):
    return folders.load_video(list_mot17, functools.partial(_load_folder, min_visibility=min_visibility), video)


def load_options(cfg) -> dict:
    """The visibility a row needs (``mot17.min_visibility``)."""
    return {"min_visibility": cfg.mot17.min_visibility}


SPEC = folders.folder_spec(
    name=NAME, title="MOT17", root_default="data/MOT17",
    help="train/<video>-FRCNN/img1 + gt/gt.txt; one sequence per pedestrian id, e.g. MOT17-02.1",
    list_videos=list_videos, load_video=load_video, reader=reader, load_options=load_options,
)
