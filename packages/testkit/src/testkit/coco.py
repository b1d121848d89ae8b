"""Small COCO-format datasets in the standard layout, for tests, demos and benchmarks.

``ROOT/annotations/instances_<split>.json`` + ``ROOT/<split>/<file_name>`` with a sub-folder in
``file_name``, non-contiguous category ids (id 0 ``_background_`` without instances), and every
segmentation kind pycocotools reads: polygons, compressed RLE and uncompressed RLE. Images are
generated (textured shapes on a textured background, real JPEGs); each object is painted through
exactly the mask pycocotools decodes from its annotation, so masks and pixels agree.

:func:`write_coco` adds a crowd region and a tiny instance (both skipped by the reader), a category
with a single instance (``kite``: no same-class distractor source), and a ``snake`` pair whose
elongated member is too large to paste next to the compact one. :func:`write_coco_bad` writes a
split with one broken input per case and says what each must produce. :func:`link_coco_mini`
lays the real sample (``annotations.json`` + ``JPEGImages/``) out in the standard layout.

Deterministic: the same call writes identical bytes. Files are written in place (not atomically).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from siamcore.datasets.coco import annotation_path, image_path

from testkit.bad_inputs import truncate_jpeg_bytes
from testkit.scene import encode_jpeg, random_canvas, random_texture, seeded_rng

#: Category ids are deliberately non-contiguous and start at 0.
CATEGORIES = ((0, "_background_"), (3, "person"), (7, "car"), (18, "dog"), (23, "cat"), (42, "kite"), (57, "snake"))
COMMON = ("person", "car", "dog", "cat")
IMAGE_FOLDER = "imgs"


@dataclass(frozen=True)
class Instance:
    """What :func:`write_coco` wrote for one annotation (truth for tests)."""

    ann_id: int
    image_id: int
    file_name: str
    category: str
    bbox_xywh: tuple[float, float, float, float]
    encoding: str  # "polygon" | "rle" | "rle-uncompressed"
    usable: bool  # False for crowd / tiny instances


def _rle_uncompressed(mask: np.ndarray) -> dict:
    """Column-major run lengths starting with a run of zeros (COCO's uncompressed RLE)."""
    flat = mask.flatten(order="F").astype(np.uint8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], changes, [flat.size]]))
    counts = ([0] if flat[0] else []) + [int(r) for r in runs]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def _rle_compressed(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def polygon_mask(polygon: list[float], wh: tuple[int, int]) -> np.ndarray:
    """The mask pycocotools decodes from one polygon (so painting and annotation agree)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.merge(mask_utils.frPyObjects([polygon], wh[1], wh[0]))
    with warnings.catch_warnings():  # pycocotools' numpy-2 copy= DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def _shape_polygon(rng: np.random.Generator, box_xywh, kind: str) -> list[float]:
    x, y, w, h = box_xywh
    cx, cy = x + w / 2, y + h / 2
    if kind == "ellipse":
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        pts = np.stack([cx + w / 2 * np.cos(t), cy + h / 2 * np.sin(t)], 1)
    elif kind == "rect":
        pts = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)
    else:  # a blobby star-ish polygon
        t = np.linspace(0, 2 * np.pi, 10, endpoint=False)
        r = np.where(np.arange(10) % 2 == 0, 1.0, rng.uniform(0.55, 0.8))
        pts = np.stack([cx + w / 2 * r * np.cos(t), cy + h / 2 * r * np.sin(t)], 1)
    return [round(float(v), 2) for v in pts.reshape(-1)]


def _encode(mask: np.ndarray, polygon: list[float], encoding: str):
    if encoding == "polygon":
        return [polygon]
    if encoding == "rle":
        return _rle_compressed(mask)
    return _rle_uncompressed(mask)


def _bbox_of(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


class _Writer:
    """Accumulates images and annotations of one split and writes them."""

    def __init__(self, root: Path, split: str, seed: int):
        self.root, self.split, self.seed = root, split, seed
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.instances: list[Instance] = []
        self.cat_ids = {name: i for i, name in CATEGORIES}
        self.next_ann = 1

    def image(self, image_id: int, size: tuple[int, int]) -> tuple[np.ndarray, str]:
        file_name = f"{IMAGE_FOLDER}/{image_id:012d}.jpg"
        self.images.append({"id": image_id, "file_name": file_name, "width": size[0], "height": size[1]})
        return random_canvas(seeded_rng(self.seed, f"coco/{self.split}/{image_id}"), *size), file_name

    def add(self, img: np.ndarray, image_id: int, file_name: str, category: str, polygon: list[float],
            encoding: str, rng: np.random.Generator, iscrowd: int = 0, usable: bool = True) -> int:
        h, w = img.shape[:2]
        mask = polygon_mask(polygon, (w, h))
        tex = cv2.resize(random_texture(rng), (w, h), interpolation=cv2.INTER_NEAREST)
        img[mask] = tex[mask]
        ann_id = self.next_ann
        self.next_ann += 1
        bbox = _bbox_of(mask)
        self.annotations.append({
            "id": ann_id, "image_id": image_id, "category_id": self.cat_ids[category],
            "segmentation": _encode(mask, polygon, encoding), "area": float(mask.sum()), "bbox": bbox,
            "iscrowd": iscrowd,
        })
        self.instances.append(Instance(ann_id, image_id, file_name, category, tuple(bbox), encoding, usable))
        return ann_id

    def save_jpeg(self, file_name: str, jpeg: bytes) -> None:
        path = image_path(self.root, self.split, file_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg)

    def write_json(self, extra_annotations=(), extra_images=()) -> Path:
        data = {
            "info": {"description": "siamtrack synthetic COCO"},
            "licenses": [],
            "images": self.images + list(extra_images),
            "annotations": self.annotations + list(extra_annotations),
            "categories": [{"id": i, "name": n, "supercategory": "thing"} for i, n in CATEGORIES],
        }
        path = annotation_path(self.root, self.split)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=None, sort_keys=True))
        return path


def write_coco(root: str | Path, split: str = "train2017", images: int = 6, size: tuple[int, int] = (320, 240),
               seed: int = 0) -> list[Instance]:
    """Write a COCO split: ``images`` images with 2-3 common-category objects each (encodings
    rotating polygon / RLE / uncompressed RLE), plus in image 0 a crowd region, in image 1 a tiny
    instance, in image 2 the only ``kite``, and in image 3 a compact and an elongated ``snake``.
    Returns what it wrote."""
    root = Path(root)
    wr = _Writer(root, split, seed)
    encodings = ("polygon", "rle", "rle-uncompressed")
    w, h = size
    for image_id in range(1, images + 1):
        rng = seeded_rng(seed, f"coco/{split}/{image_id}/objects")
        img, file_name = wr.image(image_id, size)
        slots = [(0.04, 0.08), (0.52, 0.1), (0.3, 0.5)]
        for k, (fx, fy) in enumerate(slots[: 2 + image_id % 2]):
            ow, oh = rng.uniform(0.2, 0.34) * w, rng.uniform(0.25, 0.4) * h
            box = (fx * w + rng.uniform(0, 0.1) * w, fy * h + rng.uniform(0, 0.08) * h, ow, oh)
            kind = ("ellipse", "rect", "star")[int(rng.integers(3))]
            category = COMMON[(image_id + k) % len(COMMON)]
            wr.add(img, image_id, file_name, category, _shape_polygon(rng, box, kind),
                   encodings[wr.next_ann % 3], rng)
        if image_id == 1:  # a crowd region: skipped
            wr.add(img, image_id, file_name, "person", _shape_polygon(rng, (0.75 * w, 0.7 * h, 60, 50), "rect"),
                   "rle", rng, iscrowd=1, usable=False)
        if image_id == 2:  # a tiny instance: skipped
            wr.add(img, image_id, file_name, "car", _shape_polygon(rng, (0.85 * w, 0.85 * h, 12, 10), "rect"),
                   "polygon", rng, usable=False)
        if image_id == 3:  # the only kite
            wr.add(img, image_id, file_name, "kite", _shape_polygon(rng, (0.72 * w, 0.62 * h, 60, 70), "star"),
                   "polygon", rng)
        if image_id == 4:  # snakes: compact, and too elongated to paste next to a compact one
            wr.add(img, image_id, file_name, "snake", _shape_polygon(rng, (0.72 * w, 0.55 * h, 64, 64), "ellipse"),
                   "rle", rng)
            wr.add(img, image_id, file_name, "snake", _shape_polygon(rng, (8, 0.9 * h, w - 16, 6), "rect"),
                   "polygon", rng)
        wr.save_jpeg(file_name, encode_jpeg(img))
    wr.write_json()
    return wr.instances


@dataclass(frozen=True)
class CocoBadInput:
    """One injected broken input: ``where`` names it in skip rows, ``reason`` is the expected code,
    ``stage`` is "list" (listing skip), "load" (load_video skip) or "read" (a pair skip when built)."""

    where: str
    reason: str
    stage: str


def write_coco_bad(root: str | Path, split: str = "bad2017", size: tuple[int, int] = (320, 240),
                   seed: int = 0) -> list[CocoBadInput]:
    """A split with two good images plus one broken input per case; also writes
    ``instances_notjson.json`` (does not parse) and ``instances_nokeys.json`` (no ``annotations``).
    Returns the expectations."""
    root = Path(root)
    wr = _Writer(root, split, seed)
    w, h = size
    bad: list[CocoBadInput] = []
    for image_id in (1, 2):
        rng = seeded_rng(seed, f"coco/{split}/{image_id}/objects")
        img, file_name = wr.image(image_id, size)
        wr.add(img, image_id, file_name, "person", _shape_polygon(rng, (30, 30, 90, 120), "ellipse"), "polygon", rng)
        wr.add(img, image_id, file_name, "person", _shape_polygon(rng, (180, 60, 80, 110), "star"), "rle", rng)
        wr.save_jpeg(file_name, encode_jpeg(img))
    # an image whose file is missing, and one whose JPEG is truncated: each with a usable instance
    for image_id, reason in ((3, "missing_frame"), (4, "corrupt_jpeg")):
        rng = seeded_rng(seed, f"coco/{split}/{image_id}/objects")
        img, file_name = wr.image(image_id, size)
        wr.add(img, image_id, file_name, "person", _shape_polygon(rng, (60, 40, 100, 120), "rect"), "polygon", rng)
        if reason == "corrupt_jpeg":
            wr.save_jpeg(file_name, truncate_jpeg_bytes(encode_jpeg(img)))
        bad.append(CocoBadInput(f"{split}/{image_id}/", reason, "read"))
    # broken instances in image 1
    cat = wr.cat_ids["dog"]
    good_bbox = [10.0, 10.0, 50.0, 50.0]
    broken = [
        ({"segmentation": []}, "degenerate_mask"),
        ({"segmentation": [[10.0, 10.0, 60.0, 60.0]]}, "degenerate_mask"),  # 2 points: pycocotools would read a bbox
        ({"segmentation": [[10.0, 10.0, 30.0, 30.0, 50.0, 50.0]]}, "degenerate_mask"),  # collinear: decodes empty
        ({"segmentation": {"size": [10, 10], "counts": "P1370000000b0"}}, "degenerate_mask"),  # wrong size
    ]
    extra_anns = []
    for fields, reason in broken:
        ann_id = 900 + len(extra_anns)
        extra_anns.append({"id": ann_id, "image_id": 1, "category_id": cat, "bbox": good_bbox, "area": 2500.0,
                           "iscrowd": 0, **fields})
        bad.append(CocoBadInput(f"{split}/1", reason, "load"))
    listing = [
        {"id": 950, "image_id": 1, "category_id": cat, "bbox": ["x", 1, 2, 3], "segmentation": [], "iscrowd": 0},
        {"id": 951, "image_id": 77, "category_id": cat, "bbox": good_bbox, "segmentation": [], "iscrowd": 0},
        {"id": 952, "image_id": 1, "category_id": 999, "bbox": good_bbox, "segmentation": [], "iscrowd": 0},
        {"image_id": 1, "category_id": cat, "bbox": good_bbox, "segmentation": [], "iscrowd": 0},
    ]
    extra_anns += listing
    bad += [CocoBadInput(f"{split}/annotation", "malformed_annotation", "list")] * len(listing)
    extra_images = [{"id": 60, "file_name": "/etc/passwd", "width": 10, "height": 10}]
    bad.append(CocoBadInput(f"{split}/image", "malformed_annotation", "list"))
    wr.write_json(extra_anns, extra_images)
    annotation_path(root, "notjson").write_text('{"images": [ {"id": 1, ')
    annotation_path(root, "nokeys").write_text(json.dumps({"images": [], "categories": []}))
    for s in ("notjson", "nokeys"):
        (root / s).mkdir(exist_ok=True)
    return bad


def link_coco_mini(src: str | Path, root: str | Path, split: str = "val2017") -> Path:
    """Lay out the real sample ``src`` (``annotations.json`` + ``JPEGImages/``, file names with the
    ``JPEGImages/`` prefix) in the standard layout under ``root`` by symbolic links (no copy).
    Idempotent: links already there and pointing at ``src`` are kept."""
    src, root = Path(src).absolute(), Path(root)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / split).mkdir(parents=True, exist_ok=True)
    for target, link in ((src / "annotations.json", annotation_path(root, split)),
                         (src / "JPEGImages", root / split / "JPEGImages")):
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        os.symlink(target, link, target_is_directory=target.is_dir())
    return root
