"""GOT-10k AO / SR as its toolkit computes them, on hand-computed boxes; the toolkit's result layout
and the test-server zip."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from tracker.datasets.submission import (
    read_got10k_records,
    read_got10k_times,
    write_got10k_record,
    write_got10k_submission,
)
from tracker.evaluation.got10k_metrics import clip_to_image_xywh, got10k_iou, got10k_scores, scored_ious, speed_fps

GT = np.array([[0, 0, 10, 10]] * 5, dtype=float)
# frame 0: anything (excluded); 1: IoU 1; 2: half overlap 50/150 = 1/3; 3: 80/100 -> 0.8; 4: absent
PRED = np.array([[50, 50, 1, 1], [0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 8], [0, 0, 10, 10]], dtype=float)
COVER = np.array([8, 8, 3, 1, 0])


def test_frame_0_and_frames_without_the_visible_target_are_not_scored():
    ious = scored_ious(PRED, GT, COVER)
    np.testing.assert_allclose(ious, [1.0, 1 / 3, 0.8])
    s = got10k_scores(ious)
    assert s.ao == pytest.approx((1 + 1 / 3 + 0.8) / 3)
    assert (s.sr50, s.sr75, s.frames) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)


def test_scores_pool_frames_of_all_sequences_not_sequence_means():
    short, long_ = np.array([0.0]), np.array([1.0, 1.0, 1.0])
    s = got10k_scores([short, long_])
    assert s.ao == pytest.approx(0.75)  # a mean of sequence means would give 0.5
    assert s.sr50 == pytest.approx(0.75) and s.sr75 == pytest.approx(0.75)
    assert len(s.success_curve) == 101 and s.success_curve[0] == pytest.approx(0.75)
    assert s.success_curve[-1] == 0.0  # IoU 1 is not > 1


def test_success_rate_is_strictly_above_the_threshold():
    s = got10k_scores(np.array([0.5, 0.75, 0.76]))
    assert s.sr50 == pytest.approx(2 / 3) and s.sr75 == pytest.approx(1 / 3)


def test_boxes_are_clipped_to_the_image_like_rect_iou_bound():
    # x = -5 becomes 0, but w stays 10 (clip to W - x = 20): the toolkit clips w with the clipped x
    np.testing.assert_allclose(clip_to_image_xywh([[-5, 15, 10, 10]], (20, 20)), [[0, 15, 10, 5]])
    gt = np.array([[10, 10, 10, 10]], dtype=float)  # touches the 20x20 image's corner
    pred = np.array([[10, 10, 20, 20]], dtype=float)  # 4x the gt, half outside on each axis
    assert got10k_iou(pred, gt)[0] == pytest.approx(100 / 400)
    assert got10k_iou(pred, gt, (20, 20))[0] == pytest.approx(1.0)


def test_non_finite_predictions_score_zero_and_no_frames_is_an_error():
    assert got10k_iou([[np.nan, 0, 10, 10]], [[0, 0, 10, 10]])[0] == 0.0
    with pytest.raises(ValueError, match="no scored frames"):
        got10k_scores(scored_ious(PRED[:2], GT[:2], [8, 0]))
    with pytest.raises(ValueError, match="cover values"):
        scored_ious(PRED, GT, COVER[:4])


def test_speed_is_the_mean_of_per_frame_fps_over_positive_times():
    assert speed_fps([0.1, 0.5, np.nan, 0.0, -1]) == pytest.approx((10 + 2) / 2)
    assert speed_fps([]) == -1.0


def test_results_written_in_the_toolkit_layout_and_zipped_for_the_server(tmp_path):
    tracker_dir = tmp_path / "SiamFC"
    seq = "GOT-10k_Test_000001"
    path = write_got10k_record(tracker_dir, seq, PRED, [0.01, 0.02, 0.03, 0.04, 0.05])
    assert path == tracker_dir / seq / f"{seq}_001.txt"
    assert path.read_text().splitlines()[2] == "5.000,0.000,10.000,10.000"
    write_got10k_record(tracker_dir, seq, GT, [0.1] * 5, repetition=2)
    assert (tracker_dir / seq / f"{seq}_time.txt").read_text().splitlines()[0] == "0.01000000,0.10000000"
    records = read_got10k_records(tracker_dir, seq)
    np.testing.assert_allclose(records[0], PRED)
    np.testing.assert_allclose(records[1], GT)
    assert len(read_got10k_times(tracker_dir, seq)) == 10
    with pytest.raises(ValueError, match="times for"):
        write_got10k_record(tracker_dir, seq, PRED, [0.1])

    zip_path = write_got10k_submission(tracker_dir, tmp_path / "SiamFC.zip")
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == [f"{seq}/{seq}_001.txt", f"{seq}/{seq}_002.txt", f"{seq}/{seq}_time.txt"]
    with pytest.raises(ValueError, match="no <seq>"):
        write_got10k_submission(tmp_path / "empty", tmp_path / "x.zip")
