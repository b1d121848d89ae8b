"""Success and precision plots (OTB style, like the seed's figure 17): one curve per tracker,
the AUC (success) or the value at 20 px (precision) in the legend, best first. PNG via Agg."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from siamcore.atomic import atomic_path  # noqa: E402

from .metrics import (  # noqa: E402
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS_PX,
    SUCCESS_THRESHOLDS,
    SequenceCurves,
    mean_curves,
)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)  # the temp name has no .png suffix to infer it from
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
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left" if attr == "success" else "lower right", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_all(per_tracker: dict[str, dict[str, SequenceCurves]], out_dir: Path, benchmark: str = "OTB") -> list[Path]:
    """Write ``success.png``, ``precision.png`` and ``norm_precision.png`` under ``out_dir``."""
    overall = {name: mean_curves(list(seqs.values())) for name, seqs in per_tracker.items() if seqs}
    n_seq = max((len(s) for s in per_tracker.values()), default=0)
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
