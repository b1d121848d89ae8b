"""Post-processing pure functions and the strict hyper-parameter loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from siamcore.anchors import rpn_anchors_cxcywh, ssd_default_boxes_cxcywh

from tracker.online.params import ParamsError, RPNParams, SiamFCParams, default_params, load_params
from tracker.online.postprocess import (
    change_penalty,
    clamp_state,
    normalise_response,
    normalised_hann_2d,
    smooth_size,
    source_windows,
)

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines" / "track"


def test_penalty_is_one_without_change_and_decreases_with_change():
    same = change_penalty(np.array([40.0]), np.array([20.0]), 40.0, 20.0, k=0.16)
    assert same == pytest.approx([1.0])
    bigger = change_penalty(np.array([80.0, 60.0]), np.array([40.0, 20.0]), 40.0, 20.0, k=0.16)
    assert np.all(bigger < 1.0) and bigger[0] < bigger[1]
    # symmetric: twice as large and twice as small give the same penalty
    p = change_penalty(np.array([80.0, 20.0]), np.array([40.0, 10.0]), 40.0, 20.0, k=0.16)
    assert p[0] == pytest.approx(p[1])
    # ratio change 2:1 -> 1:2 at the same padded size: r_c = 4, s_c = 1
    r = change_penalty(np.array([20.0]), np.array([40.0]), 40.0, 20.0, k=0.1)
    assert r == pytest.approx(np.exp(-(4.0 - 1.0) * 0.1))
    seed = change_penalty(np.array([40.0]), np.array([20.0]), 40.0, 20.0, k=0.16, form="seed")
    assert seed == pytest.approx(np.exp(-0.16))
    with pytest.raises(ValueError):
        change_penalty(np.array([1.0]), np.array([1.0]), 1.0, 1.0, k=0.1, form="other")


def test_window_of_rpn_anchors_is_pysots_outer_hanning():
    anchors = rpn_anchors_cxcywh(17, 8, 255)
    window = source_windows(anchors)
    expected = np.tile(np.outer(np.hanning(17), np.hanning(17)).reshape(-1, 1), (1, 5)).reshape(-1)
    assert window == pytest.approx(expected, abs=1e-12)


def test_window_per_source_map_of_ssd_boxes():
    boxes = ssd_default_boxes_cxcywh((8, 4, 1), (30, 60, 120, 200), 255)
    window = source_windows(boxes)
    per_cell = 6
    n8, n4 = 8 * 8 * per_cell, 4 * 4 * per_cell
    assert window[:n8] == pytest.approx(np.repeat(np.outer(np.hanning(8), np.hanning(8)).reshape(-1), per_cell))
    hann4 = np.outer(np.hanning(4), np.hanning(4)).reshape(-1)
    assert window[n8 : n8 + n4] == pytest.approx(np.repeat(hann4, per_cell))
    assert window[n8 + n4 :] == pytest.approx(np.ones(per_cell))


def test_siamfc_window_and_response_normalisation():
    w = normalised_hann_2d(272)
    assert w.sum() == pytest.approx(1.0) and np.unravel_index(w.argmax(), w.shape) in [(135, 135), (136, 136),
                                                                                         (135, 136), (136, 135)]
    r = normalise_response(np.array([[-3.0, -1.0], [-2.0, 0.0]]))
    assert r.min() == 0 and r.sum() == pytest.approx(1.0) and r.argmax() == 3


def test_smooth_size():
    assert smooth_size((40.0, 20.0), (80.0, 10.0), 0.25) == pytest.approx((50.0, 17.5))
    assert smooth_size((40.0, 20.0), (80.0, 10.0), 0.0) == (40.0, 20.0)


def test_clamp_state():
    # centre leaves the frame; width past 3x init; height below init / 3, then raised to the minimum size
    assert clamp_state(-5, 500, 400, 5, (320, 240), (100, 20), 10, 3.0) == (0.0, 240.0, 300.0, 10.0)
    assert clamp_state(5, 5, 400, 5, (320, 240), (100, 60), 10, 3.0) == (5, 5, 300.0, 20.0)
    assert clamp_state(10, 10, 2, 2, (320, 240), (12, 12), 10, 3.0) == (10, 10, 10, 10)
    assert clamp_state(10, 10, 900, 900, (320, 240), (12, 12), 10, 0.0) == (10, 10, 320.0, 240.0)


@pytest.mark.parametrize("model", ["siamfc", "siamrpn", "siamconcatrpn", "siambroadcastrpn"])
def test_pipeline_tomls_load_and_equal_the_builtin_defaults(model):
    path = PIPELINES / f"{model}.toml"
    assert path.is_file(), f"missing {path}"
    assert load_params(path, model) == default_params(model)


def test_loader_is_strict(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("penalty_k = 0.2\nwindow_influnce = 0.3\n")
    with pytest.raises(ParamsError, match="unknown key.*window_influnce"):
        load_params(path, "siamrpn")
    path.write_text('lr = "fast"\n')
    with pytest.raises(ParamsError, match="lr must be float"):
        load_params(path, "siamrpn")
    path.write_text('penalty_form = "other"\n')
    with pytest.raises(ParamsError, match="penalty_form"):
        load_params(path, "siamrpn")
    path.write_text("scale_count = 2\n")
    with pytest.raises(ParamsError, match="odd"):
        load_params(path, "siamfc")
    path.write_text("penalty_k = 1\n")  # ints are accepted for floats
    assert load_params(path, "siamconcatrpn") == RPNParams(penalty_k=1.0, window_influence=0.42, lr=0.295)
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "missing.toml", "siamfc")
    assert load_params(None, "siamfc") == SiamFCParams()
