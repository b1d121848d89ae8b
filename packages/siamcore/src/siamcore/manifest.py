"""The build manifest's schema, declared once: the columns of ``OUT/manifest/samples.parquet`` (one row
per sample) and ``OUT/manifest/skipped.parquet`` (one row per skipped input) with their Arrow types.

Writer and reader share it, as FFCV's typed field schema is shared: ``dataprep.manifest`` writes both
files with exactly these schemas (explicit types and column order, so the same rows always give the
same bytes) and the trainer reads the sample columns it needs by these names. A column renamed or
retyped here changes both sides at once, and changes every build's bytes (the determinism tests'
golden hashes say so).

``pyarrow`` is imported lazily, as :mod:`siamcore.shards` imports ``lmdb``: the column names are plain
data any package may import; building the Arrow schemas or reading a manifest needs
``siamtrack-core[shards]``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

SAMPLES_COLUMNS: dict[str, str] = {  # name -> Arrow type alias (pyarrow.type_for_alias), in file order
    "shard": "string",  # the shard's name in build.json, whose LMDB file holds the record
    "key": "string",  # the record's key in that shard
    "dataset": "string",
    "chunk": "int32",
    "sequence": "string",
    "track": "string",
    "class_name": "string",
    "exemplar_sequence": "string",  # another sequence than ``sequence`` in a negative pair
    "exemplar_track": "string",
    "exemplar_frame": "int32",
    "search_frame": "int32",
    "negative": "bool",
    "has_distractor": "bool",
    "flags": "string",  # the record's flags, comma-separated ("photometric,distractor_no_room")
    "x0": "float64",  # the target's box in the search crop, xyxy px
    "y0": "float64",
    "x1": "float64",
    "y1": "float64",
    "bytes": "int64",  # the packed record's size
}

SKIPPED_COLUMNS: dict[str, str] = {"dataset": "string", "where": "string", "reason": "string", "detail": "string"}


def _pyarrow():
    try:
        import pyarrow
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("reading or writing manifests needs pyarrow: pip install 'siamtrack-core[shards]'") from exc
    return pyarrow


def arrow_schema(columns: dict[str, str]) -> pa.Schema:
    """The Arrow schema of ``columns`` (name -> type alias), in their order."""
    pa = _pyarrow()
    return pa.schema([(name, pa.type_for_alias(alias)) for name, alias in columns.items()])


@functools.cache
def samples_schema() -> pa.Schema:
    """The schema of ``manifest/samples.parquet`` and of each shard's ``shards/<name>.parquet``."""
    return arrow_schema(SAMPLES_COLUMNS)


@functools.cache
def skipped_schema() -> pa.Schema:
    """The schema of ``manifest/skipped.parquet``."""
    return arrow_schema(SKIPPED_COLUMNS)


def read_table(path: str | os.PathLike, columns: Iterable[str] | None = None) -> pa.Table:
    """A manifest file as an Arrow table: all its columns, or only ``columns``."""
    _pyarrow()
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=None if columns is None else list(columns))
