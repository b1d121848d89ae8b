"""Readers of the sequence-folder tracking datasets, one per on-disk layout, shared by the tracker
(evaluation) and dataprep (training pairs): OTB, VOT (single folder and vot-toolkit layouts), DAVIS
(mask extents), TLP / TinyTLP, and the video training sets TrackingNet (frames folders or zips,
:class:`ZipFrame`), ILSVRC VID (one sequence per track, absent frames flagged) and MOT17 (one sequence
per pedestrian id).

Each dataset has ``list_<name>(root) -> [SequenceRef]`` (cheap: names and folders, sorted) and
``load_<name>(root, names=None) -> [Sequence]`` (reads the selected sequences' annotations). Boxes are
``xywh``, continuous pixel coordinates with the origin at the top-left corner of the top-left pixel;
a NaN row means no usable box (see :class:`Sequence`). Unusable roots raise ValueError saying what
was expected; problems of single frames become NaN rows. numpy and OpenCV only.
"""

import importlib
import pkgutil

from .davis import list_davis, load_davis, load_davis_video, mask_extent_xywh, read_mask
from .got10k import got10k_split_of, list_got10k, load_got10k, load_got10k_sequence, read_got10k_groundtruth
from .lasot import is_lasot_sequence, list_lasot, load_lasot, load_lasot_sequence, read_lasot_groundtruth
from .mot17 import list_mot17, load_mot17, load_mot17_video, read_mot17_groundtruth, scan_mot17
from .otb import is_otb_sequence, list_otb, load_meta, load_otb, load_otb_folder, read_otb_groundtruth
from .sequence import (
    Layout,
    Sequence,
    SequenceRef,
    ZipFrame,
    exclude_sequences,
    list_images,
    normalise_name,
    read_image_rgb,
    select_sequences,
)
from .tlp import is_tlp_sequence, list_tlp, load_tlp, load_tlp_sequence, read_tlp_groundtruth
from .trackingnet import list_trackingnet, load_trackingnet, read_trackingnet_video
from .uav123 import list_uav123, load_uav123, load_uav123_sequence, read_uav123_groundtruth
from .vid import list_vid, load_vid, read_vid_snippet
from .vot import (
    is_vot_sequence,
    list_vot,
    load_vot,
    load_vot_sequence,
    polygon_to_xywh,
    read_vot_groundtruth,
    read_vot_tags,
)

def _discover_layouts() -> dict:
    """Layout name -> ``load_<name>(root, names=None)`` of every reader module here that declares a
    ``LAYOUT`` (:class:`~siamcore.datasets.sequence.Layout`): a new reader is found by that line alone."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        layout = getattr(importlib.import_module(f"{__name__}.{info.name}"), "LAYOUT", None)
        if isinstance(layout, Layout):
            if layout.name in found:
                raise RuntimeError(f"two readers declare the layout {layout.name!r}")
            found[layout.name] = layout.load
    return found


#: Layout name -> ``load_<name>(root, names=None)``: what ``layout`` settings choose from.
LOADERS = _discover_layouts()


def load_sequences(layout: str, root, names: list[str] | None = None) -> list[Sequence]:
    """The sequences of a dataset root in one of the :data:`LOADERS` layouts (ValueError otherwise)."""
    if layout not in LOADERS:
        raise ValueError(f"unknown dataset layout {layout!r}; known: {', '.join(LOADERS)}")
    return LOADERS[layout](root, names)


__all__ = [
    "LOADERS",
    "Layout",
    "load_sequences",
    "Sequence",
    "SequenceRef",
    "exclude_sequences",
    "is_otb_sequence",
    "is_tlp_sequence",
    "is_vot_sequence",
    "list_davis",
    "list_images",
    "list_otb",
    "list_tlp",
    "list_vot",
    "load_davis",
    "load_davis_video",
    "load_meta",
    "load_otb",
    "load_otb_folder",
    "load_tlp",
    "load_tlp_sequence",
    "load_vot",
    "load_vot_sequence",
    "mask_extent_xywh",
    "normalise_name",
    "polygon_to_xywh",
    "read_image_rgb",
    "read_mask",
    "read_otb_groundtruth",
    "read_tlp_groundtruth",
    "read_vot_groundtruth",
    "read_vot_tags",
    "select_sequences",
    "ZipFrame",
    "list_trackingnet", "load_trackingnet", "read_trackingnet_video",
    "list_vid", "load_vid", "read_vid_snippet",
    "got10k_split_of", "list_got10k", "load_got10k", "load_got10k_sequence", "read_got10k_groundtruth",
    "is_lasot_sequence", "list_lasot", "load_lasot", "load_lasot_sequence", "read_lasot_groundtruth",
    "list_uav123", "load_uav123", "load_uav123_sequence", "read_uav123_groundtruth",
    "list_mot17", "load_mot17", "load_mot17_video", "read_mot17_groundtruth", "scan_mot17",
]
