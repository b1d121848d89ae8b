"""Scale: shards sized by the plan (never by the workers), compact per-shard metadata, a manifest streamed
from the shards' rows files, and tasks that stay small on the way to the Dask scheduler."""

import math
import pickle
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataprep import manifest
from dataprep.build import run_build
from dataprep.cluster import Executor, open_executor
from dataprep.config import DaskConfig, load_config, with_overrides
from dataprep.manifest import SAMPLES_SCHEMA, write_streamed
from siamcore.manifest import read_table
from dataprep.sources.base import VideoRef
from dataprep.task import (
    ShardTask,
    expected_pair_bytes,
    plan_shards,
    read_sidecar,
    rows_path,
    shard_sizes,
    sidecar_path,
)

from testkit.trackingnet import write_trackingnet


def test_small_builds_get_min_shards_and_large_ones_shards_of_the_configured_size():
    assert shard_sizes(32, 8, 16_000, 64 << 20, 16) == [2] * 16  # 256 pairs: still 16 tasks
    assert shard_sizes(5, 8, 16_000, 64 << 20, 16) == [1] * 5
    assert shard_sizes(0, 8, 16_000, 64 << 20, 16) == []
    sizes = shard_sizes(30_000, 8, 16_236, 64 << 20, 16)  # TrackingNet-scale
    assert len(sizes) == math.ceil(30_000 * 8 * 16_236 / (64 << 20)) == 59
    assert sum(sizes) == 30_000 and max(sizes) - min(sizes) <= 1
    assert shard_sizes(10, 8, 16_000, 64 << 20, 16, videos_per_shard=3) == [3, 3, 3, 1]


def _videos(n):
    return [VideoRef("trackingnet", 0, "TRAIN_0", f"seq_{i:05d}", "/data/tn") for i in range(n)]


def test_the_shard_layout_never_depends_on_the_number_of_workers(tmp_path):
    layouts = []
    for workers in (1, 2, 16):
        cfg = with_overrides(load_config(None, "trackingnet"), workers=workers)
        layouts.append([(t.name, t.videos, t.plan_sha256) for t in plan_shards(_videos(40), cfg, tmp_path)])
    assert layouts[0] == layouts[1] == layouts[2] and len(layouts[0]) == 16
    cfg = load_config(None, "trackingnet")
    assert expected_pair_bytes(cfg) == pytest.approx(0.2 * (127**2 + 255**2))


def test_a_task_pickles_its_videos_compactly_and_exactly(tmp_path):
    """The local Dask scheduler lives in the driver and keeps what it unpickles: ~10 B a video, not objects."""
    videos = tuple(VideoRef("vid", -1, "train", name, "/data/ILSVRC2015")
                   for name in [f"ILSVRC2015_VID_train_0000/ILSVRC2015_train_{i:08d}" for i in range(2000)]
                   + ["tab\there", "new\nline", "ünïcode ✓", ""])
    task = plan_shards(list(videos), load_config(None, "vid").replace(), tmp_path)[0]
    task = ShardTask(task.name, task.out_dir, videos, task.config, task.plan_sha256)
    packed = pickle.dumps(task)
    again = pickle.loads(packed)
    assert again == task and again.videos == videos
    assert len(packed) < 8 * len(videos) + 4000


def _rows(n, start=0):
    return [{"shard": "shard-00000", "key": f"k{i:06d}", "dataset": "trackingnet", "chunk": 0, "sequence": f"s{i // 3}",
             "track": "0", "class_name": "", "exemplar_sequence": f"s{i // 3}", "exemplar_track": "0",
             "exemplar_frame": i, "search_frame": i + 1, "negative": False, "has_distractor": False, "flags": "",
             "x0": 1.0, "y0": 2.0, "x1": 3.0, "y1": 4.0, "bytes": 100 + i} for i in range(start, start + n)]


def test_the_streamed_manifest_has_the_same_bytes_however_the_rows_arrive(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest, "ROW_GROUP_ROWS", 5)
    rows = _rows(23)
    write_streamed(tmp_path / "a.parquet", SAMPLES_SCHEMA, [rows[:3], rows[3:7], rows[7:19], [], rows[19:]])
    write_streamed(tmp_path / "b.parquet", SAMPLES_SCHEMA, [pa.Table.from_pylist(rows, schema=SAMPLES_SCHEMA)])
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [5, 5, 5, 5, 3]
    assert read_table(tmp_path / "a.parquet").to_pylist() == rows
    assert write_streamed(tmp_path / "empty.parquet", SAMPLES_SCHEMA, []) == 0
    assert read_table(tmp_path / "empty.parquet").schema.equals(SAMPLES_SCHEMA)


def test_sidecars_are_small_the_manifest_is_the_rows_files_and_resume_checks_them(tmp_path):
    root = tmp_path / "tn"
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=20, frames=8, size=(96, 72), seed=3)
    cfg = with_overrides(load_config(None, "trackingnet"), root=root, out=tmp_path / "out", scheduler="synchronous")
    build = run_build(cfg, show_progress=False).build
    out = tmp_path / "out"
    assert build["counts"]["shards"] == 16 and build["counts"]["pairs"] == 20 * 8
    names = [s["name"] for s in build["shards"]]
    parts = [read_table(rows_path(out, n)).to_pylist() for n in names]
    assert read_table(out / "manifest" / "samples.parquet").to_pylist() == [r for p in parts for r in p]
    for name in names:
        sidecar = read_sidecar(out, name)
        assert "rows" not in sidecar and sidecar["counts"]["pairs"] == len(read_table(rows_path(out, name)))
        assert sidecar_path(out, name).stat().st_size < 1200
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "build.json"}

    rows_path(out, names[3]).write_bytes(b"not parquet")  # a damaged rows file: that shard is built again
    again = run_build(cfg, show_progress=False).build
    assert again["run"]["shards_built"] == 1 and again["run"]["shards_reused"] == 15
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "build.json"}
    assert after == before


@dataclass(frozen=True)
class _Job:
    name: str
    value: int


def _square(job):
    return job.value * job.value


def test_the_executor_runs_every_task_once_through_its_bounded_window():
    jobs = [_Job(f"job{i}", i) for i in range(13)]
    with open_executor(DaskConfig(workers=1), preload="dataprep.task") as executor:
        assert executor.in_flight() == 4  # 13 tasks, never more than 4 submitted at a time
        outcomes = list(executor.run(_square, jobs))
    assert sorted((o.task.value, o.result) for o in outcomes) == [(i, i * i) for i in range(13)]
    assert all(o.error is None for o in outcomes)
    assert [o.result for o in Executor("synchronous", workers=1).run(_square, jobs[:3])] == [0, 1, 4]
