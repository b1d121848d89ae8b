"""``dataprep verify`` on damaged builds: a truncated shard, records whose bytes changed on disk.

The damage is done to a real build's LMDB files, the way a bad disk or an interrupted copy does it,
and verify runs as the installed command (a SIGBUS would kill it without a word).
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import msgpack

from siamcore import schema
from siamcore.shards import ShardReader, ShardWriter, file_sha256, open_build

from dataprep.build import run_build
from dataprep.config import OutputConfig, load_config, with_overrides

from testkit.shards import flip_in_record

BIN = Path(sys.executable).parent


def _build(root, out) -> Path:
    cfg = load_config(None, "trackingnet").replace(output=OutputConfig(videos_per_shard=2))
    run_build(with_overrides(cfg, root=root, out=out, scheduler="synchronous"), show_progress=False)
    return out


def _verify(out) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run([str(BIN / "dataprep"), "verify", str(out), "--no-progress"], capture_output=True,
                          text=True, timeout=300, env=env)


def test_verify_names_a_truncated_shard_and_each_damaged_record(trackingnet_root, tmp_path):
    out = _build(trackingnet_root, tmp_path / "out")
    assert _verify(out).returncode == 0
    info = open_build(out)
    box_key = ShardReader(info.shards[0].path).keys()[1]
    jpeg_key = ShardReader(info.shards[2].path).keys()[0]

    # One bit of the search box's first coordinate: its exponent grows by 64 (the 1.46e21 box).
    box = ShardReader(info.shards[0].path).get(box_key)["crops"]["search"]["box_xyxy"]
    flip_in_record(info.shards[0].path, box_key, msgpack.packb(box), 2, 0x04)
    # One byte in the middle of a crop's JPEG: it may well still decode.
    jpeg = ShardReader(info.shards[2].path).get(jpeg_key)["crops"]["search"]["jpeg"]
    flip_in_record(info.shards[2].path, jpeg_key, jpeg[len(jpeg) // 2 : len(jpeg) // 2 + 32], 0, 0x5A)
    # shard-00001 loses its second half.
    truncated = info.shards[1].path
    os.truncate(truncated, truncated.stat().st_size // 2)

    proc = _verify(out)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode not in (-signal.SIGBUS, 128 + signal.SIGBUS), text
    assert proc.returncode == 1, text
    assert "shard shard-00001: damaged" in text and "truncated" in text and "rebuild" in text
    # verify went on past the damaged shard and named each changed record, with its shard
    assert f"shard shard-00000: record {box_key}: " in text and "checksum" in text
    assert f"shard shard-00002: record {jpeg_key}: " in text
    good = [k for k in ShardReader(info.shards[0].path).keys() if k != box_key]
    assert not any(k in text for k in good)


def test_verify_reads_a_version_1_build(trackingnet_root, tmp_path):
    """A build written before records had checksums: every record rewritten in the version-1 layout
    (plain msgpack, ``schema`` 1) still verifies, and a box far outside its crop is still caught."""
    out = _build(trackingnet_root, tmp_path / "out")
    build = json.loads((out / "build.json").read_text())
    bad_key = None
    for s in build["shards"]:
        path = out / "shards" / f"{s['name']}.lmdb"
        records = list(ShardReader(path))
        with ShardWriter(path) as w:
            for r in records:
                if bad_key is None:
                    bad_key = r["key"]
                    r["crops"]["search"]["box_xyxy"][0] = 1.46e21
                w.add_raw(r["key"], msgpack.packb(r | {"schema": 1}, use_bin_type=True))
        s["sha256"] = file_sha256(path)
    build["schema_version"] = 1
    (out / "build.json").write_text(json.dumps(build))
    assert open_build(out).build["schema_version"] == 1 and schema.SCHEMA_VERSION == 2

    proc = _verify(out)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 1 and "1 problem(s)" in text, text
    assert f"record {bad_key}: " in text and "box_xyxy" in text
