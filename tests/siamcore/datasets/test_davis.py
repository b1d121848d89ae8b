"""DAVIS reader: the box is the mask's extent (continuous coordinates), empty mask = absent, missing
mask = NaN, DAVIS-2017 palette masks give one sequence per object."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from siamcore.datasets import list_davis, load_davis, mask_extent_xywh, read_mask


def test_real_davis2016_box_is_the_mask_extent(shared_data):
    root = shared_data / "davis2016"
    refs = list_davis(root)
    assert len(refs) == 10 and refs[0].name == "blackswan" and refs[0].target is None
    (seq,) = load_davis(root, ["BlackSwan"])
    assert len(seq) == 50 and seq.frames[0].name == "00000.jpg" and seq.class_name == ""
    for index in (0, 37):
        mask = cv2.imread(str(root / "Annotations" / "480p" / "blackswan" / f"{index:05d}.png"), cv2.IMREAD_GRAYSCALE)
        ys, xs = np.nonzero(mask)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1  # pixel i covers [i, i+1)
        assert seq.gt_xywh[index].tolist() == [x0, y0, x1 - x0, y1 - y0]
    assert not seq.absent.any()


def test_binary_masks_empty_is_absent_missing_is_nan(tmp_path, writers):
    root = tmp_path / "DAVIS"
    writers.frames(root / "JPEGImages" / "480p" / "cat", 4, "{:05d}.jpg", start=0, size=(20, 30))
    ann = root / "Annotations" / "480p" / "cat"
    full = np.zeros((20, 30), np.uint8)
    full[3:8, 10:13] = 255  # rows 3..7, columns 10..12
    writers.grey_png(ann / "00000.png", full)
    writers.grey_png(ann / "00001.png", np.zeros((20, 30), np.uint8))  # empty: target absent
    (ann / "00002.png").write_bytes(b"not a png")  # unreadable: NaN, not absent
    # 00003.png missing: NaN, not absent
    (seq,) = load_davis(root)
    assert seq.name == "cat" and len(seq) == 4
    assert seq.gt_xywh[0].tolist() == [10, 3, 3, 5]
    assert np.isnan(seq.gt_xywh[1:]).all()
    assert seq.absent.tolist() == [False, True, False, False]


def test_palette_masks_one_sequence_per_object_void_ignored(tmp_path, writers):
    root = tmp_path / "DAVIS"
    writers.frames(root / "JPEGImages" / "480p" / "duo", 2, "{:05d}.jpg", start=0, size=(12, 16))
    writers.frames(root / "JPEGImages" / "480p" / "solo", 2, "{:05d}.jpg", start=0, size=(12, 16))
    labels = np.zeros((12, 16), np.uint8)
    labels[1:3, 2:4] = 1
    labels[5:9, 10:15] = 2
    labels[0, :] = 255  # void border: not an object
    writers.indexed_png(root / "Annotations" / "480p" / "duo" / "00000.png", labels)
    later = np.where(labels == 1, 0, labels)  # object 1 leaves the frame
    writers.indexed_png(root / "Annotations" / "480p" / "duo" / "00001.png", later)
    writers.indexed_png(root / "Annotations" / "480p" / "solo" / "00000.png", np.where(labels == 2, 0, labels))
    ids, indexed = read_mask(root / "Annotations" / "480p" / "duo" / "00000.png")
    assert indexed and ids[6, 11] == 2 and ids[0, 0] == 255  # palette indices, not the colours cv2 shows
    assert [r.name for r in list_davis(root)] == ["duo.1", "duo.2", "solo"]
    seqs = {s.name: s for s in load_davis(root)}
    assert seqs["duo.1"].gt_xywh[0].tolist() == [2, 1, 2, 2]
    assert seqs["duo.2"].gt_xywh[0].tolist() == [10, 5, 5, 4] and seqs["duo.2"].gt_xywh[1].tolist() == [10, 5, 5, 4]
    assert np.isnan(seqs["duo.1"].gt_xywh[1]).all() and seqs["duo.1"].absent.tolist() == [False, True]
    assert seqs["solo"].gt_xywh[0].tolist() == [2, 1, 2, 2]
    assert [s.name for s in load_davis(root, ["solo.1", "DUO"])] == ["solo", "duo.1", "duo.2"]


def test_mask_extent_of_an_empty_mask_is_nan():
    assert np.isnan(mask_extent_xywh(np.zeros((3, 3), bool))).all()
    m = np.zeros((5, 6), bool)
    m[4, 5] = True
    assert mask_extent_xywh(m).tolist() == [5, 4, 1, 1]


def test_not_a_davis_root_is_a_clear_error(tmp_path):
    (tmp_path / "JPEGImages" / "Full-Resolution").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"expected JPEGImages/480p.*has: Full-Resolution"):
        list_davis(tmp_path)
