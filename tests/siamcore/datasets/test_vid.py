"""ILSVRC VID reader: one sequence per trackid, absent frames flagged, class names, selection."""

from __future__ import annotations

import numpy as np
import pytest

from siamcore.datasets import list_vid, load_sequences, load_vid, read_vid_snippet
from siamcore.datasets.vid import WNID_TO_CLASS, vid_folders


def _xml(objects, size=(64, 48)) -> str:
    body = "".join(
        f"<object><trackid>{t}</trackid><name>{w}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox><occluded>0</occluded></object>"
        for t, w, b in objects
    )
    return f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height></size>{body}</annotation>"


@pytest.fixture
def root(tmp_path, writers):
    """train/sub/snipA: track 0 (dog) in frames 0-3, track 2 (zebra) in frames 1-2, frame 3's JPEG
    missing; val/snipB: one track, frame 1's XML unreadable."""
    anno, data = vid_folders(tmp_path, "train", "sub/snipA")
    anno.mkdir(parents=True)
    writers.frames(data, 3, "{:06d}.JPEG", start=0)
    for i in range(4):
        objs = [(0, "n02084071", (i, 2, i + 10, 12))] + ([(2, "n02391049", (5, 5, 9, 9))] if i in (1, 2) else [])
        (anno / f"{i:06d}.xml").write_text(_xml(objs))
    anno, data = vid_folders(tmp_path, "val", "snipB")
    anno.mkdir(parents=True)
    writers.frames(data, 2, "{:06d}.JPEG", start=0)
    (anno / "000000.xml").write_text(_xml([(1, "n99999999", (1, 1, 3, 3))]))
    (anno / "000001.xml").write_text("<annotation><size>")
    return tmp_path


def test_list_train_then_val(root):
    assert [(r.name, r.folder.parent.name) for r in list_vid(root)] == [("snipA", "sub"), ("snipB", "val")]
    assert [r.name for r in list_vid(root, ["val"])] == ["snipB"]
    with pytest.raises(ValueError, match="split"):
        list_vid(root, ["test"])


def test_one_sequence_per_track_with_absent_frames_and_classes(root):
    a0, a2, b1 = load_vid(root)
    assert [s.name for s in (a0, a2, b1)] == ["snipA.0", "snipA.2", "snipB.1"]
    assert (a0.class_name, a2.class_name, b1.class_name) == ("dog", "zebra", "")
    assert a0.gt_xywh[1].tolist() == [1, 2, 10, 10]  # xmax - xmin
    assert np.isnan(a0.gt_xywh[3]).all() and not a0.absent[3]  # JPEG missing: NaN, not absent
    assert a2.absent.tolist() == [True, False, False, True] and np.isnan(a2.gt_xywh[[0, 3]]).all()
    assert not b1.absent[1] and np.isnan(b1.gt_xywh[1]).all()  # unreadable XML: unknown, not absent
    assert a0.frames == a2.frames and a0.frame(0).shape == (48, 64, 3)
    assert len(WNID_TO_CLASS) == 30


def test_snippet_report(root):
    read = read_vid_snippet(*vid_folders(root, "train", "sub/snipA"))
    assert read.tracks == ["0", "2"] and read.missing == [3] and read.frame_wh[0] == (64.0, 48.0)
    read = read_vid_snippet(*vid_folders(root, "val", "snipB"))
    assert read.unreadable == [1] and read.no_xml == []


def test_select_by_snippet_or_single_track(root):
    assert [s.name for s in load_sequences("vid", root, ["snipA"])] == ["snipA.0", "snipA.2"]
    assert [s.name for s in load_vid(root, ["snipA.2", "snipB"])] == ["snipA.2", "snipB.1"]
    with pytest.raises(ValueError, match="trackid 7"):
        load_vid(root, ["snipA.7"])
