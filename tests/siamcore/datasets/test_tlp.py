"""TLP reader: rows matched by frame number, 1-based x,y (as OTB), absent rows NaN and flagged."""

from __future__ import annotations

import numpy as np
import pytest

from siamcore.datasets import list_tlp, load_tlp, load_tlp_sequence


def test_real_tinytlp_carchase2(shared_data):
    (seq,) = load_tlp(shared_data / "tlp")
    assert seq.name == "CarChase2" and len(seq) == 600 and seq.frames[0].name == "00001.jpg"
    assert seq.gt_xywh[0].tolist() == [538, 252, 355, 255]  # row "1,539,253,355,255,0": 1-based x, y
    assert seq.gt_xywh[-1].tolist() == [589, 271, 233, 157]  # row "600,590,272,233,157,0"
    assert not seq.absent.any() and np.isfinite(seq.gt_xywh).all()
    assert [r.name for r in list_tlp(shared_data / "tlp" / "CarChase2")] == ["CarChase2"]  # a sequence as root


def test_absent_missing_and_malformed_rows(tmp_path, writers):
    folder = tmp_path / "TLP" / "Kite"
    writers.frames(folder / "img", 6, "{:05d}.jpg")
    (folder / "groundtruth_rect.txt").write_text(
        "2,11,21,5,6,0\n"  # rows out of order: matched by frame number
        "1,10,20,5,6,0\n"
        "3,0,0,0,0,1\n"  # absent
        "4,12,22,5,6,1\n"  # absent, with a stale box
        "5,x,1,2,3,0\n"  # malformed
        "9,1,1,1,1,0\n"  # no such frame
    )
    seq = load_tlp_sequence(folder)
    assert seq.gt_xywh[0].tolist() == [9, 19, 5, 6] and seq.gt_xywh[1].tolist() == [10, 20, 5, 6]
    assert np.isnan(seq.gt_xywh[2:]).all()
    assert seq.absent.tolist() == [False, False, True, True, False, False]  # 5 malformed, 6 without a row


def test_unusable_tlp_roots_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no TLP sequence folders"):
        list_tlp(tmp_path)
    (tmp_path / "Seq" / "img").mkdir(parents=True)
    (tmp_path / "Seq" / "groundtruth_rect.txt").write_text("1,1,1,1,1,0\n")
    with pytest.raises(ValueError, match="no images"):
        load_tlp(tmp_path)
