"""ILSVRC2015 VID: ``ROOT/Annotations/VID/train/<subset>/<snippet>/<6 digits>.xml`` and
``ROOT/Annotations/VID/val/<snippet>/<6 digits>.xml``; frames at the same path under ``ROOT/Data/VID``
with ``.JPEG``. Each XML has ``<size><width><height>`` and ``<object>``s with ``<trackid>``, ``<name>``
(WordNet id), ``<bndbox>`` (xmin/ymin/xmax/ymax) and ``<occluded>``.

- **Targets.** One :class:`Sequence` per (snippet, trackid), named ``<snippet>.<trackid>``, sorted by
  trackid; all of a snippet's sequences share its frames. A snippet name alone selects all its targets.
- **Frames.** Frame ``i`` is the number in the file name; a missing JPEG keeps its place (its expected
  path stands in) with a NaN row. Frames where the track has no object are NaN rows flagged in
  ``Sequence.absent``; frames whose XML is missing or unreadable, or whose ``<bndbox>`` is not
  numbers, are NaN rows not flagged. ``<occluded>`` is not used (pysot does not filter on it either).
- **Boxes.** ``xywh = (xmin, ymin, xmax - xmin, ymax - ymin)``, as pysot reads VID.
- ``class_name`` is the class of the track's WordNet id (:data:`WNID_TO_CLASS`), "" when unknown.

:func:`read_vid_snippet` also reports what it found (frame sizes from ``<size>``, unreadable,
missing and malformed XML frames, missing JPEGs), which dataprep turns into its skip records.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..boxes import xyxy_to_xywh
from .sequence import Layout, Sequence, SequenceRef, nan_rows, normalise_name, numbered_files, select_sequences

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


class VidError(ValueError):
    """A snippet that cannot be read at all; ``reason``: ``missing_annotation`` (its annotation folder
    cannot be listed) or ``empty_sequence`` (no annotation XML in it)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _subdirs(path: Path) -> list[str]:
    with os.scandir(path) as it:
        return sorted(e.name for e in it if e.is_dir())


def vid_snippets(root: Path, split: str) -> list[str]:
    """Snippet paths of a split relative to ``Annotations/VID/<split>``, sorted: ``<subset>/<snippet>``
    for train (two levels deep), ``<snippet>`` for val."""
    anno = Path(root) / "Annotations" / "VID" / split
    if split == "train":
        return [f"{sub}/{snip}" for sub in _subdirs(anno) for snip in _subdirs(anno / sub)]
    return _subdirs(anno)


def vid_folders(root: Path, split: str, snippet: str) -> tuple[Path, Path]:
    """(annotation folder, frame folder) of a snippet (``snippet`` as :func:`vid_snippets` names it)."""
    return (Path(root) / "Annotations" / "VID" / split / snippet, Path(root) / "Data" / "VID" / split / snippet)


def list_vid(root: Path, splits: list[str] | None = None) -> list[SequenceRef]:
    """The snippets of ``splits`` (every present one of train/val when None), train first, sorted;
    ``SequenceRef.folder`` is the annotation folder, ``name`` the snippet's folder name. ValueError for
    a missing root, split or ``Annotations/VID``."""
    anno = Path(root) / "Annotations" / "VID"
    if not anno.is_dir():
        raise ValueError(f"{root}: no Annotations/VID folder (expected Annotations/VID/<split>/... and Data/VID)")
    wanted = [s for s in SPLITS if (anno / s).is_dir()] if splits is None else list(splits)
    bad = [s for s in wanted if s not in SPLITS or not (anno / s).is_dir()]
    if bad or not wanted:
        raise ValueError(f"{anno}: split folder(s) {bad or list(SPLITS)} not found (known splits: {list(SPLITS)})")
    return [SequenceRef(snip.rsplit("/", 1)[-1], anno / split / snip)
            for split in sorted(set(wanted), key=SPLITS.index) for snip in vid_snippets(root, split)]


def parse_voc_xml(path: Path) -> tuple[tuple[float, float] | None, list[tuple[ET.Element, str, object]]]:
    """``(frame_wh | None, [(<object> element, wnid, xywh | None)])`` of one ILSVRC annotation XML in its
    PASCAL-VOC style (``<size>``, ``<object>`` with ``<name>`` and ``<bndbox>``), shared by VID and DET;
    xywh is None when ``<bndbox>`` is not 4 numbers. Raises ET.ParseError / OSError."""
    tree = ET.parse(path)
    size = tree.find("size")
    frame_wh = None
    if size is not None:
        try:
            frame_wh = (float(size.findtext("width")), float(size.findtext("height")))
        except (TypeError, ValueError):
            frame_wh = None
    objects = []
    for obj in tree.iterfind("object"):
        wnid = (obj.findtext("name") or "").strip()
        try:
            bb = obj.find("bndbox")
            xywh = xyxy_to_xywh([float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
        except (AttributeError, TypeError, ValueError):
            xywh = None
        objects.append((obj, wnid, xywh))
    return frame_wh, objects


def parse_vid_xml(path: Path):
    """``(frame_wh | None, {trackid: (wnid, xywh | None)})``; raises ET.ParseError / OSError / ValueError."""
    frame_wh, parsed = parse_voc_xml(path)
    objects = {}
    for obj, wnid, xywh in parsed:
        trackid = (obj.findtext("trackid") or "").strip()
        if not trackid.isdigit():
            raise ValueError(f"object without a numeric <trackid> in {path.name}")
        objects[str(int(trackid))] = (wnid, xywh)
    return frame_wh, objects


@dataclass
class VidSnippet:
    """One snippet as read: ``sequences`` (one per trackid in ``tracks``, sorted) and what was wrong.

    ``frame_wh`` is each frame's size from its XML (None when unknown); ``unreadable`` / ``no_xml``:
    frames whose XML cannot be parsed / does not exist; ``malformed``: frames with a ``<bndbox>`` that
    is not numbers (once per object); ``missing``: frames without a JPEG. ``xml_names`` maps frame
    index to XML file name.
    """

    sequences: list[Sequence]
    tracks: list[str]
    frame_wh: list[tuple[float, float] | None]
    unreadable: list[int] = field(default_factory=list)
    no_xml: list[int] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    xml_names: dict[int, str] = field(default_factory=dict)


def read_vid_snippet(anno_dir: Path, data_dir: Path) -> VidSnippet:
    """Read one snippet (see the module doc); VidError when it has no annotation to read."""
    anno_dir, data_dir = Path(anno_dir), Path(data_dir)
    try:
        xmls = numbered_files(os.listdir(anno_dir), XML_PATTERN)
    except OSError as e:
        raise VidError("missing_annotation", f"cannot list {anno_dir}: {e.strerror or e}") from None
    try:
        jpegs = numbered_files(os.listdir(data_dir), JPEG_PATTERN)
    except OSError:
        jpegs = {}
    if not xmls:
        raise VidError("empty_sequence", f"no annotation XML in {anno_dir}")
    n = max(xmls) + 1
    out = VidSnippet([], [], [None] * n, xml_names=xmls)
    per_track: dict[str, dict[int, np.ndarray | None]] = {}
    wnids: dict[str, str] = {}
    read_ok = np.zeros(n, bool)
    for i in range(n):
        if i not in xmls:
            out.no_xml.append(i)
            continue
        try:
            out.frame_wh[i], objects = parse_vid_xml(anno_dir / xmls[i])
        except (ET.ParseError, OSError, ValueError):
            out.unreadable.append(i)
            continue
        read_ok[i] = True
        for track, (wnid, xywh) in objects.items():
            wnids.setdefault(track, wnid)
            per_track.setdefault(track, {})[i] = xywh
            if xywh is None:
                out.malformed.append(i)
    out.missing = [i for i in range(n) if i not in jpegs]
    frames = [data_dir / jpegs[i] if i in jpegs else data_dir / f"{i:06d}.JPEG" for i in range(n)]
    for track in sorted(per_track, key=int):
        boxes = nan_rows(n)
        for i, xywh in per_track[track].items():
            if xywh is not None:
                boxes[i] = xywh
        boxes[out.missing] = np.nan
        absent = read_ok.copy()
        absent[list(per_track[track])] = False
        out.tracks.append(track)
        out.sequences.append(Sequence(name=f"{anno_dir.name}.{track}", frames=list(frames), gt_xywh=boxes,
                                      absent=absent, class_name=WNID_TO_CLASS.get(wnids[track], "")))
    return out


def load_vid(root: Path, names: list[str] | None = None) -> list[Sequence]:
    """VID targets under ``root`` (both splits present); ``names`` selects snippets (all their targets)
    or single targets (``<snippet>.<trackid>``), in that order. ValueError for a snippet that cannot be
    read or a name that matches nothing."""
    refs = list_vid(root)
    if not names:
        wanted = [(ref, None) for ref in refs]
    else:
        wanted = []
        for name in [n for n in names if n.strip()]:
            snippet, _, track = name.strip().rpartition(".")
            if track.isdigit() and any(normalise_name(r.name) == normalise_name(snippet) for r in refs):
                wanted += [(r, str(int(track))) for r in select_sequences(refs, [snippet], str(root))]
            else:
                wanted += [(r, None) for r in select_sequences(refs, [name], str(root))]
    out = []
    for ref, track in wanted:
        rel = ref.folder.relative_to(Path(root) / "Annotations" / "VID")
        snippet = read_vid_snippet(ref.folder, Path(root) / "Data" / "VID" / rel)
        picked = [s for t, s in zip(snippet.tracks, snippet.sequences) if track in (None, t)]
        if track is not None and not picked:
            have = ", ".join(snippet.tracks) or "none"
            raise ValueError(f"{ref.folder}: no target with trackid {track} (has {have})")
        out += picked
    return out


LAYOUT = Layout("vid", load_vid)
"""This reader's entry in :data:`siamcore.datasets.LOADERS`."""
