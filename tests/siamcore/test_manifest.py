"""The build manifest's schema: declared once as plain data, built into Arrow schemas on demand."""

import subprocess
import sys

import pyarrow as pa

from siamcore import manifest


def test_schemas_hold_the_declared_columns_in_order_with_their_types():
    for columns, schema in ((manifest.SAMPLES_COLUMNS, manifest.samples_schema()),
                            (manifest.SKIPPED_COLUMNS, manifest.skipped_schema())):
        assert schema.names == list(columns)
        assert [str(t) for t in schema.types] == [str(pa.type_for_alias(a)) for a in columns.values()]
    samples = manifest.samples_schema()
    assert samples.field("negative").type == pa.bool_() and samples.field("chunk").type == pa.int32()
    assert samples.field("x0").type == pa.float64() and samples.field("bytes").type == pa.int64()


def test_read_table_reads_all_columns_or_the_ones_asked_for(tmp_path):
    rows = [{"dataset": "vid", "where": "a/b", "reason": "no box", "detail": ""}]
    path = tmp_path / "skipped.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows, schema=manifest.skipped_schema()), path)
    assert manifest.read_table(path).to_pylist() == rows
    assert manifest.read_table(path, ("where", "reason")).to_pydict() == {"where": ["a/b"], "reason": ["no box"]}


def test_the_column_names_import_without_pyarrow_and_the_schemas_say_what_to_install():
    code = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"
        "from siamcore import manifest\n"
        "assert 'shard' in manifest.SAMPLES_COLUMNS\n"
        "try:\n"
        "    manifest.samples_schema()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "siamtrack-core[shards]" in out.stdout
