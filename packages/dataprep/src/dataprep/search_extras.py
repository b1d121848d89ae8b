"""What a shard task adds to a search crop beyond the plain crop: a distractor and photometric change.

:func:`plan_search_extras` decides, for one planned pair, whether a same-class distractor is pasted
(source instance, size, position: :mod:`dataprep.distractors`) and whether the still-image
photometric change applies (:mod:`dataprep.photometric`). It returns an ``edit`` callback that
:func:`dataprep.records.crop_views` calls on every search view's image before JPEG encoding, plus
what the record stores (``distractors``, ``flags``).

Placement happens in the *primary* search view (the one whose boxes the manifest holds); other
search views get the same distractor at the same place in the frame (mapped through the crop
windows). Randomness: own generators keyed by (seed, sample key, stream), so adding distractors
never changes a pair's frames or jitter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import crop_to_frame_xyxy, frame_to_crop_xyxy, window_for_box_xywh

from dataprep import distractors as D
from dataprep import photometric
from dataprep.class_map import distractor_categories
from dataprep.config import BuildConfig, distractors_enabled
from dataprep.pairs import PairPlan, sample_rng
from dataprep.sources import FrameError, Sequence

STREAM_DISTRACTOR = 1
STREAM_PHOTOMETRIC = 2
FLAG_PHOTOMETRIC = "photometric"


@dataclass
class SearchExtras:
    edit: Callable[[str, np.ndarray, np.ndarray], np.ndarray] | None = None
    """``edit(view name, image, window_xyxy) -> image``, or None when nothing changes."""
    distractors: list[dict] = field(default_factory=list)
    """Record entries ``{box_xyxy (primary search crop px), category, source_id (annotation id)}``."""
    flags: list[str] = field(default_factory=list)


def load_distractor_bank(cfg: BuildConfig):
    """The (per-process cached) bank of ``cfg``, or None when distractors are off."""
    if not distractors_enabled(cfg):
        return None
    from dataprep.sources.coco import load_bank

    t = cfg.distractors
    return load_bank(t.root, t.split, t.min_area_px, cfg.limits.max_frame_pixels)


def _is_still(plan: PairPlan) -> bool:
    return not plan.negative and plan.exemplar_seq == plan.search_seq and plan.exemplar_frame == plan.search_frame


def plan_search_extras(cfg: BuildConfig, plan: PairPlan, seq: Sequence, box_xywh, bank) -> SearchExtras:
    """Decide and prepare the extras of one pair's search crops (loads the distractor source patch)."""
    extras = SearchExtras()
    primary = cfg.primary_view("search")
    view = cfg.views[primary]
    window = window_for_box_xywh(box_xywh, view.view(), scale=plan.search_jitter.scale,
                                 shift_px=plan.search_jitter.shift_px("search", view.size))
    target_xyxy = frame_to_crop_xyxy(xywh_to_xyxy(np.asarray(box_xywh, dtype=np.float64)), window, view.size)

    pastes = []  # (frame box xyxy, primary box xyxy, patch, mask)
    t = cfg.distractors
    if bank is not None:
        rng = sample_rng(cfg.seed, plan.key, STREAM_DISTRACTOR)
        if D.wants_distractor(rng, t.p_distractor):
            flag, paste = _choose_and_place(rng, cfg, seq, target_xyxy, view.size, bank)
            if flag:
                extras.flags.append(flag)
            else:
                box, source_id, patch, mask = paste
                pastes.append((crop_to_frame_xyxy(box, window, view.size), box, patch, mask))
                extras.distractors.append({"box_xyxy": [float(v) for v in box], "category": bank.category(source_id),
                                           "source_id": int(source_id)})

    change = None
    ph = cfg.photometric
    if ph.enabled and _is_still(plan):
        rng = sample_rng(cfg.seed, plan.key, STREAM_PHOTOMETRIC)
        change = photometric.draw(rng, ph.brightness, ph.contrast, ph.p_blur, ph.blur_sigma_max_px)
        extras.flags.append(FLAG_PHOTOMETRIC)

    if not pastes and change is None:
        return extras

    def edit(name: str, image: np.ndarray, view_window) -> np.ndarray:
        size = image.shape[1]
        for frame_box, primary_box, patch, mask in pastes:
            box = primary_box if name == primary else frame_to_crop_xyxy(frame_box, view_window, size)
            feather = t.feather_px * (box[2] - box[0]) / max(primary_box[2] - primary_box[0], 1e-9)
            image, _ = D.paste_into_box(image, patch, mask, box, feather)
        if change is not None:
            image = photometric.apply(image, change)
        return image

    extras.edit = edit
    return extras


def _choose_and_place(rng, cfg: BuildConfig, seq: Sequence, target_xyxy, crop_size: int, bank):
    """``(flag, None)`` when no distractor can be pasted, else ``(None, (box, source id, patch, mask))``."""
    t = cfg.distractors
    candidates = bank.candidates(distractor_categories(seq.video.dataset, seq.class_name))
    exclude = int(seq.track) if bank.same_source(seq.video) else None
    source_id = D.choose_source(rng, candidates, exclude)
    if source_id is None:
        return D.FLAG_NO_SOURCE, None
    try:
        patch, mask = bank.load_patch(source_id, cfg.limits.max_frame_pixels, cfg.limits.max_frame_bytes)
    except FrameError:
        return D.FLAG_SOURCE_UNREADABLE, None
    size_wh = D.distractor_size_px(rng, target_xyxy, (patch.shape[1], patch.shape[0]), (t.scale_min, t.scale_max))
    if not D.fits_in_crop(size_wh, crop_size):
        return D.FLAG_TOO_LARGE, None
    box = D.place_box_xyxy(rng, size_wh, target_xyxy, crop_size, t.max_iou, t.tries)
    if box is None:
        return D.FLAG_NO_ROOM, None
    return None, (box, source_id, patch, mask)


def describe_distractor_bank(cfg: BuildConfig) -> dict | None:
    """Load the bank of ``cfg`` (cached) and describe it for ``build.json``: split, instance count
    and a fingerprint of its instances (ids, categories, image files); None when distractors are off.
    Raises SourceError when the bank cannot be read."""
    bank = load_distractor_bank(cfg)
    if bank is None:
        return None
    h = hashlib.sha256()
    for ann_id in bank.all_ids:
        ann = bank.index.coco.anns[ann_id]
        h.update(f"{ann_id}|{bank.category(ann_id)}|{bank.index.image(ann['image_id'])['file_name']}\n".encode())
    return {"source": "coco", "split": bank.split, "instances": len(bank), "categories": len(bank.ids_by_category),
            "fingerprint": h.hexdigest()}
