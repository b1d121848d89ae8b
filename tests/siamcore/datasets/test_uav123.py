"""UAV123 reader: sub-sequences as frame ranges of one folder (the official table), NaN rows absent,
malformed rows NaN but not absent, 1-based x, y, name selection, clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from siamcore.datasets import LOADERS, list_uav123, load_sequences, load_uav123, load_uav123_sequence
from siamcore.datasets.uav123 import SUBSEQUENCE_FRAMES, frame_range, read_uav123_groundtruth


def test_subsequences_are_frame_ranges_of_one_folder(uav123_layout):
    root, truth = uav123_layout
    refs = list_uav123(root)
    assert [r.name for r in refs] == ["person3_s", "truck4_1", "truck4_2"]  # att/ is not a sequence
    assert [r.folder.name for r in refs] == ["person3_s", "truck4", "truck4"]
    first, second = load_uav123(root, ["truck4_1", "truck4_2"])
    assert len(first) == 577 and first.frames[0].name == "000001.jpg" and first.frames[-1].name == "000577.jpg"
    assert len(second) == 685 and second.frames[0].name == "000577.jpg" and second.frames[-1].name == "001261.jpg"
    for seq in (first, second):
        expected, absent = truth[seq.name]
        np.testing.assert_array_equal(seq.gt_xywh, expected)
        assert seq.absent.tolist() == absent.tolist() and seq.class_name == ""
    assert np.flatnonzero(first.absent).tolist() == [2, 3]  # frames 3-4
    assert np.isnan(first.gt_xywh[5]).all() and not first.absent[5]  # malformed row: NaN, not absent
    assert np.flatnonzero(second.absent).tolist() == list(range(9, 19))  # frames 586-595
    assert np.isnan(second.gt_xywh[-1]).all() and not second.absent[-1]  # past the last row
    assert first.frames[576] == second.frames[0]  # the official ranges share frame 577


def test_one_based_rows_and_real_frames(uav123_layout, shared_data):
    root, _ = uav123_layout
    (seq,) = load_uav123(root, ["person3_s"])
    car4_row = (root / "anno" / "UAV123" / "truck4_1.txt").read_text().splitlines()[0]
    assert car4_row == "70,51,107,87"  # Car4's own first row, 1-based
    (truck,) = load_uav123(root, ["truck4_1"])
    assert truck.gt_xywh[0].tolist() == [69, 50, 107, 87]
    assert truck.frame(0).shape == (240, 360, 3) and seq.frame(1).shape == (240, 320, 3)
    assert seq.absent.tolist() == [True] + [False] * 138 + [True]


def test_folder_name_selects_every_subsequence_and_registry(uav123_layout):
    root, _ = uav123_layout
    assert [s.name for s in load_uav123(root, ["truck4"])] == ["truck4_1", "truck4_2"]
    assert [s.name for s in load_uav123(root, ["Truck4-2"])] == ["truck4_2"]  # spelled as OTB names match
    assert LOADERS["uav123"] is load_uav123
    assert [s.name for s in load_sequences("uav123", root, ["person3_s"])] == ["person3_s"]
    with pytest.raises(ValueError, match="truck5"):
        load_uav123(root, ["truck5"])


def test_official_table():
    assert SUBSEQUENCE_FRAMES["bird1_2"] == ("bird1", 775, 1477)  # a gap after bird1_1 (1-253)
    assert SUBSEQUENCE_FRAMES["uav1_3"] == ("uav1", 2473, 3469)
    assert len(SUBSEQUENCE_FRAMES) == 51
    for name, (folder, first, last) in SUBSEQUENCE_FRAMES.items():
        assert name.rsplit("_", 1)[0] == folder and 1 <= first < last


def test_rows_parser(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("1,2,3,4\nNaN,NaN,NaN,NaN\n5 6 7 8\n1,2,3\nnan,1,2,3\n1,2,inf,4\n\n")
    gt, absent, malformed = read_uav123_groundtruth(path)
    assert gt.shape == (6, 4) and gt[0].tolist() == [0, 1, 3, 4] and gt[2].tolist() == [4, 5, 7, 8]
    assert absent.tolist() == [False, True, False, False, False, False]
    assert malformed == [3, 4, 5] and np.isnan(gt[3:]).all()


def test_unknown_subsequence_and_unusable_roots_are_clear_errors(uav123_layout, tmp_path):
    with pytest.raises(ValueError, match="not a UAV123 root"):
        list_uav123(tmp_path)
    root = tmp_path / "copy"
    shutil.copytree(uav123_layout[0], root)
    (root / "anno" / "UAV123" / "truck4_3.txt").write_text("1,1,5,5\n")
    assert frame_range("car1_s", root) == ("car1_s", 1, None)
    with pytest.raises(ValueError, match="truck4_3: a sub-sequence whose frame range is not known"):
        load_uav123_sequence(root, "truck4_3")
    (root / "anno" / "UAV123" / "truck4_3.txt").unlink()
    (root / "anno" / "UAV123" / "ghost.txt").write_text("1,1,5,5\n")
    with pytest.raises(ValueError, match="ghost: frame folder .* not found"):
        load_uav123(root, ["ghost"])
