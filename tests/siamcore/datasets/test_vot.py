"""VOT reader: the vot-toolkit layout (real vot2017 and a tmp one) and the single-folder layout (real bag)."""

from __future__ import annotations

import numpy as np
import pytest

from siamcore.datasets import list_vot, load_vot, load_vot_sequence, read_vot_groundtruth


def _polygon_extent(line: str):
    v = [float(x) for x in line.split(",")]
    xs, ys = v[0::2], v[1::2]
    return (min(xs), min(ys), max(xs), max(ys))


def test_real_vot2017_toolkit_layout(shared_data):
    root = shared_data / "vot2017"
    seqs = {s.name: s for s in load_vot(root)}
    assert {n: len(s) for n, s in seqs.items()} == {"ball1": 105, "book": 175, "traffic": 191}
    for name, seq in seqs.items():
        assert seq.frames[0].parent.name == "color" and seq.frames[0].name == "00000001.jpg"
        assert seq.gt_xywh.shape == (len(seq), 4) and np.isfinite(seq.gt_xywh).all()
        first_line = (root / name / "groundtruth.txt").read_text().splitlines()[0]
        x, y, w, h = seq.gt_xywh[0]
        assert (x, y, x + w, y + h) == pytest.approx(_polygon_extent(first_line))
        assert not seq.absent.any()
    book = seqs["book"]  # its camera_motion.tag starts with 1s, occlusion.tag is all 0
    assert book.frame_tags["camera_motion"][0] and not book.frame_tags["occlusion"].any()
    assert "camera_motion" in book.attributes and "occlusion" not in book.attributes
    assert [s.name for s in load_vot(root, ["TRAFFIC", "ball1"])] == ["traffic", "ball1"]
    with pytest.raises(ValueError, match="not found.*nope.*found: ball1, book, traffic"):
        load_vot(root, ["nope"])


def test_real_vot_single_sequence_folder(shared_data):
    refs = list_vot(shared_data / "vot" / "bag")
    assert [r.name for r in refs] == ["bag"]
    (seq,) = load_vot(shared_data / "vot" / "bag")
    assert len(seq) == 196 and seq.frames[0].name == "00000001.jpg" and seq.frames[0].parent.name == "bag"
    assert np.isfinite(seq.gt_xywh).all() and seq.frame_tags == {}


def test_tmp_toolkit_layout_tags_meta_and_short_groundtruth(tmp_path, writers):
    root = tmp_path / "vot"
    (root).mkdir()
    (root / "list.txt").write_text("zeta\nalpha\n")
    # alpha: frames where its `sequence` file says (not color/), 4 frames, 4 rows (one NaN = absent)
    writers.frames(root / "alpha" / "frames", 4)
    (root / "alpha" / "sequence").write_text("channels.color=frames/%08d.jpg\nfps=30\n")
    (root / "alpha" / "groundtruth.txt").write_text("1,2,11,2,11,7,1,7\nnan,nan,nan,nan\n3,4,5,6\n4,4,5,6\n\n")
    (root / "alpha" / "occlusion.tag").write_text("0\n1\n1\n")
    writers.frames(root / "zeta" / "color", 2)
    (root / "zeta" / "groundtruth.txt").write_text("1,1,4,4\nnot,a,box,here\n")
    refs = list_vot(root)
    assert [r.name for r in refs] == ["alpha", "zeta"]  # sorted
    alpha, zeta = load_vot(root)
    assert len(alpha) == 4 and alpha.frames[0].parent.name == "frames"
    assert alpha.gt_xywh[0].tolist() == [1, 2, 10, 5] and alpha.gt_xywh[2].tolist() == [3, 4, 5, 6]
    assert np.isnan(alpha.gt_xywh[1]).all() and alpha.gt_xywh[3].tolist() == [4, 4, 5, 6]
    assert alpha.absent.tolist() == [False, True, False, False]
    assert alpha.frame_tags["occlusion"].tolist() == [False, True, True, False]
    assert alpha.attributes == ["occlusion"]
    assert np.isnan(zeta.gt_xywh[1]).all() and not zeta.absent[1]  # malformed: NaN, not absent
    # a short file is damaged, never a shorter sequence: 3 lines for 4 frames is named, not padded
    (root / "alpha" / "groundtruth.txt").write_text("1,2,11,2,11,7,1,7\nnan,nan,nan,nan\n3,4,5,6\n")
    with pytest.raises(ValueError, match="3 ground-truth lines for 4 frames"):
        load_vot(root, ["alpha"])
    (root / "alpha" / "groundtruth.txt").write_text("")
    with pytest.raises(ValueError, match="0 ground-truth lines for 4 frames"):
        load_vot(root, ["alpha"])


def test_vot_groundtruth_special_codes_are_nan_rows(tmp_path):
    path = tmp_path / "groundtruth.txt"
    path.write_text("1,2,11,2,11,7,1,7\n0\nm1,2,3\n3,4,5,6\n\n\n")
    gt = read_vot_groundtruth(path)
    assert gt.shape == (4, 4) and gt[3].tolist() == [3, 4, 5, 6]
    assert np.isnan(gt[1:3]).all()


def test_unusable_vot_roots_are_clear_errors(tmp_path, writers):
    with pytest.raises(ValueError, match="not a folder"):
        list_vot(tmp_path / "missing")
    with pytest.raises(ValueError, match="no VOT sequences"):
        list_vot(tmp_path)
    (tmp_path / "list.txt").write_text("gone\n")
    with pytest.raises(ValueError, match="do not exist: gone"):
        list_vot(tmp_path)
    writers.frames(tmp_path / "nogt", 2)
    with pytest.raises(ValueError, match="no groundtruth.txt"):
        load_vot_sequence(tmp_path / "nogt")
