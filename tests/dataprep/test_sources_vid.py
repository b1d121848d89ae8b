"""ILSVRC VID reader: listing, multi-track snippets, class mapping, bad inputs, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from dataprep.sources import FrameError, SourceError, read_frame, vid

from testkit.scene import encode_jpeg
from testkit.vid import vid_snippet_name, vid_xml


def _load_all(root, **kw):
    videos, _ = vid.list_videos(root, **kw)
    seqs, skips = {}, {}
    for v in videos:
        s, k = vid.load_video(v)  # never raises
        seqs.update({q.uid: q for q in s})
        skips[v.uid] = k
    return videos, seqs, skips


def test_class_map_is_the_30_vid_classes():
    assert len(vid.WNID_TO_CLASS) == 30 == len(set(vid.WNID_TO_CLASS.values()))
    assert vid.WNID_TO_CLASS["n02691156"] == "airplane"
    assert vid.WNID_TO_CLASS["n02084071"] == "dog"
    assert vid.WNID_TO_CLASS["n02391049"] == "zebra"
    assert vid.WNID_TO_CLASS["n04530566"] == "watercraft"


def test_list_videos_train_two_levels_val_one(vid_root):
    videos, skips = vid.list_videos(vid_root)
    assert skips == []
    assert [v.uid for v in videos] == [
        "vid/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000",
        "vid/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000001",
        "vid/val/ILSVRC2015_val_00000000",
    ]
    assert all(v.chunk == -1 and v.dataset == "vid" for v in videos)
    assert [v.split for v in vid.list_videos(vid_root, splits="val")[0]] == ["val"]


def test_multi_track_boxes_classes_and_absence(vid_dataset):
    videos, seqs, skips = _load_all(vid_dataset.root)
    assert all(k == [] for k in skips.values())
    assert sorted(seqs) == sorted(vid_dataset.truth)
    assert len(seqs) == 9  # 3 snippets x 3 tracks
    absent = 0
    for uid, (wnid, boxes) in vid_dataset.truth.items():
        seq = seqs[uid]
        assert seq.class_name == vid.WNID_TO_CLASS[wnid]
        assert np.array_equal(np.isnan(seq.boxes_xywh), np.isnan(boxes))
        assert np.allclose(seq.boxes_xywh[~np.isnan(boxes)], boxes[~np.isnan(boxes)])
        absent += np.isnan(boxes[:, 0]).sum()
        assert len(seq.frames) == 12 and seq.frames[3].path.endswith(f"/{seq.video.name}/000003.JPEG")
    assert absent > 0  # some tracks are absent on some frames
    v = videos[0]
    tracks = [s.track for s in vid.load_video(v)[0]]
    assert tracks == ["0", "1", "2"]
    seq0 = seqs[f"{v.uid}/0"]
    assert read_frame(seq0.frames[0]).shape == (120, 160, 3)


def test_trackids_sort_numerically(tmp_path):
    name = vid_snippet_name("val", 0)
    anno = tmp_path / "Annotations" / "VID" / "val" / name
    data = tmp_path / "Data" / "VID" / "val" / name
    anno.mkdir(parents=True)
    data.mkdir(parents=True)
    jpeg = encode_jpeg(np.zeros((40, 60, 3), np.uint8))
    for i in range(2):
        objs = [(t, "n02084071", (1, 2, 11, 22)) for t in (10, 2, 0)]
        (anno / f"{i:06d}.xml").write_text(vid_xml(name, i, (60, 40), objs))
        (data / f"{i:06d}.JPEG").write_bytes(jpeg)
    (video,), _ = vid.list_videos(tmp_path)
    seqs, skips = vid.load_video(video)
    assert skips == [] and [s.track for s in seqs] == ["0", "2", "10"]
    assert np.allclose(seqs[0].boxes_xywh, [[1, 2, 10, 20]] * 2)  # xmin, ymin, xmax - xmin, ymax - ymin
    assert seqs[1].class_name == "dog"


def test_missing_root_split_and_chunks_are_clear_errors(tmp_path, vid_root):
    with pytest.raises(SourceError, match=r"looked for .*Annotations/VID.*--root"):
        vid.list_videos(tmp_path / "nowhere")
    (tmp_path / "Annotations" / "VID").mkdir(parents=True)
    with pytest.raises(SourceError, match="no VID split"):
        vid.list_videos(tmp_path)
    with pytest.raises(SourceError, match="unknown VID split"):
        vid.list_videos(vid_root, splits=["test"])
    with pytest.raises(SourceError, match="no chunks"):
        vid.list_videos(vid_root, chunks=[0])
    (tmp_path / "Annotations" / "VID" / "train").mkdir()
    with pytest.raises(SourceError, match="missing"):
        vid.list_videos(tmp_path, splits=["train", "val"])


def test_every_bad_input_is_a_recorded_skip(vid_bad):
    videos, seqs, skips = _load_all(vid_bad.root)
    by_video = {s.video.uid: s for s in seqs.values() if s.track == "0"}
    assert len(vid_bad.bad) == 8
    for bad in vid_bad.bad:
        video_uid = bad.uid if bad.uid.count("/") == 3 else bad.uid.rsplit("/", 1)[0]
        if bad.stage == "load":
            assert (bad.uid, bad.reason) in {(s.where, s.reason) for s in skips[video_uid]}, skips[video_uid]
            if bad.frames:
                boxes = by_video[video_uid].boxes_xywh
                assert np.isnan(boxes[list(bad.frames)]).all()
                assert np.isfinite(np.delete(boxes, bad.frames, axis=0)).all()
            else:
                assert video_uid not in by_video
        else:
            seq = by_video[video_uid]
            for i in bad.frames:
                with pytest.raises(FrameError) as e:
                    read_frame(seq.frames[i])
                assert e.value.reason == bad.reason
    good = [v.uid for v in videos if "bad_" not in v.uid]
    assert len(good) == 1 and skips[good[0]] == []


def test_real_frames_fixture(vid_real_root):
    videos, seqs, skips = _load_all(vid_real_root)
    assert len(videos) == 2 and all(k == [] for k in skips.values())
    sizes = {read_frame(s.frames[0]).shape for s in seqs.values()}
    assert sizes == {(240, 320, 3), (240, 360, 3)}  # OTB Couple, OTB Crossing
    for v in videos:
        assert np.isfinite(seqs[f"{v.uid}/0"].boxes_xywh).all()  # the real target, every frame
