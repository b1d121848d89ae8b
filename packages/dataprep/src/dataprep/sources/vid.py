"""ILSVRC2015 VID as training pairs, through :mod:`siamcore.datasets.vid` (the layout, the XML parsing,
one sequence per trackid and the class names live there; the tracker evaluates on the same reader).
This module adapts: split selection and its errors, and skip records.

Frames where a track has no object are NaN (absent, not a skip). The frame size for the
out-of-frame check comes from each XML's ``<size>``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siamcore.datasets import vid as ds_vid
from siamcore.datasets.vid import (  # noqa: F401  (re-exported: DET uses them)
    JPEG_PATTERN,
    SPLITS,
    WNID_TO_CLASS,
    XML_PATTERN,
    parse_voc_xml,
)

from dataprep.sources.base import (
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    format_indices,
    invalidate_boxes,
)
from dataprep.sources.spec import VIDEO, DatasetSpec, no_chunks

NAME = "vid"
_parse_xml = ds_vid.parse_vid_xml


def list_videos(root: str | os.PathLike, chunks=None, splits=None) -> tuple[list[VideoRef], list[Skip]]:
    """All snippets of the requested splits (every present one of train/val when None), sorted.
    Train snippets are two levels deep (``<subset>/<snippet>``), val snippets one. Raises
    SourceError when the root, ``Annotations/VID`` or a requested split is missing, or when
    ``chunks`` is given (VID has none)."""
    if chunks is not None:
        raise SourceError("ILSVRC VID has no chunks: drop --chunks (it selects TrackingNet chunks)")
    root = Path(root).absolute()  # workers may run elsewhere (cwd)
    anno = root / "Annotations" / "VID"
    if not anno.is_dir():
        raise SourceError(
            f"ILSVRC2015 VID root not found: looked for {anno}. Set it with --root DIR (or the config's "
            f"'root' key) to the folder that holds Annotations/VID and Data/VID."
        )
    if splits is None:
        wanted = [s for s in SPLITS if (anno / s).is_dir()]
        if not wanted:
            raise SourceError(f"no VID split found: neither {anno / 'train'} nor {anno / 'val'} exists")
    else:
        wanted = [splits] if isinstance(splits, str) else list(splits)
        bad = [s for s in wanted if s not in SPLITS]
        if bad:
            raise SourceError(f"unknown VID split(s) {bad}: choose from {list(SPLITS)}")
        missing = [s for s in wanted if not (anno / s).is_dir()]
        if missing:
            raise SourceError(f"VID split folder(s) missing: {[str(anno / s) for s in missing]}")
    videos = []
    for split in sorted(set(wanted), key=SPLITS.index):
        videos += [VideoRef(NAME, -1, split, name, str(root)) for name in ds_vid.vid_snippets(root, split)]
    return videos, []


def load_video(video: VideoRef) -> tuple[list[Sequence], list[Skip]]:
    """One Sequence per trackid of a snippet, sorted by trackid; never raises for bad input.
    Frame index = the number in the file name; all sequences share the snippet's frames."""
    uid = video.uid
    anno_dir, data_dir = ds_vid.vid_folders(video.root, video.split, video.name)
    try:
        read = ds_vid.read_vid_snippet(anno_dir, data_dir)
    except ds_vid.VidError as e:
        return [], [Skip(uid, e.reason, str(e))]
    skips: list[Skip] = []
    if read.unreadable:
        skips.append(Skip(uid, "unreadable_xml", f"{len(read.unreadable)} XML file(s) cannot be parsed, frames "
                          f"{format_indices(read.unreadable)} (e.g. {anno_dir / read.xml_names[read.unreadable[0]]})"))
    if read.no_xml:
        skips.append(Skip(uid, "missing_annotation", f"no XML for frames {format_indices(read.no_xml)}"))
    if read.malformed:
        skips.append(Skip(uid, "malformed_annotation",
                          f"<bndbox> not numbers in frames {format_indices(read.malformed)}"))
    if read.missing:
        skips.append(Skip(uid, "missing_frame", f"{len(read.missing)} JPEG(s) missing in {data_dir}: "
                          f"{format_indices(read.missing)}"))
    frames = tuple(FrameRef(str(p)) for p in read.sequences[0].frames) if read.sequences else ()
    sequences = []
    for track, seq in zip(read.tracks, read.sequences):
        boxes = seq.gt_xywh
        where = f"{uid}/{track}"
        skips += invalidate_boxes(boxes, read.frame_wh, where)
        if np.all(np.isnan(boxes)):
            skips.append(Skip(where, "empty_sequence", "no frame with a usable box"))
            continue
        boxes.setflags(write=False)
        sequences.append(Sequence(video, track, seq.class_name, frames, boxes))
    if not read.tracks:
        skips.append(Skip(uid, "empty_sequence", "no annotated object in any frame"))
    return sequences, skips


def check_config(cfg, fail) -> None:
    """VID has no chunks; its splits are train and/or val."""
    if cfg.chunks is not None:
        no_chunks(fail)
    if cfg.splits is not None and (not cfg.splits or any(s not in SPLITS for s in cfg.splits)):
        fail(f"VID 'splits' (--split) must be train and/or val, got {cfg.splits!r}")


def resolve_selection(cfg, videos):
    """The splits asked for, or the ones found, in train, val order."""
    splits = cfg.splits if cfg.splits is not None else sorted({v.split for v in videos}, key=SPLITS.index)
    return cfg.replace(splits=sorted(set(splits), key=SPLITS.index))


SPEC = DatasetSpec(
    name=NAME, title="ILSVRC2015 VID", kind=VIDEO, root_default="data/ILSVRC2015",
    help="Annotations/VID + Data/VID; --split train or val", list_videos=list_videos, load_video=load_video,
    reader=ds_vid, splits=SPLITS, defaults={"splits": ["train"]}, targets_per_video=2.0, class_vocabulary="vid",
    check=check_config, resolve_selection=resolve_selection,
)
