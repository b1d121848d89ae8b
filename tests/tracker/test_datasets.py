"""OTB/VOT readers, result files and frame sources on real on-disk layouts built in tmp dirs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from siamcore.atomic import TEMP_MARK

from tracker.datasets import (
    load_otb,
    load_vot_sequence,
    open_source,
    polygon_to_xywh,
    read_otb_groundtruth,
    read_results,
    read_vot_groundtruth,
    write_results,
)


def write_jpegs(folder: Path, count: int, digits: int = 4, start: int = 1, size=(48, 64)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([7, count, start])
    for i in range(start, start + count):
        img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i:0{digits}d}.jpg"), img)


def gt_lines(rows, sep=","):
    return "".join(sep.join(str(v) for v in r) + "\n" for r in rows)


@pytest.mark.parametrize("sep", [",", "\t", " ", " ,\t"])
def test_otb_groundtruth_delimiters_and_one_based(tmp_path, sep):
    path = tmp_path / "groundtruth_rect.txt"
    path.write_text(gt_lines([(11, 21, 30, 40), (12.5, 22, 31, 41)], sep))
    gt = read_otb_groundtruth(path)
    assert gt.tolist() == [[10, 20, 30, 40], [11.5, 21, 31, 41]]


def test_otb_groundtruth_bad_row_names_the_line(tmp_path):
    path = tmp_path / "groundtruth_rect.txt"
    path.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ValueError, match=":2: expected 4 values"):
        read_otb_groundtruth(path)


def make_otb_root(root: Path) -> None:
    """Plain, two-target, later-start (known range) and short-ground-truth sequences."""
    write_jpegs(root / "Plain" / "img", 5)
    (root / "Plain" / "groundtruth_rect.txt").write_text(gt_lines([(i + 1, 1, 10, 12) for i in range(5)], "\t"))
    write_jpegs(root / "Jogging" / "img", 4)
    (root / "Jogging" / "groundtruth_rect.1.txt").write_text(gt_lines([(1, 1, 5, 5)] * 4))
    (root / "Jogging" / "groundtruth_rect.2.txt").write_text(gt_lines([(9, 9, 6, 6)] * 4, " "))
    write_jpegs(root / "Tiger1" / "img", 8)  # known range: frames 6.. ; rows cover every frame from 1
    (root / "Tiger1" / "groundtruth_rect.txt").write_text(gt_lines([(i + 1, 1, 10, 10) for i in range(8)]))
    write_jpegs(root / "Football1" / "img", 6)  # more images than rows: rows cover the first frames
    (root / "Football1" / "groundtruth_rect.txt").write_text(gt_lines([(1, 1, 7, 7)] * 4))


def test_otb_without_meta_json(tmp_path):
    make_otb_root(tmp_path)
    seqs = {s.name: s for s in load_otb(tmp_path)}
    assert sorted(seqs) == ["Football1", "Jogging.1", "Jogging.2", "Plain", "Tiger1"]
    assert len(seqs["Plain"]) == 5 and seqs["Plain"].gt_xywh[2].tolist() == [2, 0, 10, 12]
    assert seqs["Jogging.2"].gt_xywh[0].tolist() == [8, 8, 6, 6]
    tiger = seqs["Tiger1"]
    assert [p.name for p in tiger.frames] == ["0006.jpg", "0007.jpg", "0008.jpg"]
    assert tiger.gt_xywh[:, 0].tolist() == [5, 6, 7]  # row of frame 6 is row 6
    assert len(seqs["Football1"]) == 4 and seqs["Football1"].frames[-1].name == "0004.jpg"
    frame = seqs["Plain"].frame(0)
    assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)


def test_otb_meta_json_decides_frames_and_names_match_aliases(tmp_path):
    make_otb_root(tmp_path)
    meta = {
        "plain": {"name": "Plain", "image_files": ["0002.jpg", "0003.jpg", "0004.jpg"], "gt_rect": []},
        "jogging_2": {"name": "Jogging", "image_files": ["0001.jpg", "0002.jpg"], "gt_rect": []},
    }
    (tmp_path / "OTB2015.json").write_text(json.dumps(meta))
    seqs = {s.name: s for s in load_otb(tmp_path)}
    # 5 rows for frames 1..5 -> rows of frames 2..4
    assert [p.name for p in seqs["Plain"].frames] == ["0002.jpg", "0003.jpg", "0004.jpg"]
    assert seqs["Plain"].gt_xywh[:, 0].tolist() == [1, 2, 3]
    assert len(seqs["Jogging.2"]) == 2 and len(seqs["Jogging.1"]) == 4
    picked = load_otb(tmp_path, ["jogging-2", "PLAIN", "Jogging_1"])
    assert [s.name for s in picked] == ["Jogging.2", "Plain", "Jogging.1"]
    with pytest.raises(ValueError, match="not found.*Nope"):
        load_otb(tmp_path, ["Nope"])


def test_run_source_of_an_otb_folder_uses_the_meta_json_beside_it(tmp_path):
    make_otb_root(tmp_path)
    meta = {"plain": {"name": "Plain", "image_files": ["0002.jpg", "0003.jpg"], "gt_rect": []}}
    (tmp_path / "OTB2015.json").write_text(json.dumps(meta))
    src = open_source(tmp_path / "Plain")
    assert [p.name for p in src.sequence.frames] == ["0002.jpg", "0003.jpg"] and len(src) == 2
    assert src.init_box_xywh.tolist() == [1, 0, 10, 12]  # the row of frame 2, as tracker eval starts


def test_otb_root_without_sequences_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no OTB sequence folders"):
        load_otb(tmp_path)


def test_real_otb_sequences(shared_data):
    seqs = {s.name: s for s in load_otb(shared_data / "otb", ["Couple", "Crossing"])}
    assert len(seqs["Couple"]) == 140 and len(seqs["Crossing"]) == 120
    assert seqs["Couple"].gt_xywh[0].tolist() == [50, 46, 25, 62]  # file row "51 47 25 62", 1-based
    meta = json.loads((shared_data / "otb" / "OTB2015.json").read_text())
    assert np.allclose(seqs["Crossing"].gt_xywh + [1, 1, 0, 0], meta["crossing"]["gt_rect"])


def test_results_round_trip_in_otb_format(tmp_path):
    boxes = np.array([[0.0, 1.5, 10.25, 20.0], [3.0, 4.0, 5.0, 6.0]])
    path = tmp_path / "out" / "Seq.txt"
    write_results(path, boxes)
    assert path.read_text().splitlines()[0] == "1.0000,2.5000,10.2500,20.0000"
    assert np.allclose(read_results(path), boxes)
    assert not list(path.parent.glob(f".*{TEMP_MARK}*"))


def test_polygon_to_box():
    square45 = [5, 0, 10, 5, 5, 10, 0, 5]  # a diamond: bounding box 10x10, area 50
    assert polygon_to_xywh(square45).tolist() == [0, 0, 10, 10]
    area = polygon_to_xywh(square45, "area")
    assert area[2] * area[3] == pytest.approx(50.0)
    assert area[:2] + area[2:] / 2 == pytest.approx([5, 5])
    axis_aligned = [1, 2, 11, 2, 11, 7, 1, 7]
    assert polygon_to_xywh(axis_aligned, "area") == pytest.approx([1, 2, 10, 5])
    with pytest.raises(ValueError):
        polygon_to_xywh(axis_aligned, "rotated")


def test_vot_groundtruth_mixed_rows(tmp_path):
    path = tmp_path / "groundtruth.txt"
    path.write_text("1,2,11,2,11,7,1,7\n3,4,5,6\nnan,nan,nan,nan\n0\n")
    gt = read_vot_groundtruth(path)
    assert gt[0].tolist() == [1, 2, 10, 5] and gt[1].tolist() == [3, 4, 5, 6]
    assert np.isnan(gt[2]).all() and np.isnan(gt[3]).all()


def test_real_vot_bag(shared_data):
    seq = load_vot_sequence(shared_data / "vot" / "bag")
    assert len(seq) == 196 and seq.gt_xywh.shape == (196, 4)
    x, y, w, h = seq.gt_xywh[0]  # polygon 334.02,128.36,438.19,188.78,396.39,260.83,292.23,200.41
    assert (x, y, x + w, y + h) == pytest.approx((292.23, 128.36, 438.19, 260.83))


def test_sources_folder_video_otb_vot(tmp_path):
    write_jpegs(tmp_path / "frames", 3)
    src = open_source(tmp_path / "frames")
    assert src.kind == "frames" and len(src) == 3 and src.init_box_xywh is None
    assert [f.shape for f in src.frames()] == [(48, 64, 3)] * 3

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), (255, 0, 0), np.uint8))  # BGR blue
    writer.release()
    src = open_source(video)
    frames = list(src.frames())
    assert src.kind == "video" and src.fps == pytest.approx(12.0) and len(frames) == 4
    assert frames[0][24, 32, 2] > 200 and frames[0][24, 32, 0] < 50  # RGB: blue in channel 2

    make_otb_root(tmp_path / "otb")
    src = open_source(tmp_path / "otb" / "Jogging", otb_target=2)
    assert src.kind == "otb" and src.init_box_xywh.tolist() == [8, 8, 6, 6]
    with pytest.raises(ValueError, match="targets"):
        open_source(tmp_path / "otb" / "Jogging", otb_target=3)

    write_jpegs(tmp_path / "vot", 2, digits=8)
    (tmp_path / "vot" / "groundtruth.txt").write_text("1,2,11,2,11,7,1,7\n1,2,11,2,11,7,1,7\n")
    src = open_source(tmp_path / "vot")
    assert src.kind == "vot" and src.init_box_xywh.tolist() == [1, 2, 10, 5]

    with pytest.raises(ValueError, match="does not exist"):
        open_source(tmp_path / "missing")
    (tmp_path / "not_a_video.mp4").write_text("hello")
    with pytest.raises(ValueError, match="cannot open"):
        open_source(tmp_path / "not_a_video.mp4")


def test_unreadable_frame_is_a_clear_error(tmp_path):
    write_jpegs(tmp_path / "frames", 2)
    (tmp_path / "frames" / "0002.jpg").write_bytes(b"not a jpeg")
    src = open_source(tmp_path / "frames")
    it = src.frames()
    next(it)
    with pytest.raises(ValueError, match="cannot decode"):
        next(it)


def test_real_otb_root_without_meta_json_reads_the_same(shared_data, tmp_path):
    for name in ("Couple", "Crossing"):
        (tmp_path / name).symlink_to(shared_data / "otb" / name, target_is_directory=True)
    without = {s.name: s for s in load_otb(tmp_path)}
    with_meta = {s.name: s for s in load_otb(shared_data / "otb", ["Couple", "Crossing"])}
    assert sorted(without) == ["Couple", "Crossing"]
    for name, seq in with_meta.items():
        assert [p.name for p in without[name].frames] == [p.name for p in seq.frames]
        assert np.array_equal(without[name].gt_xywh, seq.gt_xywh)


def test_tlp_folder_is_a_tlp_source_not_an_otb_one(shared_data):
    """TLP folders look like OTB ones (img/ + groundtruth_rect.txt) but have 6 values per row."""
    from tracker.datasets import open_source

    src = open_source(shared_data / "tlp" / "CarChase2")
    assert src.kind == "tlp" and len(src) == 600
    np.testing.assert_allclose(src.init_box_xywh, [538.0, 252.0, 355.0, 255.0])  # 1-based 539,253 in the file
    assert open_source(shared_data / "otb" / "Couple").kind == "otb"
