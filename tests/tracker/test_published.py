"""Scoring the published OTB-2015 raw results of 4 trackers over all 100 targets, with the ground truth
of ``OTB2015.json`` alone, and their multi-tracker plot with our own results in it."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from siamcore.datasets.otb import load_otb_json
from tracker.cli import app
from tracker.datasets import write_results
from tracker.evaluation.scoring import find_result_file

# The data README: 21-point success AUC over all 100 targets.
PUBLISHED_AUC = {"SiamFC": 0.587, "SiamRPN": 0.629, "DaSiamRPN": 0.658, "SiamRPN++": 0.696}


def test_otb2015_json_gives_100_targets_named_like_the_folders_with_their_frame_ranges(shared_data):
    seqs = {s.name: s for s in load_otb_json(shared_data / "otb" / "OTB2015.json")}
    assert len(seqs) == 100
    assert {"Jogging.1", "Jogging.2", "Skating2.1", "Skating2.2", "Human4"} <= set(seqs)
    assert len(seqs["David"]) == 471 and seqs["David"].frames[0].name == "0300.jpg"  # David 300-770
    assert len(seqs["Tiger1"]) == 349 and seqs["Tiger1"].frames[0].name == "0006.jpg"
    # 1-based gt converted like groundtruth_rect.txt: Car4's first row is 70,51,107,87 in the file
    assert seqs["Car4"].gt_xywh[0].tolist() == [69.0, 50.0, 107.0, 87.0]


@pytest.mark.parametrize("shipped", ["jogging_1", "Jogging-1", "Jogging.1", "JOGGING_1", "human4-2", "Human4.2",
                                     "skating2_1", "Skating2-1"])
def test_result_files_named_by_other_toolkits_match_the_otb_target(shared_data, tmp_path, shipped):
    seqs = {s.name: s for s in load_otb_json(shared_data / "otb" / "OTB2015.json",
                                             ["Jogging.1", "Jogging.2", "Human4", "Skating2.1"])}
    (tmp_path / f"{shipped}.txt").write_text("1,1,2,2\n")
    target = {"jogging": "Jogging.1", "human4": "Human4", "skating2": "Skating2.1"}[shipped.lower()[:-2]]
    assert find_result_file(tmp_path, seqs[target]) == tmp_path / f"{shipped}.txt"
    others = [s for name, s in seqs.items() if name != target]
    assert all(find_result_file(tmp_path, s) is None for s in others)


def test_score_published_results_over_100_targets_and_plot_them_with_ours(shared_data, tmp_path):
    gt_json = shared_data / "otb" / "OTB2015.json"
    for seq in load_otb_json(gt_json):  # "ours": every box shifted right by 0.2 w, IoU 0.8/1.2 = 2/3
        shifted = seq.gt_xywh.copy()
        shifted[:, 0] += 0.2 * shifted[:, 2]
        write_results(tmp_path / "Ours" / f"{seq.name}.txt", shifted)
    published = shared_data / "results" / "OTB100"
    plots = tmp_path / "plots"
    result = CliRunner().invoke(app, [str(a) for a in (
        "score", "--results", published, tmp_path / "Ours", "--root", gt_json, "--json", tmp_path / "s.json",
        "--plot-dir", plots)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "s.json").read_text())
    assert {name: len(s["sequences"]) for name, s in scores.items()} == {**dict.fromkeys(PUBLISHED_AUC, 100),
                                                                          "Ours": 100}
    for name, auc in PUBLISHED_AUC.items():
        assert scores[name]["auc"] == pytest.approx(auc, abs=0.002), name
    assert scores["Ours"]["auc"] == pytest.approx(14 / 21, abs=1e-3)  # IoU ~2/3 > t for t = 0 .. 0.65
    legend = Image.open(plots / "success.png").info["Description"].splitlines()
    assert [entry.split(" [")[0] for entry in legend] == ["SiamRPN++", "Ours", "DaSiamRPN", "SiamRPN", "SiamFC"]
    assert legend[0] == f"SiamRPN++ [{scores['SiamRPN++']['auc']:.3f}]"
    assert Image.open(plots / "success.png").info["Title"] == "Success plots of OPE on OTB (100 seq.)"


def test_two_result_files_for_one_sequence_are_an_error_naming_both(shared_data, tmp_path):
    gt_json = shared_data / "otb" / "OTB2015.json"
    (seq,) = load_otb_json(gt_json, ["Jogging.1"])
    results = tmp_path / "mine"
    results.mkdir()
    (results / "Jogging-1.txt").write_text("0,0,1,1\n" * len(seq))  # bad
    good = "\n".join(f"{x + 1:g},{y + 1:g},{w:g},{h:g}" for x, y, w, h in seq.gt_xywh)  # the file's 1-based x, y
    (results / "jogging_1.txt").write_text(good + "\n")
    res = CliRunner().invoke(app, ["score", "--results", str(results), "--root", str(gt_json),
                                   "--sequences", "Jogging.1"])
    assert res.exit_code == 2, res.output
    assert "Jogging-1.txt and jogging_1.txt are both results of Jogging.1" in " ".join(res.output.split())
    (results / "Jogging-1.txt").unlink()
    (results / "Couple.txt").mkdir()  # not a regular file: skipped with a word
    res = CliRunner().invoke(app, ["score", "--results", str(results), "--root", str(gt_json),
                                   "--sequences", "Jogging.1,Couple", "--json", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    assert "Couple.txt is not a regular file; skipped" in " ".join(res.output.split())
    scores = json.loads((tmp_path / "s.json").read_text())["mine"]
    assert list(scores["sequences"]) == ["Jogging.1"] and scores["auc"] > 0.95  # the good file (20 of 21 thresholds)
