"""``dataprep stats BUILD``: what a build holds, from its manifest (no shard is opened).

Counts per dataset and class, negative and distractor rates, record flags, the target's size and
aspect in the primary search crop (histograms), and bytes per record; as terminal tables, and with
``--plot stats.png`` as matplotlib histograms. :func:`compute_stats` is pure (rows in, numbers out).
"""

from __future__ import annotations

import io
import math
from collections import Counter
from pathlib import Path

import numpy as np
from rich.table import Table

from siamcore.atomic import write_bytes_atomic
from siamcore.shards import open_build

from siamcore.manifest import read_table
from dataprep.report import counts_table, human_bytes, key_value_table

SIZE_BINS_PX = (0, 16, 32, 48, 64, 96, 128, 192, 256, 1e9)
"""Target size ``sqrt(w h)`` in search-crop px (SiamRPN's nominal target is ~64 px of 255)."""
ASPECT_BINS = (0, 1 / 4, 1 / 2, 2 / 3, 1.5, 2, 4, 1e9)
"""Target aspect ``w / h``."""
BAR_WIDTH = 30


def compute_stats(columns: dict[str, list]) -> dict:
    """Everything ``stats`` reports, from manifest columns (``samples.parquet`` ``to_pydict()``)."""
    n = len(columns["key"])
    x0, y0, x1, y1 = (np.asarray(columns[k], dtype=np.float64) for k in ("x0", "y0", "x1", "y1"))
    w, h = np.clip(x1 - x0, 0, None), np.clip(y1 - y0, 0, None)
    size = np.sqrt(w * h)
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.where(h > 0, w / np.where(h > 0, h, 1), np.nan)
    nbytes = np.asarray(columns["bytes"], dtype=np.float64)
    flags = Counter(f for text in columns.get("flags", [""] * n) for f in (text or "").split(",") if f)
    negatives = int(np.sum(columns["negative"])) if n else 0
    distractors = int(np.sum(columns["has_distractor"])) if n else 0
    return {
        "pairs": n,
        "negatives": negatives,
        "negative_rate": negatives / n if n else 0.0,
        "with_distractor": distractors,
        "distractor_rate": distractors / n if n else 0.0,
        "by_dataset": dict(Counter(columns["dataset"]).most_common()),
        "by_class": dict(Counter(c or "(unknown)" for c in columns["class_name"]).most_common()),
        "flags": dict(flags.most_common()),
        "size_px": size,
        "aspect": aspect,
        "bytes": nbytes,
        "size_hist": _hist(size, SIZE_BINS_PX),
        "aspect_hist": _hist(aspect[np.isfinite(aspect)], ASPECT_BINS),
        "bytes_mean": float(nbytes.mean()) if n else 0.0,
        "bytes_median": float(np.median(nbytes)) if n else 0.0,
        "bytes_p95": float(np.percentile(nbytes, 95)) if n else 0.0,
        "bytes_total": float(nbytes.sum()),
    }


def _hist(values: np.ndarray, edges) -> list[tuple[float, float, int]]:
    counts, _ = np.histogram(values, bins=np.asarray(edges, dtype=np.float64))
    return [(float(edges[i]), float(edges[i + 1]), int(c)) for i, c in enumerate(counts)]


def _bin_label(lo: float, hi: float, fmt: str) -> str:
    if hi >= 1e9:
        return f">= {lo:{fmt}}"
    return f"{lo:{fmt}} - {hi:{fmt}}"


def _bar(count: int, largest: int) -> str:
    return "█" * (round(BAR_WIDTH * count / largest) if largest else 0)


def stats_tables(stats: dict, title: str, top: int = 20) -> list[Table]:
    n = stats["pairs"]
    tables = [key_value_table(title, [
        ("pairs", f"{n:,}"),
        ("negative", f"{stats['negatives']:,} ({stats['negative_rate']:.1%})"),
        ("with distractor", f"{stats['with_distractor']:,} ({stats['distractor_rate']:.1%})"),
        ("bytes / record", f"mean {human_bytes(stats['bytes_mean'])}, median {human_bytes(stats['bytes_median'])}, "
                           f"p95 {human_bytes(stats['bytes_p95'])}"),
        ("bytes total", human_bytes(stats["bytes_total"])),
    ])]
    tables.append(counts_table("pairs per dataset", "dataset", stats["by_dataset"], n))
    tables.append(counts_table(f"pairs per class (top {top})", "class", stats["by_class"], n, top))
    if stats["flags"]:
        tables.append(counts_table("records per flag", "flag", stats["flags"], n))
    for name, key, fmt in (("target size sqrt(w*h), search-crop px", "size_hist", ".0f"),
                           ("target aspect w/h", "aspect_hist", ".2f")):
        t = Table(title=name, title_justify="left")
        t.add_column("bin")
        t.add_column("pairs", justify="right")
        t.add_column("")
        largest = max((c for _, _, c in stats[key]), default=0)
        for lo, hi, c in stats[key]:
            t.add_row(_bin_label(lo, hi, fmt), f"{c:,}", _bar(c, largest))
        tables.append(t)
    return tables


def plot_stats(stats: dict, path: str | Path, title: str, top: int = 20) -> None:
    """Histograms of target size, aspect and bytes per record, and the top classes, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    size, aspect, nbytes = stats["size_px"], stats["aspect"], stats["bytes"]
    ax = axes[0, 0]
    ax.hist(size, bins=40, color="#3060d0")
    ax.set(title="target size in the search crop", xlabel="sqrt(w h), px", ylabel="pairs")
    ax = axes[0, 1]
    finite = aspect[np.isfinite(aspect) & (aspect > 0)]
    if finite.size:
        lo, hi = max(finite.min(), 1e-3), max(finite.max(), 1e-3 * 1.01)
        ax.hist(finite, bins=np.geomspace(lo, hi if hi > lo else lo * 1.01, 40), color="#30a050")
    ax.set_xscale("log")
    ax.set(title="target aspect", xlabel="w / h (log)", ylabel="pairs")
    ax = axes[1, 0]
    ax.hist(nbytes / 1024.0, bins=40, color="#808080")
    ax.set(title="bytes per record", xlabel="KiB", ylabel="pairs")
    ax = axes[1, 1]
    classes = list(stats["by_class"].items())[:top][::-1]
    ax.barh([k for k, _ in classes], [c for _, c in classes], color="#d04040")
    ax.set(title=f"pairs per class (top {top})", xlabel="pairs")
    ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())


def build_stats(out_dir: str | Path) -> tuple[dict, str]:
    """``(stats, title)`` of the build in ``out_dir``; FileNotFoundError / SchemaError like ``open_build``."""
    info = open_build(out_dir)
    columns = read_table(info.samples_path).to_pydict()
    b = info.build
    title = f"stats of {Path(out_dir)} ({b['dataset']}, {b['counts']['pairs']:,} pairs)"
    stats = compute_stats(columns)
    if not math.isclose(stats["pairs"], b["counts"]["pairs"]):
        title += " [manifest and build.json disagree: run dataprep verify]"
    return stats, title
