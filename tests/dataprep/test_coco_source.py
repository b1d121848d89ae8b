"""COCO reader: the standard layout through pycocotools, polygons and RLE, skips with reasons."""

import json
import os

import numpy as np
import pytest

from dataprep.sources import SourceError, VideoRef, coco, get_source, read_frame


def _all_sequences(root, split):
    videos, skips = coco.list_videos(root, splits=[split])
    sequences, load_skips = [], []
    for v in videos:
        s, k = coco.load_video(v)
        sequences += s
        load_skips += k
    return videos, skips, sequences, load_skips


def test_registered():
    assert get_source("coco") is coco.SPEC


def test_real_sample_in_the_standard_layout(coco_mini_root, shared_data):
    videos, skips, sequences, load_skips = _all_sequences(coco_mini_root, "val2017")
    assert [v.name for v in videos] == ["0", "1", "2"] and skips == []
    truth = json.loads((shared_data / "coco-mini" / "annotations.json").read_text())
    anns = {a["id"]: a for a in truth["annotations"]}
    names = {c["id"]: c["name"] for c in truth["categories"]}
    assert names[0] == "_background_"  # ids start at 0: names must come from the file, not an index
    images = {im["id"]: im for im in truth["images"]}
    # tiny instances (bottle 873 px, person 996 px < 1024) are skipped and recorded
    assert sorted(int(s.track) for s in sequences) == [0, 1, 3, 4, 5, 6, 7, 8, 9, 11]
    assert sorted((k.where, k.reason) for k in load_skips) == [
        ("coco/val2017/0", "tiny_instance"), ("coco/val2017/2", "tiny_instance")]
    assert "[2]" in load_skips[0].detail
    for s in sequences:
        ann = anns[int(s.track)]
        assert s.class_name == names[ann["category_id"]]
        assert s.boxes_xywh.tolist() == [ann["bbox"]] and not s.boxes_xywh.flags.writeable
        (ref,) = s.frames
        image = images[ann["image_id"]]
        assert ref.path.endswith(os.path.join("val2017", image["file_name"]))  # the sub-folder is kept
        assert read_frame(ref).shape == (image["height"], image["width"], 3)
    persons = [s for s in sequences if s.class_name == "person"]
    assert len({s.video.name for s in persons}) == 2


def test_smaller_min_area_keeps_tiny_instances(coco_mini_root):
    videos, _ = coco.list_videos(coco_mini_root, splits="val2017")
    seqs, skips = coco.load_video(videos[0], min_area_px=0)
    assert [s.track for s in seqs] == ["0", "1", "2"] and skips == []


def test_generated_polygons_and_rle_decode_to_the_painted_masks(coco_dataset):
    root = coco_dataset.root
    index = coco.load_index(coco.annotation_path(root, "train2017"), "train2017")
    encodings = {i.encoding for i in coco_dataset.truth.values()}
    assert encodings == {"polygon", "rle", "rle-uncompressed"}
    for ann_id, inst in coco_dataset.truth.items():
        mask = coco.decode_mask(index, index.coco.anns[ann_id])
        assert mask is not None
        ys, xs = np.nonzero(mask)
        assert [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1] == list(inst.bbox_xywh)
    # ids are not contiguous (3, 7, 18, ...) and category 0 has no instance
    assert set(index.category_names) == {0, 3, 7, 18, 23, 42, 57}


def test_generated_split_skips_crowd_and_tiny(coco_dataset):
    videos, skips, sequences, load_skips = _all_sequences(coco_dataset.root, "train2017")
    usable = sorted(i for i, inst in coco_dataset.truth.items() if inst.usable)
    assert sorted(int(s.track) for s in sequences) == usable
    assert sorted(k.reason for k in load_skips) == ["iscrowd", "tiny_instance"]
    assert all(s.class_name == coco_dataset.truth[int(s.track)].category for s in sequences)


def test_bad_inputs_are_recorded_with_reasons(coco_bad):
    videos, skips, sequences, load_skips = _all_sequences(coco_bad.root, "bad2017")
    expected_list = sorted(b.reason for b in coco_bad.bad if b.stage == "list")
    assert sorted(k.reason for k in skips) == expected_list
    assert any("image_id 77" in k.detail for k in skips) and any("category_id 999" in k.detail for k in skips)
    assert any("/etc/passwd" in k.detail for k in skips)  # an absolute file_name is refused, not read
    (degenerate,) = [k for k in load_skips if k.reason == "degenerate_mask"]
    assert "[900, 901, 902, 903]" in degenerate.detail
    assert "decodes empty" in degenerate.detail and "size" in degenerate.detail
    assert {s.class_name for s in sequences} == {"person"}


@pytest.mark.parametrize("split, message", [
    ("notjson", "not valid JSON"),
    ("nokeys", r"key\(s\) \['annotations'\] missing"),
    ("val1999", "Splits present: .*bad2017"),
])
def test_unusable_annotation_files_stop_before_any_work(coco_bad, split, message):
    with pytest.raises(SourceError, match=message):
        coco.list_videos(coco_bad.root, splits=[split])


def test_chunks_and_missing_root_are_clear_errors(tmp_path, coco_dataset):
    with pytest.raises(SourceError, match="COCO has no chunks.*--split"):
        coco.list_videos(coco_dataset.root, chunks=[0])
    with pytest.raises(SourceError, match="COCO root not found"):
        coco.list_videos(tmp_path / "nowhere")
    with pytest.raises(SourceError, match="not found: looked for .*instances_train2017.json"):
        coco.list_videos(tmp_path)


def test_index_is_parsed_once_per_process(coco_dataset):
    path = coco.annotation_path(coco_dataset.root, "train2017")
    a = coco.load_index(path, "train2017")
    assert coco.load_index(path, "train2017") is a
    bank = coco.load_bank(coco_dataset.root, "train2017")
    assert coco.load_bank(coco_dataset.root, "train2017") is bank and bank.index is a


def test_bank_groups_usable_instances_by_category(coco_dataset, coco_bad, tmp_path):
    bank = coco.load_bank(coco_dataset.root, "train2017")
    (tmp_path / "link").symlink_to(coco_dataset.root)  # the same folder spelled another way: still the target's own
    assert bank.same_source(VideoRef("coco", -1, "train2017", "1", str(tmp_path / "link")))
    assert not bank.same_source(VideoRef("coco", -1, "val2017", "1", str(coco_dataset.root)))
    usable = {i: inst for i, inst in coco_dataset.truth.items() if inst.usable}
    assert bank.all_ids == tuple(sorted(usable))
    for name, ids in bank.ids_by_category.items():
        assert ids == tuple(sorted(i for i, inst in usable.items() if inst.category == name))
    assert bank.ids_by_category["kite"] == (11,)
    assert bank.candidates(("car", "dog")) == tuple(sorted(bank.ids_by_category["car"] + bank.ids_by_category["dog"]))
    assert bank.candidates(None) == bank.all_ids and bank.candidates(("whale",)) == ()
    patch, mask = bank.load_patch(3)
    x, y, w, h = usable[3].bbox_xywh
    assert patch.shape == (h, w, 3) and mask.shape == (h, w) and mask.any() and mask[0].any() and mask[:, 0].any()

    from dataprep.sources import FrameError

    bad_bank = coco.load_bank(coco_bad.root, "bad2017")
    with pytest.raises(FrameError) as err:
        bad_bank.load_patch(5)  # its image file is missing
    assert err.value.reason == "missing_frame"
    with pytest.raises(SourceError, match="distractor bank not found"):
        coco.load_bank(coco_dataset.root, "val2017")
