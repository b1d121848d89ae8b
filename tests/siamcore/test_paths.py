"""Paths written inside input files stay inside their root: list files, VOT sequence files, GOT-10k
lists, through the readers and through both command lines (dataprep build, tracker eval)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.datasets import list_got10k, list_vot, load_vot_sequence
from siamcore.paths import PathOutsideRootError, join_inside


def _vot_sequence(folder: Path, frames: int = 3) -> Path:
    import cv2

    (folder / "color").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(1, frames + 1):
        cv2.imwrite(str(folder / "color" / f"{i:08d}.jpg"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    (folder / "groundtruth.txt").write_text("10,10,20,20\n" * frames)
    return folder


@pytest.mark.parametrize("written", ["../outside", "a/../../outside", "/etc/passwd", "", "  "])
def test_join_inside_refuses_paths_that_leave_the_root(tmp_path, written):
    with pytest.raises(PathOutsideRootError, match="list.txt: line 3"):
        join_inside(tmp_path, written, "list.txt", "line 3")


@pytest.mark.parametrize("written", ["seq", "a/../seq", "./seq/color/%08d.jpg"])
def test_join_inside_keeps_paths_inside_the_root(tmp_path, written):
    assert join_inside(tmp_path, written, "list.txt", "line 1") == tmp_path / written


def test_vot_list_naming_a_folder_outside_the_root_is_refused(tmp_path):
    _vot_sequence(tmp_path / "outside" / "seq")
    root = tmp_path / "root"
    root.mkdir()
    (root / "list.txt").write_text("../outside/seq\n")
    with pytest.raises(PathOutsideRootError, match=r"list.txt: line 1 = '../outside/seq' leads outside"):
        list_vot(root)


def test_a_symlink_made_inside_the_dataset_keeps_working(tmp_path):
    target = _vot_sequence(tmp_path / "elsewhere" / "seq")
    root = tmp_path / "root"
    root.mkdir()
    (root / "seq").symlink_to(target, target_is_directory=True)
    (root / "list.txt").write_text("seq\n")
    assert [r.name for r in list_vot(root)] == ["seq"]
    assert len(load_vot_sequence(root / "seq")) == 3


def test_vot_sequence_file_pointing_outside_is_refused(tmp_path):
    _vot_sequence(tmp_path / "outside" / "seq")
    seq = _vot_sequence(tmp_path / "root" / "seq")
    (seq / "sequence").write_text("channels.color=../../outside/seq/color/%08d.jpg\n")
    with pytest.raises(PathOutsideRootError, match="channels.color"):
        load_vot_sequence(seq)
    (seq / "sequence").write_text("channels.color=color/%08d.jpg\n")
    assert len(load_vot_sequence(seq)) == 3


def test_got10k_list_naming_a_folder_outside_is_refused(tmp_path):
    _vot_sequence(tmp_path / "outside")
    split = tmp_path / "root" / "val"
    split.mkdir(parents=True)
    (split / "list.txt").write_text("../../outside\n")
    with pytest.raises(PathOutsideRootError, match="leads outside"):
        list_got10k(tmp_path / "root", "val")


def _escaping_vot_root(tmp_path: Path) -> Path:
    _vot_sequence(tmp_path / "outside" / "seq")
    root = tmp_path / "root"
    root.mkdir()
    (root / "list.txt").write_text("../outside/seq\n")
    return root


def test_dataprep_build_refuses_a_vot_list_that_leaves_the_root(tmp_path):
    from dataprep.cli import app

    res = CliRunner().invoke(app, ["build", "--dataset", "vot", "--root", str(_escaping_vot_root(tmp_path)),
                                   "--out", str(tmp_path / "out"), "--scheduler", "synchronous", "--no-progress"])
    assert res.exit_code == 2, res.output
    assert "leads outside" in " ".join(res.output.split())
    assert not (tmp_path / "out").exists()
