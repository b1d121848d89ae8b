"""LaSOT reader on a real-frame LaSOT layout (``testkit.lasot.write_lasot``): 1-based boxes as
OTB's, one-line flag files -> NaN and absent, class from the folder, the official split lists (the root's,
else the ones shipped with siamcore)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from siamcore.datasets import LOADERS, list_lasot, load_lasot, load_lasot_sequence, load_otb
from siamcore.datasets.lasot import official_split_names


def test_boxes_flags_and_class(lasot_layout, shared_data):
    root, truth = lasot_layout
    (seq,) = load_lasot(root, ["person-1"])
    assert len(seq) == 20 and seq.frames[0].parts[-2:] == ("img", "00000001.jpg")
    (couple,) = load_otb(shared_data / "otb" / "Couple")
    visible = ~seq.absent
    np.testing.assert_array_equal(seq.gt_xywh[visible], couple.gt_xywh[:20][visible])  # 1-based, as OTB
    np.testing.assert_array_equal(seq.gt_xywh, truth["person-1"])
    assert np.flatnonzero(seq.absent).tolist() == [2, 3, 6] and np.isnan(seq.gt_xywh[[2, 3, 6]]).all()
    assert np.flatnonzero(seq.frame_tags["full_occlusion"]).tolist() == [2, 3]
    assert np.flatnonzero(seq.frame_tags["out_of_view"]).tolist() == [6]
    assert seq.class_name == "person" and seq.attributes == ["full_occlusion", "out_of_view"]
    (swan,) = load_lasot(root, ["swan-1"])
    assert swan.class_name == "swan" and np.isfinite(swan.gt_xywh).all(axis=1).tolist() == [True] + [False] * 11


def test_official_split_lists(lasot_layout):
    """The root's own lists (here not the official ones) win over the shipped lists."""
    root, _ = lasot_layout
    assert [r.name for r in list_lasot(root, "test")] == ["person-2", "swan-1"]
    assert [r.name for r in list_lasot(root, "train")] == ["dog-1", "person-1"]
    assert [r.name for r in list_lasot(root)] == ["dog-1", "person-1", "person-2", "swan-1"]
    assert [s.name for s in LOADERS["lasot"](root, ["SWAN_1", "person-2"])] == ["swan-1", "person-2"]


def test_shipped_official_lists_are_protocol_ii():
    """The lists shipped as package data: 1120 training and 280 testing names, disjoint, 70 classes of
    20 sequences (``<class>-1`` .. ``<class>-20``), 16 for training and 4 for testing in each."""
    train, test = official_split_names("train"), official_split_names("test")
    assert len(train) == len(set(train)) == 1120 and len(test) == len(set(test)) == 280
    assert not set(train) & set(test)
    by_class = Counter(n.rsplit("-", 1)[0] for n in train + test)
    assert len(by_class) == 70 and set(by_class.values()) == {20}
    assert set(Counter(n.rsplit("-", 1)[0] for n in train).values()) == {16}
    assert set(Counter(n.rsplit("-", 1)[0] for n in test).values()) == {4}
    assert {n.rsplit("-", 1)[1] for n in train + test} == {str(i) for i in range(1, 21)}
    assert {"airplane-1", "person-1", "dog-1"} <= set(test) and {"airplane-2", "person-2"} <= set(train)


def test_without_a_list_in_root_the_shipped_official_list_selects(lasot_layout, tmp_path):
    """A root without its list files (LaSOT is downloaded class by class) uses the shipped official
    list, keeping the listed sequences that are there; the root's own list still wins when present and
    must name only sequences that are there."""
    root, _ = lasot_layout
    copy = tmp_path / "LaSOT"
    for cls in ("person", "swan"):  # officially person-1 is testing, person-2 training; no class "swan"
        shutil.copytree(root / cls, copy / cls)
    assert [r.name for r in list_lasot(copy, "train")] == ["person-2"]
    assert [r.name for r in list_lasot(copy, "test")] == ["person-1"]
    (copy / "testing_set.txt").write_text("person-2\nzebra-3\n")
    with pytest.raises(ValueError, match="testing_set.txt names sequences not found .*zebra-3"):
        list_lasot(copy, "test")
    (copy / "testing_set.txt").write_text("person-2\n")
    assert [r.name for r in list_lasot(copy, "test")] == ["person-2"]
    assert [r.name for r in list_lasot(copy, "train")] == ["person-2"]  # training_set.txt still absent
    with pytest.raises(ValueError, match="must be one of train, test"):
        list_lasot(copy, "val")
    swans = tmp_path / "swans"
    shutil.copytree(root / "swan", swans / "swan")
    with pytest.raises(ValueError, match=r"no training_set.txt, and none of the 1120 sequences of the official"):
        list_lasot(swans, "train")
    with pytest.raises(ValueError, match="no LaSOT sequences"):
        list_lasot(tmp_path / "LaSOT" / "person" / "person-1" / "img")


def test_the_package_build_ships_the_lists(tmp_path):
    """The lists are package data of the siamtrack-core wheel (not only found in this source tree)."""
    src = Path(__file__).resolve().parents[3] / "packages" / "siamcore"
    shutil.copytree(src, tmp_path / "siamcore", ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(tmp_path / "siamcore")], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"siamcore/datasets/lasot_training_set.txt", "siamcore/datasets/lasot_testing_set.txt"} <= set(names)


def test_short_flag_lines_and_malformed_rows(lasot_layout, tmp_path):
    root, _ = lasot_layout
    folder = tmp_path / "person" / "person-2"
    shutil.copytree(root / "person" / "person-2", folder)
    lines = (folder / "groundtruth.txt").read_text().splitlines()
    lines[1] = "NaN,NaN"
    (folder / "groundtruth.txt").write_text("\n".join(lines[:10]) + "\n")  # 10 rows for 12 frames
    (folder / "full_occlusion.txt").write_text("0,0,1\n0,1,1\n")  # only the first line counts; short
    seq = load_lasot_sequence(folder)
    assert np.flatnonzero(np.isnan(seq.gt_xywh).any(axis=1)).tolist() == [1, 2, 10, 11]
    assert np.flatnonzero(seq.absent).tolist() == [2]
