"""End-to-end builds (in-process, synchronous scheduler): records, manifest, bad inputs, resume,
refusal of a different config, verify, and the CLI's errors."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siamcore import schema
from siamcore.boxes import xywh_to_xyxy
from siamcore.crop import crop_square, frame_mean, frame_to_crop_xyxy, resampling_method
from siamcore.shards import ShardReader, file_sha256, open_build

from dataprep.build import BuildError, run_build
from dataprep.out_folder import out_lock
from dataprep.cli import EXIT_STRICT_SKIPS, app
from dataprep.config import OutputConfig, canonical_sha256, load_config, with_overrides
from siamcore.manifest import read_table
from dataprep.records import encode_jpeg_rgb
from dataprep.sources import get_source, read_frame, read_frame_reduced
from dataprep.verify import verify_build

from testkit.bad_inputs import corrupt_jpeg_bytes, forge_jpeg_size
from testkit.trackingnet import trackingnet_name, write_trackingnet

BIN = Path(sys.executable).parent


def _cfg(dataset, root, out, videos_per_shard=2, **flags):
    cfg = load_config(None, dataset)
    cfg = cfg.replace(output=OutputConfig(videos_per_shard=videos_per_shard))
    return with_overrides(cfg, root=root, out=out, scheduler=flags.pop("scheduler", "synchronous"), **flags)


def _build(dataset, root, out, **kw):
    overwrite = kw.pop("overwrite", False)
    return run_build(_cfg(dataset, root, out, **kw), overwrite=overwrite, show_progress=False)


def _all_records(out):
    info = open_build(out)
    return {s.name: list(ShardReader(s.path)) for s in info.shards}


def _sequences(dataset, root):
    src = get_source(dataset)
    videos, _ = src.list_videos(str(root))
    seqs = {}
    for v in videos:
        for s in src.load_video(v)[0]:
            seqs[(s.video.name, s.track)] = s
    return seqs


def _assert_crops_are_the_recorded_windows(records, seqs):
    """Each stored crop is the shared crop of its recorded window of the right source frame (the very
    JPEG bytes), and its box is the source box mapped through that window."""
    for r in records:
        for name, seq_name, track, frame_idx in (
            ("search", r["sequence"], r["track"], r["search_frame"]),
            ("exemplar", r["exemplar_sequence"], r["exemplar_track"], r["exemplar_frame"]),
        ):
            crop, seq = r["crops"][name], seqs[(seq_name, track)]
            frame = read_frame(seq.frames[frame_idx])
            expected = crop_square(frame, crop["window_xyxy"], crop["size"], fill=frame_mean(frame))
            assert crop["jpeg"] == encode_jpeg_rgb(expected, 90)
            box = frame_to_crop_xyxy(xywh_to_xyxy(seq.boxes_xywh[frame_idx]), crop["window_xyxy"], crop["size"])
            assert crop["box_xyxy"] == pytest.approx(list(box))
            assert crop["frame_wh"] == [frame.shape[1], frame.shape[0]]


def test_trackingnet_records_match_the_source_frames_and_boxes(trackingnet_dataset, tmp_path):
    out = tmp_path / "out"
    result = _build("trackingnet", trackingnet_dataset.root, out)
    info = open_build(out)
    b = info.build
    assert b["counts"]["pairs"] == 6 * 8 and b["counts"]["sequences"] == 6 and b["counts"]["skipped"] == {}
    assert [s.name for s in info.shards] == ["shard-00000", "shard-00001", "shard-00002"]
    assert b["views"] == {"exemplar": {"role": "exemplar", "size": 127, "context": 0.5, "extent": 1.0},
                          "search": {"role": "search", "size": 255, "context": 1.5, "extent": 1.0}}
    assert b["resampling"] == resampling_method(True) and b["jpeg_quality"] == 90 and b["seed"] == 0
    assert b["config"]["chunks"] == "0,1" and "run" in b and result.build == b
    for s in info.shards:
        assert file_sha256(s.path) == s.sha256 and s.path.stat().st_size == s.bytes
        assert (out / "shards" / f"{s.name}.json").is_file()
    assert not list(out.rglob(".*tmp*")) and not list(out.rglob("*-lock"))

    seqs = _sequences("trackingnet", trackingnet_dataset.root)
    truth = {uid.split("/")[-1]: boxes for uid, boxes in trackingnet_dataset.truth.items()}
    records = [r for recs in _all_records(out).values() for r in recs]
    assert len({r["key"] for r in records}) == 48
    negatives = [r for r in records if r["negative"]]
    assert 0 < len(negatives) < 20
    for r in records:
        assert r["dataset"] == "trackingnet" and r["chunk"] in (0, 1) and r["distractors"] == []
        ex, se = r["crops"]["exemplar"], r["crops"]["search"]
        se_box = xywh_to_xyxy(truth[r["sequence"]][r["search_frame"]].astype(float))
        ex_box = xywh_to_xyxy(truth[r["exemplar_sequence"]][r["exemplar_frame"]].astype(float))
        assert se["box_xyxy"] == pytest.approx(list(frame_to_crop_xyxy(se_box, se["window_xyxy"], 255)))
        assert ex["box_xyxy"] == pytest.approx(list(frame_to_crop_xyxy(ex_box, ex["window_xyxy"], 127)))
        if r["negative"]:
            assert r["exemplar_sequence"] != r["sequence"]
        else:
            assert r["exemplar_sequence"] == r["sequence"] and abs(r["exemplar_frame"] - r["search_frame"]) <= 100
        assert se["guide_xyxy"] is not None and ex["guide_xyxy"] is not None

    _assert_crops_are_the_recorded_windows(records[:6], seqs)

    rows = read_table(out / "manifest" / "samples.parquet").to_pylist()
    by_key = {r["key"]: r for r in records}
    assert sorted(row["key"] for row in rows) == sorted(by_key)
    assert [(row["shard"], row["key"]) for row in rows] == sorted((row["shard"], row["key"]) for row in rows)
    shard_of = {r["key"]: name for name, recs in _all_records(out).items() for r in recs}
    assert all(row["shard"] == shard_of[row["key"]] for row in rows)
    for row in rows:
        rec = by_key[row["key"]]
        assert [row["x0"], row["y0"], row["x1"], row["y1"]] == rec["crops"]["search"]["box_xyxy"]
        assert (row["sequence"], row["search_frame"], row["negative"]) == (rec["sequence"], rec["search_frame"],
                                                                          rec["negative"])
        assert row["bytes"] == len(schema.pack(rec))
    assert verify_build(out, show_progress=False).ok


def test_each_source_frame_is_decoded_once_per_shard(trackingnet_root, tmp_path, monkeypatch):
    """Pairs share frames (K pairs per sequence, exemplars reused as search frames): each frame a
    shard needs is read and decoded once, whatever the number of pairs and views using it."""
    import dataprep.task

    reads = []

    def counting_read_frame(ref, *limits):
        reads.append(ref)
        return read_frame_reduced(ref, *limits)

    monkeypatch.setattr(dataprep.task, "read_frame_reduced", counting_read_frame)
    out = tmp_path / "out"
    result = _build("trackingnet", trackingnet_root, out, pairs_per_sequence=24)
    assert len(reads) == len(set(reads)) == result.build["counts"]["frames_decoded"]  # one shard per 2 videos
    records = [r for recs in _all_records(out).values() for r in recs]
    used = {(r["exemplar_sequence"], r["exemplar_frame"]) for r in records}
    used |= {(r["sequence"], r["search_frame"]) for r in records}
    assert len(used) == len(reads) < 6 * 24 * 2  # far fewer decodes than crops


def test_build_json_describes_the_build_wherever_the_data_lives(trackingnet_root, tmp_path, build_output):
    """Resolved config and its hash, seed, versions, per-shard checksums and counts, an input
    fingerprint: identical for a copy of the data elsewhere, different when an input changes."""
    copies = [tmp_path / "a" / "tn", tmp_path / "b" / "somewhere" / "else"]
    for c in copies:
        shutil.copytree(trackingnet_root, c)
    outs = [tmp_path / "out_a", tmp_path / "out_b"]
    for c, o in zip(copies, outs):
        _build("trackingnet", c, o, pairs_per_sequence=2)
    b = json.loads((outs[0] / "build.json").read_text())
    assert b["config"]["pairs"]["per_sequence"] == 2 and b["config"]["chunks"] == "0,1"  # resolved
    assert b["config_sha256"] == canonical_sha256(b["config"])
    assert b["seed"] == 0 and len(b["input_fingerprint"]) == 64
    assert {"python", "numpy", "siamtrack-dataprep", "siamtrack-core", "lmdb", "dask"} <= set(b["versions"])
    assert all(v != "not installed" for k, v in b["versions"].items() if k.startswith("siamtrack"))
    assert [(s["name"], s["records"]) for s in b["shards"]] == [(f"shard-0000{i}", 4) for i in range(3)]
    assert all(len(s["sha256"]) == 64 and s["bytes"] > 0 for s in b["shards"])
    (files_a, build_a, _), (files_b, build_b, _) = (build_output(o) for o in outs)
    assert build_a == build_b
    assert files_a == files_b
    assert b["run"]["root"] == str(copies[0])

    anno = next((copies[1] / "TRAIN_1" / "anno").iterdir())
    lines = anno.read_text().splitlines()
    anno.write_text("\n".join(lines[:-1]) + "\n")  # one annotation line fewer
    _build("trackingnet", copies[1], tmp_path / "out_c", pairs_per_sequence=2)
    changed = json.loads((tmp_path / "out_c" / "build.json").read_text())
    assert changed["input_fingerprint"] != b["input_fingerprint"] and changed["config_sha256"] == b["config_sha256"]


def test_vid_build_keeps_tracks_and_classes(vid_dataset, tmp_path):
    out = tmp_path / "out"
    _build("vid", vid_dataset.root, out, videos_per_shard=1)
    info = open_build(out)
    assert info.build["config"]["splits"] == ["train"]  # VID default: train only
    records = [r for recs in _all_records(out).values() for r in recs]
    assert {r["chunk"] for r in records} == {-1}
    assert len({(r["sequence"], r["track"]) for r in records}) == 2 * 3
    assert all(r["class_name"] for r in records)
    wnids = {}
    for uid, (wnid, _) in vid_dataset.truth.items():
        wnids[tuple(uid.split("/", 2)[2].rsplit("/", 1))] = wnid
    from dataprep.sources.vid import WNID_TO_CLASS

    for r in records:
        assert r["class_name"] == WNID_TO_CLASS[wnids[(r["sequence"], r["track"])]]
        if not r["negative"]:
            assert (r["exemplar_sequence"], r["exemplar_track"]) == (r["sequence"], r["track"])
    val = tmp_path / "val"
    run_build(_cfg("vid", vid_dataset.root, val).replace(splits=["val"]), show_progress=False)
    assert {r["sequence"] for recs in _all_records(val).values() for r in recs} == {"ILSVRC2015_val_00000000"}


def test_build_from_real_frames(vid_real_root, tmp_path):
    """Real OTB/VOT photos in the VID layout: crops and boxes follow the source frames."""
    out = tmp_path / "out"
    _build("vid", vid_real_root, out, pairs_per_sequence=4)
    records = [r for recs in _all_records(out).values() for r in recs]
    assert len(records) == 2 * 2 * 4 and all(r["class_name"] for r in records)
    _assert_crops_are_the_recorded_windows(records[::2], _sequences("vid", vid_real_root))
    assert verify_build(out, show_progress=False).ok


def _skipped(out):
    return read_table(Path(out) / "manifest" / "skipped.parquet").to_pylist()


@pytest.mark.parametrize("fixture", ["trackingnet_bad", "vid_bad"])
def test_bad_inputs_are_skipped_with_their_reason(fixture, request, tmp_path):
    bad = request.getfixturevalue(fixture)
    dataset = "trackingnet" if fixture.startswith("trackingnet") else "vid"
    out = tmp_path / "out"
    runner = CliRunner()
    # enough pairs that every corrupt frame is used by some pair (a frame no pair uses is never decoded)
    args = ["build", "--dataset", dataset, "--root", str(bad.root), "--out", str(out), "--scheduler", "synchronous",
            "--no-progress", "--pairs-per-sequence", "40"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    skipped = _skipped(out)
    for case in bad.bad:
        hits = [s for s in skipped if s["where"].startswith(case.uid) and s["reason"] == case.reason]
        assert hits, f"{case} not in skipped.parquet"
    # nothing was built from a frame that cannot be read
    records = [r for recs in _all_records(out).values() for r in recs]
    assert records
    unreadable = {(c.uid.split("/", 2)[2], f) for c in bad.bad if c.stage == "read" for f in c.frames}
    for r in records:
        assert (r["sequence"], r["search_frame"]) not in unreadable
        assert (r["exemplar_sequence"], r["exemplar_frame"]) not in unreadable
    assert verify_build(out, show_progress=False).ok
    assert not any(str(bad.root) in s["detail"] for s in skipped)  # paths under the root are written ROOT/
    assert any(s["detail"].startswith("ROOT/") or " ROOT/" in s["detail"] for s in skipped)
    info = runner.invoke(app, ["info", str(out)], env={"COLUMNS": "250"})
    assert info.exit_code == 0 and str(bad.root) in info.output  # what ROOT stands for
    assert skipped[0]["where"] in info.output and skipped[0]["reason"] in info.output
    # --strict: same build, non-zero exit
    res = runner.invoke(app, args + ["--strict"])
    assert res.exit_code == EXIT_STRICT_SKIPS, res.output


def test_box_outside_the_decoded_frame_is_skipped_at_crop_time(tmp_path):
    root = tmp_path / "tn"
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=2, frames=6, size=(160, 120), seed=3)
    name = trackingnet_name(0, 0)
    frames = root / "TRAIN_0" / "frames" / name
    # frame 0 unreadable: the reader cannot learn the frame size from it, so only the build can check
    (frames / "0.jpg").write_bytes(corrupt_jpeg_bytes((frames / "0.jpg").read_bytes()))
    anno = root / "TRAIN_0" / "anno" / f"{name}.txt"
    lines = anno.read_text().splitlines()
    lines = [lines[0]] + ["200,10,30,30"] * (len(lines) - 1)  # outside the 160x120 frames
    anno.write_text("\n".join(lines) + "\n")
    # an absurd box that does overlap the frame: no crop can be cut (1e12 px window), one sample lost each
    huge = trackingnet_name(0, 1)
    anno = root / "TRAIN_0" / "anno" / f"{huge}.txt"
    lines = anno.read_text().splitlines()
    anno.write_text("\n".join(lines[:3] + ["0,0,1e12,1e12"] * (len(lines) - 3)) + "\n")
    out = tmp_path / "out"
    result = _build("trackingnet", root, out, pairs_per_sequence=16)
    reasons = {s["reason"] for s in _skipped(out) if s["where"].startswith(f"trackingnet/TRAIN_0/{name}/0/")}
    assert "box_outside_frame" in reasons
    huge_skips = [s for s in _skipped(out) if s["where"].startswith(f"trackingnet/TRAIN_0/{huge}/0/")]
    crop_errors = [s for s in huge_skips if s["reason"] == "crop_error"]
    assert crop_errors and all("[0, 0, 1e+12, 1e+12]" in s["detail"] for s in crop_errors)
    assert result.build["counts"]["pairs"] + sum(result.skipped_by_reason.values()) >= 32
    records = [r for recs in _all_records(out).values() for r in recs]
    assert any(r["sequence"] == huge for r in records)  # its frames with a sane box still give pairs
    assert verify_build(out, show_progress=False).ok


def test_missing_chunk_is_an_error_before_any_work(trackingnet_root, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["build", "--dataset", "trackingnet", "--root", str(trackingnet_root),
                                   "--out", str(out), "--chunks", "0-3", "--scheduler", "synchronous"])
    assert res.exit_code == 2
    assert "TRAIN_2" in res.output and "--chunks" in res.output
    assert not out.exists()


def test_missing_root_error_says_where_it_looked_and_how_to_set_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SIAMTRACK_TRACKINGNET_ROOT", str(tmp_path / "nope"))
    res = CliRunner().invoke(app, ["build", "--dataset", "trackingnet", "--chunks", "0-5",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert str(tmp_path / "nope") in text.replace(" ", "") or str(tmp_path / "nope") in text
    assert "SIAMTRACK_TRACKINGNET_ROOT" in text and "--root" in text


def test_unknown_config_key_is_reported_by_the_cli(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('dataset = "trackingnet"\n[pairs]\nper_seqence = 2\n')
    res = CliRunner().invoke(app, ["build", "--config", str(cfg), "--root", str(tmp_path)])
    assert res.exit_code == 2
    assert "pairs.per_seqence" in res.output


def test_resume_rebuilds_only_damaged_shards(trackingnet_root, tmp_path, build_output):
    out = tmp_path / "out"
    _build("trackingnet", trackingnet_root, out)
    reference, reference_build, _ = build_output(out)
    shards = out / "shards"
    kept_inode = (shards / "shard-00000.lmdb").stat().st_ino
    (shards / "shard-00001.lmdb").unlink()
    data = (shards / "shard-00002.lmdb").read_bytes()
    (shards / "shard-00002.lmdb").write_bytes(data[: len(data) // 2])  # a damaged file under the final name
    (shards / ".shard-00001.lmdb.tmp-deadbeef").write_bytes(b"partial")  # a killed writer's temp file
    (shards / "shard-00000.lmdb-lock").write_bytes(b"")
    # a build killed while it streamed the manifest or wrote build.json leaves these
    (out / "manifest" / f".samples.parquet.tmp-{'ab' * 16}").write_bytes(b"partial")
    (out / f".build.json.tmp-{'cd' * 16}").write_bytes(b"{")
    (out / "build.json").unlink()

    result = _build("trackingnet", trackingnet_root, out)
    assert (result.build["run"]["shards_built"], result.build["run"]["shards_reused"]) == (2, 1)
    assert (shards / "shard-00000.lmdb").stat().st_ino == kept_inode
    files, build, _ = build_output(out)
    assert files == reference
    assert build == reference_build


def test_different_config_is_refused_unless_overwrite(trackingnet_root, tmp_path):
    out = tmp_path / "out"
    _build("trackingnet", trackingnet_root, out)
    with pytest.raises(BuildError, match=r"differs in: .*seed.*--overwrite"):
        _build("trackingnet", trackingnet_root, out, seed=1)
    assert open_build(out).build["seed"] == 0  # untouched
    result = _build("trackingnet", trackingnet_root, out, seed=1, overwrite=True)
    assert result.build["seed"] == 1 and result.build["run"]["shards_reused"] == 0
    # same config again: a resume that rebuilds nothing
    again = _build("trackingnet", trackingnet_root, out, seed=1, workers=5)
    assert again.build["run"]["shards_built"] == 0
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="not empty"):
        _build("trackingnet", trackingnet_root, foreign)


def test_verify_detects_a_corrupted_shard(trackingnet_root, tmp_path):
    out = tmp_path / "out"
    _build("trackingnet", trackingnet_root, out)
    runner = CliRunner()
    assert runner.invoke(app, ["verify", str(out), "--no-progress"]).exit_code == 0
    info = runner.invoke(app, ["info", str(out)])
    assert info.exit_code == 0 and "48" in info.output and "exemplar" in info.output

    path = out / "shards" / "shard-00001.lmdb"
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)  # zero a run of bytes inside the records
    path.write_bytes(bytes(data))
    report = verify_build(out, show_progress=False)
    assert not report.ok
    assert any("shard-00001" in p and "sha256" in p for p in report.problems)
    res = runner.invoke(app, ["verify", str(out), "--no-progress"])
    assert res.exit_code == 1 and "problem" in res.output

    (out / "shards" / "shard-00002.lmdb").unlink()
    assert any("shard-00002" in p and "missing" in p for p in verify_build(out, show_progress=False).problems)
    assert runner.invoke(app, ["verify", str(tmp_path / "nothing")]).exit_code == 1


def _bigger_trackingnet(root):
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=6, frames=30, size=(320, 240), seed=5)


def test_killed_build_leaves_only_complete_shards_and_resumes(tmp_path, build_output):
    root, out, ref = tmp_path / "tn", tmp_path / "out", tmp_path / "ref"
    _bigger_trackingnet(root)
    config = tmp_path / "c.toml"
    config.write_text('dataset = "trackingnet"\n[output]\nvideos_per_shard = 1\n[pairs]\nper_sequence = 24\n')
    _build("trackingnet", root, ref, videos_per_shard=1, pairs_per_sequence=24)
    reference, reference_build, _ = build_output(ref)

    cmd = [str(BIN / "dataprep"), "build", "--config", str(config), "--root", str(root), "--out", str(out),
           "--scheduler", "synchronous", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out / "shards" / "shard-00000.json").exists() and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode == 0:
        pytest.skip("the build finished before it could be killed (machine too fast for this data)")
    assert not (out / "build.json").exists()
    finished = sorted(p.name for p in (out / "shards").glob("shard-*.lmdb"))
    assert finished and len(finished) < 6
    for name in finished:  # whatever is under a final name is complete and correct
        assert (out / "shards" / name).read_bytes() == reference[f"shards/{name}"]

    result = _build("trackingnet", root, out, videos_per_shard=1, pairs_per_sequence=24)
    assert result.build["run"]["shards_reused"] >= 1
    files, build, _ = build_output(out)
    assert files == reference
    assert build == reference_build


def test_cli_as_typed_with_root_and_out_from_the_environment(tmp_path):
    """`dataprep build --dataset trackingnet --chunks 0-5` exactly as typed in a shell: root and out
    from the environment, the default local Dask cluster (2 workers), progress and summary on stderr."""
    root = tmp_path / "TrackingNet"
    write_trackingnet(root, chunks=range(6), sequences_per_chunk=1, frames=6, size=(96, 72), seed=4)
    env = dict(os.environ, SIAMTRACK_TRACKINGNET_ROOT=str(root), SIAMTRACK_DATA_OUT=str(tmp_path / "data"))
    res = subprocess.run(
        [str(BIN / "dataprep"), "build", "--dataset", "trackingnet", "--chunks", "0-5"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )
    assert res.returncode == 0, res.stderr
    out = tmp_path / "data" / "trackingnet"
    build = open_build(out).build
    assert build["counts"]["pairs"] == 6 * 8 and build["config"]["chunks"] == "0,1,2,3,4,5"
    assert "local Dask cluster, 2 worker" in build["run"]["scheduler"]
    stderr = " ".join(res.stderr.split())
    assert "dashboard off (--dashboard" in stderr and "pairs/s" in stderr and "ETA" in stderr
    assert "sequences" in stderr and "wall time" in stderr  # the summary table


def test_unreachable_scheduler_is_a_clear_error(trackingnet_root, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "c.toml"
    config.write_text('dataset = "trackingnet"\n[dask]\nconnect_timeout_s = 1.0\n')
    res = CliRunner().invoke(app, ["build", "--config", str(config), "--root", str(trackingnet_root), "--out",
                                   str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}", "--no-progress"])
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in text
    assert "dask scheduler" in text and "dask worker" in text and "Traceback" not in text
    assert not (tmp_path / "out" / "build.json").exists()


def test_verify_flags_a_truncated_crop(trackingnet_root, tmp_path):
    """A crop whose JPEG lost its tail is a problem even where the decoder would still return pixels."""
    from siamcore.schema import pack
    from siamcore.shards import ShardReader, open_build

    from dataprep.verify import _check_record

    out = tmp_path / "out"
    _build("trackingnet", trackingnet_root, out)
    build = open_build(out)
    key, raw = next(iter(ShardReader(build.shards[0].path).iter_raw()))
    problems: list[str] = []
    assert _check_record(key, raw, build.views, problems) == 2 and problems == []

    record = ShardReader(build.shards[0].path).get(key)
    jpeg = record["crops"]["search"]["jpeg"]
    record["crops"]["search"]["jpeg"] = jpeg[: len(jpeg) * 2 // 3]
    _check_record(key, pack(record), build.views, problems)
    assert any("'search'" in p and "truncated" in p for p in problems)


def _records_using(out, sequence: str, frames) -> list:
    records = [r for recs in _all_records(out).values() for r in recs]
    return [r for r in records if (r["sequence"], r["search_frame"]) in {(sequence, f) for f in frames}
            or (r["exemplar_sequence"], r["exemplar_frame"]) in {(sequence, f) for f in frames}]


def test_forged_frame_sizes_give_skips_not_pairs(tmp_path, hostile_build):
    """A header claiming 30000x30000 (decoding it took 26 s and 5.4 GB) is over [limits] max_frame_pixels;
    one claiming 4000x3000 is within it, but a few KB of data cannot fill it (OpenCV gives grey): both
    frames are recorded skips, and every other frame of the sequence still gives pairs."""
    root, out = tmp_path / "tn", tmp_path / "out"
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=2, frames=8, size=(160, 120), seed=2)
    name = trackingnet_name(0, 0)
    for i, (w, h) in ((3, (30000, 30000)), (5, (4000, 3000))):
        path = root / "TRAIN_0" / "frames" / name / f"{i}.jpg"
        path.write_bytes(forge_jpeg_size(path.read_bytes(), w, h))
    res = hostile_build(["--dataset", "trackingnet", "--root", root, "--out", out, "--pairs-per-sequence", "40"])
    assert res.returncode == 0, res.stderr
    skips = [s for s in _skipped(out) if s["where"].startswith(f"trackingnet/TRAIN_0/{name}/0/")]
    assert any(s["reason"] == "frame_too_large" and f"{name}/3.jpg" in s["detail"] and "30000x30000" in s["detail"]
               for s in skips)
    assert any(s["reason"] == "corrupt_jpeg" and f"{name}/5.jpg" in s["detail"] for s in skips)
    assert _records_using(out, name, [3, 5]) == []
    assert _records_using(out, name, [0, 1, 2, 4, 6, 7])


def _wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)


def test_second_build_into_the_same_out_is_refused_and_a_dead_builds_lock_is_taken_over(tmp_path):
    """The issue: `--seed 1 --overwrite` started while a `--seed 0` build ran into the same --out; both
    exited 0 and build.json disagreed with build-config.json."""
    root, out = tmp_path / "tn", tmp_path / "out"
    _bigger_trackingnet(root)
    cmd = [str(BIN / "dataprep"), "build", "--dataset", "trackingnet", "--root", str(root), "--out", str(out),
           "--scheduler", "synchronous", "--no-progress", "--pairs-per-sequence", "24"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(out / "build-config.json", first)  # written under the lock, before any shard
        first.send_signal(signal.SIGSTOP)
        if (out / "build.json").exists():
            pytest.skip("the first build finished before it could be paused (machine too fast for this data)")
        second = CliRunner().invoke(app, ["build", "--dataset", "trackingnet", "--root", str(root), "--out", str(out),
                                          "--scheduler", "synchronous", "--no-progress", "--seed", "1", "--overwrite"])
        text = " ".join(second.output.split())
        assert second.exit_code == 2, second.output
        assert "in use by another dataprep build" in text and f"pid {first.pid} on {socket.gethostname()}" in text
        first.send_signal(signal.SIGCONT)
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
            first.wait()
    config = json.loads((out / "build-config.json").read_text())
    assert open_build(out).build["config_sha256"] == config["config_sha256"] and open_build(out).build["seed"] == 0

    # a build killed while holding the lock: the kernel dropped its flock, the next build takes over
    out2 = tmp_path / "out2"
    killed = subprocess.Popen([*cmd[:7], str(out2), *cmd[8:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(out2 / "build-config.json", killed)
        killed.kill()
        killed.wait(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    if (out2 / "build.json").exists():
        pytest.skip("the build finished before it could be killed (machine too fast for this data)")
    assert f"pid {killed.pid} on {socket.gethostname()}" in (out2 / ".lock").read_text()  # it held the lock
    result = _build("trackingnet", root, out2, videos_per_shard=0, pairs_per_sequence=24)
    assert result.build["seed"] == 0 and verify_build(out2, show_progress=False).ok
    assert (out2 / ".lock").read_text() == ""  # released: a finished build leaves no holder behind


def _mount_tmpfs(folder: Path, size_bytes: int) -> None:
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")


@pytest.mark.parametrize("full_by", ["tmpfs", "file_size_limit"])
def test_a_full_disk_stops_the_build_at_once_and_a_rerun_resumes(full_by, tmp_path, hostile_build, build_output):
    """The issue: a full disk printed `mdb_txn_commit: Input/output error` for every shard (51 tracebacks,
    3 min). Now the first failed write stops the build with one message. ``tmpfs``: a real full
    filesystem (root only); ``file_size_limit``: RLIMIT_FSIZE makes the kernel fail the shard's write."""
    root, ref = tmp_path / "tn", tmp_path / "ref"
    _bigger_trackingnet(root)
    _build("trackingnet", root, ref, videos_per_shard=1, pairs_per_sequence=24)
    reference, reference_build, _ = build_output(ref)
    shard_bytes = (ref / "shards" / "shard-00000.lmdb").stat().st_size
    config = tmp_path / "c.toml"
    config.write_text('dataset = "trackingnet"\n[output]\nvideos_per_shard = 1\n[pairs]\nper_sequence = 24\n')
    if full_by == "tmpfs":
        disk = tmp_path / "disk"
        _mount_tmpfs(disk, 64 << 20)
    else:
        disk = tmp_path
    try:
        out = disk / "out"
        if full_by == "tmpfs":  # room for the first shard or two, not for all six
            ballast = disk / "ballast"
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            ballast.write_bytes(bytes(free - int(1.5 * shard_bytes) - (256 << 10)))
        res = hostile_build(["--config", config, "--root", root, "--out", out],
                            fsize_bytes=shard_bytes // 2 if full_by == "file_size_limit" else None)
        assert res.returncode == 1, res.stderr
        errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
        text = " ".join(res.stderr.split())
        assert len(errors) == 1 and "Traceback" not in res.stderr and "failed:" not in text
        assert str(out) in text and "run the same command again to resume" in text
        if full_by == "tmpfs":
            assert f"disk full in {out}" in text
            assert len(list((out / "shards").glob("shard-*.lmdb"))) < 6
            ballast.unlink()  # space freed
        result = _build("trackingnet", root, out, videos_per_shard=1, pairs_per_sequence=24)
        if full_by == "tmpfs":
            assert result.build["run"]["shards_reused"] >= 1
        files, build, _ = build_output(out)
        assert files == reference and build == reference_build
    finally:
        if full_by == "tmpfs":
            subprocess.run(["umount", str(disk)], check=True)


def test_a_forked_child_does_not_keep_the_builds_lock(tmp_path):
    """Workers are forked from the build: the flock must go with the build, not live on in a worker."""
    out = tmp_path / "out"
    go_read, go_write = os.pipe()
    up_read, up_write = os.pipe()
    with out_lock(out):
        child = os.fork()
        if child == 0:  # the child: say it is running, then wait until the parent has tried again
            os.write(up_write, b"x")
            os.read(go_read, 1)
            os._exit(0)
        os.read(up_read, 1)
    try:
        with out_lock(out):  # a child holding a copy of the descriptor would make this refuse
            taken = True
    finally:
        os.write(go_write, b"x")
        os.waitpid(child, 0)
        for fd in (go_read, go_write, up_read, up_write):
            os.close(fd)
    assert taken
