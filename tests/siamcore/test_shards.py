"""LMDB shards: atomic, byte-deterministic writer; lazy, fork-safe reader; build.json parsing."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys

import lmdb
import msgpack
import pytest

from siamcore import schema, shards


def _crop(role, payload=b""):
    return {
        "role": role, "size": 127, "context": 0.5, "extent": 1.0, "jpeg": b"\xff\xd8" + payload + b"\xff\xd9",
        "window_xyxy": [0.0, 0.0, 10.0, 10.0], "frame_wh": [320, 240], "box_xyxy": [1.0, 2.0, 3.0, 4.5],
        "guide_xyxy": None,
    }


def _record(i, payload_bytes=3000):
    payload = bytes((i * 7 + j) % 251 for j in range(payload_bytes + 37 * i))
    return {
        "schema": schema.SCHEMA_VERSION, "key": f"trackingnet/TRAIN_0/seq{i % 5}/0/{i:03d}", "dataset": "trackingnet",
        "chunk": 0, "sequence": f"seq{i % 5}", "track": "0", "class_name": "", "exemplar_sequence": f"seq{i % 5}",
        "exemplar_track": "0", "exemplar_frame": i, "search_frame": i + 1, "negative": i % 3 == 0,
        "crops": {"exemplar": _crop("exemplar", payload[:100]), "search": _crop("search", payload)},
        "distractors": [], "flags": [],
    }


def _write(path, records):
    with shards.ShardWriter(path) as w:
        for r in records:
            w.add(r)
    return w.sha256


def test_writer_is_byte_deterministic_whatever_the_insertion_order(tmp_path):
    records = [_record(i) for i in range(40)]
    a = _write(tmp_path / "a.lmdb", records)
    b = _write(tmp_path / "b.lmdb", list(reversed(records)))
    assert (tmp_path / "a.lmdb").read_bytes() == (tmp_path / "b.lmdb").read_bytes()
    assert a == b == shards.file_sha256(tmp_path / "a.lmdb")
    # single files, no lock files, no temp files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.lmdb", "b.lmdb"]


def test_reader_random_access_iteration_and_len(tmp_path):
    records = [_record(i) for i in range(25)]
    _write(tmp_path / "s.lmdb", records)
    reader = shards.ShardReader(tmp_path / "s.lmdb")
    by_key = {r["key"]: r for r in records}
    assert len(reader) == 25
    assert reader.keys() == sorted(by_key)
    assert [r["key"] for r in reader] == sorted(by_key)
    assert reader.get(records[7]["key"]) == records[7]
    assert reader.raw(records[3]["key"]) == schema.pack(records[3])
    assert records[4]["key"] in reader and "nope" not in reader
    with pytest.raises(KeyError):
        reader.get("nope")
    reader.close()
    assert not (tmp_path / "s.lmdb-lock").exists()


def test_exception_inside_writer_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with shards.ShardWriter(tmp_path / "s.lmdb") as w:
            w.add(_record(0))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_duplicate_keys_and_invalid_records_are_refused(tmp_path):
    w = shards.ShardWriter(tmp_path / "s.lmdb")
    w.add(_record(1))
    with pytest.raises(ValueError, match="duplicate"):
        w.add(_record(1))
    bad = _record(2)
    del bad["crops"]["search"]
    with pytest.raises(schema.SchemaError):
        w.add(bad)
    w.abort()


def test_corrupt_record_raises_schema_error(tmp_path):
    path = tmp_path / "s.lmdb"
    with shards.ShardWriter(path) as w:
        w.add(_record(0))
        w.add_raw("garbage", b"\xc1not msgpack")
    reader = shards.ShardReader(path)
    with pytest.raises(schema.SchemaError):
        reader.get("garbage")
    keys = []
    for key, raw in reader.iter_raw():
        try:
            keys.append(schema.unpack(raw)["key"])
        except schema.SchemaError:
            keys.append(None)
    assert keys == [None, _record(0)["key"]]  # "garbage" sorts before "trackingnet/..."


def test_missing_file_error_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.lmdb"):
        len(shards.ShardReader(tmp_path / "nope.lmdb"))


def _count_in_child(reader, queue):
    queue.put((len(reader), reader.get(reader.keys()[0])["key"]))


def test_reader_created_in_parent_works_in_forked_and_spawned_children(tmp_path):
    records = [_record(i) for i in range(6)]
    _write(tmp_path / "s.lmdb", records)
    reader = shards.ShardReader(tmp_path / "s.lmdb")
    assert len(reader) == 6  # opened in the parent before the fork
    for method in ("fork", "spawn"):
        ctx = multiprocessing.get_context(method)
        queue = ctx.Queue()
        proc = ctx.Process(target=_count_in_child, args=(reader, queue))
        proc.start()
        result = queue.get(timeout=60)
        proc.join(timeout=60)
        assert proc.exitcode == 0
        assert result == (6, min(r["key"] for r in records))


def test_open_build_parses_build_json(tmp_path):
    sha = _write(tmp_path / "shards" / "shard-00000.lmdb", [_record(i) for i in range(3)])
    build = {
        "format": shards.BUILD_FORMAT, "schema_version": schema.SCHEMA_VERSION, "dataset": "trackingnet",
        "views": {"exemplar": {"role": "exemplar", "size": 127, "context": 0.5, "extent": 1.0}},
        "shards": [{"name": "shard-00000", "sha256": sha, "records": 3, "bytes": 1}],
    }
    (tmp_path / "build.json").write_text(json.dumps(build))
    info = shards.open_build(tmp_path)
    assert info.dataset == "trackingnet" and info.num_records == 3
    assert info.views["exemplar"]["size"] == 127
    assert info.shards[0].path == tmp_path / "shards" / "shard-00000.lmdb"
    assert len(info.readers()["shard-00000"]) == 3
    assert info.samples_path == tmp_path / "manifest" / "samples.parquet"

    (tmp_path / "build.json").write_text(json.dumps(build | {"schema_version": 99}))
    with pytest.raises(schema.SchemaError, match="rebuild"):
        shards.open_build(tmp_path)
    os.remove(tmp_path / "build.json")
    with pytest.raises(FileNotFoundError, match="not a finished build"):
        shards.open_build(tmp_path)


def test_written_file_is_plain_lmdb(tmp_path):
    _write(tmp_path / "s.lmdb", [_record(1)])
    env = lmdb.open(str(tmp_path / "s.lmdb"), subdir=False, readonly=True, lock=False)
    with env.begin() as txn:
        assert schema.unpack(txn.get(_record(1)["key"].encode()))["search_frame"] == 2
    env.close()


def test_two_readers_of_one_file_and_a_rebuilt_file(tmp_path):
    path = tmp_path / "s.lmdb"
    _write(path, [_record(i) for i in range(4)])
    a, b = shards.ShardReader(path), shards.ShardReader(path)
    assert len(a) == len(b) == 4
    a.close()
    assert len(b) == 4  # b still works after a released its share
    _write(path, [_record(i) for i in range(9)])  # rebuilt under the same name (new inode)
    assert len(shards.ShardReader(path)) == 9
    b.close()


def _len_in_child(path) -> subprocess.CompletedProcess:
    """Open and count a shard in a fresh interpreter: a SIGBUS there cannot take the test run down."""
    code = "import sys; from siamcore.shards import ShardReader; print(len(ShardReader(sys.argv[1])))"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)


def test_truncated_shard_is_a_clear_error_not_a_sigbus(tmp_path):
    """LMDB maps the file and would fault (SIGBUS, exit 135, no message) on the first page past its end:
    the reader compares the file size with the last page its header names before opening it."""
    path = tmp_path / "shard-00007.lmdb"
    _write(path, [_record(i) for i in range(12)])
    size = path.stat().st_size
    assert _len_in_child(path).stdout.strip() == "12"
    os.truncate(path, size // 2)
    proc = _len_in_child(path)
    assert proc.returncode not in (-signal.SIGBUS, 128 + signal.SIGBUS) and proc.returncode != 0
    assert "ShardDamagedError" in proc.stderr and "shard-00007.lmdb" in proc.stderr
    assert f"{size // 2} bytes" in proc.stderr and f"{size} bytes" in proc.stderr and "truncated" in proc.stderr
    with pytest.raises(shards.ShardDamagedError, match="truncated"):
        shards.check_shard_file(path)


def test_shard_without_an_lmdb_header_is_a_clear_error(tmp_path):
    path = tmp_path / "s.lmdb"
    _write(path, [_record(i) for i in range(3)])
    data = bytearray(path.read_bytes())
    data[: 2 * 4096] = bytes(2 * 4096)
    path.write_bytes(bytes(data))
    with pytest.raises(shards.ShardDamagedError, match="not an LMDB file"):
        len(shards.ShardReader(path))
    path.write_bytes(b"short")
    with pytest.raises(shards.ShardDamagedError, match="s.lmdb"):
        shards.check_shard_file(path)


def test_reader_checks_each_record_checksum(tmp_path):
    """A record whose bytes changed inside the LMDB file (one bit of a box) is refused by key, the others read."""
    path = tmp_path / "s.lmdb"
    records = [_record(i) for i in range(5)]
    _write(path, records)
    key = records[2]["key"]
    box = msgpack.packb(records[2]["crops"]["search"]["box_xyxy"], use_bin_type=True)
    data = bytearray(path.read_bytes())
    at = data.find(schema.pack(records[2]))
    assert at >= 0 and data.count(box) >= 1
    at += schema.pack(records[2]).find(box) + 2  # first byte of the box's first float (big-endian double)
    data[at] ^= 0x04  # the exponent grows by 64: 1.0 -> 1.8e19
    path.write_bytes(bytes(data))
    reader = shards.ShardReader(path)
    with pytest.raises(schema.RecordChecksumError, match="checksum"):
        reader.get(key)
    others = [r["key"] for r in records if r["key"] != key]
    assert [reader.get(k)["key"] for k in others] == others
    reader.close()


def test_version_1_build_is_still_read(tmp_path):
    records = [_record(i) | {"schema": 1} for i in range(3)]
    path = tmp_path / "shards" / "shard-00000.lmdb"
    with shards.ShardWriter(path) as w:
        for r in records:
            w.add_raw(r["key"], msgpack.packb(r, use_bin_type=True))
    build = {"format": shards.BUILD_FORMAT, "schema_version": 1, "dataset": "trackingnet", "views": {},
             "shards": [{"name": "shard-00000", "sha256": w.sha256, "records": 3, "bytes": 1}]}
    (tmp_path / "build.json").write_text(json.dumps(build))
    info = shards.open_build(tmp_path)
    assert [r["key"] for r in info.readers()["shard-00000"]] == sorted(r["key"] for r in records)
