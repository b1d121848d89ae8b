"""COCO instances (still images): ``ROOT/annotations/instances_<split>.json`` (e.g. ``train2017``) and
images at ``ROOT/<split>/<file_name>``, ``file_name`` taken as given (it may hold a sub-folder).
Category ids need not be contiguous nor start at 1 (some exports have id 0 ``_background_``).

- **Validation.** :func:`read_coco_index` keeps only well-formed entries (int ids, known image and
  category, a bbox of 4 finite numbers, a segmentation; images with an int id, a relative
  ``file_name`` and a size) and lists the others as problems; a file that is not JSON or lacks
  ``images`` / ``annotations`` / ``categories`` is a ValueError.
- **Instances.** Each usable instance is a one-frame :class:`Sequence` (name = the annotation id,
  ``class_name`` = its category name, the COCO ``bbox`` as xywh). :func:`instance_problem` says why
  an instance is not usable (crowd, too large an image, a degenerate segmentation, an invalid or
  out-of-frame box, coordinates far outside the image, too small) without decoding its mask;
  :func:`decode_mask` decodes it. Coordinates are refused before pycocotools sees them: it allocates
  by them (a polygon at 1e308 takes 21 GB, then segfaults).

pycocotools is imported only inside the functions that need it (the tracker never imports it).
Still images are no tracking sequences: COCO is not in ``LOADERS``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ..boxes import is_valid_xywh
from .sequence import Sequence

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


@dataclass(eq=False)
class CocoIndex:
    """A validated annotation file: a pycocotools ``COCO`` index holding only well-formed entries,
    the category names by id, and ``problems``: ``(what, detail)`` of each malformed entry left out
    (``what``: ``category``, ``image`` or ``annotation <id>``)."""

    path: str
    split: str
    coco: object  # pycocotools.coco.COCO
    category_names: dict[int, str]
    problems: list[tuple[str, str]] = field(default_factory=list)

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


def validate_coco(data, path: Path) -> tuple[dict, dict[int, str], list[tuple[str, str]]]:
    """The well-formed images/annotations/categories of a parsed file, the category names, and the
    ``(what, detail)`` problems of the rest. ValueError when ``data`` is not a COCO instances file."""
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a COCO annotation file is a JSON object, got {type(data).__name__}")
    missing = [k for k in ("images", "annotations", "categories") if not isinstance(data.get(k), list)]
    if missing:
        raise ValueError(
            f"{path}: not a COCO instances file: key(s) {missing} missing or not lists (a COCO file has "
            f"'images', 'annotations' and 'categories')"
        )
    problems: list[tuple[str, str]] = []
    categories: dict[int, dict] = {}
    for c in data["categories"]:
        ok = isinstance(c, dict) and _is_int(c.get("id")) and isinstance(c.get("name"), str)
        if ok and c["id"] not in categories:
            categories[c["id"]] = c
        else:
            problems.append(("category", f"bad or duplicate category entry {str(c)[:120]}"))
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
            problems.append(("image", f"bad or duplicate image entry (needs int id, relative file_name, width, "
                                      f"height): {str(im)[:160]}"))
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
            problems.append((f"annotation {ident}", problem))
            continue
        seen.add(a["id"])
        annotations.append(a)
    names = {i: c["name"] for i, c in categories.items()}
    dataset = {"images": list(images.values()), "annotations": annotations, "categories": list(categories.values())}
    return dataset, names, problems


def read_coco_index(path: str | os.PathLike, split: str) -> CocoIndex:
    """Parse and validate an annotation file (uncached: a caller that reads it often caches it).
    ValueError when it cannot be read, is not JSON or not a COCO instances file."""
    from pycocotools.coco import COCO

    path = str(path)
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); re-download or repair the annotation file") from None
    except OSError as exc:
        raise ValueError(f"cannot read COCO annotations {path}: {exc.strerror or exc}") from None
    dataset, names, problems = validate_coco(data, Path(path))
    del data
    # COCO(annotation_file) would re-read the file and fail on the first malformed entry; the same
    # index is built from the validated entries (pycocotools prints progress: silenced).
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return CocoIndex(path, split, coco, names, problems)


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


def instance_problem(ann: dict, image: dict, min_area_px: float, max_image_pixels: int) -> tuple[str, str] | None:
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
    if not is_valid_xywh(ann["bbox"]):  # the numbers are finite (checked when validating)
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


def image_instances(index: CocoIndex, root: str | os.PathLike, image_id: int, min_area_px: float,
                    max_image_pixels: int) -> tuple[list[Sequence], list[tuple[int, str, str]]]:
    """The usable instances of one image as one-frame sequences (sorted by annotation id), and
    ``(annotation id, reason, detail)`` for each unusable one (see :func:`instance_problem`; a mask
    that decodes empty is ``degenerate_mask``)."""
    image = index.image(image_id)
    frame = image_path(root, index.split, image["file_name"])
    sequences, problems = [], []
    for ann in index.annotations_of(image_id):
        problem = instance_problem(ann, image, min_area_px, max_image_pixels)
        if problem is None and decode_mask(index, ann) is None:
            problem = ("degenerate_mask", "the mask decodes empty")
        if problem is not None:
            problems.append((ann["id"], *problem))
            continue
        box = np.array([ann["bbox"]], dtype=np.float64)
        sequences.append(Sequence(str(ann["id"]), [frame], box, class_name=index.category_names[ann["category_id"]]))
    return sequences, problems
