"""Determinism across schedulers: synchronous, LocalCluster with 1 and 2 workers, and a real
`dask scheduler` + 2 `dask worker` processes on 127.0.0.1 (one of them killed mid-build)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from siamcore.shards import open_build

from dataprep.build import run_build
from dataprep.config import OutputConfig, load_config, with_overrides

from testkit.trackingnet import write_trackingnet

BIN = Path(sys.executable).parent


def _cfg(root, out, videos_per_shard, **flags):
    cfg = load_config(None, "trackingnet").replace(output=OutputConfig(videos_per_shard=videos_per_shard))
    return with_overrides(cfg, root=root, out=out, **flags)


def test_same_bytes_with_synchronous_one_and_two_local_workers(trackingnet_bad, tmp_path, build_output):
    outs = {}
    for name, flags in {
        "sync": {"scheduler": "synchronous"},
        "local1": {"scheduler": "local", "workers": 1},
        "local2": {"scheduler": "local", "workers": 2},
    }.items():
        outs[name] = tmp_path / name
        run_build(_cfg(trackingnet_bad.root, outs[name], 3, **flags), show_progress=False)
    reference, ref_build, _ = build_output(outs["sync"])
    assert any(k.startswith("shards/shard-00003") for k in reference)  # several shards
    assert len(open_build(outs["sync"]).build["counts"]["skipped"]) >= 5  # and skip rows to compare
    for name in ("local1", "local2"):
        files, build, run = build_output(outs[name])
        assert files == reference, name
        assert build == ref_build, name
        assert run["workers"] == int(name[-1]) and "local Dask cluster" in run["scheduler"]


def _stop(procs):
    """Stop the processes last-started first (the build, the workers, then the scheduler: a worker
    whose scheduler is gone first can spend 15 s trying to say goodbye)."""
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=15)


def test_build_on_a_real_dask_cluster_survives_a_killed_worker(tmp_path, build_output):
    root, out, ref = tmp_path / "tn", tmp_path / "out", tmp_path / "ref"
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=6, frames=30, size=(320, 240), seed=5)
    run_build(_cfg(root, ref, 1, scheduler="synchronous", pairs_per_sequence=24), show_progress=False)

    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_=str(128 << 20), MALLOC_TOP_PAD_=str(64 << 20))
    logs = open(tmp_path / "dask.log", "wb")
    procs = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)], stdout=logs, stderr=subprocess.STDOUT, env=env)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = [subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1", "--name", f"w{i}", "--death-timeout", "60"],
            stdout=logs, stderr=subprocess.STDOUT, env=env) for i in range(2)]
        procs += workers

        config = tmp_path / "c.toml"
        config.write_text('dataset = "trackingnet"\n[output]\nvideos_per_shard = 1\n[pairs]\nper_sequence = 24\n')
        build = subprocess.Popen(
            [str(BIN / "dataprep"), "build", "--config", str(config), "--root", str(root), "--out", str(out),
             "--scheduler", address, "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(build)
        deadline = time.monotonic() + 120
        while not list((out / "shards").glob("*.json")) and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        workers[0].send_signal(signal.SIGKILL)  # mid-build: its running task (if any) is re-run elsewhere
        output, _ = build.communicate(timeout=180)
        assert build.returncode == 0, output.decode(errors="replace")
    finally:
        _stop(procs)
        logs.close()
    files, built, run = build_output(out)
    ref_files, ref_built, _ = build_output(ref)
    assert files == ref_files
    assert built == ref_built
    assert address in run["scheduler"]


def _malloc_settings_of_this_process(_unused):
    from dataprep import malloc

    return malloc._malloc_set


def test_shard_tasks_apply_the_malloc_settings_in_forked_and_spawned_workers(tmp_path):
    """Dask's default ``MALLOC_TRIM_THRESHOLD_`` (64 KiB) made decodes ~1.8x slower; environment variables
    never reach a forked worker's malloc, so each shard task sets them itself (``mallopt``)."""
    from dataprep.cluster import open_executor
    from dataprep.config import DaskConfig
    from dataprep.sources import get_source
    from dataprep.task import build_shard, plan_shards

    root = tmp_path / "tn"
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=1, frames=4, size=(96, 72), seed=1)
    settings = (123 << 20, 77 << 20)
    for method in ("fork", "spawn"):
        dask_cfg = DaskConfig(workers=1, malloc_trim_threshold_bytes=settings[0], malloc_top_pad_bytes=settings[1],
                              start_method=method)
        cfg = _cfg(root, tmp_path / method, 1).replace(dask=dask_cfg)
        (task,) = plan_shards(get_source("trackingnet").list_videos(str(root))[0], cfg, tmp_path / method)
        with open_executor(dask_cfg, preload="dataprep.task") as executor:
            assert list(executor.client.run(_malloc_settings_of_this_process, "").values()) != [settings], method
            (outcome,) = executor.run(build_shard, [task])
            assert outcome.error is None and outcome.result["records"] > 0
            applied = executor.client.run(_malloc_settings_of_this_process, "").values()
        assert list(applied) == [settings], method
