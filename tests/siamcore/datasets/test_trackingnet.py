"""TrackingNet reader: frames folders and zips, rows matched by index, selection by name or chunk."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from siamcore.datasets import ZipFrame, list_trackingnet, load_sequences, load_trackingnet, read_trackingnet_video
from siamcore.datasets.trackingnet import TrackingNetError


@pytest.fixture
def root(tmp_path, writers):
    """TRAIN_0 with a frames folder (a7, 12 frames) and a zip (b2, 3 frames in a folder); TRAIN_1 with
    one video (c1) whose 4th annotation line is malformed and frame 2 missing."""
    c0 = tmp_path / "TRAIN_0"
    (c0 / "anno").mkdir(parents=True)
    writers.frames(c0 / "frames" / "a7", 12, "{}.jpg", start=0)
    (c0 / "anno" / "a7.txt").write_text("".join(f"{i},{i + 1},10,20\n" for i in range(12)))
    tmp = writers.frames(tmp_path / "tmp", 3, "{}.jpg", start=0)
    (c0 / "zips").mkdir()
    with zipfile.ZipFile(c0 / "zips" / "b2.zip", "w") as zf:
        for p in tmp:
            zf.write(p, f"b2/{p.name}")
    (c0 / "anno" / "b2.txt").write_text("1,2,3,4\n5,6,7,8\n9,10,11,12\n\n")
    writers.frames(c0 / "frames" / "orphan", 2, "{}.jpg", start=0)  # no annotation: not listed
    c1 = tmp_path / "TRAIN_1"
    (c1 / "anno").mkdir(parents=True)
    writers.frames(c1 / "frames" / "c1", 5, "{}.jpg", start=0)
    (c1 / "frames" / "c1" / "2.jpg").unlink()
    (c1 / "anno" / "c1.txt").write_text("1,1,5,5\n2,2,5,5\n3,3,5,5\nbad line\n")
    return tmp_path


def test_list_sorted_by_chunk_and_name(root):
    assert [(r.name, r.video) for r in list_trackingnet(root)] == [("a7", "TRAIN_0"), ("b2", "TRAIN_0"),
                                                                   ("c1", "TRAIN_1")]
    assert [r.name for r in list_trackingnet(root, [1])] == ["c1"]
    with pytest.raises(ValueError, match="TRAIN_5"):
        list_trackingnet(root, [5])


def test_frames_sorted_numerically_and_rows_by_index(root):
    (seq,) = load_trackingnet(root, ["a7"])
    assert [p.name for p in seq.frames] == [f"{i}.jpg" for i in range(12)]  # 10 after 9
    assert seq.gt_xywh[11].tolist() == [11, 12, 10, 20] and seq.class_name == ""
    assert seq.frame(10).shape == (48, 64, 3)


def test_zip_frames_are_readable_refs(root):
    (seq,) = load_sequences("trackingnet", root, ["b2"])
    assert seq.frames[0] == ZipFrame(root / "TRAIN_0" / "zips" / "b2.zip", "b2/0.jpg")
    assert len(seq) == 3 and seq.frame(2).shape == (48, 64, 3)
    assert seq.gt_xywh.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]


def test_missing_frame_malformed_line_and_counts_reported(root):
    read = read_trackingnet_video(root / "TRAIN_1", "c1")
    assert (read.n_frames, read.n_rows, read.malformed, read.missing) == (5, 4, [3], [2])
    gt = read.sequence.gt_xywh
    assert len(read.sequence) == 4 and np.isnan(gt[[2, 3]]).all() and np.isfinite(gt[[0, 1]]).all()
    assert read.sequence.frames[2] == root / "TRAIN_1" / "frames" / "c1" / "2.jpg"  # keeps its place


def test_chunk_name_selects_its_videos_and_unreadable_videos_raise(root):
    assert [s.name for s in load_trackingnet(root, ["TRAIN_0"])] == ["a7", "b2"]
    (root / "TRAIN_0" / "zips" / "b2.zip").write_bytes(b"not a zip")
    with pytest.raises(TrackingNetError, match="not a readable zip") as e:
        load_trackingnet(root, ["b2"])
    assert e.value.reason == "bad_zip"
    with pytest.raises(ValueError, match="nope"):
        load_trackingnet(root, ["nope"])
