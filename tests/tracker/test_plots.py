"""Plots: per-attribute success plots on the real OTB sequences with the published results."""

from __future__ import annotations

import pytest
from PIL import Image

from tracker.datasets import load_otb
from tracker.evaluation.metrics import mean_curves, sequences_by_attribute
from tracker.evaluation.plots import plot_all, plot_attributes
from tracker.evaluation.scoring import score_folder

# Per-sequence success AUC of the published results (the data README's table).
README_AUC = {"SiamFC": {"Couple": 0.690, "Crossing": 0.761}, "SiamRPN++": {"Couple": 0.722, "Crossing": 0.768}}


def test_one_success_plot_per_attribute_of_the_real_sequences(shared_data, tmp_path):
    seqs = load_otb(shared_data / "otb")
    per_tracker = {name: score_folder(shared_data / "results" / "OTB100" / name, seqs).curves
                   for name in ("SiamFC", "SiamRPN", "DaSiamRPN", "SiamRPN++")}
    assert all(len(curves) == 5 for curves in per_tracker.values())
    attributes = {s.name: s.attributes for s in seqs}
    paths = plot_attributes(per_tracker, attributes, tmp_path)

    # Couple and Crossing carry attrs.txt (both SV, DEF, FM, OPR, BC); Car4, Deer and Girl none.
    groups = sequences_by_attribute(attributes)
    assert groups == {a: ["Couple", "Crossing"] for a in ("OPR", "SV", "DEF", "FM", "BC")}
    assert [p.name for p in paths] == [f"success_{a}.png" for a in groups]
    titles = [Image.open(p).info["Title"] for p in paths]
    assert titles[1] == "Success plots of OPE on OTB - scale variation (2 seq.)"
    assert all(t.endswith("(2 seq.)") for t in titles) and Image.open(paths[0]).size[0] > 300
    for name, auc in README_AUC.items():  # what the legend of each attribute plot shows
        sv = mean_curves([per_tracker[name][s] for s in groups["SV"]]).auc
        assert sv == pytest.approx(sum(auc.values()) / 2, abs=1e-3)


def test_trackers_on_different_sequences_cannot_share_a_plot(shared_data, tmp_path):
    seqs = load_otb(shared_data / "otb")
    full = score_folder(shared_data / "results" / "OTB100" / "SiamFC", seqs).curves
    part = {k: v for k, v in full.items() if k in ("Couple", "Deer")}
    with pytest.raises(ValueError, match="different sequences"):
        plot_all({"SiamFC": full, "part": part}, tmp_path)
    with pytest.raises(ValueError, match="different sequences"):
        plot_attributes({"SiamFC": full, "part": part}, {s.name: s.attributes for s in seqs}, tmp_path)
    assert not list(tmp_path.iterdir())
    paths = plot_all({"SiamFC": part, "again": part}, tmp_path)
    assert Image.open(paths[0]).info["Title"] == "Success plots of OPE on OTB (2 seq.)"
