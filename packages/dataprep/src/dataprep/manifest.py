"""The manifest: ``manifest/samples.parquet``, ``manifest/skipped.parquet`` and ``build.json``.

All files are written atomically (temp name in the same folder, fsync, rename) and
deterministically (explicit Arrow schemas, rows in shard then key order, canonical JSON), so two
builds of the same inputs and config give identical files; only ``build.json``'s ``"run"``
section (timestamps, host, durations, workers, paths) differs. ``build.json`` is written last:
its presence means the build is complete.
"""

from __future__ import annotations

import io
import os

import pyarrow as pa
import pyarrow.parquet as pq

from siamcore.atomic import write_bytes_atomic

SAMPLES_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("key", pa.string()),
        ("dataset", pa.string()),
        ("chunk", pa.int32()),
        ("sequence", pa.string()),
        ("track", pa.string()),
        ("class_name", pa.string()),
        ("exemplar_sequence", pa.string()),
        ("exemplar_track", pa.string()),
        ("exemplar_frame", pa.int32()),
        ("search_frame", pa.int32()),
        ("negative", pa.bool_()),
        ("has_distractor", pa.bool_()),
        ("flags", pa.string()),  # the record's flags, comma-separated ("photometric,distractor_no_room")
        ("x0", pa.float64()),
        ("y0", pa.float64()),
        ("x1", pa.float64()),
        ("y1", pa.float64()),
        ("bytes", pa.int64()),
    ]
)

SKIPPED_SCHEMA = pa.schema(
    [("dataset", pa.string()), ("where", pa.string()), ("reason", pa.string()), ("detail", pa.string())]
)


def table_bytes(rows: list[dict], schema: pa.Schema) -> bytes:
    """A Parquet file of ``rows`` (list of dicts) with an explicit schema, as bytes."""
    table = pa.Table.from_pylist(rows, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True, store_schema=True)
    return sink.getvalue()


def write_samples(path: str | os.PathLike, rows: list[dict]) -> None:
    write_bytes_atomic(path, table_bytes(rows, SAMPLES_SCHEMA))


def write_skipped(path: str | os.PathLike, rows: list[dict]) -> None:
    write_bytes_atomic(path, table_bytes(rows, SKIPPED_SCHEMA))


def read_table(path: str | os.PathLike) -> pa.Table:
    return pq.read_table(path)
