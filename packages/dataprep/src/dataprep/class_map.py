"""Which distractor categories match a target's class: VID class -> COCO category names.

A same-class distractor needs the target's class in the distractor bank's vocabulary. COCO
targets already carry their COCO category name. The 30 ILSVRC VID classes map to a COCO category
where one exists (``domestic_cat`` -> ``cat``, ``cattle`` -> ``cow``, ``watercraft`` -> ``boat``,
...); the others (``fox``, ``lion``, ``whale``, ...) have no COCO counterpart and take a
distractor of any category. Each entry lists the COCO name first, then the PASCAL VOC spellings
used by VOC-derived COCO files (``aeroplane``, ``motorbike``), so both kinds of bank match.
"""

from __future__ import annotations

from dataprep.sources import SOURCES

#: VID class name -> acceptable category names in a COCO-format bank (first: the COCO 2017 name).
VID_TO_COCO: dict[str, tuple[str, ...]] = {
    "airplane": ("airplane", "aeroplane"),
    "bear": ("bear",),
    "bicycle": ("bicycle",),
    "bird": ("bird",),
    "bus": ("bus",),
    "car": ("car",),
    "cattle": ("cow",),
    "dog": ("dog",),
    "domestic_cat": ("cat",),
    "elephant": ("elephant",),
    "horse": ("horse",),
    "motorcycle": ("motorcycle", "motorbike"),
    "sheep": ("sheep",),
    "train": ("train",),
    "watercraft": ("boat",),
    "zebra": ("zebra",),
}

#: VID classes without a COCO category (their distractors come from any category).
VID_WITHOUT_COCO = (
    "antelope", "fox", "giant_panda", "hamster", "lion", "lizard", "monkey", "rabbit", "red_panda", "snake",
    "squirrel", "tiger", "turtle", "whale",
)


def distractor_categories(dataset: str, class_name: str) -> tuple[str, ...] | None:
    """Category names a same-class distractor may have, or None when the class is unknown or has
    no COCO counterpart (then any category will do).

    The dataset's ``class_vocabulary`` says what its class names are: COCO category names match
    themselves, VID class names go through :data:`VID_TO_COCO`; datasets without a vocabulary
    (TrackingNet) give None.
    """
    if not class_name:
        return None
    vocabulary = SOURCES[dataset].class_vocabulary if dataset in SOURCES else ""
    if vocabulary == "coco":
        return (class_name,)
    if vocabulary == "vid":
        return VID_TO_COCO.get(class_name)
    return None
