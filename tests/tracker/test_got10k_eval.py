"""``tracker eval --benchmark got10k``: the real SiamFC weights on a GOT-10k layout built from real
frames (``testkit.got10k.write_got10k``): the toolkit's result layout, val scores, test-server zip."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.datasets.got10k import load_got10k
from tracker.cli import app
from tracker.evaluation.got10k_metrics import got10k_iou


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_eval_got10k_val_writes_the_toolkit_layout_and_scores_it(shared_data, got10k_layout, tmp_path):
    root, _ = got10k_layout
    weights = shared_data / "weights" / "siamfc_alexnet.safetensors"
    result = invoke("eval", "--benchmark", "got10k", "--root", root, "--weights", weights, "--out", tmp_path,
                    "--device", "cpu", "--name", "SiamFC")
    assert result.exit_code == 0, result.output
    seq = "GOT-10k_Val_000001"
    folder = tmp_path / "SiamFC" / seq
    assert sorted(p.name for p in folder.iterdir()) == [f"{seq}_001.txt", f"{seq}_time.txt"]
    boxes = np.loadtxt(folder / f"{seq}_001.txt", delimiter=",")
    times = np.loadtxt(folder / f"{seq}_time.txt", delimiter=",")
    assert boxes.shape == (10, 4) and times.shape == (10,) and (times > 0).all()
    (truth,) = load_got10k(root, [seq])
    np.testing.assert_allclose(boxes[0], truth.gt_xywh[0], atol=1e-3)  # frame 0 is the given box
    scores = json.loads((tmp_path / "SiamFC" / "got10k_scores.json").read_text())["SiamFC"]["overall"]
    height, width = truth.frame(0).shape[:2]
    ious = got10k_iou(boxes[1:], truth.gt_xywh[1:], (width, height))  # all 9 later frames visible (cover 8)
    assert scores["frames"] == 9
    assert scores["ao"] == pytest.approx(ious.mean(), abs=1e-6)
    assert scores["sr50"] == pytest.approx(np.mean(ious > 0.5))
    assert scores["sr75"] == pytest.approx(np.mean(ious > 0.75))
    assert scores["ao"] > 0.5  # real weights on 10 easy Couple frames


def test_eval_got10k_test_writes_the_server_zip(shared_data, got10k_layout, tmp_path):
    root, _ = got10k_layout
    weights = shared_data / "weights" / "siamfc_alexnet.safetensors"
    result = invoke("eval", "--benchmark", "got10k-test", "--root", root, "--weights", weights, "--out", tmp_path,
                    "--device", "cpu", "--name", "SiamFC")
    assert result.exit_code == 0, result.output
    seq = "GOT-10k_Test_000001"
    with zipfile.ZipFile(tmp_path / "SiamFC.zip") as zf:
        assert sorted(zf.namelist()) == [f"{seq}/{seq}_001.txt", f"{seq}/{seq}_time.txt"]
        assert len(zf.read(f"{seq}/{seq}_001.txt").decode().splitlines()) == 10
    assert not (tmp_path / "SiamFC" / "got10k_scores.json").exists()  # the test split's gt is withheld


@pytest.mark.parametrize("label, text", [("absence", "0\ninf\n" + "0\n" * 8), ("cover", "8\n" * 3 + "1e30\n" + "8\n" * 6),
                                         ("cover", "8\n")])
def test_damaged_labels_are_one_line_errors_and_dataprep_skips_them_alike(shared_data, got10k_layout, tmp_path,
                                                                          label, text):
    import shutil

    from dataprep.cli import app as dataprep_app

    root = tmp_path / "got"
    shutil.copytree(got10k_layout[0], root)
    seq = "GOT-10k_Val_000001"
    (root / "val" / seq / f"{label}.label").write_text(text)
    result = invoke("eval", "--benchmark", "got10k", "--root", root, "--sequences", seq,
                    "--weights", shared_data / "weights" / "siamfc_alexnet.safetensors", "--out", tmp_path / "e",
                    "--device", "cpu")
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert f"{label}.label" in message and ("is not an integer" in message or "lines for 10 frames" in message)
    out = tmp_path / "shards"
    res = CliRunner().invoke(dataprep_app, ["build", "--dataset", "got10k", "--root", str(root), "--split", "val",
                                            "--out", str(out), "--scheduler", "synchronous", "--no-progress", "-k", "1"])
    import pyarrow.parquet as pq

    skipped = [r for r in pq.read_table(out / "manifest" / "skipped.parquet").to_pylist() if seq in r["where"]]
    assert [r["reason"] for r in skipped] == ["unreadable_sequence"], res.output
    assert f"{label}.label" in skipped[0]["detail"]
