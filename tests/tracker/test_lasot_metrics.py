"""LaSOT metrics with pytracking's handling of absent frames, and the TrackingNet submission zip."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from tracker.datasets.submission import write_trackingnet_submission
from tracker.evaluation.lasot_metrics import fill_zero_size_predictions, lasot_sequence_curves

GT = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [100, 100, 10, 10], [0, 0, 10, 10]], dtype=float)


def test_absent_frames_stay_in_the_denominator_and_fail_every_curve():
    pred = GT.copy()  # perfect everywhere, also on the absent frame 2
    visible = np.array([True, True, False, True])
    c = lasot_sequence_curves(pred, GT, visible)
    assert c.frames == 4
    assert c.success[0] == pytest.approx(3 / 4)  # IoU 1 > 0 on 3 of 4 frames
    assert c.auc == pytest.approx(3 / 4 * 20 / 21)  # IoU 1 is not > 1
    assert c.precision_at_20 == pytest.approx(3 / 4)
    assert c.norm_precision_at_02 == pytest.approx(3 / 4)
    full = lasot_sequence_curves(pred, GT)
    assert full.precision_at_20 == 1.0 and full.auc == pytest.approx(20 / 21)


def test_first_frame_is_the_ground_truth_and_zero_size_boxes_repeat_the_previous_one():
    pred = np.array([[50, 50, 5, 5], [0, 0, 10, 10], [0, 0, 0, 10], [5, 0, 10, 10]], dtype=float)
    gt = np.array([[0, 0, 10, 10]] * 4, dtype=float)
    np.testing.assert_allclose(fill_zero_size_predictions(pred, gt)[2], [0, 0, 10, 10])
    c = lasot_sequence_curves(pred, gt)
    # IoUs: 1 (frame 0 replaced), 1, 1 (repeated), 1/3; centre errors 0, 0, 0, 5 px
    assert c.success[list(np.round(np.linspace(0, 1, 21), 2)).index(0.3)] == 1.0
    assert c.success[list(np.round(np.linspace(0, 1, 21), 2)).index(0.35)] == pytest.approx(3 / 4)
    assert c.precision[4] == pytest.approx(3 / 4) and c.precision[5] == 1.0
    # normalised error of frame 3: 5 px / w 10 = 0.5
    assert c.norm_precision[49] == pytest.approx(3 / 4) and c.norm_precision[50] == 1.0


def test_extra_rows_are_cut_and_missing_rows_refused():
    c = lasot_sequence_curves(np.concatenate([GT, GT]), GT)
    assert c.frames == 4
    with pytest.raises(ValueError, match="predicted boxes"):
        lasot_sequence_curves(GT[:2], GT)


def test_trackingnet_zip_has_one_comma_file_per_sequence_at_its_root(tmp_path):
    boxes = {"video_b": np.array([[1, 2, 3, 4], [1.5, 2.25, 3, 4]]), "video_a": np.array([[0, 0, 5, 5]])}
    path = write_trackingnet_submission(boxes, tmp_path / "out" / "trackingnet.zip")
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["video_a.txt", "video_b.txt"]
        assert zf.read("video_b.txt").decode().splitlines() == ["1.00,2.00,3.00,4.00", "1.50,2.25,3.00,4.00"]
    with pytest.raises(ValueError, match="non-finite"):
        write_trackingnet_submission({"v": np.array([[np.nan, 0, 1, 1]])}, tmp_path / "bad.zip")
