"""Success and precision plots (OTB style, like the seed's figure 17): one curve per tracker,
the AUC (success) or the value at 20 px (precision) in the legend, best first; success plots per
sequence attribute (OTB's occlusion, scale variation ...) as the OTB toolkit draws them; per-sequence
size and centre drift over the frames (:func:`plot_drift`). PNG via Agg.

Every tracker in one plot must average over the same sequences (the title gives their number):
restrict result folders with :func:`tracker.evaluation.scoring.common_sequences` first."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from siamcore.atomic import atomic_path  # noqa: E402

import numpy as np  # noqa: E402
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator  # noqa: E402

from .metrics import (  # noqa: E402
    NORM_PRECISION_THRESHOLDS,
    OTB_ATTRIBUTES,
    PRECISION_REPORT_PX,
    PRECISION_THRESHOLDS_PX,
    SIZE_BAND,
    SUCCESS_THRESHOLDS,
    FrameDrift,
    SequenceCurves,
    mean_curves,
    sequences_by_attribute,
)


def _save(fig, path: Path, title: str) -> Path:
    """PNG with ``title`` also in its metadata (``Image.open(path).info["Title"]``), so that scripts and
    tests can tell what a plot shows without looking at it; the legend's entries, top to bottom, go to
    ``info["Description"]`` one per line."""
    path = Path(path)
    legend = fig.axes[0].get_legend() if fig.axes else None
    labels = "\n".join(t.get_text() for t in legend.get_texts()) if legend is not None else ""
    try:
        with atomic_path(path) as tmp:  # the temp name has no .png suffix to infer the format from
            fig.savefig(tmp, format="png", dpi=120, metadata={"Title": title, "Description": labels})
    finally:
        plt.close(fig)
    return path


def _plot(curves: dict[str, SequenceCurves], attr: str, thresholds, value, xlabel: str, ylabel: str, title: str,
          path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ranked = sorted(curves.items(), key=lambda kv: -value(kv[1]))
    for name, c in ranked:
        ax.plot(thresholds, getattr(c, attr), linewidth=2, label=f"{name} [{value(c):.3f}]")
    ax.set_xlim(thresholds[0], thresholds[-1])
    ax.set_ylim(0, 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left" if attr == "success" else "lower right", fontsize=9)
    fig.tight_layout()
    return _save(fig, path, title)


def plot_all(per_tracker: dict[str, dict[str, SequenceCurves]], out_dir: Path, benchmark: str = "OTB") -> list[Path]:
    """Write ``success.png``, ``precision.png`` and ``norm_precision.png`` under ``out_dir``."""
    n_seq = len(_common_names(per_tracker))
    overall = {name: mean_curves(list(seqs.values())) for name, seqs in per_tracker.items() if seqs}
    out_dir = Path(out_dir)
    return [
        _plot(overall, "success", SUCCESS_THRESHOLDS, lambda c: c.auc, "Overlap threshold", "Success rate",
              f"Success plots of OPE on {benchmark} ({n_seq} seq.)", out_dir / "success.png"),
        _plot(overall, "precision", PRECISION_THRESHOLDS_PX, lambda c: c.precision_at_20,
              "Location error threshold (px)", "Precision", f"Precision plots of OPE on {benchmark}",
              out_dir / "precision.png"),
        _plot(overall, "norm_precision", NORM_PRECISION_THRESHOLDS, lambda c: c.norm_precision_at_02,
              "Normalised location error threshold", "Normalised precision",
              f"Normalised precision plots of OPE on {benchmark}", out_dir / "norm_precision.png"),
    ]


def plot_attributes(per_tracker: dict[str, dict[str, SequenceCurves]], attributes: dict[str, list[str]],
                    out_dir: Path, benchmark: str = "OTB") -> list[Path]:
    """One success plot per attribute, ``success_<ATTR>.png`` under ``out_dir`` (OTB codes: IV, SV, OCC
    ...), over the scored sequences that have it; ``attributes`` is ``{sequence: [attribute, ...]}``.
    Sequences without attributes are in no plot; no attribute at all, no plot."""
    names = _common_names(per_tracker)
    groups = sequences_by_attribute({seq: attrs for seq, attrs in attributes.items() if seq in names})
    out_dir = Path(out_dir)
    paths = []
    for attr, seqs in groups.items():
        curves = {name: mean_curves([per_seq[s] for s in seqs]) for name, per_seq in per_tracker.items() if per_seq}
        title = f"Success plots of OPE on {benchmark} - {OTB_ATTRIBUTES.get(attr, attr)} ({len(seqs)} seq.)"
        paths.append(_plot(curves, "success", SUCCESS_THRESHOLDS, lambda c: c.auc, "Overlap threshold",
                           "Success rate", title, out_dir / f"success_{attr}.png"))
    return paths


def _common_names(per_tracker: dict[str, dict[str, SequenceCurves]]) -> set[str]:
    """The sequences every tracker was scored on; ValueError when they differ (means would not compare)."""
    sets = {frozenset(seqs) for seqs in per_tracker.values() if seqs}
    if not sets:
        raise ValueError("no scored sequences to plot")
    if len(sets) > 1:
        raise ValueError("trackers scored on different sequences cannot share a plot; "
                         "restrict them with tracker.evaluation.scoring.common_sequences first")
    return set(next(iter(sets)))


_RATIO_TICKS = (1 / 16, 1 / 8, 0.25, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 4.0, 8.0, 16.0)


def drift_title(sequence: str, summaries: dict[str, float], band: tuple[float, float] = SIZE_BAND) -> str:
    """``Car4 - SiamFC: size ratio in [0.67, 1.5] on 95.6% of frames`` (one tracker), or the in-band
    fraction of each tracker (several)."""
    lo, hi = band
    if len(summaries) == 1:
        (name, frac), = summaries.items()
        return f"{sequence} - {name}: size ratio in [{lo:g}, {hi:g}] on {_percent(frac)} of frames"
    return f"{sequence} - size ratio in [{lo:g}, {hi:g}]: " + ", ".join(
        f"{name} {_percent(frac)}" for name, frac in summaries.items())


def _percent(frac: float) -> str:
    return "n/a" if not np.isfinite(frac) else f"{100 * frac:.1f}%"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(first, last), ...]`` 0-based index runs where ``mask`` holds."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def plot_drift(per_tracker: dict[str, FrameDrift], sequence: str, path: Path, band: tuple[float, float] = SIZE_BAND,
               colors: dict[str, str] | None = None) -> Path:
    """One sequence's size drift (top: predicted / ground-truth size ratio per frame, log scale, the
    ``band`` shaded, a line at 1, dots on the frames outside the band) and centre error in px (bottom,
    the 20 px precision threshold dotted), one line per tracker; frames without ground truth shaded
    grey. The title says each tracker's in-band fraction, the legend its in-band fraction and median
    ratio. ``colors``: a colour per tracker name, to keep each tracker's colour across the pictures of
    several sequences. All ``per_tracker`` entries are aligned to the sequence's frames."""
    if not per_tracker:
        raise ValueError(f"{sequence}: no tracker results to draw")
    lo, hi = band
    summaries = {name: d.summary(band) for name, d in per_tracker.items()}
    fig, (ax_r, ax_e) = plt.subplots(2, 1, figsize=(9, 6.6), sharex=True, layout="constrained",
                                     gridspec_kw={"height_ratios": [3, 2]})
    n = max(len(d) for d in per_tracker.values())
    frames = np.arange(1, n + 1)
    width = 1.4 if len(per_tracker) == 1 else 1.1
    band_patch = ax_r.axhspan(lo, hi, color="tab:green", alpha=0.12, lw=0, label=f"band [{lo:g}, {hi:g}]")
    ax_r.axhline(1.0, color="black", lw=0.9, ls="--", zorder=1.5)
    positive = []
    for i, (name, d) in enumerate(per_tracker.items()):
        color = (colors or {}).get(name, f"C{i}")
        s = summaries[name]
        label = f"{name}: in band {_percent(s.in_band)}, median {s.median_ratio:.2f}"
        ax_r.plot(frames[: len(d)], d.size_ratio, color=color, lw=width, label=label)
        outside = (d.size_ratio < lo) | (d.size_ratio > hi)  # dots, so that single frames show too
        ax_r.plot(frames[: len(d)][outside], d.size_ratio[outside], "o", color=color, ms=3)
        ax_e.plot(frames[: len(d)], d.centre_error_px, color=color, lw=width)
        positive.append(d.size_ratio[np.isfinite(d.size_ratio) & (d.size_ratio > 0)])
    invalid = ~next(iter(per_tracker.values())).valid
    for k, (a, b) in enumerate(_runs(invalid)):
        for ax in (ax_r, ax_e):
            ax.axvspan(a + 0.5, b + 1.5, color="0.5", alpha=0.18, lw=0,
                       label="no ground truth" if (k == 0 and ax is ax_r) else None)
    ratios = np.concatenate(positive) if positive else np.zeros(0)
    ymin = min(lo / 1.3, ratios.min() / 1.15) if ratios.size else lo / 1.3
    ymax = max(hi * 1.3, ratios.max() * 1.15) if ratios.size else hi * 1.3
    ax_r.set_yscale("log")
    ax_r.set_ylim(max(ymin, 1e-3), min(ymax, 1e3))
    ticks = [t for t in _RATIO_TICKS if ymin <= t <= ymax]
    ax_r.yaxis.set_major_locator(FixedLocator(ticks))
    ax_r.yaxis.set_minor_locator(NullLocator())
    ax_r.set_yticklabels([f"{t:g}" for t in ticks])
    ax_r.set_ylabel("size ratio pred / gt\n(sqrt of area ratio, log)")
    ax_r.grid(True, which="major", axis="y", alpha=0.3)
    ax_r.grid(True, axis="x", alpha=0.2)
    handles, labels = ax_r.get_legend_handles_labels()
    order = [i for i, h in enumerate(handles) if h is not band_patch] + [handles.index(band_patch)]
    # above the panel, not over the lines: a tracker's box that grows fills the top corners
    ax_r.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower left", fontsize=8.5, ncol=2,
                bbox_to_anchor=(0, 1.02, 1, 0.1), mode="expand", borderaxespad=0, frameon=False)
    ax_e.axhline(PRECISION_REPORT_PX, color="0.35", lw=0.9, ls=":")
    ax_e.annotate(f"{PRECISION_REPORT_PX:g} px", xy=(1, PRECISION_REPORT_PX), xycoords=("axes fraction", "data"),
                  xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom", fontsize=8, color="0.35")
    errors = np.concatenate([d.centre_error_px[np.isfinite(d.centre_error_px)] for d in per_tracker.values()])
    ax_e.set_ylim(0, max(PRECISION_REPORT_PX * 1.3, errors.max() * 1.08 if errors.size else 0))
    ax_e.set_ylabel("centre error (px)")
    ax_e.set_xlabel("frame")
    pad = max(0.5, 0.008 * n)  # frame 1 and the last frame off the axes' edges
    ax_e.set_xlim(1 - pad, n + pad)
    ax_e.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_e.grid(True, alpha=0.3)
    title = drift_title(sequence, {name: s.in_band for name, s in summaries.items()}, band)
    fig.suptitle(textwrap.fill(title, 110), fontsize=10.5)
    return _save(fig, path, title)
