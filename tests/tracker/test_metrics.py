"""OTB metrics: hand-computed cases (threshold edges, empty overlap, invalid ground truth) and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from siamcore.boxes import cxcywh_to_xywh, iou_xywh, xywh_to_cxcywh, xywh_to_xyxy, xyxy_to_xywh

from tracker.evaluation.metrics import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS_PX,
    SUCCESS_THRESHOLDS,
    mean_curves,
    overlaps,
    precision_curve,
    sequence_curves,
    sequences_by_attribute,
    success_curve,
    tracker_scores,
)


def test_thresholds_are_the_protocol():
    assert len(SUCCESS_THRESHOLDS) == 21 and SUCCESS_THRESHOLDS[0] == 0 and SUCCESS_THRESHOLDS[-1] == 1
    assert np.allclose(np.diff(SUCCESS_THRESHOLDS), 0.05)
    assert PRECISION_THRESHOLDS_PX.tolist() == list(range(51))
    assert NORM_PRECISION_THRESHOLDS[20] == pytest.approx(0.2)


def test_success_is_strictly_greater_than_threshold():
    # IoU exactly 0.5 fails at t = 0.5 and passes at t = 0.45; IoU 0 fails even at t = 0.
    curve = success_curve(np.array([0.5, 0.0]))
    assert curve[SUCCESS_THRESHOLDS.tolist().index(0.45)] == 0.5
    assert curve[10] == 0.0  # t = 0.5
    assert curve[0] == 0.5  # t = 0: the zero-overlap frame fails
    assert success_curve(np.array([1.0]))[-1] == 0.0  # t = 1 never succeeds


def test_precision_is_inclusive():
    curve = precision_curve(np.array([20.0, 20.0001, 0.0]))
    assert curve[20] == pytest.approx(2 / 3)
    assert curve[21] == 1.0
    assert curve[0] == pytest.approx(1 / 3)


def test_hand_computed_sequence():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    pred = np.array(
        [
            [0, 0, 10, 10],  # IoU 1, error 0
            [5, 0, 10, 10],  # IoU 50/150 = 1/3, error 5
            [30, 0, 10, 10],  # no overlap, error 30
            [0, 0, 10, 5],  # IoU 0.5, error 2.5, normalised error 0.25
        ]
    )
    assert overlaps(pred, gt) == pytest.approx([1.0, 1 / 3, 0.0, 0.5])
    c = sequence_curves(pred, gt)
    # success: t=0 -> 3/4; t in (1/3, 0.5) -> 2/4; t in [0.5, 1) -> 1/4; t=1 -> 0
    expected = [np.mean([iou > t for iou in (1.0, 1 / 3, 0.0, 0.5)]) for t in SUCCESS_THRESHOLDS]
    assert c.success == pytest.approx(expected)
    assert c.auc == pytest.approx(np.mean(expected))
    assert c.precision_at_20 == pytest.approx(3 / 4)
    assert c.precision[4] == pytest.approx(2 / 4)  # errors 0 and 2.5 are within 4 px
    # normalised errors: 0, 0.5, 3.0, 0.25 -> at 0.2 only the first
    assert c.norm_precision_at_02 == pytest.approx(1 / 4)
    assert c.frames == 4


def test_precision_small_thresholds_counted_by_hand():
    gt = np.array([[0, 0, 10, 10]] * 3, dtype=float)
    pred = np.array([[0, 0, 10, 10], [3, 4, 10, 10], [0, 0, 10, 5]], dtype=float)  # errors 0, 5, 2.5
    c = sequence_curves(pred, gt)
    assert c.precision[:6] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1.0])


def test_invalid_ground_truth_is_success_failure_and_precision_hit():
    gt = np.array([[0, 0, 10, 10], [0, 0, 0, 10], [np.nan] * 4, [0, 0, 10, -1]], dtype=float)
    pred = np.array([[0, 0, 10, 10]] * 4, dtype=float)
    c = sequence_curves(pred, gt)  # OTB toolkit: invalid rows stay in the denominator
    assert c.frames == 4
    assert c.success[0] == pytest.approx(1 / 4)
    assert c.precision[0] == pytest.approx(1.0)
    assert c.norm_precision[0] == pytest.approx(1.0)
    excluded = sequence_curves(pred, gt, invalid_gt="exclude")
    assert excluded.frames == 1 and excluded.success[0] == 1.0
    with pytest.raises(ValueError):
        sequence_curves(pred, gt, invalid_gt="ignore")


def test_non_finite_prediction_is_a_miss_everywhere():
    gt = np.array([[0, 0, 10, 10]] * 2, dtype=float)
    pred = np.array([[0, 0, 10, 10], [np.nan] * 4])
    c = sequence_curves(pred, gt)
    assert c.success[0] == 0.5 and c.precision[-1] == 0.5 and c.norm_precision[-1] == 0.5


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 predicted boxes for 2"):
        sequence_curves(np.zeros((3, 4)), np.ones((2, 4)))


def test_sequences_have_equal_weight():
    gt = np.array([[0, 0, 10, 10]] * 10, dtype=float)
    long_perfect = sequence_curves(gt, gt)
    short_missed = sequence_curves(np.array([[50, 50, 10, 10]]), gt[:1])
    overall = mean_curves([long_perfect, short_missed])
    assert overall.success[0] == pytest.approx(0.5)  # not 10/11
    scores = tracker_scores({"a": long_perfect, "b": short_missed})
    assert set(scores) == {"auc", "precision", "norm_precision", "sequences"}
    assert scores["sequences"]["a"] == {"auc": pytest.approx(20 / 21), "precision": 1.0, "norm_precision": 1.0,
                                        "frames": 10}
    assert scores["auc"] == pytest.approx(10 / 21)


finite = st.floats(-500, 500, allow_nan=False, allow_infinity=False)
size = st.floats(0.5, 300, allow_nan=False, allow_infinity=False)
boxes = st.tuples(finite, finite, size, size)


@settings(max_examples=200, deadline=None)
@given(boxes, boxes)
def test_iou_symmetric_and_bounded(a, b):
    ab = float(iou_xywh(np.array(a), np.array(b)))
    ba = float(iou_xywh(np.array(b), np.array(a)))
    assert 0.0 <= ab <= 1.0 + 1e-12
    assert ab == pytest.approx(ba, abs=1e-12)
    assert float(iou_xywh(np.array(a), np.array(a))) == pytest.approx(1.0)


@settings(max_examples=200, deadline=None)
@given(boxes)
def test_box_conversions_round_trip(b):
    b = np.array(b)
    assert xyxy_to_xywh(xywh_to_xyxy(b)) == pytest.approx(b, abs=1e-9)
    assert cxcywh_to_xywh(xywh_to_cxcywh(b)) == pytest.approx(b, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(boxes, min_size=1, max_size=8))
def test_perfect_tracker_scores(gt_rows):
    gt = np.array(gt_rows)
    c = sequence_curves(gt, gt)
    assert c.auc == pytest.approx(20 / 21)  # every threshold but t = 1
    assert c.precision_at_20 == 1.0 and c.norm_precision_at_02 == 1.0


def test_sequences_grouped_by_attribute_in_the_toolkit_order():
    groups = sequences_by_attribute({
        "Couple": ["SV", "DEF", "FM", "OPR", "BC"],
        "Car4": [],
        "Girl": ["SV", "OCC", "IPR", "OPR", "SV"],  # a repeated attribute counts once
        "bag": ["occlusion", "camera_motion"],  # VOT tags: after the OTB codes, alphabetically
    })
    assert list(groups) == ["OPR", "SV", "OCC", "DEF", "FM", "IPR", "BC", "camera_motion", "occlusion"]
    assert groups["SV"] == ["Couple", "Girl"] and groups["OPR"] == ["Couple", "Girl"]
    assert groups["OCC"] == ["Girl"] and groups["occlusion"] == ["bag"]
    assert "IV" not in groups and sequences_by_attribute({"Car4": []}) == {}
