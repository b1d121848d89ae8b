"""COCO as training pairs (instance annotations, read by :mod:`siamcore.datasets.coco`: the layout,
validation, instance checks and masks live there) and the distractor bank. This module adapts:
split selection and its errors, skip records, per-process caching.

A still image stands in for a two-frame sequence: every usable instance is one :class:`Sequence`
of a single frame (frame 0 = the image), ``track`` = the annotation id, ``class_name`` = its
category name; a listing unit (:class:`VideoRef`) is one image, ``name`` = the image id. Images
without annotations are not listed.

Instances that are not used, recorded as skips (one per image and reason, ids in the detail):
``iscrowd`` (crowd regions are not objects), ``tiny_instance`` (area below ``min_area_px``, by
the annotation's ``area``, else its box), ``degenerate_mask`` (empty segmentation, a polygon of
fewer than 3 points, an RLE of the wrong size, or a mask that decodes empty), ``invalid_box`` /
``box_outside_frame``, ``coordinates_out_of_range`` (a polygon point or box corner far outside the
image, see :data:`COORDINATE_MARGIN`), ``frame_too_large`` (the annotation's image size is over
``[limits] max_frame_pixels``); these two are checked before pycocotools sees the instance.
Entries that break the format (no id, unknown image or category, a bbox that is not 4 numbers)
are ``malformed_annotation`` skips at listing time. An annotation file that
is missing, does not parse or lacks ``images`` / ``annotations`` / ``categories`` is fatal
(:class:`SourceError`, before any work): there is nothing to build from.

Parsing is cached per process (:func:`load_index`, :func:`load_bank`): a Dask worker parses an
annotation file once, not once per shard or record. For ``train2017`` that is ~20 s and a few GB
per worker process.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from siamcore.datasets import coco as ds_coco
from siamcore.datasets.coco import (  # noqa: F401  (re-exported: config and tests use them)
    COORDINATE_MARGIN,
    CocoIndex,
    annotation_path,
    coordinates_problem,
    decode_mask,
    image_path,
    present_splits,
    segmentation_problem,
)

from dataprep.sources.base import (
    MAX_FRAME_BYTES,
    MAX_FRAME_PIXELS,
    FrameError,
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
)
from dataprep.sources.frames import read_frame
from dataprep.sources.spec import STILLS, DatasetSpec

NAME = "coco"
DEFAULT_SPLIT = "train2017"
DEFAULT_MIN_AREA_PX = 1024.0
"""COCO's own "small object" bound (32 x 32 px): smaller targets are mush at 127 px."""

REASONS = ("malformed_annotation", "iscrowd", "tiny_instance", "degenerate_mask", "invalid_box", "box_outside_frame",
           "coordinates_out_of_range", "frame_too_large")


@functools.lru_cache(maxsize=4)
def _load_index_cached(path: str, split: str, mtime_ns: int, size: int) -> CocoIndex:
    try:
        return ds_coco.read_coco_index(path, split)
    except ValueError as exc:
        raise SourceError(str(exc)) from None


def load_index(path: str | os.PathLike, split: str) -> CocoIndex:
    """The validated index of an annotation file, parsed once per process (keyed by path, mtime
    and size, so a replaced file is re-read). SourceError when missing, unparsable or not COCO."""
    path = str(Path(path).absolute())
    try:
        st = os.stat(path)
    except OSError:
        raise SourceError(f"COCO annotation file not found: {path}") from None
    return _load_index_cached(path, split, st.st_mtime_ns, st.st_size)


# --- instances ----------------------------------------------------------------------------------


def instance_problem(ann: dict, image: dict, min_area_px: float,
                     max_image_pixels: int = MAX_FRAME_PIXELS) -> tuple[str, str] | None:
    """:func:`siamcore.datasets.coco.instance_problem` with the build's default image-size limit."""
    return ds_coco.instance_problem(ann, image, min_area_px, max_image_pixels)


def _aggregate(where: str, problems: dict[str, list[int]], details: dict[str, list[str]]) -> list[Skip]:
    out = []
    for reason in sorted(problems):
        ids = problems[reason]
        shown = ", ".join(str(i) for i in ids[:20]) + (", ..." if len(ids) > 20 else "")
        out.append(Skip(where, reason, f"{len(ids)} instance(s) [{shown}]: {'; '.join(details[reason][:4])}"))
    return out


# --- the reader protocol ------------------------------------------------------------------------


def list_videos(root: str | os.PathLike, chunks=None, splits=None) -> tuple[list[VideoRef], list[Skip]]:
    """One listing unit per annotated image of the requested splits (default ``train2017``), sorted
    by split then image id. Parses the annotation file (cached). SourceError before any work when
    the root, a split's annotation file or image folder is missing, or ``chunks`` is given."""
    if chunks is not None:
        raise SourceError("COCO has no chunks: drop --chunks (it selects TrackingNet chunks); choose the split "
                          "with --split, e.g. --split train2017")
    root = Path(root).absolute()
    if not root.is_dir():
        raise SourceError(f"COCO root not found: {root}. Set it with --root DIR (the folder holding annotations/ "
                          "and the image folders)")
    wanted = [DEFAULT_SPLIT] if splits is None else ([splits] if isinstance(splits, str) else list(splits))
    videos: list[VideoRef] = []
    skips: list[Skip] = []
    for split in wanted:
        ann = annotation_path(root, split)
        if not ann.is_file():
            present = present_splits(root)
            raise SourceError(
                f"COCO annotations for split {split!r} not found: looked for {ann}. "
                + (f"Splits present: {', '.join(present)} (choose one with --split)." if present else
                   f"Expected ROOT/annotations/instances_<split>.json under {root}.")
            )
        if not (root / split).is_dir():
            raise SourceError(f"COCO image folder for split {split!r} not found: looked for {root / split}")
        index = load_index(ann, split)
        skips += [Skip(f"{NAME}/{split}/{what}", "malformed_annotation", detail) for what, detail in index.problems]
        videos += [VideoRef(NAME, -1, split, str(i), str(root)) for i in index.image_ids()]
    return videos, skips


def load_video(video: VideoRef, min_area_px: float = DEFAULT_MIN_AREA_PX,
               max_image_pixels: int = MAX_FRAME_PIXELS) -> tuple[list[Sequence], list[Skip]]:
    """One single-frame Sequence per usable instance of the image ``video``, sorted by annotation id;
    never raises for bad input (unusable instances become skips)."""
    index = load_index(annotation_path(video.root, video.split), video.split)
    image_id = int(video.name)
    if image_id not in index.coco.imgs:
        return [], [Skip(video.uid, "missing_annotation", f"image id {image_id} not in {index.path}")]
    instances, unusable = ds_coco.image_instances(index, video.root, image_id, min_area_px, max_image_pixels)
    problems: dict[str, list[int]] = defaultdict(list)
    details: dict[str, list[str]] = defaultdict(list)
    for ann_id, reason, detail in unusable:
        problems[reason].append(ann_id)
        if detail not in details[reason]:
            details[reason].append(detail)
    sequences = []
    for inst in instances:
        boxes = inst.gt_xywh
        boxes.setflags(write=False)
        sequences.append(Sequence(video, inst.name, inst.class_name, (FrameRef(str(inst.frames[0])),), boxes))
    return sequences, _aggregate(video.uid, problems, details)


# --- the distractor bank ------------------------------------------------------------------------


@dataclass(eq=False)
class DistractorBank:
    """Instances that can be pasted as distractors, by category name, from one COCO split.

    ``ids_by_category`` and ``all_ids`` are sorted annotation ids (a stable order for seeded
    choices). A bank is built once per process (:func:`load_bank`) and shared by all records.
    """

    root: str
    split: str
    index: CocoIndex
    ids_by_category: dict[str, tuple[int, ...]]
    all_ids: tuple[int, ...]
    _merged: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.all_ids)

    def candidates(self, category_names: tuple[str, ...] | None) -> tuple[int, ...]:
        """Sorted ids of the instances of any of ``category_names`` (all instances when None)."""
        if category_names is None:
            return self.all_ids
        if category_names not in self._merged:
            ids = set()
            for name in category_names:
                ids.update(self.ids_by_category.get(name, ()))
            self._merged[category_names] = tuple(sorted(ids))
        return self._merged[category_names]

    def category(self, ann_id: int) -> str:
        return self.index.category_names[self.index.coco.anns[ann_id]["category_id"]]

    def same_source(self, video: VideoRef) -> bool:
        """Whether ``video`` comes from this bank's annotation file (so its instances must be excluded),
        however the two roots were spelled (symlinks, relative paths)."""
        return video.dataset == NAME and video.split == self.split and _real_path(video.root) == _real_path(self.root)

    def load_patch(self, ann_id: int, max_pixels: int = MAX_FRAME_PIXELS,
                   max_bytes: int = MAX_FRAME_BYTES) -> tuple[np.ndarray, np.ndarray]:
        """``(patch RGB, boolean mask)`` cut to the mask's tight box in the source image.
        FrameError for a missing/corrupt/too large image (``missing_frame`` / ``corrupt_jpeg`` /
        ``frame_too_large``), an image whose size differs from its annotation or an empty mask
        (``degenerate_mask``)."""
        ann = self.index.coco.anns[ann_id]
        image = self.index.image(ann["image_id"])
        path = image_path(self.root, self.split, image["file_name"])
        frame = read_frame(FrameRef(str(path)), max_pixels, max_bytes)
        if frame.shape[:2] != (image["height"], image["width"]):
            raise FrameError("degenerate_mask", f"{path} is {frame.shape[1]}x{frame.shape[0]}, its annotation says "
                                                f"{image['width']}x{image['height']}")
        mask = decode_mask(self.index, ann)
        if mask is None:
            raise FrameError("degenerate_mask", f"annotation {ann_id}: mask decodes empty")
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        return frame[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].copy()


@functools.lru_cache(maxsize=16)
def _real_path(path: str) -> str:
    return os.path.realpath(path)


@functools.lru_cache(maxsize=2)
def _load_bank_cached(root: str, split: str, min_area_px: float, max_image_pixels: int, mtime_ns: int,
                      size: int) -> DistractorBank:
    index = load_index(annotation_path(root, split), split)
    by_category: dict[str, list[int]] = defaultdict(list)
    for ann_id in sorted(index.coco.anns):
        ann = index.coco.anns[ann_id]
        if instance_problem(ann, index.image(ann["image_id"]), min_area_px, max_image_pixels) is None:
            by_category[index.category_names[ann["category_id"]]].append(ann_id)
    ids = {name: tuple(v) for name, v in sorted(by_category.items())}
    return DistractorBank(root, split, index, ids, tuple(sorted(i for v in ids.values() for i in v)))


def load_bank(root: str | os.PathLike, split: str, min_area_px: float = DEFAULT_MIN_AREA_PX,
              max_image_pixels: int = MAX_FRAME_PIXELS) -> DistractorBank:
    """The distractor bank of ``ROOT/annotations/instances_<split>.json``, built once per process.
    Instances that :func:`instance_problem` refuses are not in it (never decoded: a huge polygon in a
    bank would sink every shard that draws it). SourceError (with what to do) when the file is
    missing or not a COCO file."""
    root = str(Path(root).absolute())
    path = annotation_path(root, split)
    try:
        st = os.stat(path)
    except OSError:
        present = present_splits(root)
        raise SourceError(
            f"distractor bank not found: looked for {path}. Point --distractors coco:ROOT at a COCO folder"
            + (f" and pick a split it has ({', '.join(present)})" if present
               else " holding annotations/instances_<split>.json")
        ) from None
    return _load_bank_cached(root, split, float(min_area_px), int(max_image_pixels), st.st_mtime_ns, st.st_size)


# --- the dataset ----------------------------------------------------------------------------------


def check_config(cfg, fail) -> None:
    """COCO has no chunks; a split is a folder name like ``train2017``."""
    if cfg.chunks is not None:
        fail("COCO has no chunks: drop --chunks / 'chunks' (it selects TrackingNet chunks); choose the COCO "
             "split with --split, e.g. --split train2017")
    if cfg.splits is not None:
        if not cfg.splits or not all(s and "/" not in s and "\\" not in s for s in cfg.splits):
            fail(f"'splits' (--split) must name COCO splits like train2017, got {cfg.splits!r}")


def load_options(cfg) -> dict:
    """The minimum instance area and the image size limit."""
    return {"min_area_px": cfg.coco.min_area_px, "max_image_pixels": cfg.limits.max_frame_pixels}


SPEC = DatasetSpec(
    name=NAME, title="COCO", kind=STILLS, root_default="data/coco",
    help="annotations/instances_<split>.json + <split>/ images; pairs with same-class distractors",
    list_videos=list_videos, load_video=load_video, reader=ds_coco,
    # One pair per instance, a same-class distractor from COCO itself in every pair, and photometric
    # differences between the two crops of a still.
    defaults={"splits": [DEFAULT_SPLIT], "pairs": {"per_sequence": 1},
              "distractors": {"source": "coco", "p_distractor": 1.0}, "photometric": {"enabled": True}},
    targets_per_video=3.0, unit="images", class_vocabulary="coco", check=check_config, load_options=load_options,
)
