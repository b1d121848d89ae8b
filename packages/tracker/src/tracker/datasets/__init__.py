"""Readers for tracking data: OTB and VOT sequences, frame folders, videos, OTB-format results."""

from .otb import load_otb, load_otb_folder, read_otb_groundtruth
from .results import read_results, write_results
from .sequence import Sequence, normalise_name, read_image_rgb
from .sources import FrameSource, open_source
from .vot import load_vot_sequence, polygon_to_xywh, read_vot_groundtruth

__all__ = [
    "FrameSource",
    "Sequence",
    "load_otb",
    "load_otb_folder",
    "load_vot_sequence",
    "normalise_name",
    "open_source",
    "polygon_to_xywh",
    "read_image_rgb",
    "read_otb_groundtruth",
    "read_results",
    "read_vot_groundtruth",
    "write_results",
]
