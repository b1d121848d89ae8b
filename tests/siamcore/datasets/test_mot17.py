"""MOT17 reader: one variant folder per video, one sequence per pedestrian id over the whole video,
ignored / occluded / missing rows NaN and absent, 1-based x, y, seqinfo.ini frame count, name
selection, problems reported by line, clear errors; and the real mot17-mini."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from siamcore.datasets import LOADERS, list_mot17, load_mot17, load_mot17_video, load_sequences, scan_mot17
from siamcore.datasets.mot17 import read_mot17_groundtruth, read_seqinfo, video_name


def test_one_variant_per_video_and_one_sequence_per_pedestrian(mot17_layout):
    root, truth = mot17_layout
    refs, problems = scan_mot17(root)
    assert [r.name for r in refs] == ["MOT17-02.1", "MOT17-02.2", "MOT17-02.4", "MOT17-02.5",
                                      "MOT17-05.1", "MOT17-05.2"]  # no id 3 (class 7), no DPM/SDP-only id 9
    assert {r.video: r.folder.name for r in refs} == {"MOT17-02": "MOT17-02-FRCNN", "MOT17-05": "MOT17-05-DPM"}
    assert [(p.video, p.reason) for p in problems] == [("MOT17-02", "malformed_annotation"),
                                                       ("MOT17-09", "missing_annotation")]  # test/ is not read
    assert "line(s) 19, 20, 21" in problems[0].detail and "MOT17-09-FRCNN" in problems[1].detail
    for seq in load_mot17(root):
        expected, absent = truth[seq.name]
        np.testing.assert_array_equal(seq.gt_xywh, expected)
        assert seq.absent.tolist() == absent.tolist() and seq.class_name == "pedestrian"


def test_rows_frames_and_tags(mot17_layout):
    root, _ = mot17_layout
    one, two, four, _ = load_mot17(root, ["MOT17-02"])
    assert len(one) == 6 and one.frames[0].name == "000001.jpg" and one.frames[-1].name == "000006.jpg"  # seqLength
    assert one.frames is two.frames and one.frame(0).shape == (48, 64, 3)
    np.testing.assert_allclose(one.frame_tags["visibility"], [1, 0.8, 1, np.nan, 0.6, 0.2], rtol=1e-6)
    assert two.frame_tags["ignored"].tolist() == [False, True, False, False, False, True]  # consider 0, class 7
    assert np.flatnonzero(np.isfinite(four.gt_xywh[:, 0])).tolist() == [1]  # its frame-7 row is past seqLength
    (fallback,) = load_mot17(root, ["MOT17-05.1"])
    assert len(fallback) == 4  # no seqinfo.ini: the img1 listing


def test_min_visibility(mot17_layout):
    root, truth = mot17_layout
    loose = {s.name: s for s in load_mot17(root, ["MOT17-02"], min_visibility=0.0)}
    assert np.isfinite(loose["MOT17-02.5"].gt_xywh).all(axis=1).tolist() == [True, True, False, False, False, False]
    assert loose["MOT17-02.1"].gt_xywh[5].tolist() == [15, 9, 20, 30]  # visibility 0.2
    assert np.isnan(loose["MOT17-02.2"].gt_xywh[[1, 5]]).all()  # consider 0 and class 7 stay out
    strict = {s.name: s for s in load_mot17(root, ["MOT17-02"], min_visibility=1.0)}
    assert np.isfinite(strict["MOT17-02.1"].gt_xywh[:, 0]).tolist() == [True, False, True, False, False, False]
    with pytest.raises(ValueError, match="min_visibility"):
        load_mot17(root, min_visibility=1.5)


def test_names_select_tracks_or_whole_videos(mot17_layout):
    root, _ = mot17_layout
    assert [s.name for s in load_mot17(root, ["mot17_05"])] == ["MOT17-05.1", "MOT17-05.2"]  # a video: all tracks
    assert [s.name for s in load_mot17(root, ["MOT17-02-2", "MOT17-05.1"])] == ["MOT17-02.2", "MOT17-05.1"]
    assert LOADERS["mot17"] is load_mot17
    assert [s.name for s in load_sequences("mot17", root / "train" / "MOT17-02-SDP")] == [
        "MOT17-02.1", "MOT17-02.2", "MOT17-02.4", "MOT17-02.5"]  # one video folder as the root
    with pytest.raises(ValueError, match="MOT17-03"):
        load_mot17(root, ["MOT17-03"])
    assert video_name("MOT17-02-FRCNN") == "MOT17-02" and video_name("MOT20-01") == "MOT20-01"


def test_groundtruth_parser(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,1,2,3,4,5,1,1,0.5\n\n2, 1, 2, 3, 4, 5, 1, 1, 1\n1,2,3\n0,1,2,3,4,5,1,1,1\n1,1.5,2,3,4,5,1,1,1\n"
                    "1,1,nan,3,4,5,1,1,1\n3,1,2,3,4,5,1,1,1,\n")
    rows, malformed = read_mot17_groundtruth(path)
    assert rows.shape == (3, 9) and rows[:, 0].tolist() == [1, 2, 3] and rows[0, 8] == 0.5
    assert malformed == [4, 5, 6, 7]  # 3 values, frame 0, id 1.5, NaN; a trailing comma is fine


def test_seqinfo_and_unusable_folders_are_clear_errors(mot17_layout, tmp_path):
    info = read_seqinfo(mot17_layout[0] / "train" / "MOT17-02-FRCNN")
    assert (info.length, info.frame_wh, info.im_dir, info.im_ext) == (6, (64, 48), "img1", ".jpg")
    video = tmp_path / "MOT17-02-FRCNN"
    shutil.copytree(mot17_layout[0] / "train" / "MOT17-02-FRCNN", video)
    (video / "seqinfo.ini").write_text("[Sequence]\nseqLength=six\n")
    with pytest.raises(ValueError, match="seqinfo.ini: seqLength must be a positive integer, got 'six'"):
        load_mot17_video(video)
    (video / "seqinfo.ini").write_text("name=MOT17-02\n")
    with pytest.raises(ValueError, match="seqinfo.ini: not an ini file"):
        load_mot17_video(video)
    (video / "seqinfo.ini").unlink()
    assert len(load_mot17_video(video)[0]) == 7  # no seqinfo.ini: every image of img1
    (video / "gt" / "gt.txt").unlink()
    with pytest.raises(ValueError, match="no gt/gt.txt"):
        load_mot17_video(video)
    with pytest.raises(ValueError, match="no pedestrian track in any MOT17 video.*no gt/gt.txt"):
        list_mot17(tmp_path)
    with pytest.raises(ValueError, match="not a MOT17 root"):
        list_mot17(tmp_path / "MOT17-02-FRCNN" / "gt")


def test_real_mot17_mini(mot17_mini):
    refs, problems = scan_mot17(mot17_mini)
    assert problems == [] and len({r.video for r in refs}) == 7 and len(refs) == 137
    seqs = {s.name: s for s in load_mot17(mot17_mini)}
    usable = {name: int(np.isfinite(s.gt_xywh[:, 0]).sum()) for name, s in seqs.items()}
    assert sum(n >= 2 for n in usable.values()) == 95 and sum(n for n in usable.values() if n >= 2) == 533
    first = seqs["MOT17-05.1"]
    assert len(first) == 6 and first.frame(0).shape == (480, 640, 3)  # seqLength 837, 6 images kept
    assert first.gt_xywh[0].tolist() == [16, 149, 77, 191]  # gt.txt: 1,1,17,150,77,191,1,1,1.0
    assert len(seqs["MOT17-04.1"]) == 8 and seqs["MOT17-04.1"].frame(7).shape == (1080, 1920, 3)
    loose = load_mot17(mot17_mini, min_visibility=0.3)
    assert sum(int(np.isfinite(s.gt_xywh[:, 0]).sum()) >= 2 for s in loose) == 117  # the data README's count
