"""Tables for the terminal: the build summary, ``dataprep info``, and the two table shapes that
``dataprep stats`` shares with them (a key/value overview, counts with shares)."""

from __future__ import annotations

from collections import Counter

from rich.markup import escape
from rich.table import Table

from siamcore.shards import BuildInfo

from siamcore.manifest import read_table
from dataprep.sources import SOURCES

SKIPPED_SHOWN = 15
"""Skipped inputs listed one by one by ``dataprep info`` (all are in ``manifest/skipped.parquet``)."""


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n}"  # pragma: no cover


def key_value_table(title: str, rows: list[tuple[str, str]], right: bool = True) -> Table:
    """A two-column overview: bold names, values (right-aligned numbers unless ``right`` is False).
    Title and cells are escaped: they hold paths and names that rich would read as markup."""
    t = Table(title=escape(title), show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right" if right else "left")
    for name, value in rows:
        t.add_row(escape(name), escape(value))
    return t


def counts_table(title: str, column: str, counts: dict, total: int | None = None, limit: int | None = None) -> Table:
    """``column | pairs [| share of total]`` for ``counts`` in their order; past ``limit`` rows, one
    "(N more)" row sums the rest. Names (classes, datasets) are escaped: rich would read ``[x]`` as markup."""
    t = Table(title=escape(title), title_justify="left")
    t.add_column(column)
    t.add_column("pairs", justify="right")
    if total is not None:
        t.add_column("share", justify="right")
    items = list(counts.items())

    def row(name: str, c: int) -> None:
        share = [(f"{c / total:.1%}" if total else "-")] if total is not None else []
        t.add_row(escape(name), f"{c:,}", *share)

    for k, c in items[:limit]:
        row(str(k), c)
    if limit is not None and len(items) > limit:
        row(f"({len(items) - limit} more)", sum(c for _, c in items[limit:]))
    return t


def unit_noun(dataset: str) -> str:
    """What a listing unit is (its spec's ``unit``): an image for the still-image datasets, a video otherwise."""
    spec = SOURCES.get(dataset)
    return spec.unit if spec is not None else "videos"


def build_summary_table(build: dict) -> Table:
    """Sequences, pairs, skipped by reason, bytes, wall time, pairs/s of one build run."""
    counts, run = build["counts"], build.get("run", {})
    skipped = counts["skipped"]
    rows = [
        (unit_noun(build["dataset"]), f"{counts['videos']:,}"),
        ("sequences", f"{counts['sequences']:,}"),
        ("pairs", f"{counts['pairs']:,} ({counts['negatives']:,} negative)"),
        ("shards", f"{counts['shards']:,} ({run.get('shards_built', 0)} built, {run.get('shards_reused', 0)} reused)"),
        ("skipped", f"{sum(skipped.values()):,}"),
        *((f"  {reason}", f"{n:,}") for reason, n in skipped.items()),
        ("bytes", human_bytes(counts["bytes"])),
        ("wall time", f"{run.get('wall_s', 0.0):.1f} s"),
    ]
    work = run.get("work_wall_s", 0.0)
    if work > 0:
        rows.append(("pairs/s", f"{run.get('pairs_built', 0) / work:,.1f}"))
    return key_value_table(f"dataprep build: {build['dataset']}", rows)


def info_tables(info: BuildInfo, top: int = 12) -> list[Table]:
    """Overview, views, per-class / per-chunk counts, skipped inputs by reason and the first ones
    one by one (paths under the dataset root are written ``ROOT/``)."""
    b = info.build
    counts, run = b["counts"], b.get("run", {})
    rows = [
        ("dataset", b["dataset"]),
        ("config sha256", b["config_sha256"][:16]),
        ("seed", str(b["seed"])),
        ("schema version", str(b["schema_version"])),
        ("resampling", b["resampling"]),
        ("jpeg quality", str(b["jpeg_quality"])),
        ("shards", f"{len(info.shards):,}"),
        ("pairs", f"{counts['pairs']:,} ({counts['negatives']:,} negative)"),
        (f"{unit_noun(b['dataset'])} / sequences", f"{counts['videos']:,} / {counts['sequences']:,}"),
        ("bytes", human_bytes(counts["bytes"])),
        ("input fingerprint", b["input_fingerprint"][:16]),
    ]
    if run:
        rows.append(("ROOT", str(run.get("root", "?"))))
        rows.append(("built", f"{run.get('finished_at', '?')} on {run.get('host', '?')} ({run.get('scheduler', '?')})"))
    tables = [key_value_table(f"build {info.out_dir}", rows, right=False)]

    views = Table(title="views", title_justify="left")
    for col in ("name", "role", "size", "context", "extent"):
        views.add_column(col)
    for name, v in info.views.items():
        views.add_row(escape(name), escape(v["role"]), str(v["size"]), str(v["context"]), str(v["extent"]))
    tables.append(views)

    if info.samples_path.is_file():
        table = read_table(info.samples_path).select(["class_name", "chunk"]).to_pydict()
        by_class = Counter(c or "(unknown)" for c in table["class_name"])
        tables.append(counts_table("pairs by class", "class", dict(by_class.most_common()), limit=top))
        chunks = Counter(table["chunk"])
        if len(chunks) > 1 or -1 not in chunks:
            tables.append(counts_table("pairs by chunk", "chunk", {c: chunks[c] for c in sorted(chunks)}))
    skipped = counts["skipped"]
    t = Table(title="skipped inputs", title_justify="left")
    t.add_column("reason")
    t.add_column("count", justify="right")
    for reason, n in skipped.items():
        t.add_row(escape(reason), f"{n:,}")
    if not skipped:
        t.add_row("(none)", "0")
    tables.append(t)
    if skipped and info.skipped_path.is_file():
        tables.append(skipped_details_table(read_table(info.skipped_path).to_pylist(), SKIPPED_SHOWN))
    return tables


def skipped_details_table(rows: list[dict], limit: int) -> Table:
    """The first ``limit`` skipped inputs: where, reason, detail."""
    shown = f"first {limit} of {len(rows):,}" if len(rows) > limit else f"all {len(rows):,}"
    t = Table(title=f"skipped inputs ({shown}; all in manifest/skipped.parquet)", title_justify="left")
    t.add_column("where", overflow="fold")
    t.add_column("reason")
    t.add_column("detail", overflow="fold")
    for r in rows[:limit]:
        t.add_row(escape(str(r["where"])), escape(str(r["reason"])), escape(str(r["detail"])))
    return t
