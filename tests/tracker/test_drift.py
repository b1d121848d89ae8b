"""Size and centre drift: the per-frame numbers on hand-made boxes, and ``tracker drift`` on the published
OTB results (SiamFC, SiamRPN) for Car4 and Couple."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tracker.cli import app
from tracker.evaluation.drift import csv_text, pick_sequences
from tracker.evaluation.metrics import SIZE_BAND, drift_summary, frame_drift, size_ratios

NAN4 = [np.nan] * 4
# pred, gt (x, y, w, h); what each row tests
ROWS = [
    ([0, 0, 10, 10], [0, 0, 10, 10]),  # 0: the same box
    ([5, 5, 20, 20], [0, 0, 10, 10]),  # 1: twice as wide and high, moved
    ([0, 0, 10, 40], [0, 0, 20, 20]),  # 2: other shape, same area: ratio 1
    ([0, 0, 5, 5], [0, 0, 10, 10]),  # 3: half as wide and high
    (NAN4, [0, 0, 10, 10]),  # 4: no prediction
    ([0, 0, 10, 10], NAN4),  # 5: no ground truth (target absent)
    ([0, 0, 0, 10], [0, 0, 10, 10]),  # 6: degenerate prediction (w = 0)
    ([0, 0, 10, 10], [0, 0, 10, 0]),  # 7: invalid ground truth (h = 0), as OTB marks it
]
PRED = np.array([p for p, _ in ROWS], dtype=float)
GT = np.array([g for _, g in ROWS], dtype=float)
NAN = math.nan


def test_size_ratio_is_the_square_root_of_the_area_ratio_and_nan_without_two_boxes():
    np.testing.assert_array_equal(size_ratios(PRED, GT), [1.0, 2.0, 1.0, 0.5, NAN, NAN, NAN, NAN])
    assert size_ratios([[3, 4, 30, 12]], [[0, 0, 10, 9]])[0] == pytest.approx(2.0)  # sqrt(360 / 90)
    with pytest.raises(ValueError, match="2 predicted boxes for 1 ground-truth rows"):
        size_ratios(PRED[:2], GT[:1])


def test_frame_drift_centre_error_and_iou_per_frame():
    d = frame_drift(PRED, GT)
    np.testing.assert_array_equal(d.valid, [True, True, True, True, True, False, True, False])
    # centres: (5,5) vs (5,5); (15,15) vs (5,5); (5,20) vs (10,10); (2.5,2.5) vs (5,5); -; -; (0,5) vs (5,5)
    np.testing.assert_allclose(d.centre_error_px, [0, math.sqrt(200), math.sqrt(125), math.sqrt(12.5), NAN, NAN, 5,
                                                   NAN])
    # 25 / (100 + 400 - 25); 200 / (400 + 400 - 200); 25 / 100; a missing or empty box misses (0)
    np.testing.assert_allclose(d.iou, [1, 1 / 19, 1 / 3, 0.25, 0, NAN, 0, NAN])
    assert len(d) == 8


def test_drift_summary_counts_valid_frames_and_frames_without_a_box_as_outside():
    s = frame_drift(PRED, GT).summary()
    # valid ground truth: frames 0-4 and 6 (6); ratios there 1, 2, 1, 0.5 (frames 4 and 6 have no box)
    assert (s.frames, s.measured) == (6, 4)
    assert s.in_band == pytest.approx(2 / 6) and s.below == pytest.approx(1 / 6) and s.above == pytest.approx(1 / 6)
    assert s.median_ratio == 1.0 and s.geomean_ratio == pytest.approx(1.0)  # (1 * 2 * 1 * 0.5) ** (1 / 4)
    assert s.band == SIZE_BAND == (0.67, 1.5)

    # the band is inclusive; the geometric mean is the typical factor, not the median
    s = drift_summary([0.67, 1.5, 0.669, 1.501])
    assert (s.in_band, s.below, s.above, s.frames) == (0.5, 0.25, 0.25, 4)
    s = drift_summary([1.0, 4.0])
    assert s.median_ratio == 2.5 and s.geomean_ratio == pytest.approx(2.0)
    assert drift_summary([1.0, 1.3, 0.75], band=(0.8, 1.25)).in_band == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="0 < lo <= hi"):
        drift_summary([1.0], band=(1.5, 0.67))


def test_no_valid_ground_truth_gives_nan_numbers_and_null_json():
    s = frame_drift([[0, 0, 5, 5]] * 2, [NAN4, [0, 0, -1, 3]]).summary()
    assert (s.frames, s.measured) == (0, 0) and math.isnan(s.in_band) and math.isnan(s.median_ratio)
    d = s.to_dict()
    assert d["in_band"] is None and d["geomean_ratio"] is None and d["band"] == [0.67, 1.5]
    json.dumps(d, allow_nan=False)


def test_csv_has_one_row_per_frame_with_nan_where_undefined():
    lines = csv_text(frame_drift(PRED[:6], GT[:6])).splitlines()
    assert lines[0] == "frame,pred_w,pred_h,gt_w,gt_h,size_ratio,centre_error_px,iou"
    assert lines[2] == "2,20.0000,20.0000,10.0000,10.0000,2.0000,14.1421,0.0526"
    assert lines[5] == "5,nan,nan,10.0000,10.0000,nan,nan,0.0000"
    assert lines[6] == "6,10.0000,10.0000,nan,nan,nan,nan,nan"
    assert len(lines) == 7


def test_pick_sequences_by_any_spelling_folder_or_all(shared_data):
    from siamcore.datasets.otb import load_otb_json

    seqs = load_otb_json(shared_data / "otb" / "OTB2015.json", ["Car4", "Jogging", "Couple"])
    assert [s.name for s in pick_sequences(seqs, ["car4", "jogging_2"])] == ["Car4", "Jogging.2"]
    assert [s.name for s in pick_sequences(seqs, ["Jogging"])] == ["Jogging.1", "Jogging.2"]
    assert len(pick_sequences(seqs, ["all"])) == 4
    with pytest.raises(ValueError, match="not among the sequences here: Car5; there are: Car4, "):
        pick_sequences(seqs, ["Car5"])


def test_drift_command_on_published_siamfc_and_siamrpn_car4_couple(shared_data, tmp_path):
    published = shared_data / "results" / "OTB100"
    if not (published / "SiamRPN" / "Car4.txt").is_file():
        pytest.skip(f"published OTB results not found under {published}")
    out = tmp_path / "drift"
    result = CliRunner().invoke(app, [str(a) for a in (
        "drift", "--results", published / "SiamFC", published / "SiamRPN", "--root", shared_data / "otb",
        "--sequences", "Car4,Couple", "--out", out, "--json", tmp_path / "drift.json")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Size drift" in text and "0.998" in text and "1.125" in text  # the table: in band, median ratio

    numbers = json.loads((tmp_path / "drift.json").read_text())
    assert set(numbers) == {"SiamFC", "SiamRPN"} and set(numbers["SiamRPN"]) == {"Car4", "Couple"}
    rpn, fc = numbers["SiamRPN"]["Car4"], numbers["SiamFC"]["Car4"]
    # By hand: SiamRPN's file starts with 69,50,176,137, the first box as corners (x1,y1,x2,y2): its size
    # ratio against the ground truth's 107x87 is sqrt(176*137 / (107*87)) = 1.609, above the band; every
    # other frame of Car4 is inside it (Couple: the same, 75x108 against 25x62: 2.29). SiamFC's first row is
    # the ground truth and it stays within [0.86, 1.30] (frame 209: 0.857, frame 49: 1.295).
    assert (rpn["frames"], rpn["measured"]) == (659, 659)
    assert rpn["in_band"] == pytest.approx(658 / 659) and rpn["above"] == pytest.approx(1 / 659)
    assert numbers["SiamRPN"]["Couple"]["in_band"] == pytest.approx(139 / 140)
    assert fc["in_band"] == 1.0 and fc["below"] == fc["above"] == 0.0
    # both draw Car4's box a little large (the same numbers from numpy on the two files): median 1.053, 1.125
    assert 1.0 < fc["median_ratio"] < rpn["median_ratio"] < 1.2
    assert fc["median_ratio"] == pytest.approx(1.053, abs=1e-3) and rpn["median_ratio"] == pytest.approx(1.125,
                                                                                                          abs=1e-3)

    rows = (out / "SiamRPN" / "Car4.csv").read_text().splitlines()
    assert len(rows) == 660 and rows[0].startswith("frame,pred_w,pred_h,gt_w,gt_h,size_ratio")
    assert rows[1].split(",")[:6] == ["1", "176.0000", "137.0000", "107.0000", "87.0000", "1.6094"]
    assert sorted(p.name for p in out.iterdir()) == ["Car4.png", "Couple.png", "SiamFC", "SiamRPN"]
    assert sorted(p.name for p in (out / "SiamFC").iterdir()) == ["Car4.csv", "Couple.csv"]
    for seq in ("Car4", "Couple"):
        with Image.open(out / f"{seq}.png") as im:
            im.verify()  # a complete, valid PNG
        im = Image.open(out / f"{seq}.png")
        assert im.format == "PNG" and im.size[0] >= 900 and im.size[1] >= 600
    info = Image.open(out / "Car4.png").info
    assert info["Title"] == "Car4 - size ratio in [0.67, 1.5]: SiamFC 100.0%, SiamRPN 99.8%"
    assert info["Description"].splitlines() == ["SiamFC: in band 100.0%, median 1.05",
                                                "SiamRPN: in band 99.8%, median 1.12", "band [0.67, 1.5]"]


def test_drift_command_refuses_unknown_sequences_and_unmatched_results(shared_data, tmp_path):
    published = shared_data / "results" / "OTB100"
    runner = CliRunner()
    result = runner.invoke(app, ["drift", "--results", str(published / "SiamFC"), "--root", str(shared_data / "otb"),
                                 "--sequences", "Car5", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2 and "Car5" in result.output
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "Other.txt").write_text("1,1,2,2\n")
    result = runner.invoke(app, ["drift", "--results", str(tmp_path / "empty"), "--root", str(shared_data / "otb"),
                                 "--sequences", "Car4", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2 and "no result file matched" in " ".join(result.output.split())
    assert not (tmp_path / "d").exists()
