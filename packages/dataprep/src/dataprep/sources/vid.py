"""ILSVRC2015 VID reader.

Layout: ``ROOT/Annotations/VID/train/<subset>/<snippet>/<6 digits>.xml`` and
``ROOT/Annotations/VID/val/<snippet>/<6 digits>.xml``; frames at the same path under
``ROOT/Data/VID`` with ``.JPEG``. Each XML has ``<size><width><height>`` and ``<object>``s with
``<trackid>``, ``<name>`` (WordNet id), ``<bndbox>`` (xmin/ymin/xmax/ymax) and ``<occluded>``.
One Sequence per (snippet, trackid); frames where the track has no object get NaN (absent, not
a skip). ``<occluded>`` is not used (pysot does not filter on it either).

Boxes: ``xywh = (xmin, ymin, xmax - xmin, ymax - ymin)``, as pysot reads VID. The frame size for
the out-of-frame check comes from each XML's ``<size>``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from siamcore.boxes import xyxy_to_xywh

from dataprep.sources.base import (
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    format_indices,
    invalidate_boxes,
    numbered_files,
)

NAME = "vid"
SPLITS = ("train", "val")

#: The 30 ILSVRC2015 VID classes, WordNet id -> name (devkit map_vid.txt order).
WNID_TO_CLASS = {
    "n02691156": "airplane",
    "n02419796": "antelope",
    "n02131653": "bear",
    "n02834778": "bicycle",
    "n01503061": "bird",
    "n02924116": "bus",
    "n02958343": "car",
    "n02402425": "cattle",
    "n02084071": "dog",
    "n02121808": "domestic_cat",
    "n02503517": "elephant",
    "n02118333": "fox",
    "n02510455": "giant_panda",
    "n02342885": "hamster",
    "n02374451": "horse",
    "n02129165": "lion",
    "n01674464": "lizard",
    "n02484322": "monkey",
    "n03790512": "motorcycle",
    "n02324045": "rabbit",
    "n02509815": "red_panda",
    "n02411705": "sheep",
    "n01726692": "snake",
    "n02355227": "squirrel",
    "n02129604": "tiger",
    "n04468005": "train",
    "n01662784": "turtle",
    "n04530566": "watercraft",
    "n02062744": "whale",
    "n02391049": "zebra",
}

XML_PATTERN = r"(\d+)\.xml"
JPEG_PATTERN = r"(\d+)\.jpe?g"


def _subdirs(path: Path) -> list[str]:
    with os.scandir(path) as it:
        return sorted(e.name for e in it if e.is_dir())


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
        if split == "train":
            names = [f"{sub}/{snip}" for sub in _subdirs(anno / split) for snip in _subdirs(anno / split / sub)]
        else:
            names = _subdirs(anno / split)
        videos += [VideoRef(NAME, -1, split, name, str(root)) for name in names]
    return videos, []


def _parse_xml(path: Path):
    """``(frame_wh | None, {trackid: (wnid, xywh | None)})``; raises ET.ParseError / OSError / ValueError."""
    tree = ET.parse(path)
    size = tree.find("size")
    frame_wh = None
    if size is not None:
        try:
            frame_wh = (float(size.findtext("width")), float(size.findtext("height")))
        except (TypeError, ValueError):
            frame_wh = None
    objects = {}
    for obj in tree.iterfind("object"):
        trackid = (obj.findtext("trackid") or "").strip()
        if not trackid.isdigit():
            raise ValueError(f"object without a numeric <trackid> in {path.name}")
        wnid = (obj.findtext("name") or "").strip()
        try:
            bb = obj.find("bndbox")
            xywh = xyxy_to_xywh([float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
        except (AttributeError, TypeError, ValueError):
            xywh = None
        objects[str(int(trackid))] = (wnid, xywh)
    return frame_wh, objects


def load_video(video: VideoRef) -> tuple[list[Sequence], list[Skip]]:
    """One Sequence per trackid of a snippet, sorted by trackid; never raises for bad input.
    Frame index = the number in the file name; all sequences share the snippet's frames."""
    uid = video.uid
    anno_dir = Path(video.root) / "Annotations" / "VID" / video.split / video.name
    data_dir = Path(video.root) / "Data" / "VID" / video.split / video.name
    try:
        xmls = numbered_files(os.listdir(anno_dir), XML_PATTERN)
    except OSError as e:
        return [], [Skip(uid, "missing_annotation", f"cannot list {anno_dir}: {e.strerror or e}")]
    try:
        jpegs = numbered_files(os.listdir(data_dir), JPEG_PATTERN)
    except OSError:
        jpegs = {}
    if not xmls:
        return [], [Skip(uid, "empty_sequence", f"no annotation XML in {anno_dir}")]
    n = max(xmls) + 1
    skips: list[Skip] = []
    frame_wh: list[tuple[float, float] | None] = [None] * n
    per_track: dict[str, dict[int, tuple | None]] = {}
    wnids: dict[str, str] = {}
    unreadable, malformed, no_xml = [], [], []
    for i in range(n):
        if i not in xmls:
            no_xml.append(i)
            continue
        try:
            frame_wh[i], objects = _parse_xml(anno_dir / xmls[i])
        except (ET.ParseError, OSError, ValueError):
            unreadable.append(i)
            continue
        for track, (wnid, xywh) in objects.items():
            wnids.setdefault(track, wnid)
            per_track.setdefault(track, {})[i] = xywh
            if xywh is None:
                malformed.append(i)
    if unreadable:
        skips.append(Skip(uid, "unreadable_xml", f"{len(unreadable)} XML file(s) cannot be parsed, frames "
                          f"{format_indices(unreadable)} (e.g. {anno_dir / xmls[unreadable[0]]})"))
    if no_xml:
        skips.append(Skip(uid, "missing_annotation", f"no XML for frames {format_indices(no_xml)}"))
    if malformed:
        skips.append(Skip(uid, "malformed_annotation", f"<bndbox> not numbers in frames {format_indices(malformed)}"))
    missing = [i for i in range(n) if i not in jpegs]
    if missing:
        skips.append(Skip(uid, "missing_frame", f"{len(missing)} JPEG(s) missing in {data_dir}: "
                          f"{format_indices(missing)}"))
    frames = tuple(FrameRef(str(data_dir / jpegs[i])) if i in jpegs else FrameRef(str(data_dir / f"{i:06d}.JPEG"))
                   for i in range(n))
    sequences = []
    for track in sorted(per_track, key=int):
        boxes = np.full((n, 4), np.nan)
        for i, xywh in per_track[track].items():
            if xywh is not None:
                boxes[i] = xywh
        boxes[missing] = np.nan
        where = f"{uid}/{track}"
        skips += invalidate_boxes(boxes, frame_wh, where)
        if np.all(np.isnan(boxes)):
            skips.append(Skip(where, "empty_sequence", "no frame with a usable box"))
            continue
        boxes.setflags(write=False)
        sequences.append(Sequence(video, track, WNID_TO_CLASS.get(wnids[track], ""), frames, boxes))
    if not per_track:
        skips.append(Skip(uid, "empty_sequence", "no annotated object in any frame"))
    return sequences, skips
