"""Ground truth that is empty or shorter than its frames is a named problem, never a shorter sequence
scored as if whole; `tracker eval` (refuses) and `dataprep build` (records a skip) read it through the
same reader and name the same problem."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.datasets import load_otb


def _otb(root: Path, name: str, rows: int, frames: int = 6) -> None:
    img = root / name / "img"
    img.mkdir(parents=True)
    rng = np.random.default_rng(frames)
    for i in range(1, frames + 1):
        cv2.imwrite(str(img / f"{i:04d}.jpg"), rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    (root / name / "groundtruth_rect.txt").write_text("30,30,40,40\n" * rows)


@pytest.mark.parametrize("rows, message", [(0, "no ground-truth rows"), (2, "2 rows do not match 6 frames")])
def test_otb_empty_or_short_groundtruth_is_named(tmp_path, rows, message):
    _otb(tmp_path, "Seq", rows)
    with pytest.raises(ValueError, match=message):
        load_otb(tmp_path)


def test_otb2015_folders_known_to_have_more_images_than_rows_keep_their_first_frames(tmp_path):
    _otb(tmp_path, "Diving", 4)
    (seq,) = load_otb(tmp_path)
    assert len(seq) == 4 and len(seq.frames) == 4


def test_tracker_eval_and_dataprep_name_the_same_problem(tmp_path, shared_data):
    from dataprep.cli import app as dataprep_app
    from tracker.cli import app as tracker_app

    root = tmp_path / "otb"
    _otb(root, "Good", 6)
    _otb(root, "Empty", 0)
    res = CliRunner().invoke(tracker_app, ["eval", "--root", str(root), "--out", str(tmp_path / "eval"), "--device", "cpu",
                                           "--weights", str(shared_data / "weights" / "siamfc_alexnet.safetensors")])
    assert res.exit_code == 2, res.output
    assert "Empty/groundtruth_rect.txt: no ground-truth rows" in "".join(res.output.split("\n"))
    out = tmp_path / "shards"
    res = CliRunner().invoke(dataprep_app, ["build", "--dataset", "otb", "--root", str(root), "--out", str(out),
                                            "--scheduler", "synchronous", "--no-progress", "-k", "2"])
    assert res.exit_code == 0, res.output
    import pyarrow.parquet as pq

    skipped = pq.read_table(out / "manifest" / "skipped.parquet").to_pylist()
    assert [(r["reason"], r["detail"]) for r in skipped] == [
        ("unreadable_sequence", "ROOT/Empty/groundtruth_rect.txt: no ground-truth rows (expected one x,y,w,h row per frame)")]


def test_an_otb2015_json_entry_without_image_files_is_named(tmp_path):
    import json

    _otb(tmp_path, "Seq", 6)
    (tmp_path / "OTB2015.json").write_text(json.dumps({"Seq": {"name": "Seq", "gt_rect": [[1, 1, 2, 2]]}}))
    with pytest.raises(ValueError, match="OTB2015.json: Seq: image_files must be a non-empty list"):
        load_otb(tmp_path)
    (tmp_path / "OTB2015.json").write_text(json.dumps({"Seq": {"name": "Seq", "image_files": ["../../../etc/passwd"]}}))
    with pytest.raises(ValueError, match=r"Seq.image_files\[0\] = '../../../etc/passwd' leads outside"):
        load_otb(tmp_path)


def test_export_into_an_existing_file_is_one_line(tmp_path, shared_data):
    from tracker.cli import app

    target = tmp_path / "model.onnx"
    target.write_text("mine")
    res = CliRunner().invoke(app, ["export", "--weights", str(shared_data / "weights" / "siamfc_alexnet.safetensors"),
                                   "--onnx", str(target)])
    assert res.exit_code == 2 and "is a file; the export is a folder" in " ".join(res.output.split()), res.output
    assert target.read_text() == "mine"
