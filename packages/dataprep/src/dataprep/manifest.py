"""The manifest writer: ``manifest/samples.parquet``, ``manifest/skipped.parquet`` and ``build.json``.

Their column schemas live in :mod:`siamcore.manifest` (shared with the trainer's reader).

All files are written atomically (temp name in the same folder, fsync, rename) and
deterministically (explicit Arrow schemas, rows in shard then key order, canonical JSON), so two
builds of the same inputs and config give identical files; only ``build.json``'s ``"run"``
section (timestamps, host, durations, workers, paths) differs. ``build.json`` is written last:
its presence means the build is complete.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from siamcore.atomic import atomic_open
from siamcore.manifest import samples_schema, skipped_schema

# Declared in siamcore.manifest, whose column names the trainer reads by; built here once for the writers.
SAMPLES_SCHEMA = samples_schema()
SKIPPED_SCHEMA = skipped_schema()

ROW_GROUP_ROWS = 16_384
"""Rows per Parquet row group of the manifest: what the client holds at once while writing it."""
WRITE_OPTIONS = {"compression": "zstd", "write_statistics": True, "store_schema": True}


def table_bytes(rows: list[dict], schema: pa.Schema) -> bytes:
    """A Parquet file of ``rows`` (list of dicts) with an explicit schema, as bytes."""
    table = pa.Table.from_pylist(rows, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, **WRITE_OPTIONS)
    return sink.getvalue()


def samples_bytes(rows: list[dict]) -> bytes:
    """The rows of one shard as a Parquet file (``shards/<name>.parquet``)."""
    return table_bytes(rows, SAMPLES_SCHEMA)


def write_streamed(path: str | os.PathLike, schema: pa.Schema, parts: Iterable[pa.Table | list[dict]]) -> int:
    """Write ``parts`` (tables or lists of row dicts, in order) as one Parquet file, atomically, holding at
    most :data:`ROW_GROUP_ROWS` rows at a time; returns the row count. Row groups are cut every
    ``ROW_GROUP_ROWS`` rows whatever the parts' sizes, so the same rows give the same bytes."""
    pending: list[pa.Table] = []
    held = total = 0
    with atomic_open(path) as f, pq.ParquetWriter(f, schema, **WRITE_OPTIONS) as writer:
        for part in parts:
            table = part if isinstance(part, pa.Table) else pa.Table.from_pylist(part, schema=schema)
            pending.append(table.cast(schema))
            held += table.num_rows
            total += table.num_rows
            while held >= ROW_GROUP_ROWS:
                joined = pa.concat_tables(pending)
                writer.write_table(joined.slice(0, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
                pending, held = [joined.slice(ROW_GROUP_ROWS)], held - ROW_GROUP_ROWS
        if held or total == 0:
            writer.write_table(pa.concat_tables(pending) if pending else schema.empty_table(),
                               row_group_size=ROW_GROUP_ROWS)
    return total

