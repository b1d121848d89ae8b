"""MOT17 as training pairs (through siamcore's reader): one unit per pedestrian track, video problems
recorded once at listing, ``mot17.min_visibility`` from the config, ``dataprep build --dataset mot17``
on generated and on the real mot17-mini frames."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import frame_to_crop_xyxy
from siamcore.datasets import load_mot17
from siamcore.shards import open_build

from dataprep import config as C
from dataprep.cli import app
from siamcore.manifest import read_table
from dataprep.sources import Skip, SourceError, get_source, mot17

from testkit.shards import read_records

REPO = Path(__file__).resolve().parents[2]


def test_listing_records_each_video_problem_once_for_what_is_selected(mot17_layout):
    root, _ = mot17_layout
    assert get_source("mot17") is mot17.SPEC and "mot17" in C.FOLDER_DATASETS
    videos, skips = mot17.list_videos(root)
    assert [v.name for v in videos] == ["MOT17-02.1", "MOT17-02.2", "MOT17-02.4", "MOT17-02.5", "MOT17-05.1",
                                        "MOT17-05.2"]
    assert [(k.where, k.reason) for k in skips] == [("mot17/all/MOT17-02", "malformed_annotation"),
                                                    ("mot17/all/MOT17-09", "missing_annotation")]
    videos, skips = mot17.list_videos(root, sequences=["MOT17-05"])
    assert [v.name for v in videos] == ["MOT17-05.1", "MOT17-05.2"] and skips == []
    videos, skips = mot17.list_videos(root, exclude_sequences=["MOT17-02"])
    assert [v.name for v in videos] == ["MOT17-05.1", "MOT17-05.2"]
    assert [k.where for k in skips] == ["mot17/all/MOT17-09"]  # a video without tracks is still reported
    with pytest.raises(SourceError, match="MOT17 has no splits"):
        mot17.list_videos(root, splits=["train"])
    with pytest.raises(SourceError, match="MOT17-03"):
        mot17.list_videos(root, sequences=["MOT17-03"])


def test_load_video_boxes_threshold_and_unreadable_seqinfo(mot17_layout, tmp_path):
    root, truth = mot17_layout
    videos = {v.name: v for v in mot17.list_videos(root)[0]}
    (seq,), skips = mot17.load_video(videos["MOT17-02.1"])
    assert skips == [] and seq.class_name == "pedestrian" and seq.frames[3].path.endswith("000004.jpg")
    np.testing.assert_array_equal(seq.boxes_xywh, truth["MOT17-02.1"][0])
    (seq,), _ = mot17.load_video(videos["MOT17-02.1"], min_visibility=0.0)
    assert seq.boxes_xywh[5].tolist() == [15, 9, 20, 30]
    assert [k.reason for k in mot17.load_video(videos["MOT17-02.4"])[1]] == ["too_few_frames"]
    assert [k.reason for k in mot17.load_video(videos["MOT17-02.5"])[1]] == ["empty_sequence"]
    copy = tmp_path / "MOT17"
    shutil.copytree(root, copy)
    (copy / "train" / "MOT17-05-DPM" / "seqinfo.ini").write_text("[Sequence]\nimWidth=-1\n")
    (video,) = [v for v in mot17.list_videos(copy)[0] if v.name == "MOT17-05.1"]
    assert mot17.load_video(video) == ([], [Skip(
        "mot17/all/MOT17-05.1", "unreadable_sequence",
        f"{copy}/train/MOT17-05-DPM/seqinfo.ini: imWidth must be a positive integer, got '-1'")])


def test_config_section_pipeline_file_and_hash():
    from_file = C.load_config(REPO / "pipelines" / "dataprep" / "mot17.toml")
    assert from_file == C.load_config(None, "mot17") and from_file.mot17.min_visibility == 0.5
    assert "mot17" not in from_file.hashed()  # at its default: builds made before the section keep their hash
    loose = C.config_from_dict({"dataset": "mot17", "mot17": {"min_visibility": 0}})
    assert loose.hashed()["mot17"] == {"min_visibility": 0.0} and loose.sha256() != from_file.sha256()
    assert mot17.SPEC.load_options(loose) == {"min_visibility": 0.0}
    with pytest.raises(C.ConfigError, match=r"'mot17.min_visibility' must be in \[0, 1\]"):
        C.config_from_dict({"dataset": "mot17", "mot17": {"min_visibility": 1.5}})


def _cli_build(root, out, *extra):
    result = CliRunner().invoke(app, ["build", "--dataset", "mot17", "--root", str(root), "--out", str(out),
                                      "--scheduler", "synchronous", "--no-progress", *extra])
    assert result.exit_code == 0, result.output
    return result


def _check_crops(records, boxes, frame_wh):
    for r in records:
        for view, seq, frame in (("search", r["sequence"], r["search_frame"]),
                                 ("exemplar", r["exemplar_sequence"], r["exemplar_frame"])):
            box = boxes[seq][frame]
            assert np.isfinite(box).all()  # never a frame without a usable box
            crop = r["crops"][view]
            expected = frame_to_crop_xyxy(xywh_to_xyxy(box), crop["window_xyxy"], crop["size"])
            assert crop["box_xyxy"] == pytest.approx(list(expected))
            assert crop["frame_wh"] == frame_wh(seq)


def test_cli_build_generated_never_uses_unusable_rows_and_takes_the_threshold(mot17_layout, tmp_path):
    root, truth = mot17_layout
    out = tmp_path / "mot17"
    _cli_build(root, out, "-k", "10")
    records = read_records(out)
    assert len(records) == 40 and {r["sequence"] for r in records} == {
        "MOT17-02.1", "MOT17-02.2", "MOT17-05.1", "MOT17-05.2"}
    _check_crops(records, {name: b for name, (b, _) in truth.items()}, lambda seq: [64, 48])
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    assert sorted((s["where"], s["reason"]) for s in skipped) == [
        ("mot17/all/MOT17-02", "malformed_annotation"), ("mot17/all/MOT17-02.4", "too_few_frames"),
        ("mot17/all/MOT17-02.5", "empty_sequence"), ("mot17/all/MOT17-09", "missing_annotation")]
    config = tmp_path / "loose.toml"
    config.write_text('dataset = "mot17"\n[mot17]\nmin_visibility = 0.0\n')
    loose = tmp_path / "loose"
    _cli_build(root, loose, "-k", "10", "--config", str(config), "--sequences", "MOT17-02.5")
    assert open_build(loose).build["config"]["mot17"] == {"min_visibility": 0.0}
    assert {(r["search_frame"], r["exemplar_frame"]) for r in read_records(loose) if not r["negative"]} <= {
        (0, 1), (1, 0), (0, 0), (1, 1)}  # id 5's visibility 0.1 and 0.3 rows, usable at 0


def test_cli_build_real_mot17_mini(mot17_mini, tmp_path):
    out = tmp_path / "mini"
    _cli_build(mot17_mini, out, "-k", "1", "--exclude-sequences", "MOT17-04")
    expected = {s.name: s.gt_xywh for s in load_mot17(mot17_mini) if not s.name.startswith("MOT17-04.")}
    built = {n for n, b in expected.items() if np.isfinite(b[:, 0]).sum() >= 2}
    records = read_records(out)
    assert {r["sequence"] for r in records} == built and len(records) == len(built) == 95 - 25
    _check_crops(records, expected, lambda seq: [640, 480] if seq.startswith("MOT17-05.") else [1920, 1080])
    build = open_build(out).build
    assert build["config"]["exclude_sequences"] == ["mot17.04"]  # canonical: normalise_name("MOT17-04")
    usable = [int(np.isfinite(b[:, 0]).sum()) for b in expected.values()]
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    assert Counter(s["reason"] for s in skipped) == Counter(empty_sequence=usable.count(0),
                                                            too_few_frames=usable.count(1))
    assert usable.count(0) == 25  # tracks whose every row is below visibility 0.5
