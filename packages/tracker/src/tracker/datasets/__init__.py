"""Tracking data for the tracker: the sequence readers (OTB, VOT, DAVIS, TLP) live in
:mod:`siamcore.datasets`, shared with dataprep, and are re-exported here; this package adds
OTB-format result files (:mod:`.results`) and the frame sources of ``tracker run`` (:mod:`.sources`)."""

from siamcore.datasets import (
    Sequence,
    load_otb,
    load_otb_folder,
    load_vot_sequence,
    normalise_name,
    polygon_to_xywh,
    read_image_rgb,
    read_otb_groundtruth,
    read_vot_groundtruth,
)

from .results import read_results, write_results
from .sources import FrameSource, UnreadableFrame, numbered_frames, open_source

__all__ = [
    "FrameSource",
    "Sequence",
    "load_otb",
    "load_otb_folder",
    "load_vot_sequence",
    "normalise_name",
    "numbered_frames",
    "open_source",
    "polygon_to_xywh",
    "read_image_rgb",
    "read_otb_groundtruth",
    "read_results",
    "read_vot_groundtruth",
    "UnreadableFrame",
    "write_results",
]
