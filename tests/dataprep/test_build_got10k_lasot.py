"""End-to-end `dataprep build --dataset got10k|lasot` on real-frame layouts (:mod:`testkit.got10k`,
:mod:`testkit.lasot`): crop boxes are the readers' boxes, absent / fully occluded frames
are never exemplar or search, sequences with < 2 usable frames are skipped with their reason, the
split selects the official lists, and builds are deterministic."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import frame_to_crop_xyxy
from siamcore.shards import open_build

from dataprep.build import run_build
from dataprep.cli import app
from dataprep.config import OutputConfig, load_config, with_overrides
from siamcore.manifest import read_table

from testkit.shards import read_records


def _skipped(out):
    return {(s["where"], s["reason"]) for s in read_table(out / "manifest" / "skipped.parquet").to_pylist()}


def _build(*args):
    result = CliRunner().invoke(app, ["build", *args, "--scheduler", "synchronous", "--no-progress"])
    return result, " ".join(result.output.split())


def _check_pairs(records, truth):
    """Every exemplar and search frame has a finite box, and each crop's box is that box in the crop."""
    for r in records:
        for view, seq, frame in (("search", r["sequence"], r["search_frame"]),
                                 ("exemplar", r["exemplar_sequence"], r["exemplar_frame"])):
            box = truth[seq][frame]
            assert np.isfinite(box).all(), (seq, frame)
            crop = r["crops"][view]
            expected = frame_to_crop_xyxy(xywh_to_xyxy(box), crop["window_xyxy"], crop["size"])
            assert crop["box_xyxy"] == pytest.approx(list(expected))


def _used(records, name):
    return ({r["search_frame"] for r in records if r["sequence"] == name}
            | {r["exemplar_frame"] for r in records if r["exemplar_sequence"] == name})


def test_got10k_train_build_skips_unusable_and_never_uses_absent_frames(got10k_layout, tmp_path):
    root, truth = got10k_layout
    out = tmp_path / "got10k"
    result, output = _build("--dataset", "got10k", "--root", str(root), "--out", str(out), "-k", "40")
    assert result.exit_code == 0, output
    records = read_records(out)
    assert {r["sequence"] for r in records} == {"GOT-10k_Train_000001", "GOT-10k_Train_000002"}  # default: train
    assert len(records) == 80
    _check_pairs(records, truth)
    assert _used(records, "GOT-10k_Train_000001") and not _used(records, "GOT-10k_Train_000001") & {4, 5, 9}
    assert not _used(records, "GOT-10k_Train_000002") & {0, 11}
    assert {r["class_name"] for r in records if r["sequence"] == "GOT-10k_Train_000001"} == {"person"}
    assert _skipped(out) == {("got10k/train/GOT-10k_Train_000003", "too_few_frames")}
    assert open_build(out).build["config"]["splits"] == ["train"]


def test_got10k_test_split_single_row_is_a_recorded_skip(got10k_layout, tmp_path):
    root, _ = got10k_layout
    out = tmp_path / "test"
    result, output = _build("--dataset", "got10k", "--root", str(root), "--out", str(out), "--split", "test",
                            "--sequences", "GOT-10k_Test_000001,GOT-10k_Val_000001")
    assert result.exit_code == 2 and "not found under" in output and "GOT-10k_Val_000001" in output  # val not listed
    result = run_build(with_overrides(load_config(None, "got10k"), root=root, out=out, split="test",
                                      scheduler="synchronous"), show_progress=False)
    assert result.skipped_by_reason == {"missing_annotation": 1, "too_few_frames": 1}
    assert _skipped(out) == {("got10k/test/GOT-10k_Test_000001", "missing_annotation"),
                             ("got10k/test/GOT-10k_Test_000001", "too_few_frames")}
    assert read_records(out) == []


def test_got10k_same_bytes_with_one_and_two_workers(got10k_layout, tmp_path, build_output):
    root, _ = got10k_layout
    outs = []
    for workers in (1, 2):
        outs.append(tmp_path / f"w{workers}")
        cfg = load_config(None, "got10k").replace(output=OutputConfig(videos_per_shard=1))
        run_build(with_overrides(cfg, root=root, out=outs[-1], split="val", pairs_per_sequence=5, workers=workers,
                                 scheduler="local" if workers == 2 else "synchronous"), show_progress=False)
    files1, build1, _ = build_output(outs[0])
    files2, build2, _ = build_output(outs[1])
    assert files1 == files2 and build1 == build2
    assert {r["sequence"] for r in read_records(outs[0])} == {"GOT-10k_Val_000001"}


def test_lasot_train_and_test_builds_follow_the_official_lists(lasot_layout, tmp_path):
    root, truth = lasot_layout
    out = tmp_path / "train"
    result, output = _build("--dataset", "lasot", "--root", str(root), "--out", str(out), "-k", "40")
    assert result.exit_code == 0, output
    records = read_records(out)
    assert {r["sequence"] for r in records} == {"person-1"} and len(records) == 40  # the root's own list
    _check_pairs(records, truth)
    assert _used(records, "person-1") and not _used(records, "person-1") & {2, 3, 6}
    assert {r["class_name"] for r in records} == {"person"}
    assert _skipped(out) == {("lasot/train/dog-1", "empty_sequence")}

    out = tmp_path / "test"
    result, output = _build("--dataset", "lasot", "--root", str(root), "--out", str(out), "--split", "test", "-k", "6")
    assert result.exit_code == 0, output
    records = read_records(out)
    assert {r["sequence"] for r in records} == {"person-2"} and len(records) == 6
    _check_pairs(records, truth)
    assert _skipped(out) == {("lasot/test/swan-1", "too_few_frames")}


def test_lasot_without_its_own_lists_builds_the_official_train_split(lasot_layout, tmp_path):
    """A LaSOT root with neither list, or with testing_set.txt only, builds the train split from the
    official list shipped with siamcore: of the fixture's sequences only person-2 is officially a training
    sequence (person-1 and dog-1 are testing ones, swan is no LaSOT class). The root's own lists win
    (the test above: its training_set.txt names person-1)."""
    root, _ = lasot_layout
    bare = tmp_path / "bare"
    shutil.copytree(root, bare, ignore=shutil.ignore_patterns("*_set.txt"))
    with_test = tmp_path / "with_test"
    shutil.copytree(root, with_test, ignore=shutil.ignore_patterns("*_set.txt"))
    (with_test / "testing_set.txt").write_text("dog-1\nperson-1\n")
    for src in (bare, with_test):
        out = tmp_path / f"out-{src.name}"
        result, output = _build("--dataset", "lasot", "--root", str(src), "--out", str(out), "-k", "6")
        assert result.exit_code == 0, output
        records = read_records(out)
        assert {r["sequence"] for r in records} == {"person-2"} and len(records) == 6
        assert open_build(out).build["config"]["splits"] == ["train"] and not _skipped(out)


def test_lasot_bad_split_and_no_official_sequence_are_clear_errors(lasot_layout, tmp_path):
    root, _ = lasot_layout
    swans = tmp_path / "LaSOT"
    shutil.copytree(root / "swan", swans / "swan")
    out = tmp_path / "out"
    result, output = _build("--dataset", "lasot", "--root", str(swans), "--out", str(out))
    assert result.exit_code == 2 and "none of the 1120 sequences of the official LaSOT 'train' list" in output
    assert not out.exists()
    result, output = _build("--dataset", "lasot", "--root", str(root), "--out", str(out), "--split", "val")
    assert result.exit_code == 2 and "lasot 'splits' (--split) must be train and/or test" in output


@pytest.mark.parametrize("dataset", ["got10k", "lasot"])
def test_pipeline_file_equals_the_built_in_defaults(dataset):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "pipelines" / "dataprep" / f"{dataset}.toml"
    assert load_config(path) == load_config(None, dataset)
    assert load_config(path).splits == ["train"]
