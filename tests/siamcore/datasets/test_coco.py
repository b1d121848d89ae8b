"""COCO reader: validation of malformed entries, usable instances as one-frame sequences, reasons."""

from __future__ import annotations

import json

import pytest

from siamcore.datasets import coco

pytest.importorskip("pycocotools")


@pytest.fixture
def root(tmp_path, writers):
    writers.frames(tmp_path / "val", 1, "img{}.jpg", start=0, size=(100, 100))
    square = [[10, 10, 60, 10, 60, 60, 10, 60]]
    data = {
        "categories": [{"id": 0, "name": "_background_"}, {"id": 3, "name": "dog"}, {"name": "no id"}],
        "images": [{"id": 7, "file_name": "img0.jpg", "width": 100, "height": 100},
                   {"id": 8, "file_name": "../escape.jpg", "width": 100, "height": 100}],
        "annotations": [
            {"id": 2, "image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "segmentation": square, "area": 2500},
            {"id": 1, "image_id": 7, "category_id": 0, "bbox": [10, 10, 5, 5], "segmentation": square, "area": 25},
            {"id": 4, "image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "segmentation": square,
             "iscrowd": 1},
            {"id": 5, "image_id": 9, "category_id": 3, "bbox": [1, 1, 2, 2], "segmentation": square},
        ],
    }
    coco.annotation_path(tmp_path, "val").parent.mkdir()
    coco.annotation_path(tmp_path, "val").write_text(json.dumps(data))
    return tmp_path


def test_malformed_entries_are_problems_not_errors(root):
    index = coco.read_coco_index(coco.annotation_path(root, "val"), "val")
    assert [what for what, _ in index.problems] == ["category", "image", "annotation 5"]
    assert index.image_ids() == [7] and index.category_names == {0: "_background_", 3: "dog"}
    assert coco.present_splits(root) == ["val"]


def test_usable_instances_as_one_frame_sequences(root):
    index = coco.read_coco_index(coco.annotation_path(root, "val"), "val")
    sequences, problems = coco.image_instances(index, root, 7, min_area_px=1024, max_image_pixels=10**6)
    (seq,) = sequences
    assert (seq.name, seq.class_name, seq.frames) == ("2", "dog", [root / "val" / "img0.jpg"])
    assert seq.gt_xywh.tolist() == [[10, 10, 50, 50]] and seq.frame(0).shape == (100, 100, 3)
    assert [(i, reason) for i, reason, _ in problems] == [(1, "tiny_instance"), (4, "iscrowd")]
    assert coco.decode_mask(index, index.coco.anns[2]).sum() > 2000


def test_not_a_coco_file(tmp_path):
    (tmp_path / "x.json").write_text('{"images": []}')
    with pytest.raises(ValueError, match="not a COCO instances file"):
        coco.read_coco_index(tmp_path / "x.json", "x")
