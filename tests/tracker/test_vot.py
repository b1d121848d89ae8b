"""VOT supervised experiment: hand-computed overlaps, accuracy with burn-in, EAO, the failure / re-start
schedule on real frames, and a real SiamFC run on one vot2017 sequence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.datasets import load_vot_sequence, polygon_to_xywh
from tracker.evaluation.vot_metrics import (
    FAILURE,
    INIT,
    SKIPPED,
    TRACKED,
    accuracy,
    eao_fragments,
    eao_score,
    expected_overlap_curve,
    pooled_ar,
    region_overlap,
    sequence_ar,
)
from tracker.evaluation.vot_protocol import format_baseline, read_vot_regions, run_supervised

I, T, F, S = INIT, TRACKED, FAILURE, SKIPPED
SQUARE = [0, 0, 10, 0, 10, 10, 0, 10]  # a 10 x 10 polygon at the origin


def test_region_overlap_is_bounded_by_the_image():
    # half the box lies right of a 10 px wide image: unbounded IoU 50/150, bounded 50/100
    assert region_overlap([5, 0, 10, 10], SQUARE, (100, 100)) == pytest.approx(1 / 3)
    assert region_overlap([5, 0, 10, 10], SQUARE, (10, 10)) == pytest.approx(0.5)
    # a diamond (area 50) inside its 10 x 10 bounding box
    assert region_overlap([0, 0, 10, 10], [5, 0, 10, 5, 5, 10, 0, 5], (100, 100)) == pytest.approx(0.5)
    assert region_overlap([50, 50, 10, 10], SQUARE, (100, 100)) == 0.0
    assert region_overlap([12, 0, 5, 5], [0, 0, 20, 0, 20, 10, 0, 10], (10, 10)) == 0.0  # overlap only off-image
    assert np.isnan(region_overlap([0, 0, 5, 5], [np.nan] * 8, (100, 100)))


def test_accuracy_leaves_out_burn_in_failures_and_skipped_frames():
    kinds = np.array([I, T, T, F, S, S, S, S, I] + [T] * 12)
    overlaps = np.arange(len(kinds)) / 100.0
    # burn-in 10 from frames 0 and 8 leaves frames 18, 19, 20
    assert accuracy(overlaps, kinds) == (pytest.approx(0.19), 3)
    # burn-in 2 leaves 2 and 10..20 (the failure frame 3 and the skipped 4..7 never count)
    assert accuracy(overlaps, kinds, burnin=2) == (pytest.approx((2 + sum(range(10, 21))) / 12 / 100), 12)
    s = sequence_ar(overlaps, kinds)
    assert (s.failures, s.frames, s.accuracy_frames) == (1, 21, 3)


def test_pooled_accuracy_weights_by_length_and_failure_rate_per_100_frames():
    seqs = {"a": sequence_ar(np.full(20, 0.5), np.array([I] + [T] * 19)),  # 10 frames averaged
            "b": sequence_ar(np.full(40, 0.8), np.array([I] + [T] * 38 + [F]))}  # 29 frames averaged
    p = pooled_ar(seqs)
    assert p["accuracy"] == pytest.approx((0.5 * 20 + 0.8 * 40) / 60)  # vot-toolkit: sequence length
    assert p["accuracy_frames"] == pytest.approx((0.5 * 10 + 0.8 * 29) / 39)  # pysot: every frame
    assert (p["failures"], p["frames"]) == (1, 60)
    assert p["failure_rate"] == pytest.approx(100 / 60)


def test_eao_curve_pads_failed_fragments_with_zeros_and_cuts_the_interval():
    nan = np.nan
    run_a = (np.array([nan, .5, .5, 0, nan, nan, nan, nan, nan, 1, 1, 1, 1, 1]),
             np.array([I, T, T, F, S, S, S, S, I, T, T, T, T, T]))
    run_b = (np.array([nan, .2, .2]), np.array([I, T, T]))  # tracked to its end: counts for n = 1, 2 only
    fragments = eao_fragments(*run_a) + eao_fragments(*run_b)
    assert [(len(f), failed) for f, failed in fragments] == [(3, True), (6, False), (3, False)]
    curve = expected_overlap_curve(fragments)
    # n = 1, 2: all three; n >= 3: the failed one (0.5 + 0.5 + zeros) / n and the long one (1)
    expected = [1, (.5 + 1 + .2) / 3, (.5 + 1 + .2) / 3, (1 / 3 + 1) / 2, (1 / 4 + 1) / 2, (1 / 5 + 1) / 2]
    np.testing.assert_allclose(curve, expected)
    assert eao_score(curve, (2, 4)) == pytest.approx(np.mean(expected[2:5]))
    assert eao_score(curve, (4, 356)) == pytest.approx(np.mean(expected[4:6]))  # cut at the curve's end
    assert np.isnan(eao_score(curve, (100, 356)))
    # run to the longest sequence (pysot): past every tracked-to-the-end fragment only the failed one counts
    np.testing.assert_allclose(expected_overlap_curve(fragments, length=8), expected + [1 / 6, 1 / 7])


class ScriptedTracker:
    """Stands for a tracker whose outputs are scripted: the ground-truth box of each frame, except a
    box far from the target on the frames in ``lose_on``. Frames are recognised by identity."""

    name = "scripted"

    def __init__(self, frames, boxes_xywh, lose_on):
        self.frames, self.boxes, self.lose_on = frames, boxes_xywh, set(lose_on)
        self.inits: list[tuple[int, np.ndarray]] = []

    def _index(self, frame) -> int:
        return next(i for i, f in enumerate(self.frames) if f is frame)

    def init(self, frame, box_xywh) -> None:
        self.inits.append((self._index(frame), np.asarray(box_xywh)))

    def track(self, frame):
        i = self._index(frame)
        return (np.array([600.0, 440.0, 20.0, 20.0]) if i in self.lose_on else self.boxes[i]), 1.0


def test_failures_restart_five_frames_later_and_skip_empty_ground_truth(shared_data):
    folder = shared_data / "vot2017" / "book"
    seq = load_vot_sequence(folder, polygon_mode="area")
    frames = [seq.frame(i) for i in range(30)]
    regions = read_vot_regions(folder / "groundtruth.txt")[:30]
    init_boxes = seq.gt_xywh[:30].copy()
    regions[9], init_boxes[9] = np.nan, np.nan  # an empty ground truth where the first re-start falls
    tracker = ScriptedTracker(frames, init_boxes, lose_on=(4, 12))
    run = run_supervised(tracker, frames, regions, init_boxes)
    expected = [I, T, T, T, F, S, S, S, S, S, I, T, F, S, S, S, S, I] + [T] * 12
    assert run.kinds.tolist() == expected
    assert [i for i, _ in tracker.inits] == [0, 10, 17]
    # the start box is the area-preserving box of the polygon, not its bounding rectangle
    np.testing.assert_allclose(tracker.inits[1][1], polygon_to_xywh(regions[10], "area"))
    assert not np.allclose(tracker.inits[1][1], polygon_to_xywh(regions[10], "bounding"))
    lines = format_baseline(run).splitlines()
    assert lines[0] == "1" and lines[4] == "2" and lines[5:10] == ["0"] * 5 and lines[10] == "1"
    assert len(lines[1].split(",")) == 4 and run.failures == 2


@pytest.mark.slow
def test_eval_vot_with_the_real_siamfc_weights_on_ball1(shared_data, tmp_path):
    out = tmp_path / "vot"
    result = CliRunner().invoke(app, [
        "eval", "--benchmark", "vot", "--root", str(shared_data / "vot2017"), "--weights",
        str(shared_data / "weights" / "siamfc_alexnet.safetensors"), "--sequences", "ball1", "--out", str(out),
        "--device", "cpu", "--name", "siamfc"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "EAO" in text and "ball1" in text
    lines = (out / "siamfc" / "baseline" / "ball1" / "ball1_001.txt").read_text().splitlines()
    scores = json.loads((out / "siamfc" / "vot_scores.json").read_text())
    seq = scores["sequences"]["ball1"]
    assert len(lines) == 105 and lines[0] == "1"
    failures = [i for i, line in enumerate(lines) if line == "2"]
    assert len(failures) == seq["failures"] == scores["failures"]
    for f in failures:  # four skipped frames, then a re-start (or the sequence ends)
        assert lines[f + 1:f + 5] == ["0"] * len(lines[f + 1:f + 5])
        assert f + 5 >= len(lines) or lines[f + 5] == "1"
    assert seq["accuracy"] > 0.6 and seq["failures"] <= 2  # SiamFC follows the ball (0.754, 1 failure measured)
    assert 0 < scores["eao"] <= 1


def test_tracker_eval_refuses_a_vot_list_that_leaves_the_root(tmp_path, shared_data):
    escaping_root = tmp_path / "root"
    escaping_root.mkdir()
    (escaping_root / "list.txt").write_text("../outside/seq\n")
    res = CliRunner().invoke(app, ["eval", "--benchmark", "vot", "--root", str(escaping_root),
                                   "--weights", str(shared_data / "weights" / "siamfc_alexnet.safetensors"), "--out", str(tmp_path / "out"),
                                   "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert "leads outside" in " ".join(res.output.split())
