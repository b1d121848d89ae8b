"""ILSVRC2015 DET reader (still images, as pysot trains on them).

Layout: ``ROOT/Annotations/DET/<split>/.../<image>.xml`` and the image at the same path under
``ROOT/Data/DET`` with ``.JPEG`` (pysot's ``training_dataset/det/par_crop.py``:
``xml.replace('xml', 'JPEG').replace('Annotations', 'Data')``). The train split nests unevenly:
``train/ILSVRC2013_train/<wnid>/<image>.xml`` (two levels) and ``train/ILSVRC2014_train_000k/<image>.xml``
(one level), so XMLs are found at any depth. The XML is the PASCAL-VOC style VID also uses (``<size>``,
``<object>`` with ``<name>`` = WordNet id and ``<bndbox>`` xmin/ymin/xmax/ymax) without ``<trackid>``:
parsed by :func:`siamcore.datasets.vid.parse_voc_xml`.

A still image stands in for a two-frame sequence, as COCO's do (:mod:`dataprep.sources.coco`): each
usable ``<object>`` is one :class:`Sequence` of a single frame, ``track`` = its position in the XML,
boxes only (no masks). A listing unit is one image, ``name`` = its path under the split without
``.xml``. ``class_name`` is the VID class name for the 30 VID WordNet ids (``n02691156`` ->
``airplane``: the same name in DET and VID records), else the WordNet id itself (DET has 200 classes).

Boxes: ``xywh = (xmin, ymin, xmax - xmin, ymax - ymin)`` as VID. Skips (one per image and reason,
object positions in the detail): ``unreadable_xml``, ``malformed_annotation`` (no ``<name>`` or a
``<bndbox>`` that is not 4 numbers), ``invalid_box``, ``box_outside_frame`` (against ``<size>``),
``missing_frame`` (no JPEG beside the XML: the image gives nothing). An image without objects (DET has
negative images) gives no sequence and no skip.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import numpy as np

from siamcore.boxes import is_valid_xywh
from siamcore.datasets import vid as ds_vid
from siamcore.datasets.vid import WNID_TO_CLASS, parse_voc_xml

from dataprep.sources.base import FrameRef, Sequence, Skip, SourceError, VideoRef
from dataprep.sources.coco import _aggregate
from dataprep.sources.spec import STILLS, DatasetSpec, no_chunks, no_splits

NAME = "det"
SPLITS = ("train", "val")
DEFAULT_SPLIT = "train"


def _xml_names(split_dir: Path) -> list[str]:
    """Paths (POSIX, without ``.xml``) of every XML under ``split_dir``, at any depth, sorted."""
    names = []
    for dirpath, dirnames, filenames in os.walk(split_dir):
        dirnames.sort()
        rel = Path(dirpath).relative_to(split_dir)
        names += [(rel / f[:-4]).as_posix() for f in filenames if f.endswith(".xml")]
    return sorted(names)


def list_videos(root: str | os.PathLike, chunks=None, splits=None) -> tuple[list[VideoRef], list[Skip]]:
    """One listing unit per annotation XML of the requested splits (default ``train``, the split pysot
    uses), sorted by split then path. Directory listings only. SourceError before any work when the
    root, ``Annotations/DET`` or a requested split is missing, or ``chunks`` is given."""
    if chunks is not None:
        raise SourceError("ILSVRC DET has no chunks: drop --chunks (it selects TrackingNet chunks)")
    root = Path(root).absolute()
    anno = root / "Annotations" / "DET"
    if not anno.is_dir():
        raise SourceError(f"ILSVRC2015 DET root not found: looked for {anno}. Set it with --root DIR (or the "
                          f"config's 'root' key) to the folder that holds Annotations/DET and Data/DET.")
    wanted = [DEFAULT_SPLIT] if splits is None else ([splits] if isinstance(splits, str) else list(splits))
    bad = [s for s in wanted if s not in SPLITS]
    if bad:
        raise SourceError(f"unknown DET split(s) {bad}: choose from {list(SPLITS)}")
    missing = [str(anno / s) for s in wanted if not (anno / s).is_dir()]
    if missing:
        raise SourceError(f"DET split folder(s) missing: {missing}")
    videos = []
    for split in sorted(set(wanted), key=SPLITS.index):
        videos += [VideoRef(NAME, -1, split, name, str(root)) for name in _xml_names(anno / split)]
    return videos, []


def xml_path(video: VideoRef) -> Path:
    return Path(video.root) / "Annotations" / "DET" / video.split / f"{video.name}.xml"


def image_path(video: VideoRef) -> Path:
    return Path(video.root) / "Data" / "DET" / video.split / f"{video.name}.JPEG"


def class_name(wnid: str) -> str:
    """The VID class name of a VID WordNet id, else the WordNet id (see the module doc)."""
    return WNID_TO_CLASS.get(wnid, wnid)


def load_video(video: VideoRef) -> tuple[list[Sequence], list[Skip]]:
    """One single-frame Sequence per usable object of the image, in XML order; never raises for bad input."""
    uid, path = video.uid, xml_path(video)
    try:
        frame_wh, objects = parse_voc_xml(path)
    except (ET.ParseError, OSError) as exc:
        return [], [Skip(uid, "unreadable_xml", f"{path} cannot be parsed: {exc}")]
    if not objects:
        return [], []
    image = image_path(video)
    if not image.is_file():
        return [], [Skip(uid, "missing_frame", f"{len(objects)} object(s), but no image {image}")]
    ref = FrameRef(str(image))
    problems: dict[str, list[int]] = defaultdict(list)
    details: dict[str, list[str]] = defaultdict(list)
    sequences = []
    for i, (_, wnid, xywh) in enumerate(objects):
        if not wnid or xywh is None:
            problem = ("malformed_annotation", "an <object> without <name> or with a <bndbox> that is not 4 numbers")
        elif not is_valid_xywh(xywh):
            problem = ("invalid_box", f"box xywh {list(map(float, xywh))} has no area")
        elif frame_wh is not None and not is_valid_xywh(xywh, frame_wh):
            problem = ("box_outside_frame", f"box xywh {list(map(float, xywh))} outside the "
                                            f"{frame_wh[0]:g}x{frame_wh[1]:g} image")
        else:
            boxes = np.asarray([xywh], dtype=np.float64)
            boxes.setflags(write=False)
            sequences.append(Sequence(video, str(i), class_name(wnid), (ref,), boxes))
            continue
        problems[problem[0]].append(i)
        if problem[1] not in details[problem[0]]:
            details[problem[0]].append(problem[1])
    return sequences, _aggregate(uid, problems, details)


def check_config(cfg, fail) -> None:
    """The config selects neither chunks nor splits (the train split is read)."""
    if cfg.chunks is not None:
        no_chunks(fail)
    if cfg.splits is not None:
        no_splits(fail)


SPEC = DatasetSpec(
    name=NAME, title="ILSVRC2015 DET", kind=STILLS, root_default="data/ILSVRC2015",
    help="ILSVRC2015 DET stills: Annotations/DET + Data/DET", list_videos=list_videos, load_video=load_video,
    reader=ds_vid,
    # Boxes only: one pair per object and photometric differences between the two crops of a still, as
    # COCO; distractors only with --distractors coco:ROOT.
    defaults={"pairs": {"per_sequence": 1}, "photometric": {"enabled": True}},
    targets_per_video=2.0, unit="images", check=check_config,
)
