"""UAV123 as training pairs (through siamcore's reader): sub-sequence frames, NaN rows never used,
malformed rows recorded, ``dataprep build --dataset uav123`` on real frames, deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import frame_to_crop_xyxy
from siamcore.shards import open_build

from dataprep.cli import app
from dataprep.config import FOLDER_DATASETS, load_config
from siamcore.manifest import read_table
from dataprep.sources import SourceError, get_source, uav123

from testkit.shards import read_records

REPO = Path(__file__).resolve().parents[2]


def test_adapter_keeps_subsequence_frames_and_records_unexplained_nan_rows(uav123_layout):
    root, truth = uav123_layout
    assert get_source("uav123") is uav123.SPEC and "uav123" in FOLDER_DATASETS
    videos, skips = uav123.list_videos(root, sequences=["truck4"])
    assert [v.name for v in videos] == ["truck4_1", "truck4_2"] and skips == []
    (second,), skips = uav123.load_video(videos[1])
    assert len(second.frames) == 685 and second.frames[0].path.endswith("truck4/000577.jpg")
    np.testing.assert_array_equal(second.boxes_xywh, truth["truck4_2"][0])
    assert [(k.reason, k.detail) for k in skips] == [
        ("missing_annotation", "1 frame(s) without a box in the annotation: 684")]  # past the last row
    (first,), skips = uav123.load_video(videos[0])
    assert [(k.reason, k.detail.rsplit(": ", 1)[1]) for k in skips] == [("missing_annotation", "5")]  # malformed
    assert np.isnan(first.boxes_xywh[[2, 3, 5]]).all()  # absent frames 3-4 (not recorded) and the malformed one
    with pytest.raises(SourceError, match="UAV123 has no splits"):
        uav123.list_videos(root, splits="train")
    with pytest.raises(SourceError, match="truck9"):
        uav123.list_videos(root, exclude_sequences=["truck9"])


def test_pipeline_file_equals_the_built_in_defaults():
    from_file = load_config(REPO / "pipelines" / "dataprep" / "uav123.toml")
    assert from_file == load_config(None, "uav123") and from_file.output.videos_per_shard == 0


def _cli_build(root, out, *extra):
    result = CliRunner().invoke(app, ["build", "--dataset", "uav123", "--root", str(root), "--out", str(out),
                                      "--scheduler", "synchronous", "--no-progress", *extra])
    assert result.exit_code == 0, result.output
    return result


def test_cli_build_never_uses_absent_frames_and_is_deterministic(uav123_layout, tmp_path):
    root, truth = uav123_layout
    out = tmp_path / "uav"
    _cli_build(root, out, "-k", "60", "--exclude-sequences", "person3_s")
    records = read_records(out)
    assert len(records) == 120 and {r["sequence"] for r in records} == {"truck4_1", "truck4_2"}
    for r in records:
        for view, seq, frame in (("search", r["sequence"], r["search_frame"]),
                                 ("exemplar", r["exemplar_sequence"], r["exemplar_frame"])):
            box = truth[seq][0][frame]
            assert np.isfinite(box).all()  # never an absent, malformed or unannotated frame
            crop = r["crops"][view]
            expected = frame_to_crop_xyxy(xywh_to_xyxy(box), crop["window_xyxy"], crop["size"])
            assert crop["box_xyxy"] == pytest.approx(list(expected))
            assert crop["frame_wh"] == [360, 240]
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    assert sorted((s["where"], s["reason"]) for s in skipped) == [
        ("uav123/all/truck4_1", "missing_annotation"), ("uav123/all/truck4_2", "missing_annotation")]
    assert open_build(out).build["config"]["exclude_sequences"] == ["person3_s"]
    again = tmp_path / "again"
    _cli_build(root, again, "-k", "60", "--exclude-sequences", "person3_s", "--workers", "2")
    assert len(list(out.rglob("*.lmdb"))) == 2  # two videos, two shards: a small build keeps both workers busy
    for a, b in zip(sorted(out.rglob("*.lmdb")), sorted(again.rglob("*.lmdb")), strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert (again / "manifest" / "samples.parquet").read_bytes() == (out / "manifest" / "samples.parquet").read_bytes()


def test_show_draws_a_grid(uav123_layout, tmp_path):
    root, _ = uav123_layout
    out = tmp_path / "uav"
    _cli_build(root, out, "-k", "4")
    assert {r["sequence"] for r in read_records(out)} == {"person3_s", "truck4_1", "truck4_2"}
    png = tmp_path / "uav.png"
    result = CliRunner().invoke(app, ["show", str(out), "--out", str(png), "--n", "8"])
    assert result.exit_code == 0, result.output
    assert png.stat().st_size > 10_000
