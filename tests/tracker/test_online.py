"""Online trackers: real SiamFC weights on real sequences, and the RPN post-processing end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from siamcore.anchors import rpn_anchors_cxcywh
from siamcore.crop import View
from torch import nn

from tracker.datasets import load_otb, load_vot_sequence
from tracker.evaluation.metrics import overlaps
from tracker.evaluation.ope import track_sequence
from tracker.models import SiamModel, create_model
from tracker.online import RPNParams, RPNTracker, SiamFCTracker, build_tracker, load_tracker
from tracker.weights import load_model


@pytest.fixture(scope="module")
def siamfc_weights(shared_data):
    return shared_data / "weights" / "siamfc_alexnet.safetensors"


@pytest.mark.slow
def test_siamfc_tracks_the_vot_bag(shared_data, siamfc_weights):
    seq = load_vot_sequence(shared_data / "vot" / "bag")
    tracker = load_tracker(siamfc_weights)
    assert isinstance(tracker, SiamFCTracker)
    run = track_sequence(tracker, seq)
    iou = overlaps(run.boxes_xywh, seq.gt_xywh)
    assert np.all(np.isfinite(run.boxes_xywh))
    assert iou.mean() > 0.55, f"mean IoU {iou.mean():.3f}"
    assert (iou > 0.3).mean() > 0.95  # it never loses the bag for long
    assert np.all((run.scores >= 0) & (run.scores <= 1))


def test_siamfc_tracker_is_deterministic_and_reinitialisable(shared_data, siamfc_weights):
    seq = load_otb(shared_data / "otb", ["Crossing"])[0]
    tracker = build_tracker(load_model(siamfc_weights))
    frames = [seq.frame(i) for i in range(6)]
    runs = []
    for _ in range(2):
        tracker.init(frames[0], seq.gt_xywh[0])
        runs.append(np.array([tracker.track(f)[0] for f in frames[1:]]))
    assert np.array_equal(runs[0], runs[1])
    assert overlaps(runs[0], seq.gt_xywh[1:6]).min() > 0.5


def test_siamfc_confidence_varies_and_drops_without_the_target(shared_data, siamfc_weights):
    """The confidence is the peak relative to the first frame's self-match (the sigmoid it replaced read
    1.00 on every frame): it varies along the real bag sequence and falls on frames of another video,
    where the bag is absent."""
    bag = load_vot_sequence(shared_data / "vot" / "bag")
    elsewhere = load_otb(shared_data / "otb", ["Couple"])[0]
    tracker = load_tracker(siamfc_weights)
    tracker.init(bag.frame(0), bag.init_box_xywh)
    followed = np.array([tracker.track(bag.frame(i))[1] for i in range(1, 25)])
    absent = np.array([tracker.track(elsewhere.frame(i))[1] for i in range(0, 40, 8)])
    assert np.all((followed >= 0) & (followed <= 1)) and np.all((absent >= 0) & (absent <= 1))
    assert followed.max() - followed.min() > 0.1
    assert followed.min() > 0.5 and absent.max() < followed.min() - 0.1, (followed, absent)


def test_tracker_rejects_bad_input(shared_data, siamfc_weights):
    tracker = load_tracker(siamfc_weights)
    frame = np.zeros((60, 80, 3), np.uint8)
    with pytest.raises(ValueError, match="initial box"):
        tracker.init(frame, (10, 10, 0, 5))
    with pytest.raises(ValueError, match="initial box"):
        tracker.init(frame, (100, 10, 5, 5))  # outside the frame
    with pytest.raises(ValueError, match="RGB uint8"):
        tracker.init(frame.astype(np.float32), (10, 10, 5, 5))


class ColourMatchRPN(SiamModel):
    """A tiny real network under the RPN contract: confidence = colour similarity of each anchor's
    centre (search crop) to the exemplar's centre colour; zero deltas. Records the guides it gets."""

    name = "colourmatch"

    def __init__(self, needs_guide: bool = False):
        super().__init__({})
        self.needs_guide = needs_guide
        self.views = {"exemplar": View(127, 0.5), "search": View(255, 1.5)}
        self._set_default_boxes(rpn_anchors_cxcywh(17, 8, 255))
        self.k = 5
        self.dummy = nn.Parameter(torch.zeros(1))
        self.guides = []

    def template(self, exemplar, exemplar_guide=None):
        self.guides.append(("exemplar", exemplar_guide))
        return exemplar[:, :, 62:66, 62:66].mean(dim=(2, 3))  # [B, 3]: the target's centre colour

    def detect(self, state, search, search_guide=None):
        self.guides.append(("search", search_guide))
        pooled = nn.functional.avg_pool2d(search, 3, stride=1, padding=1)  # local mean colour
        idx = (63.5 + 8 * torch.arange(17)).long()  # pixel holding each anchor centre
        grid = pooled[:, :, idx][:, :, :, idx]  # [B, 3, 17, 17]
        dist = (grid - state[:, :, None, None]).norm(dim=1)  # [B, 17, 17]
        conf = (4.0 - dist / 10.0)[..., None].expand(-1, -1, -1, self.k).reshape(search.shape[0], -1)
        return conf, torch.zeros(search.shape[0], conf.shape[1], 4)


def moving_square_frames(count: int, rng_seed: int = 3):
    """A 40x40 target whose colour ramps from its centre (so only its centre matches) moving on noise."""
    rng = np.random.default_rng([rng_seed, count])
    background = rng.integers(60, 120, (240, 320, 3), dtype=np.uint8)
    ramp = np.arange(40) - 19.5
    target = np.empty((40, 40, 3), np.uint8)
    target[..., 0] = (130 + 4 * ramp)[None, :]
    target[..., 1] = (130 + 4 * ramp)[:, None]
    target[..., 2] = 250
    frames, boxes = [], []
    for i in range(count):
        f = background.copy()
        x, y = 100 + 4 * i, 90 + 2 * i
        f[y : y + 40, x : x + 40] = target
        frames.append(f)
        boxes.append((x, y, 40, 40))
    return frames, np.asarray(boxes, dtype=np.float64)


@pytest.mark.parametrize("needs_guide", [False, True])
def test_rpn_tracker_follows_a_moving_target(needs_guide):
    frames, gt = moving_square_frames(20)
    model = ColourMatchRPN(needs_guide)
    tracker = RPNTracker(model, RPNParams())
    tracker.init(frames[0], gt[0])
    boxes = [tracker.track(f)[0] for f in frames[1:]]
    iou = overlaps(np.array(boxes), gt[1:])
    assert iou.min() > 0.75, iou
    centre_err = np.abs((np.array(boxes)[:, :2] + 20) - (gt[1:, :2] + 20)).max()
    assert centre_err < 3.5  # within half an anchor step (8 crop px = 5 frame px here)
    if needs_guide:
        kind, exemplar_guide = model.guides[0]
        assert kind == "exemplar" and exemplar_guide.shape == (1, 1, 127, 127)
        # the initial 40x40 box fills the central 64x64 px of the 127 px exemplar crop
        assert exemplar_guide[0, 0].sum().item() == pytest.approx(64 * 64, rel=0.1)
        assert exemplar_guide[0, 0, 63, 63] == 1 and exemplar_guide[0, 0, 10, 10] == 0
        _, search_guide = model.guides[-1]
        assert search_guide.shape == (1, 1, 255, 255)
        ys, xs = torch.nonzero(search_guide[0, 0], as_tuple=True)  # the previous box, centred
        assert (xs.float().mean() + 0.5).item() == pytest.approx(127.5, abs=1.0)
        assert (ys.float().mean() + 0.5).item() == pytest.approx(127.5, abs=1.0)
    else:
        assert all(g is None for _, g in model.guides)


def test_rpn_tracker_clamps_to_frame_and_size_range():
    frames, gt = moving_square_frames(3)
    tracker = RPNTracker(ColourMatchRPN(), RPNParams(size_range_factor=1.1))
    tracker.init(frames[0], (0.0, 0.0, 40.0, 40.0))  # the target is elsewhere: corner start
    for f in frames[1:]:
        box, score = tracker.track(f)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        assert 0 <= cx <= 320 and 0 <= cy <= 240
        assert 40 / 1.1 - 1e-9 <= box[2] <= 40 * 1.1 + 1e-9
        assert 0.0 <= score <= 1.0


class OneCandidateRPN(SiamModel):
    """Every default box has a very low confidence except the 64x64 anchor of the centre cell, whose
    deltas grow it to 80x80 crop px: the tracker's size update can be computed by hand."""

    name = "onecandidate"

    def __init__(self, logit: float):
        super().__init__({})
        self.views = {"exemplar": View(127, 0.5), "search": View(255, 1.5)}
        self._set_default_boxes(rpn_anchors_cxcywh(17, 8, 255))
        self.index = (8 * 17 + 8) * 5 + 2  # row 8, column 8, ratio 1
        self.logit = logit
        self.dummy = nn.Parameter(torch.zeros(1))

    def template(self, exemplar, exemplar_guide=None):
        return None

    def detect(self, state, search, search_guide=None):
        n = self.default_boxes_cxcywh.shape[0]
        conf = torch.full((1, n), -30.0)
        conf[0, self.index] = self.logit
        loc = torch.zeros(1, n, 4)
        loc[0, self.index, 2:] = np.log(80.0 / 64.0)
        return conf, loc


@pytest.mark.parametrize("form", ["pysot", "seed"])
def test_rpn_size_update_is_penalty_times_confidence_times_lr(form):
    model = OneCandidateRPN(logit=1.0)
    assert model.default_boxes_cxcywh[model.index].tolist() == [127.5, 127.5, 64.0, 64.0]
    params = RPNParams(penalty_k=0.2, lr=0.5, penalty_form=form)
    tracker = RPNTracker(model, params)
    frame = np.full((480, 640, 3), 100, np.uint8)
    tracker.init(frame, (280.0, 200.0, 40.0, 40.0))
    box, score = tracker.track(frame)

    crop_per_frame_px = 255 / 160  # search side of a 40x40 target at context 1.5: 4 * 40 = 160 px
    s_c = 80 / (40 * crop_per_frame_px)  # padded sizes of squares are 2 w: the ratio of the sides
    penalty = np.exp(-(s_c - 1) * 0.2) if form == "pysot" else np.exp(-0.2 * s_c)
    conf = 1 / (1 + np.exp(-1.0))
    lr = penalty * conf * 0.5
    expected_w = 40 * (1 - lr) + 80 / crop_per_frame_px * lr
    assert score == pytest.approx(conf)
    assert box == pytest.approx([300 - expected_w / 2, 220 - expected_w / 2, expected_w, expected_w])


@pytest.mark.parametrize("name", ["siamrpn", "siamconcatrpn", "siambroadcastrpn"])
def test_rpn_family_runs_with_random_weights(name):
    torch.manual_seed(0)
    model = create_model(name).eval()
    tracker = build_tracker(model)
    frames, gt = moving_square_frames(3)
    tracker.init(frames[0], gt[0])
    for f in frames[1:]:
        box, score = tracker.track(f)
        assert box.shape == (4,) and np.all(np.isfinite(box)) and box[2] >= 10 and box[3] >= 10
        assert 0.0 <= score <= 1.0
