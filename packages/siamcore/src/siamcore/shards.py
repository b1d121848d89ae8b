"""LMDB shard files: the writer used by ``dataprep build`` and the reader used by the trainer.

A build folder ``OUT/`` holds::

    OUT/build.json                 written last: config, views, per-shard checksums, counts, "run" section
    OUT/shards/<name>.lmdb         one LMDB environment per shard, a single file (subdir=False)
    OUT/shards/<name>.parquet      the shard's manifest rows, written after the shard
    OUT/shards/<name>.json         per-shard sidecar (checksums, counts, skips), written last; for resume
    OUT/manifest/samples.parquet   one row per sample
    OUT/manifest/skipped.parquet   skipped inputs with reasons

Keys are the records' ``key`` (utf-8); values are :func:`siamcore.schema.pack` bytes (each with its
own checksum, checked on every read).

LMDB maps the file into memory and trusts its header: a truncated file makes the first read past its
end fault with SIGBUS, which kills the process without a message. :func:`check_shard_file` compares
the file's size with what its header says before every open and raises :class:`ShardDamagedError`.

Determinism: :class:`ShardWriter` buffers the records and writes them in sorted key order in one
transaction into a fresh environment (zero-initialised pages, a map size computed from the
data), so the same records always give a byte-identical file. The file appears under its final
name only when complete (temp name, fsync, rename), so a killed writer leaves no partial shard.

The ``lmdb`` package is imported lazily: ``siamcore`` itself (and so the tracker) never needs it;
install ``siamtrack-core[shards]`` to read or write shards.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from siamcore.atomic import atomic_path
from siamcore.schema import READABLE_VERSIONS, SCHEMA_VERSION, SchemaError, pack, unpack

BUILD_FILE = "build.json"
SHARDS_DIR = "shards"
MANIFEST_DIR = "manifest"
SHARD_SUFFIX = ".lmdb"
BUILD_FORMAT = "siamtrack-dataprep-build"
_PAGE = 4096


# LMDB's data file starts with two meta pages (0 and 1); the one with the larger txnid is current.
# Each is a page header (16 bytes on 64-bit builds), then MDB_meta: magic u32, version u32, address
# u64, mapsize u64, two MDB_db of 48 bytes (the first one's leading u32 is the page size), last_pg
# u64, txnid u64. Pages 0..last_pg hold the data, so the file needs (last_pg + 1) * page size bytes.
_MDB_MAGIC = 0xBEEFC0DE
_META = struct.Struct("<16xIIQQI44x48xQQ")  # page header, magic, version, address, mapsize, psize, last_pg, txnid


class ShardDamagedError(SchemaError):
    """A shard file that LMDB cannot safely open (truncated, or its header overwritten).

    A :class:`~siamcore.schema.SchemaError`, so that every command that already refuses unreadable
    data with a message reports it the same way."""


def check_shard_file(path: str | os.PathLike) -> None:
    """Raise :class:`ShardDamagedError` unless ``path`` is as long as its LMDB header says.

    Reads the two meta pages (plain file reads, no mapping) and takes the current one: the file must
    hold pages ``0 .. last_pg``. Cheap (two small reads), so readers call it before every open.
    """
    path = Path(path)
    advice = "rebuild it (`dataprep build` into the same folder rebuilds damaged shards)"
    size = path.stat().st_size
    with open(path, "rb") as f:
        first = f.read(_META.size)
        if len(first) < _META.size:
            raise ShardDamagedError(f"shard file {path} is {size} bytes, too short for an LMDB header; {advice}")
        metas = [_META.unpack(first)]
        page = metas[0][4]
        if page >= 512 and page & (page - 1) == 0:
            f.seek(page)
            second = f.read(_META.size)
            if len(second) == _META.size:
                metas.append(_META.unpack(second))
    if len(metas) < 2 or any(m[0] != _MDB_MAGIC or m[4] != page for m in metas):
        raise ShardDamagedError(
            f"shard file {path} is not an LMDB file (its header pages are damaged or missing); {advice}"
        )
    last_page = max(metas, key=lambda m: m[6])[5]
    needed = (last_page + 1) * page
    if size < needed:
        raise ShardDamagedError(
            f"shard file {path} is {size} bytes but its LMDB header says {needed} bytes: it is truncated "
            f"(an interrupted copy or a full disk); {advice}"
        )


def _lmdb():
    try:
        import lmdb
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("reading or writing shards needs lmdb: pip install 'siamtrack-core[shards]'") from exc
    return lmdb


def file_sha256(path: str | os.PathLike, chunk_bytes: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()


def _map_size_bytes(items: list[tuple[bytes, bytes]]) -> int:
    """A map size that always fits the data (values take whole overflow pages), from the data alone."""
    pages = sum((len(k) + len(v) + 64) // _PAGE + 2 for k, v in items)
    return (pages * _PAGE * 2 + (1 << 20) + (1 << 20) - 1) // (1 << 20) * (1 << 20)


class ShardWriter:
    """Write records into ``path`` atomically and deterministically.

    Use as a context manager (``with ShardWriter(path) as w: w.add(record)``) or call
    :meth:`close`. Records are validated and packed on :meth:`add`, kept in memory (a shard is
    tens of MB) and written at :meth:`close` in sorted key order; :meth:`abort` (or an exception
    inside ``with``) discards everything and leaves no file behind.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._items: dict[bytes, bytes] = {}
        self._closed = False
        self.sha256: str | None = None
        self.bytes_on_disk: int | None = None

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, record: dict[str, Any]) -> int:
        """Validate, pack and buffer one record; returns its packed size in bytes."""
        return self.add_raw(record["key"], pack(record))

    def add_raw(self, key: str, value: bytes) -> int:
        if self._closed:
            raise RuntimeError(f"shard writer for {self.path} is closed")
        k = key.encode("utf-8")
        if k in self._items:
            raise ValueError(f"duplicate record key {key!r} in shard {self.path.name}")
        self._items[k] = bytes(value)
        return len(value)

    def close(self) -> str:
        """Write the file (temp name, fsync, rename); returns its sha256."""
        if self._closed:
            return self.sha256 or ""
        self._closed = True
        lmdb = _lmdb()
        items = sorted(self._items.items())
        self._items = {}
        with atomic_path(self.path) as tmp:
            try:
                env = lmdb.open(
                    str(tmp),
                    subdir=False,
                    map_size=_map_size_bytes(items),
                    lock=False,
                    meminit=True,
                    sync=False,
                    metasync=False,
                    readahead=False,
                    max_dbs=0,
                )
                try:
                    with env.begin(write=True) as txn:
                        for k, v in items:
                            txn.put(k, v, append=True)
                    env.sync(True)
                finally:
                    env.close()
                self.sha256 = file_sha256(tmp)
                self.bytes_on_disk = tmp.stat().st_size
            finally:
                Path(f"{tmp}-lock").unlink(missing_ok=True)
        return self.sha256

    def abort(self) -> None:
        self._closed = True
        self._items = {}


class _SharedEnvs:
    """Read-only environments shared by all readers of one file in this process.

    LMDB (and py-lmdb's guard) forbid opening one file twice in a process, so readers of the same
    shard share one environment, reference-counted. Entries are keyed by the file's identity
    (device, inode): a shard rebuilt under the same name gets a fresh environment. An entry
    inherited through ``fork`` is closed in the child (its own copy) and reopened.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, list] = {}  # key -> [env, refs, pid]

    @staticmethod
    def key(path: Path) -> tuple:
        st = os.stat(path)
        return (st.st_dev, st.st_ino)

    def acquire(self, path: Path):
        if not path.is_file():
            raise FileNotFoundError(f"shard file not found: {path}")
        key = self.key(path)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[2] != os.getpid():
                try:
                    entry[0].close()
                except Exception:  # pragma: no cover - best effort on the child's copy
                    pass
                entry = None
            if entry is None:
                check_shard_file(path)
                env = _lmdb().open(str(path), subdir=False, readonly=True, lock=False, readahead=False, max_dbs=0)
                entry = [env, 0, os.getpid()]
                self._entries[key] = entry
            entry[1] += 1
            return key, entry[0]

    def release(self, key: tuple) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[2] != os.getpid():
                return
            entry[1] -= 1
            if entry[1] <= 0:
                entry[0].close()
                del self._entries[key]


_ENVS = _SharedEnvs()


class ShardReader:
    """Read one shard: random access by key and sequential iteration.

    The LMDB environment is opened lazily on first use and re-opened in a new process (after
    ``fork`` or when sent to a DataLoader worker), so a reader can be created in the parent and
    used in workers. Opened ``readonly=True, lock=False, subdir=False, readahead=False``; readers
    of the same file in one process share one environment.

    Records that do not unpack (or whose checksum differs) raise :class:`siamcore.schema.SchemaError`
    (log and skip them); a damaged file raises :class:`ShardDamagedError` on first use.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._env = None
        self._env_key: tuple | None = None
        self._pid: int | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])

    def __repr__(self) -> str:
        return f"ShardReader({str(self.path)!r})"

    def _open(self):
        if self._env is None or self._pid != os.getpid():
            self._env_key, self._env = _ENVS.acquire(self.path)
            self._pid = os.getpid()
        return self._env

    def close(self) -> None:
        """Release this reader's share of the environment (reopened on next use)."""
        if self._env is not None and self._pid == os.getpid():
            _ENVS.release(self._env_key)
        self._env = None
        self._env_key = None
        self._pid = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __enter__(self) -> ShardReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._open().stat()["entries"])

    def keys(self) -> list[str]:
        """All keys, in sorted (cursor) order."""
        with self._open().begin(buffers=False) as txn:
            return [bytes(k).decode("utf-8") for k in txn.cursor().iternext(keys=True, values=False)]

    def __contains__(self, key: str) -> bool:
        with self._open().begin() as txn:
            return txn.get(key.encode("utf-8")) is not None

    def raw(self, key: str) -> bytes:
        """The packed bytes of one record; KeyError when absent."""
        with self._open().begin() as txn:
            value = txn.get(key.encode("utf-8"))
        if value is None:
            raise KeyError(f"no record {key!r} in shard {self.path.name}")
        return bytes(value)

    def get(self, key: str) -> dict[str, Any]:
        """One record as a dict; KeyError when absent, SchemaError when it does not unpack."""
        return unpack(self.raw(key))

    def iter_raw(self) -> Iterator[tuple[str, bytes]]:
        """``(key, packed bytes)`` in cursor order: use with ``schema.unpack`` to skip bad records one by one."""
        with self._open().begin() as txn:
            for k, v in txn.cursor():
                yield bytes(k).decode("utf-8"), bytes(v)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Records in cursor (sorted key) order; a bad record raises SchemaError (see :meth:`iter_raw`)."""
        for _, value in self.iter_raw():
            yield unpack(value)


@dataclass(frozen=True)
class ShardInfo:
    """One shard as listed in ``build.json``."""

    name: str
    path: Path
    sha256: str
    records: int
    bytes: int

    def reader(self) -> ShardReader:
        return ShardReader(self.path)


@dataclass(frozen=True)
class BuildInfo:
    """A finished build folder, parsed from its ``build.json``.

    ``views`` maps view name -> ``{"role", "size", "context", "extent"}``; ``build`` is the whole
    parsed ``build.json`` (``build["run"]`` holds what may differ between runs).
    """

    out_dir: Path
    build: dict[str, Any]
    shards: tuple[ShardInfo, ...]
    views: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return self.build["dataset"]

    @property
    def samples_path(self) -> Path:
        return self.out_dir / MANIFEST_DIR / "samples.parquet"

    @property
    def skipped_path(self) -> Path:
        return self.out_dir / MANIFEST_DIR / "skipped.parquet"

    @property
    def num_records(self) -> int:
        return sum(s.records for s in self.shards)

    def shard(self, name: str) -> ShardInfo:
        for s in self.shards:
            if s.name == name:
                return s
        raise KeyError(f"no shard {name!r} in build {self.out_dir}")

    def readers(self) -> dict[str, ShardReader]:
        """Shard name -> lazily opened reader, in build order."""
        return {s.name: s.reader() for s in self.shards}


def shard_path(out_dir: str | os.PathLike, name: str) -> Path:
    return Path(out_dir) / SHARDS_DIR / f"{name}{SHARD_SUFFIX}"


def open_build(out_dir: str | os.PathLike) -> BuildInfo:
    """Parse ``OUT/build.json``; FileNotFoundError when the build is unfinished, SchemaError when
    it was written for another record schema version."""
    out = Path(out_dir)
    build_file = out / BUILD_FILE
    if not build_file.is_file():
        raise FileNotFoundError(
            f"{build_file} not found: {out} is not a finished build (build.json is written last); "
            "run or resume `dataprep build` into it"
        )
    try:
        build = json.loads(build_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{build_file} is not valid JSON: {exc}") from exc
    if not isinstance(build, dict) or build.get("format") != BUILD_FORMAT:
        raise SchemaError(f"{build_file} is not a dataprep build description")
    if build.get("schema_version") not in READABLE_VERSIONS:
        raise SchemaError(
            f"{build_file}: records are schema version {build.get('schema_version')!r}, this code reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))} (writes {SCHEMA_VERSION}): rebuild the shards "
            "with the matching dataprep version"
        )
    shards = tuple(
        ShardInfo(
            name=s["name"],
            path=shard_path(out, s["name"]),
            sha256=s["sha256"],
            records=int(s["records"]),
            bytes=int(s["bytes"]),
        )
        for s in build["shards"]
    )
    return BuildInfo(out_dir=out, build=build, shards=shards, views=dict(build.get("views", {})))
