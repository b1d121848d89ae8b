"""TrackingNet reader on generated and real-frame fixtures, and on every bad input."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from siamcore.shards import ShardReader, open_build

from siamcore.manifest import read_table
from dataprep.sources import FrameError, SourceError, read_frame, trackingnet
from dataprep.sources.frames import jpeg_size_wh, read_frame_bytes

from testkit.scene import load_real_sequence
from testkit.trackingnet import trackingnet_name, write_stored_zip, write_trackingnet


def _by_uid(videos):
    return {v.uid: v for v in videos}


def test_list_videos_sorted_and_chunk_selection(trackingnet_root):
    videos, skips = trackingnet.list_videos(trackingnet_root)
    assert skips == []
    assert [v.uid for v in videos] == [f"trackingnet/TRAIN_{k}/syn{k}_{i:03d}" for k in (0, 1) for i in range(3)]
    assert all(v.chunk == int(v.split[-1]) and v.root == str(trackingnet_root) for v in videos)
    only1, _ = trackingnet.list_videos(trackingnet_root, chunks="1")
    assert {v.chunk for v in only1} == {1} and len(only1) == 3
    assert trackingnet.list_videos(str(trackingnet_root), chunks=[1, 0])[0] == videos


def test_load_video_matches_written_truth_including_zips(trackingnet_dataset):
    videos, _ = trackingnet.list_videos(trackingnet_dataset.root)
    zipped = 0
    for v in videos:
        seqs, skips = trackingnet.load_video(v)
        assert skips == [] and len(seqs) == 1
        seq = seqs[0]
        assert seq.uid == v.uid + "/0" and seq.track == "0" and seq.class_name == ""
        assert np.allclose(seq.boxes_xywh, trackingnet_dataset.truth[v.uid], atol=0.006)
        assert len(seq.frames) == 12 and seq.boxes_xywh.dtype == np.float64
        assert not seq.boxes_xywh.flags.writeable
        zipped += seq.frames[0].member is not None
        assert seq.frames[0].member in (None, f"{v.name}/0.jpg")
        img = read_frame(seq.frames[11])
        assert img.shape == (120, 160, 3)
    assert zipped == 2


def test_frames_sort_numerically(tmp_path):
    write_trackingnet(tmp_path, chunks=(0,), sequences_per_chunk=1, frames=13, size=(64, 48))
    (video,), _ = trackingnet.list_videos(tmp_path)
    (seq,), skips = trackingnet.load_video(video)
    assert skips == []
    assert [f.path.rsplit("/", 1)[-1] for f in seq.frames] == [f"{i}.jpg" for i in range(13)]  # 10 after 9, not 1


def test_zip_members_in_a_folder_and_at_top_level(tmp_path):
    write_trackingnet(tmp_path, chunks=(0,), sequences_per_chunk=1, frames=11, size=(64, 48), zipped=True)
    zpath = tmp_path / "TRAIN_0" / "zips" / "syn0_000.zip"
    (video,), _ = trackingnet.list_videos(tmp_path)
    (seq,), _ = trackingnet.load_video(video)
    assert [f.member for f in seq.frames][9:] == ["syn0_000/9.jpg", "syn0_000/10.jpg"]
    frame10 = read_frame(seq.frames[10])
    # the same frames with members at the zip's top level
    with zipfile.ZipFile(zpath) as zf:
        members = [(n.split("/")[-1], zf.read(n)) for n in zf.namelist()]
    zpath.unlink()
    write_stored_zip(zpath, members)
    (seq2,), _ = trackingnet.load_video(video)
    assert seq2.frames[10].member == "10.jpg"
    assert np.array_equal(read_frame(seq2.frames[10]), frame10)  # the replaced zip is re-opened
    with pytest.raises(FrameError):
        read_frame(seq.frames[10])


def test_frames_folder_wins_over_zip(tmp_path):
    write_trackingnet(tmp_path, chunks=(0,), sequences_per_chunk=1, frames=4, size=(64, 48))
    (tmp_path / "TRAIN_0" / "zips").mkdir()
    (tmp_path / "TRAIN_0" / "zips" / "syn0_000.zip").write_bytes(b"junk")
    (video,), _ = trackingnet.list_videos(tmp_path)
    (seq,), skips = trackingnet.load_video(video)
    assert skips == [] and seq.frames[0].member is None


def test_frame_count_mismatch_uses_the_shorter(tmp_path):
    write_trackingnet(tmp_path, chunks=(0,), sequences_per_chunk=2, frames=8, size=(64, 48))
    anno = tmp_path / "TRAIN_0" / "anno" / "syn0_000.txt"
    anno.write_text("".join(anno.read_text().splitlines(True)[:5]))
    (tmp_path / "TRAIN_0" / "frames" / "syn0_001" / "7.jpg").unlink()
    videos, _ = trackingnet.list_videos(tmp_path)
    for video, n in zip(videos, (5, 7)):
        (seq,), skips = trackingnet.load_video(video)
        assert len(seq.frames) == n == len(seq.boxes_xywh)
        assert [s.reason for s in skips] == ["frame_count_mismatch"]


def test_missing_root_and_chunk_are_clear_errors(tmp_path, trackingnet_root):
    with pytest.raises(SourceError, match=r"looked in .*nowhere.*--root"):
        trackingnet.list_videos(tmp_path / "nowhere")
    with pytest.raises(SourceError, match=r"TRAIN_3 not found .*present: TRAIN_0, TRAIN_1"):
        trackingnet.list_videos(trackingnet_root, chunks="0-1,3")
    with pytest.raises(SourceError, match="any TRAIN_k"):
        trackingnet.list_videos(tmp_path)
    with pytest.raises(ValueError, match="0..11"):
        trackingnet.list_videos(trackingnet_root, chunks="0-12")


def test_every_bad_input_is_a_recorded_skip(trackingnet_bad):
    videos, list_skips = trackingnet.list_videos(trackingnet_bad.root)
    by_uid = _by_uid(videos)
    load_skips, sequences = {}, {}
    for v in videos:
        seqs, skips = trackingnet.load_video(v)  # never raises
        load_skips[v.uid] = skips
        sequences.update({s.video.uid: s for s in seqs})
    assert len(trackingnet_bad.bad) == 10
    for bad in trackingnet_bad.bad:
        if bad.stage == "list":
            assert bad.uid not in by_uid
            assert (bad.uid, bad.reason) in {(s.where, s.reason) for s in list_skips}
        elif bad.stage == "load":
            assert bad.reason in {s.reason for s in load_skips[bad.uid]}, (bad, load_skips[bad.uid])
            if bad.frames:  # the rest of the sequence stays usable, the bad frames are NaN
                boxes = sequences[bad.uid].boxes_xywh
                assert np.isnan(boxes[list(bad.frames)]).all()
                assert np.isfinite(np.delete(boxes, bad.frames, axis=0)).all()
            else:
                assert bad.uid not in sequences
        else:  # found when the frame is read
            seq = sequences[bad.uid]
            for i in bad.frames:
                with pytest.raises(FrameError) as e:
                    read_frame(seq.frames[i])
                assert e.value.reason == bad.reason
            read_frame(seq.frames[0])
    good = [uid for uid in sequences if "/syn0_" in uid]
    assert len(good) == 2 and all(load_skips[uid] == [] for uid in good)


def test_real_frames_fixture(trackingnet_real_root, shared_data):
    videos, skips = trackingnet.list_videos(trackingnet_real_root, chunks="0")
    assert skips == [] and len(videos) == 3
    sizes = []
    for v in videos:
        (seq,), skips = trackingnet.load_video(v)
        assert skips == [] and len(seq.frames) == 20
        assert np.isfinite(seq.boxes_xywh).all()
        sizes.append(jpeg_size_wh(read_frame_bytes(seq.frames[0])))
        assert read_frame(seq.frames[-1]).shape[1::-1] == sizes[-1]
    assert sizes == [(320, 240), (360, 240), (480, 360)]  # Couple, Crossing, bag


def test_real_frames_are_the_original_bytes_with_converted_boxes(trackingnet_real_root, shared_data):
    videos, _ = trackingnet.list_videos(trackingnet_real_root, chunks="0")
    (seq,), _ = trackingnet.load_video(videos[0])
    src_files, src_boxes = load_real_sequence(shared_data / "otb" / "Couple")
    first = read_frame_bytes(seq.frames[0])
    start = [f.read_bytes() for f in src_files].index(first)
    assert np.allclose(seq.boxes_xywh, src_boxes[start : start + 20], atol=0.006)
    raw = (shared_data / "otb" / "Couple" / "groundtruth_rect.txt").read_text().split("\n")[start].split("\t")
    assert np.allclose(seq.boxes_xywh[0], [float(raw[0]) - 1, float(raw[1]) - 1, float(raw[2]), float(raw[3])])


def test_copy_of_fixture_is_independent(trackingnet_root, tmp_path):
    """Documented pattern for tests that modify a fixture: copy it first."""
    root = tmp_path / "copy"
    shutil.copytree(trackingnet_root, root)
    shutil.rmtree(root / "TRAIN_1")
    with pytest.raises(SourceError):
        trackingnet.list_videos(root, chunks="1")
    assert len(trackingnet.list_videos(trackingnet_root, chunks="1")[0]) == 3


def test_zip_member_over_the_byte_limit_is_a_recorded_skip(tmp_path, hostile_build):
    """The issue: a 1 GiB member of a 1.3 MB zip was read whole before anything was checked. Here a
    300 MiB member (over the default [limits] max_frame_bytes, 256 MiB) of a ~1.4 MB zip: refused by
    its declared size, recorded as a skip; the sequence's other frames still give pairs."""
    root, out = tmp_path / "tn", tmp_path / "out"
    name = trackingnet_name(0, 0)
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=2, frames=8, size=(160, 120), seed=2,
                      zipped={name})
    zpath = root / "TRAIN_0" / "zips" / f"{name}.zip"
    with zipfile.ZipFile(zpath) as zf:
        members = [(n, zf.read(n)) for n in zf.namelist()]
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for member, data in members:
            if member != f"{name}/4.jpg":
                zf.writestr(member, data)
                continue
            with zf.open(member, "w", force_zip64=True) as f:
                for _ in range(300):
                    f.write(bytes(1 << 20))
    assert zpath.stat().st_size < 2 << 20
    (video, _), _ = trackingnet.list_videos(root)
    (seq,), _ = trackingnet.load_video(video)
    with pytest.raises(FrameError) as e:
        read_frame(seq.frames[4])
    assert e.value.reason == "frame_too_large" and str(300 << 20) in str(e.value)

    res = hostile_build(["--dataset", "trackingnet", "--root", root, "--out", out, "--pairs-per-sequence", "40"])
    assert res.returncode == 0, res.stderr
    skipped = read_table(out / "manifest" / "skipped.parquet").to_pylist()
    hits = [s for s in skipped if s["where"].startswith(f"trackingnet/TRAIN_0/{name}/0/")]
    assert hits and all(s["reason"] == "frame_too_large" and f"{name}/4.jpg" in s["detail"] for s in hits)
    records = [r for s in open_build(out).shards for r in ShardReader(s.path)]
    used = {(r["sequence"], r["search_frame"]) for r in records} | {(r["exemplar_sequence"], r["exemplar_frame"])
                                                                     for r in records}
    assert (name, 4) not in used and (name, 3) in used
