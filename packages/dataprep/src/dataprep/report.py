"""Tables for the terminal: the build summary and ``dataprep info``."""

from __future__ import annotations

from collections import Counter

from rich.table import Table

from siamcore.shards import BuildInfo

from dataprep.manifest import read_table


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n}"  # pragma: no cover


def build_summary_table(build: dict) -> Table:
    """Sequences, pairs, skipped by reason, bytes, wall time, pairs/s of one build run."""
    counts, run = build["counts"], build.get("run", {})
    t = Table(title=f"dataprep build: {build['dataset']}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("videos", f"{counts['videos']:,}")
    t.add_row("sequences", f"{counts['sequences']:,}")
    t.add_row("pairs", f"{counts['pairs']:,} ({counts['negatives']:,} negative)")
    t.add_row("shards", f"{counts['shards']:,} ({run.get('shards_built', 0)} built, "
                        f"{run.get('shards_reused', 0)} reused)")
    skipped = counts["skipped"]
    t.add_row("skipped", f"{sum(skipped.values()):,}")
    for reason, n in skipped.items():
        t.add_row(f"  {reason}", f"{n:,}")
    t.add_row("bytes", human_bytes(counts["bytes"]))
    wall = run.get("wall_s", 0.0)
    work = run.get("work_wall_s", 0.0)
    t.add_row("wall time", f"{wall:.1f} s")
    if work > 0:
        t.add_row("pairs/s", f"{run.get('pairs_built', 0) / work:,.1f}")
    return t


def info_tables(info: BuildInfo, top: int = 12) -> list[Table]:
    """Overview, views, and per-class / per-chunk / skipped counts of a finished build."""
    b = info.build
    counts = b["counts"]
    overview = Table(title=f"build {info.out_dir}", show_header=False, title_justify="left")
    overview.add_column(style="bold")
    overview.add_column()
    overview.add_row("dataset", b["dataset"])
    overview.add_row("config sha256", b["config_sha256"][:16])
    overview.add_row("seed", str(b["seed"]))
    overview.add_row("schema version", str(b["schema_version"]))
    overview.add_row("resampling", b["resampling"])
    overview.add_row("jpeg quality", str(b["jpeg_quality"]))
    overview.add_row("shards", f"{len(info.shards):,}")
    overview.add_row("pairs", f"{counts['pairs']:,} ({counts['negatives']:,} negative)")
    overview.add_row("videos / sequences", f"{counts['videos']:,} / {counts['sequences']:,}")
    overview.add_row("bytes", human_bytes(counts["bytes"]))
    overview.add_row("input fingerprint", b["input_fingerprint"][:16])
    run = b.get("run", {})
    if run:
        overview.add_row("built", f"{run.get('finished_at', '?')} on {run.get('host', '?')} ({run.get('scheduler', '?')})")

    views = Table(title="views", title_justify="left")
    for col in ("name", "role", "size", "context", "extent"):
        views.add_column(col)
    for name, v in info.views.items():
        views.add_row(name, v["role"], str(v["size"]), str(v["context"]), str(v["extent"]))

    tables = [overview, views]
    if info.samples_path.is_file():
        table = read_table(info.samples_path).select(["class_name", "chunk", "sequence"]).to_pydict()
        by_class = Counter(c or "(unknown)" for c in table["class_name"])
        t = Table(title="pairs by class", title_justify="left")
        t.add_column("class")
        t.add_column("pairs", justify="right")
        for name, n in by_class.most_common(top):
            t.add_row(name, f"{n:,}")
        tables.append(t)
        chunks = Counter(table["chunk"])
        if len(chunks) > 1 or -1 not in chunks:
            t = Table(title="pairs by chunk", title_justify="left")
            t.add_column("chunk")
            t.add_column("pairs", justify="right")
            for c in sorted(chunks):
                t.add_row(str(c), f"{chunks[c]:,}")
            tables.append(t)
    skipped = counts["skipped"]
    t = Table(title="skipped inputs", title_justify="left")
    t.add_column("reason")
    t.add_column("count", justify="right")
    for reason, n in skipped.items():
        t.add_row(reason, f"{n:,}")
    if not skipped:
        t.add_row("(none)", "0")
    tables.append(t)
    return tables
