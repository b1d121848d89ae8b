"""Success and precision plots (OTB style, like the seed's figure 17): one curve per tracker,
the AUC (success) or the value at 20 px (precision) in the legend, best first; success plots per
sequence attribute (OTB's occlusion, scale variation ...) as the OTB toolkit draws them. PNG via Agg.

Every tracker in one plot must average over the same sequences (the title gives their number):
restrict result folders with :func:`tracker.evaluate.common_sequences` first."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from siamcore.atomic import atomic_path  # noqa: E402

from .metrics import (  # noqa: E402
    NORM_PRECISION_THRESHOLDS,
    OTB_ATTRIBUTES,
    PRECISION_THRESHOLDS_PX,
    SUCCESS_THRESHOLDS,
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
                         "restrict them with tracker.evaluate.common_sequences first")
    return set(next(iter(sets)))
