"""The test kit's writers: deterministic bytes, frames that contain what the boxes say, real-sequence readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataprep.pairs import stable_int
from dataprep.sources import read_frame, trackingnet

from testkit.scene import load_real_sequence
from testkit.trackingnet import write_trackingnet
from testkit.vid import write_vid


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    kw = dict(chunks=(0,), sequences_per_chunk=2, frames=4, size=(96, 64), zipped={"syn0_001"})
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        write_trackingnet(tmp_path / name, seed=seed, **kw)
        write_vid(tmp_path / f"v{name}", {"train": 1, "val": 1}, frames=3, size=(96, 64), seed=seed)
    a, b, c = (_tree_bytes(tmp_path / n) for n in "abc")
    assert a == b and len(a) == 2 + 4 + 1  # 2 anno files, 4 loose frames, 1 zip
    assert a.keys() == c.keys() and a != c
    va, vb, vc = (_tree_bytes(tmp_path / n) for n in ("va", "vb", "vc"))
    assert va == vb and va != vc and len(va) == 2 * 3 * 2


def test_generated_target_is_where_the_box_says(tmp_path):
    """The target texture is pasted exactly in its box: frame differences concentrate inside the boxes."""
    truth = write_trackingnet(tmp_path, chunks=(0,), sequences_per_chunk=1, frames=6, size=(200, 150))
    (video,), _ = trackingnet.list_videos(tmp_path)
    (seq,), _ = trackingnet.load_video(video)
    boxes = truth[video.uid]
    assert np.all(boxes[:, 2:] >= 4) and np.all(boxes[:, 0] + boxes[:, 2] <= 200) and np.all(boxes[:, 1] + boxes[:, 3] <= 150)
    assert not np.allclose(boxes[0], boxes[-1])  # it moves
    frame = read_frame(seq.frames[0]).astype(float)
    x, y, w, h = boxes[0].astype(int)
    inner = frame[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
    assert inner.std() > 10  # textured, not flat


def test_large_frames_for_the_benchmark(tmp_path):
    write_trackingnet(tmp_path, chunks=(0,), sequences_per_chunk=1, frames=2, size=(1280, 720))
    assert read_frame(trackingnet.load_video(trackingnet.list_videos(tmp_path)[0][0])[0][0].frames[1]).shape == (
        720, 1280, 3)


def test_real_sequences_come_from_the_shared_readers(shared_data):
    files, otb = load_real_sequence(shared_data / "otb" / "Couple")
    assert len(files) == otb.shape[0] == 140 and np.allclose(otb[0], [50, 46, 25, 62])  # "51 47 25 62", 1-based
    files, vot = load_real_sequence(shared_data / "vot" / "bag")
    assert len(files) == len(vot) == 196 and files[0].name == "00000001.jpg"
    assert np.allclose(vot[0], [292.23, 128.36, 438.19 - 292.23, 260.83 - 128.36])  # the polygon's bounding box


def test_stable_int_is_not_python_hash():
    """The synthetic writers seed with the 63-bit ``stable_int`` of each id."""
    assert stable_int("trackingnet/TRAIN_0/a", bits=63) == stable_int("trackingnet/TRAIN_0/a", bits=63)
    assert stable_int("a", bits=63) != stable_int("b", bits=63)
    assert stable_int("a", bits=63) == 0xCA978112CA1BBDCA >> 1  # first 8 bytes of sha256("a"): fixed forever
