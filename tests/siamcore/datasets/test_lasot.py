"""LaSOT reader on a real-frame LaSOT layout (tests/conftest.py ``write_lasot``): 1-based boxes as
OTB's, one-line flag files -> NaN and absent, class from the folder, the official split lists."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from siamcore.datasets import LOADERS, list_lasot, load_lasot, load_lasot_sequence, load_otb


def test_boxes_flags_and_class(lasot_layout, shared_data):
    root, truth = lasot_layout
    (seq,) = load_lasot(root, ["person-1"])
    assert len(seq) == 20 and seq.frames[0].parts[-2:] == ("img", "00000001.jpg")
    (couple,) = load_otb(shared_data / "otb" / "Couple")
    visible = ~seq.absent
    np.testing.assert_array_equal(seq.gt_xywh[visible], couple.gt_xywh[:20][visible])  # 1-based, as OTB
    np.testing.assert_array_equal(seq.gt_xywh, truth["person-1"])
    assert np.flatnonzero(seq.absent).tolist() == [2, 3, 6] and np.isnan(seq.gt_xywh[[2, 3, 6]]).all()
    assert np.flatnonzero(seq.frame_tags["full_occlusion"]).tolist() == [2, 3]
    assert np.flatnonzero(seq.frame_tags["out_of_view"]).tolist() == [6]
    assert seq.class_name == "person" and seq.attributes == ["full_occlusion", "out_of_view"]
    (swan,) = load_lasot(root, ["swan-1"])
    assert swan.class_name == "swan" and np.isfinite(swan.gt_xywh).all(axis=1).tolist() == [True] + [False] * 11


def test_official_split_lists(lasot_layout):
    root, _ = lasot_layout
    assert [r.name for r in list_lasot(root, "test")] == ["person-2", "swan-1"]
    assert [r.name for r in list_lasot(root, "train")] == ["dog-1", "person-1"]
    assert [r.name for r in list_lasot(root)] == ["dog-1", "person-1", "person-2", "swan-1"]
    assert [s.name for s in LOADERS["lasot"](root, ["SWAN_1", "person-2"])] == ["swan-1", "person-2"]


def test_missing_split_list_is_a_clear_error(lasot_layout, tmp_path):
    root, _ = lasot_layout
    copy = tmp_path / "LaSOT"
    shutil.copytree(root / "person", copy / "person")
    with pytest.raises(ValueError, match=r"split 'test' needs its official list .*testing_set.txt .*280 names"):
        list_lasot(copy, "test")
    (copy / "testing_set.txt").write_text("person-2\nzebra-3\n")
    with pytest.raises(ValueError, match="names sequences not found .*zebra-3"):
        list_lasot(copy, "test")
    with pytest.raises(ValueError, match="must be one of train, test"):
        list_lasot(copy, "val")
    with pytest.raises(ValueError, match="no LaSOT sequences"):
        list_lasot(tmp_path / "LaSOT" / "person" / "person-1" / "img")


def test_short_flag_lines_and_malformed_rows(lasot_layout, tmp_path):
    root, _ = lasot_layout
    folder = tmp_path / "person" / "person-2"
    shutil.copytree(root / "person" / "person-2", folder)
    lines = (folder / "groundtruth.txt").read_text().splitlines()
    lines[1] = "NaN,NaN"
    (folder / "groundtruth.txt").write_text("\n".join(lines[:10]) + "\n")  # 10 rows for 12 frames
    (folder / "full_occlusion.txt").write_text("0,0,1\n0,1,1\n")  # only the first line counts; short
    seq = load_lasot_sequence(folder)
    assert np.flatnonzero(np.isnan(seq.gt_xywh).any(axis=1)).tolist() == [1, 2, 10, 11]
    assert np.flatnonzero(seq.absent).tolist() == [2]
