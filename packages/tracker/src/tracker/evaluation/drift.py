"""Size and centre drift of tracking results, per frame: what ``tracker drift`` and ``tracker eval --drift``
write.

For each tracker (a result folder of ``<seq>.txt`` files, OTB format) and each chosen sequence: the
per-frame size ratio, centre error and IoU of :func:`tracker.evaluation.metrics.frame_drift` as a CSV file, one
picture per sequence with every tracker in it (:func:`tracker.evaluation.plots.plot_drift`), and the summaries
(in-band fraction, median and geometric-mean ratio) as JSON. The numbers are pure functions of the
boxes (:mod:`tracker.evaluation.metrics`); this module reads the result files and writes the outputs, atomically
(:mod:`siamcore.atomic`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from siamcore.atomic import write_bytes_atomic
from siamcore.datasets import Sequence, normalise_name

from .metrics import SIZE_BAND, FrameDrift, frame_drift
from .scoring import aligned_results
from .tables import drift_tables, note

CSV_COLUMNS = ("frame", "pred_w", "pred_h", "gt_w", "gt_h", "size_ratio", "centre_error_px", "iou")


@dataclass
class TrackerDrift:
    """One tracker's per-frame drift on the sequences it has results for; ``missing``: chosen
    sequences without a (readable) result file; ``warnings``: short or long files, unreadable ones."""

    name: str
    per_sequence: dict[str, FrameDrift] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def folder_drift(folder: Path, sequences: list[Sequence], name: str | None = None) -> TrackerDrift:
    """The drift of the result files in ``folder`` against ``sequences``' ground truth. Result files
    are found and aligned as for scoring (:func:`tracker.evaluation.scoring.aligned_results`: any toolkit's
    spelling of the name; missing rows are frames without a predicted box)."""
    folder = Path(folder)
    out = TrackerDrift(name or folder.name)
    for seq in sequences:
        boxes, warnings = aligned_results(folder, seq)
        out.warnings.extend(warnings)
        if boxes is None or seq.gt_xywh is None:
            out.missing.append(seq.name)
            continue
        out.per_sequence[seq.name] = frame_drift(boxes, seq.gt_xywh)
    return out


def pick_sequences(sequences: list[Sequence], names: list[str]) -> list[Sequence]:
    """The sequences named by ``names`` (``all``: every one), matched as ``--sequences`` matches them:
    by name or alias in any case and spelling (``jogging_1``), else a video folder name for all its
    targets (``Jogging``). ValueError naming the unknown ones and what there is."""
    names = [n.strip() for n in names if n.strip()]
    if any(n.lower() == "all" for n in names):
        return list(sequences)
    picked, unknown = [], []
    for n in names:
        key = normalise_name(n)
        hits = [s for s in sequences if key in s.match_keys()] or [
            s for s in sequences if normalise_name(s.name.rsplit(".", 1)[0]) == key and "." in s.name]
        if hits:
            picked.extend(hits)
        else:
            unknown.append(n)
    if unknown:
        raise ValueError(f"not among the sequences here: {', '.join(unknown)}; "
                         f"there are: {', '.join(s.name for s in sequences) or 'none'}")
    return list({id(s): s for s in picked}.values())


def csv_text(drift: FrameDrift) -> str:
    """``frame,pred_w,pred_h,gt_w,gt_h,size_ratio,centre_error_px,iou`` per frame (1-based frame
    numbers, 4 decimals, ``nan`` where undefined: see :class:`tracker.evaluation.metrics.FrameDrift`)."""
    rows = [",".join(CSV_COLUMNS)]
    for i in range(len(drift)):
        values = (*drift.pred_xywh[i, 2:], *drift.gt_xywh[i, 2:], drift.size_ratio[i], drift.centre_error_px[i],
                  drift.iou[i])
        rows.append(",".join([str(i + 1), *(f"{float(v):.4f}" for v in values)]))
    return "\n".join(rows) + "\n"


def write_drift_csv(path: Path, drift: FrameDrift) -> Path:
    write_bytes_atomic(path, csv_text(drift).encode())
    return Path(path)


def write_drift(trackers: list[TrackerDrift], csv_dirs: dict[str, Path], png_dir: Path,
                band: tuple[float, float] = SIZE_BAND) -> list[Path]:
    """For every tracker ``csv_dirs[name]/<seq>.csv``; for every sequence any tracker has,
    ``png_dir/<seq>.png`` with all of them in it (each tracker keeps its colour across sequences).
    Returns the pictures' paths, in sequence order."""
    from .plots import plot_drift  # matplotlib: only when drawing

    for t in trackers:
        for seq_name, drift in t.per_sequence.items():
            write_drift_csv(Path(csv_dirs[t.name]) / f"{seq_name}.csv", drift)
    colors = {t.name: f"C{i % 10}" for i, t in enumerate(trackers)}
    seq_names = list(dict.fromkeys(s for t in trackers for s in t.per_sequence))
    return [plot_drift({t.name: t.per_sequence[s] for t in trackers if s in t.per_sequence}, s,
                       Path(png_dir) / f"{s}.png", band, colors) for s in seq_names]


def drift_json(trackers: list[TrackerDrift], band: tuple[float, float] = SIZE_BAND) -> dict:
    """``{tracker: {sequence: {frames, measured, in_band, below, above, median_ratio, geomean_ratio,
    band}}}`` (None where a number is undefined)."""
    return {t.name: {s: d.summary(band).to_dict() for s, d in t.per_sequence.items()} for t in trackers}


def write_drift_json(path: Path, trackers: list[TrackerDrift], band: tuple[float, float] = SIZE_BAND) -> None:
    text = json.dumps(drift_json(trackers, band), indent=2, allow_nan=False) + "\n"
    write_bytes_atomic(path, text.encode())


def drift_outputs(trackers: list[TrackerDrift], csv_dirs: dict[str, Path], png_dir: Path,
                  json_path: Path | None = None) -> list:
    """Write the CSVs and pictures (and the JSON) of ``trackers``; return what to show: the drift table,
    what is missing, and where everything went."""
    pictures = write_drift(trackers, csv_dirs, png_dir)
    if json_path is not None:
        write_drift_json(json_path, trackers)
    csv_where = ", ".join(str(d) for d in dict.fromkeys(map(str, csv_dirs.values())))
    return [*drift_tables(trackers), note(f"drift: {len(pictures)} picture(s) -> {png_dir}, per-frame CSV -> "
                                          f"{csv_where}" + (f", numbers -> {json_path}" if json_path else ""))]


def folder_label(name: str) -> str:
    """A tracker name usable as one folder name (``runs/siamfc`` -> ``runs-siamfc``)."""
    label = name.replace("/", "-").replace("\\", "-").strip()
    return label if label not in ("", ".", "..") else f"tracker{label}"
