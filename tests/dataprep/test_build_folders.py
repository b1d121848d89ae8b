"""End-to-end builds of the sequence-folder datasets: boxes in the crops are the shared readers' boxes,
name selection, absent frames never used, skips recorded, determinism across workers, resume."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import frame_to_crop_xyxy
from siamcore.datasets import load_davis
from siamcore.shards import open_build

from dataprep.build import BuildError, run_build
from dataprep.cli import app
from dataprep.config import OutputConfig, load_config, with_overrides
from siamcore.manifest import read_table

from testkit.shards import read_records


def _cfg(dataset, root, out, videos_per_shard=16, **flags):
    cfg = load_config(None, dataset).replace(output=OutputConfig(videos_per_shard=videos_per_shard))
    return with_overrides(cfg, root=root, out=out, **{"scheduler": "synchronous", **flags})


def test_davis_cli_build_search_box_is_the_mask_extent_in_the_crop(shared_data, tmp_path):
    root, out = shared_data / "davis2016", tmp_path / "davis"
    result = CliRunner().invoke(app, ["build", "--dataset", "davis", "--root", str(root), "--out", str(out),
                                      "--scheduler", "synchronous", "-k", "2", "--sequences", "blackswan,DOG",
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    boxes = {s.name: s.gt_xywh for s in load_davis(root, ["blackswan", "dog"])}
    records = read_records(out)
    assert len(records) == 4 and {r["sequence"] for r in records} == {"blackswan", "dog"}
    for r in records:
        for view, seq, frame in (("search", r["sequence"], r["search_frame"]),
                                 ("exemplar", r["exemplar_sequence"], r["exemplar_frame"])):
            crop = r["crops"][view]
            expected = frame_to_crop_xyxy(xywh_to_xyxy(boxes[seq][frame]), crop["window_xyxy"], crop["size"])
            assert crop["box_xyxy"] == pytest.approx(list(expected))
            assert crop["frame_wh"] == [854, 480]
    assert open_build(out).build["config"]["sequences"] == ["blackswan", "dog"]  # canonical in the hash


def test_unknown_sequence_is_an_error_before_any_work(shared_data, tmp_path):
    out = tmp_path / "vot"
    result = CliRunner().invoke(app, ["build", "--dataset", "vot", "--root", str(shared_data / "vot2017"),
                                      "--out", str(out), "--sequences", "ball1,bal2", "--no-progress"])
    output = " ".join(result.output.split())  # rich wraps long lines
    assert result.exit_code == 2
    assert "not found under" in output and "bal2; found: ball1, book, traffic" in output
    assert not out.exists()


def test_tlp_build_never_uses_absent_frames_and_excludes(tlp_dataset, tmp_path):
    out = tmp_path / "tlp"
    result = run_build(_cfg("tlp", tlp_dataset.root, out, pairs_per_sequence=40, exclude_sequences="beta"),
                       show_progress=False)
    records = read_records(out)
    assert len(records) == 40 and {r["sequence"] for r in records} == {"Alpha"}
    truth = tlp_dataset.truth
    for r in records:
        assert np.isfinite(truth[r["sequence"]][r["search_frame"]]).all()
        assert np.isfinite(truth[r["exemplar_sequence"]][r["exemplar_frame"]]).all()
    used = {r["search_frame"] for r in records} | {r["exemplar_frame"] for r in records if not r["negative"]}
    assert used and not used & {2, 3, 4}  # Alpha's absent frames
    assert result.skipped_by_reason == {"empty_sequence": 1, "too_few_frames": 1}
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    assert {(s["where"], s["reason"]) for s in skipped} == {("tlp/all/Gamma", "too_few_frames"),
                                                            ("tlp/all/Delta", "empty_sequence")}


def test_same_bytes_with_one_and_two_workers_and_resume(tlp_dataset, tmp_path, build_output):
    outs = {}
    for workers in (1, 2):
        outs[workers] = tmp_path / f"w{workers}"
        run_build(_cfg("tlp", tlp_dataset.root, outs[workers], 1, scheduler="local", workers=workers,
                       exclude_sequences="delta"), show_progress=False)
    files1, build1, _ = build_output(outs[1])
    files2, build2, run2 = build_output(outs[2])
    assert len(build1["shards"]) == 3 and files1 == files2 and build1 == build2 and run2["workers"] == 2
    again = run_build(_cfg("tlp", tlp_dataset.root, outs[2], 1, exclude_sequences="DELTA"), show_progress=False)
    assert again.build["run"]["mode"] == "resume" and again.build["run"]["shards_reused"] == 3
    with pytest.raises(BuildError, match="different config"):
        run_build(_cfg("tlp", tlp_dataset.root, outs[2], 1), show_progress=False)


def test_vot_polygon_mode_area_gives_the_polygon_area_box(shared_data, tmp_path):
    """`vot.polygon_mode = "area"`: the training box keeps the rotated polygon's area (the reader's
    area-mode box), tighter than the bounding rectangle, so the crop windows (which scale with the
    box) are smaller in the frame; it enters the config hash."""
    from dataclasses import replace

    from siamcore.datasets import load_vot

    root = shared_data / "vot" / "bag"
    sizes = {}
    for mode in ("bounding", "area"):
        cfg = _cfg("vot", root, tmp_path / mode, pairs_per_sequence=3)
        cfg = cfg.replace(vot=replace(cfg.vot, polygon_mode=mode))
        run_build(cfg, show_progress=False)
        expected = load_vot(root, polygon_mode=mode)[0].gt_xywh
        sizes[mode] = []
        for r in read_records(tmp_path / mode):
            crop = r["crops"]["search"]
            want = frame_to_crop_xyxy(xywh_to_xyxy(expected[r["search_frame"]]), crop["window_xyxy"], crop["size"])
            assert crop["box_xyxy"] == pytest.approx(list(want))
            x0, y0, x1, y1 = crop["window_xyxy"]
            sizes[mode].append((x1 - x0) * (y1 - y0))
        recorded = open_build(tmp_path / mode).build["config"]
        # at its default the vot section stays out of the hash (older builds keep theirs)
        assert recorded["vot"]["polygon_mode"] == mode if mode == "area" else "vot" not in recorded
    assert np.mean(sizes["area"]) < 0.99 * np.mean(sizes["bounding"])
