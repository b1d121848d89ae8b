"""GOT-10k reader on a real-frame GOT-10k layout (``testkit.got10k.write_got10k``): rows one-to-one
with frames, absence / cover 0 -> NaN and absent, the test split's single row, meta -> class and
attributes, split lists, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from siamcore.datasets import LOADERS, got10k_split_of, list_got10k, load_got10k, load_got10k_sequence, load_sequences


def test_train_sequence_boxes_flags_and_meta(got10k_layout):
    root, truth = got10k_layout
    (seq,) = load_got10k(root, ["GOT-10k_Train_000001"], split="train")
    assert len(seq) == 20 and seq.frames[0].name == "00000001.jpg" and seq.frames[-1].name == "00000020.jpg"
    np.testing.assert_array_equal(seq.gt_xywh, truth[seq.name])
    assert seq.gt_xywh[0].tolist() == [50, 46, 25, 62]  # Couple's first row "51 47 25 62", 1-based
    assert np.flatnonzero(seq.absent).tolist() == [4, 5, 9]  # absence.label 1, and cover 0 (fully occluded)
    assert np.isfinite(seq.gt_xywh[10]).all() and seq.frame_tags["cover"][10] == 3  # partly covered: kept
    assert seq.frame_tags["cover"].dtype == np.uint8 and seq.frame_tags["cover"][9] == 0
    assert np.flatnonzero(seq.frame_tags["cut_by_image"]).tolist() == [14]
    assert seq.class_name == "person" and seq.attributes == ["walking", "absence", "cut_by_image"]


def test_test_split_has_only_the_first_box(got10k_layout):
    root, _ = got10k_layout
    (seq,) = load_got10k(root, split="test")
    assert seq.name == "GOT-10k_Test_000001" and len(seq) == 10
    assert np.isfinite(seq.gt_xywh[0]).all() and np.isnan(seq.gt_xywh[1:]).all()
    assert not seq.absent.any()  # unknown, not absent
    assert seq.class_name == "" and seq.frame_tags == {}


def test_split_selection_and_split_folder_as_root(got10k_layout):
    root, _ = got10k_layout
    assert [r.name for r in list_got10k(root, "train")] == [f"GOT-10k_Train_00000{i}" for i in (1, 2, 3)]
    everything = list_got10k(root)
    assert [got10k_split_of(r) for r in everything] == ["test", "train", "train", "train", "val"]
    assert [r.name for r in list_got10k(root / "val")] == ["GOT-10k_Val_000001"]
    assert [s.name for s in load_sequences("got10k", root, ["got-10k_val_000001"])] == ["GOT-10k_Val_000001"]
    assert LOADERS["got10k"] is load_got10k


def test_errors_name_what_was_expected(got10k_layout, tmp_path):
    root, _ = got10k_layout
    with pytest.raises(ValueError, match="must be one of train, val, test"):
        list_got10k(root, "training")
    with pytest.raises(ValueError, match="no GOT-10k split"):
        list_got10k(tmp_path)
    with pytest.raises(ValueError, match=r"split 'val': expected .*val/list.txt"):
        list_got10k(tmp_path, "val")
    copy = tmp_path / "got"
    shutil.copytree(root / "val", copy / "val")
    (copy / "val" / "list.txt").write_text("GOT-10k_Val_000001\nGOT-10k_Val_000002\n")
    with pytest.raises(ValueError, match="do not exist: GOT-10k_Val_000002"):
        list_got10k(copy)
    with pytest.raises(ValueError, match="not 'train'"):
        list_got10k(copy / "val", "train")


def test_malformed_rows_and_short_labels(got10k_layout, tmp_path):
    root, _ = got10k_layout
    folder = tmp_path / "GOT-10k_Val_000001"
    shutil.copytree(root / "val" / "GOT-10k_Val_000001", folder)
    lines = (folder / "groundtruth.txt").read_text().splitlines()
    lines[2] = "1,2,x,4"
    (folder / "groundtruth.txt").write_text("\n".join(lines[:8]) + "\n\n")  # 8 rows for 10 frames
    (folder / "absence.label").write_text("0\n1\n" + "0\n" * 8)
    seq = load_got10k_sequence(folder)
    assert np.flatnonzero(np.isnan(seq.gt_xywh).any(axis=1)).tolist() == [1, 2, 8, 9]
    assert np.flatnonzero(seq.absent).tolist() == [1]
    # a damaged label is named, never read as absent or visible frames (issue 19, case 13)
    for text, message in (("0\n1\n", "2 lines for 10 frames"), ("0\ninf\n" + "0\n" * 8, ":2: 'inf' is not an integer"),
                          ("1e30\n" + "0\n" * 9, ":1: '1e30' is not an integer in \\[0, 1\\]")):
        (folder / "absence.label").write_text(text)
        with pytest.raises(ValueError, match=message):
            load_got10k_sequence(folder)
    (folder / "absence.label").write_text("0\n" * 10)
    (folder / "cover.label").write_text("9\n" * 10)
    with pytest.raises(ValueError, match="cover.label:1: '9' is not an integer in \\[0, 8\\]"):
        load_got10k_sequence(folder)
