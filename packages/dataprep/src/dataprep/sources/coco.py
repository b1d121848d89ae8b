"""COCO reader (instance annotations through pycocotools) and the distractor bank.

Layout: ``ROOT/annotations/instances_<split>.json`` (e.g. ``train2017``) and images at
``ROOT/<split>/<file_name>``, ``file_name`` taken as given (it may hold a sub-folder). Category ids
need not be contiguous nor start at 1 (some exports have id 0 ``_background_``).

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

import contextlib
import functools
import io
import json
import math
import os
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from siamcore.boxes import is_valid_xywh

from dataprep.sources.base import (
    MAX_FRAME_BYTES,
    MAX_FRAME_PIXELS,
    FrameError,
    FrameRef,
    Sequence,
    Skip,
    SourceError,
    VideoRef,
    read_frame,
)

NAME = "coco"
DEFAULT_SPLIT = "train2017"
DEFAULT_MIN_AREA_PX = 1024.0
"""COCO's own "small object" bound (32 x 32 px): smaller targets are mush at 127 px."""

REASONS = ("malformed_annotation", "iscrowd", "tiny_instance", "degenerate_mask", "invalid_box", "box_outside_frame",
           "coordinates_out_of_range", "frame_too_large")
COORDINATE_MARGIN = 1.0
"""Polygon and box coordinates must lie within the image grown by this fraction of its size on every
side: pycocotools allocates by the coordinates (a polygon at 1e308 takes 21 GB, then segfaults)."""


def annotation_path(root: str | os.PathLike, split: str) -> Path:
    return Path(root) / "annotations" / f"instances_{split}.json"


def image_path(root: str | os.PathLike, split: str, file_name: str) -> Path:
    return Path(root) / split / file_name


def present_splits(root: str | os.PathLike) -> list[str]:
    """Splits that have an ``annotations/instances_<split>.json`` under ``root``."""
    folder = Path(root) / "annotations"
    if not folder.is_dir():
        return []
    return sorted(p.name[len("instances_") : -len(".json")] for p in folder.glob("instances_*.json"))


# --- the annotation index -----------------------------------------------------------------------


@dataclass(eq=False)
class CocoIndex:
    """A validated annotation file: a pycocotools ``COCO`` index holding only well-formed entries,
    the category names by id, and the listing-time skips of the malformed ones."""

    path: str
    split: str
    coco: object  # pycocotools.coco.COCO
    category_names: dict[int, str]
    skips: list[Skip] = field(default_factory=list)

    def image(self, image_id: int) -> dict:
        return self.coco.imgs[image_id]

    def annotations_of(self, image_id: int) -> list[dict]:
        return sorted(self.coco.imgToAnns.get(image_id, []), key=lambda a: a["id"])

    def image_ids(self) -> list[int]:
        """Ids of images with at least one annotation, sorted."""
        return sorted(i for i, anns in self.coco.imgToAnns.items() if anns and i in self.coco.imgs)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _safe_relative(file_name: str) -> bool:
    p = PurePosixPath(file_name.replace("\\", "/"))
    return bool(file_name) and not p.is_absolute() and ".." not in p.parts


def _validated(data, path: Path, split: str) -> tuple[dict, dict[int, str], list[Skip]]:
    """The well-formed images/annotations/categories of a parsed file, and skips for the rest."""
    if not isinstance(data, dict):
        raise SourceError(f"{path}: a COCO annotation file is a JSON object, got {type(data).__name__}")
    missing = [k for k in ("images", "annotations", "categories") if not isinstance(data.get(k), list)]
    if missing:
        raise SourceError(
            f"{path}: not a COCO instances file: key(s) {missing} missing or not lists (a COCO file has "
            f"'images', 'annotations' and 'categories')"
        )
    where = f"{NAME}/{split}"
    skips: list[Skip] = []
    categories: dict[int, dict] = {}
    for c in data["categories"]:
        ok = isinstance(c, dict) and _is_int(c.get("id")) and isinstance(c.get("name"), str)
        if ok and c["id"] not in categories:
            categories[c["id"]] = c
        else:
            skips.append(Skip(f"{where}/category", "malformed_annotation",
                              f"bad or duplicate category entry {str(c)[:120]}"))
    images: dict[int, dict] = {}
    for im in data["images"]:
        ok = (
            isinstance(im, dict) and _is_int(im.get("id")) and im["id"] not in images
            and isinstance(im.get("file_name"), str) and _safe_relative(im["file_name"])
            and _is_int(im.get("width")) and _is_int(im.get("height")) and im["width"] > 0 and im["height"] > 0
        )
        if ok:
            images[im["id"]] = im
        else:
            skips.append(Skip(f"{where}/image", "malformed_annotation",
                              f"bad or duplicate image entry (needs int id, relative file_name, width, height): "
                              f"{str(im)[:160]}"))
    annotations: list[dict] = []
    seen: set[int] = set()
    for a in data["annotations"]:
        problem = None
        if not isinstance(a, dict) or not _is_int(a.get("id")):
            problem = "no integer 'id'"
        elif a["id"] in seen:
            problem = f"duplicate annotation id {a['id']}"
        elif a.get("image_id") not in images:
            problem = f"unknown or malformed image_id {a.get('image_id')!r}"
        elif a.get("category_id") not in categories:
            problem = f"unknown category_id {a.get('category_id')!r}"
        elif not (isinstance(a.get("bbox"), list) and len(a["bbox"]) == 4 and all(_is_number(v) for v in a["bbox"])):
            problem = f"bbox {a.get('bbox')!r} is not 4 numbers"
        elif not isinstance(a.get("segmentation"), (list, dict)):
            problem = "no 'segmentation' (polygons or RLE)"
        if problem:
            ident = a.get("id") if isinstance(a, dict) else None
            skips.append(Skip(f"{where}/annotation {ident}", "malformed_annotation", problem))
            continue
        seen.add(a["id"])
        annotations.append(a)
    names = {i: c["name"] for i, c in categories.items()}
    dataset = {"images": list(images.values()), "annotations": annotations, "categories": list(categories.values())}
    return dataset, names, skips


@functools.lru_cache(maxsize=4)
def _load_index_cached(path: str, split: str, mtime_ns: int, size: int) -> CocoIndex:
    from pycocotools.coco import COCO

    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid JSON ({exc}); re-download or repair the annotation file") from None
    except OSError as exc:
        raise SourceError(f"cannot read COCO annotations {path}: {exc.strerror or exc}") from None
    dataset, names, skips = _validated(data, Path(path), split)
    del data
    # COCO(annotation_file) would re-read the file and fail on the first malformed entry; the same
    # index is built from the validated entries (pycocotools prints progress: silenced).
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return CocoIndex(path, split, coco, names, skips)


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


def segmentation_problem(segm, image_wh: tuple[int, int]) -> str | None:
    """Why a segmentation cannot give a mask (structure only; decoding may still find it empty)."""
    if isinstance(segm, list):
        if not segm:
            return "empty segmentation"
        for poly in segm:
            if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2 or not all(_is_number(v) for v in poly):
                return "a polygon with fewer than 3 points or non-numeric coordinates"
        return None
    if isinstance(segm, dict):
        size, counts = segm.get("size"), segm.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and list(size) == [image_wh[1], image_wh[0]]):
            return f"RLE size {size!r} is not the image's [height, width] {[image_wh[1], image_wh[0]]}"
        if not isinstance(counts, (list, str, bytes)) or not counts:
            return "RLE without counts"
        return None
    return "segmentation is neither polygons nor RLE"


def coordinates_problem(ann: dict, image_wh: tuple[int, int]) -> str | None:
    """Why an instance's polygon points or box corners are too far outside the image to be used
    (see :data:`COORDINATE_MARGIN`); None when they are all within reach. Numbers are finite (checked)."""
    w, h = image_wh
    mx, my = COORDINATE_MARGIN * w, COORDINATE_MARGIN * h
    x, y, bw, bh = (float(v) for v in ann["bbox"])
    points = [(x, y), (x + bw, y + bh)]
    if isinstance(ann["segmentation"], list):
        points += [(float(p[i]), float(p[i + 1])) for p in ann["segmentation"] for i in range(0, len(p), 2)]
    for px, py in points:
        if not (-mx <= px <= w + mx and -my <= py <= h + my):
            return (f"point ({px:g}, {py:g}) is more than {COORDINATE_MARGIN:g} x the image size outside "
                    f"the {w}x{h} image")
    return None


def instance_problem(ann: dict, image: dict, min_area_px: float,
                     max_image_pixels: int = MAX_FRAME_PIXELS) -> tuple[str, str] | None:
    """``(reason, detail)`` when an instance is not usable as a target or distractor; None when it is.
    Cheap (no mask decoding): see :func:`decode_mask` for the decoded check. Everything that could make
    pycocotools allocate without bound (image size, coordinates) is refused here."""
    if ann.get("iscrowd"):
        return "iscrowd", "crowd region"
    wh = (image["width"], image["height"])
    if wh[0] * wh[1] > max_image_pixels:
        return "frame_too_large", (f"the annotation's image size {wh[0]}x{wh[1]} is over the limit of "
                                   f"{max_image_pixels} pixels ([limits] max_frame_pixels)")
    problem = segmentation_problem(ann["segmentation"], wh)
    if problem:
        return "degenerate_mask", problem
    if not is_valid_xywh(ann["bbox"]):  # the numbers are finite (checked when listing)
        return "invalid_box", f"bbox {ann['bbox']} has no area"
    if not is_valid_xywh(ann["bbox"], wh):
        return "box_outside_frame", f"bbox {ann['bbox']} outside the {wh[0]}x{wh[1]} image"
    if problem := coordinates_problem(ann, wh):
        return "coordinates_out_of_range", problem
    w, h = float(ann["bbox"][2]), float(ann["bbox"][3])
    area = float(ann["area"]) if _is_number(ann.get("area")) and ann["area"] > 0 else w * h
    if area < min_area_px:
        return "tiny_instance", f"area {area:.0f} px < {min_area_px:.0f}"
    return None


def decode_mask(index: CocoIndex, ann: dict) -> np.ndarray | None:
    """The instance's full-image boolean mask (pycocotools ``annToMask``: polygons and RLE), or None
    when it does not decode or is empty."""
    try:
        with warnings.catch_warnings():  # pycocotools' numpy-2 copy= DeprecationWarning, once per mask
            warnings.simplefilter("ignore", DeprecationWarning)
            mask = index.coco.annToMask(ann)
    except Exception:  # pycocotools raises plain Exception/TypeError/IndexError for bad segmentations
        return None
    return mask.astype(bool) if mask is not None and mask.any() else None


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
        skips += index.skips
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
    image = index.image(image_id)
    ref = FrameRef(str(image_path(video.root, video.split, image["file_name"])))
    problems: dict[str, list[int]] = defaultdict(list)
    details: dict[str, list[str]] = defaultdict(list)
    sequences = []
    for ann in index.annotations_of(image_id):
        problem = instance_problem(ann, image, min_area_px, max_image_pixels)
        if problem is None and decode_mask(index, ann) is None:
            problem = ("degenerate_mask", "the mask decodes empty")
        if problem is not None:
            problems[problem[0]].append(ann["id"])
            if problem[1] not in details[problem[0]]:
                details[problem[0]].append(problem[1])
            continue
        boxes = np.array([ann["bbox"]], dtype=np.float64)
        boxes.setflags(write=False)
        sequences.append(Sequence(video, str(ann["id"]), index.category_names[ann["category_id"]], (ref,), boxes))
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
