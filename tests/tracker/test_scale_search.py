"""Issue 17's cause: a head on the frozen SiamFC trunk cannot read a size change from one search crop.

Trained on the real sequences, the recipe's regression branch predicts a log-size change with slope 0.40
of the true one on held-out crops (benchmarks/RESULTS.md), so a shrinking target's box shrinks too slowly
and grows onto the background (OTB Car1, Car4). The trunk measures scale well where SiamFC uses it:
scoring a few search scales and keeping the best. These tests zoom out of a real frame (everything,
target included, shrinks to half its size) and track it with the untrained head on the real SiamFC trunk
(the SiamFC score prior alone, regression at zero): with one search crop the box keeps its first size,
with the recipe's tracking parameters (``pipelines/cpu/track-siamrpn.toml``: the scale search) it follows.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from tracker.models import create_model
from tracker.online import RPNParams, RPNTracker, load_params
from tracker.online.params import params_from_dict
from tracker.weights import load_backbone_weights

from ..conftest import REPO_ROOT

RECIPE_TRACKING = REPO_ROOT / "pipelines" / "cpu" / "track-siamrpn.toml"
ZOOM_PER_FRAME = 1.02  # the view widens 2% per frame: 35 frames halve every object
FRAMES = 36


def zoom_out_frames(image: np.ndarray, out_wh=(640, 360), box_wh=(96.0, 72.0)):
    """Frames of a camera zooming out of ``image`` about its centre, and the centred box (xywh) of the
    region that fills ``box_wh`` px of the first frame, in every frame."""
    h, w = image.shape[:2]
    cx, cy = w / 2, h / 2
    frames, boxes = [], []
    for t in range(FRAMES):
        f = ZOOM_PER_FRAME ** t
        half_w, half_h = out_wh[0] / 2 * f, out_wh[1] / 2 * f  # the image region this frame shows
        src = np.float32([[cx - half_w, cy - half_h], [cx + half_w, cy - half_h], [cx - half_w, cy + half_h]])
        dst = np.float32([[0, 0], [out_wh[0], 0], [0, out_wh[1]]])
        frames.append(cv2.warpAffine(image, cv2.getAffineTransform(src, dst), out_wh, flags=cv2.INTER_AREA,
                                     borderMode=cv2.BORDER_REFLECT))
        bw, bh = box_wh[0] / f, box_wh[1] / f
        boxes.append((out_wh[0] / 2 - bw / 2, out_wh[1] / 2 - bh / 2, bw, bh))
    return frames, np.asarray(boxes)


@pytest.fixture(scope="module")
def siamfc_score_rpn(shared_data):
    """The recipe's SiamRPN before training: real SiamFC trunk, the classification exactly SiamFC's score
    (residual zeroed), the regression at zero (as initialised)."""
    model = create_model("siamrpn", backbone="siamfc", head="dwxcorr", conf_adjust=False, conf_prior=True)
    load_backbone_weights(model.backbone, shared_data / "weights" / "siamfc_alexnet.safetensors", strict=True)
    with torch.no_grad():
        model.conf_branch.output.weight.zero_()
        model.conf_branch.output.bias.zero_()
    return model.eval()


@pytest.fixture(scope="module")
def zoom(shared_data):
    image = cv2.cvtColor(cv2.imread(str(shared_data / "tlp-train" / "Bike" / "img" / "00001.jpg")), cv2.COLOR_BGR2RGB)
    return zoom_out_frames(image)


def size_ratios(model, params, frames, gt) -> np.ndarray:
    """Predicted / true box side (geometric mean of width and height ratios) on every frame after the first."""
    tracker = RPNTracker(model, params)
    tracker.init(frames[0], gt[0])
    boxes = np.array([tracker.track(f)[0] for f in frames[1:]])
    return np.sqrt(boxes[:, 2] * boxes[:, 3] / (gt[1:, 2] * gt[1:, 3]))


@pytest.mark.numerics
def test_the_recipes_tracker_follows_a_target_that_shrinks_to_half(siamfc_score_rpn, zoom):
    """The recipe's tracking parameters, but for the margin the side scales must win by: the recipe's 0.2
    logits is tuned for the trained head, whose logits move more with scale; the untrained SiamFC score
    peaks at ~3.3 here, and SiamFC's own scale penalty (x 0.9745) takes 0.08 logits off it."""
    frames, gt = zoom
    assert gt[-1, 2] / gt[0, 2] == pytest.approx(0.5, abs=0.02)
    params = params_from_dict(load_params(RECIPE_TRACKING, "siamrpn"), {"scale_margin": 0.08})
    ratios = size_ratios(siamfc_score_rpn, params, frames, gt)
    assert np.all((ratios > 0.8) & (ratios < 1.25)), ratios.round(2)


@pytest.mark.numerics
def test_one_search_crop_keeps_the_first_size(siamfc_score_rpn, zoom):
    """The same tracker without the scale search (pysot's post-processing, the trainer's default before):
    nothing in one crop moves the size, and the box ends at twice the target's."""
    frames, gt = zoom
    ratios = size_ratios(siamfc_score_rpn, RPNParams(), frames, gt)
    assert ratios[-1] > 1.7, ratios.round(2)


@pytest.mark.numerics
def test_the_scale_search_tracks_alike_on_both_backends(siamfc_score_rpn, zoom, tmp_path):
    """An ONNX export records the scale-search parameters and onnxruntime's tracker runs the same search:
    one batch-1 detect call per scale, as the torch tracker."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tracker.evaluation.metrics import overlaps
    from tracker.onnx_export import export_onnx
    from tracker.onnx_runtime import load_onnx_tracker

    frames, gt = zoom
    params = params_from_dict(load_params(RECIPE_TRACKING, "siamrpn"), {"scale_margin": 0.08})
    export_onnx(siamfc_score_rpn, tmp_path / "onnx", params)
    onnx_tracker = load_onnx_tracker(tmp_path / "onnx", threads=1)
    assert onnx_tracker.params == params
    boxes = []
    for tracker in (RPNTracker(siamfc_score_rpn, params), onnx_tracker):
        tracker.init(frames[0], gt[0])
        boxes.append(np.array([tracker.track(f)[0] for f in frames[1:]]))
    assert np.median(overlaps(boxes[0], boxes[1])) >= 0.99
    assert np.all(overlaps(boxes[1], gt[1:]) > 0.6)
