"""Every table the ``tracker`` command prints, built in one place (rich tables and plain lines).

The benchmarks and commands hand these renderables to the console in order; nothing here prints.
Tracker, sequence and parameter names come from folder and file names, so they are escaped: rich
would take ``[x]`` in a name for markup. Lines are ``Text`` objects, which rich never reads markup in.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .metrics import SIZE_BAND


def note(text: str, style: str | None = None) -> Text:
    """A plain line (``yellow``: a warning)."""
    return Text(text, style=style or "")


def _columns(table: Table, names, left=("tracker",)) -> Table:
    for col in names:
        table.add_column(col, justify="left" if col in left else "right")
    return table


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"  # NaN: no frame to measure


def ope_tables(folder_scores, per_sequence: bool) -> list:
    """OPE scores of :class:`~tracker.evaluation.scoring.FolderScore` s, best AUC first; optionally one
    table per tracker by sequence; then the sequences without results and the scoring warnings."""
    table = _columns(Table(title="OPE scores"), ("tracker", "AUC", "P@20px", "norm P@0.2", "sequences", "frames"))
    for fs in sorted(folder_scores, key=lambda f: -f.scores()["auc"] if f.curves else 1):
        if not fs.curves:
            continue
        s = fs.scores()
        frames = sum(v["frames"] for v in s["sequences"].values())
        table.add_row(escape(fs.name), f"{s['auc']:.3f}", f"{s['precision']:.3f}", f"{s['norm_precision']:.3f}",
                      str(len(s["sequences"])), str(frames))
    out: list = [table]
    if per_sequence:
        for fs in folder_scores:
            t = _columns(Table(title=f"{escape(fs.name)}: per sequence"),
                         ("sequence", "AUC", "P@20px", "norm P@0.2", "frames"), left=("sequence",))
            for name, c in fs.curves.items():
                t.add_row(escape(name), f"{c.auc:.3f}", f"{c.precision_at_20:.3f}", f"{c.norm_precision_at_02:.3f}",
                          str(c.frames))
            out.append(t)
    for fs in folder_scores:
        if fs.missing:
            out.append(note(f"{fs.name}: no results for {len(fs.missing)} sequence(s): {', '.join(fs.missing)}",
                            "yellow"))
        out += [note(f"{fs.name}: {w}", "yellow") for w in fs.warnings]
    return out


def drift_tables(trackers) -> list:
    """Size drift (:mod:`tracker.evaluation.drift`) per tracker and sequence, then what is missing."""
    lo, hi = SIZE_BAND
    table = _columns(Table(title=f"Size drift: size ratio pred/gt (sqrt of the area ratio) in [{lo:g}, {hi:g}]"),
                     ("tracker", "sequence", "in band", "below", "above", "median ratio", "geo-mean ratio", "frames"),
                     left=("tracker", "sequence"))
    for t in trackers:
        for seq_name, d in t.per_sequence.items():
            s = d.summary()
            table.add_row(escape(t.name), escape(seq_name), *(_fmt(v) for v in (
                s.in_band, s.below, s.above, s.median_ratio, s.geomean_ratio)), str(s.frames))
    out: list = [table]
    for t in trackers:
        if t.missing:
            out.append(note(f"{t.name}: no results for {len(t.missing)} sequence(s): {', '.join(t.missing)}",
                            "yellow"))
        out += [note(f"{t.name}: {w}", "yellow") for w in t.warnings]
    return out


def vot_tables(report, tracker_name: str) -> list:
    """The VOT benchmark's EAO / accuracy / robustness and the per-sequence failures."""
    p, (low, high) = report.pooled, report.eao_interval
    summary = _columns(
        Table(title=f"VOT supervised: EAO over lengths {low}-{high} (curve reaches {report.curve_length - 1})"),
        ("tracker", "EAO", "accuracy", "failures", "failure rate /100 fr", "sequences", "frames"))
    summary.add_row(escape(tracker_name), f"{report.eao:.3f}", f"{p['accuracy']:.3f}", str(p["failures"]),
                    f"{p['failure_rate']:.2f}", str(len(report.per_sequence)), str(p["frames"]))
    per_seq = _columns(Table(title="per sequence"), ("sequence", "accuracy", "failures", "failure frames", "frames"),
                       left=("sequence", "failure frames"))
    for name, s in report.per_sequence.items():
        per_seq.add_row(escape(name), f"{s.accuracy:.3f}", str(s.failures),
                        ", ".join(map(str, report.failure_frames[name])) or "-", str(s.frames))
    return [summary, per_seq]


def got10k_table(report, tracker_name: str, split: str) -> Table:
    """GOT-10k's AO and success rates, frames pooled as its toolkit does."""
    table = _columns(Table(title=f"GOT-10k {split} (toolkit protocol: frames pooled)"),
                     ("tracker", "AO", "SR@0.5", "SR@0.75", "sequences", "frames"))
    s = report.overall
    table.add_row(escape(tracker_name), f"{s.ao:.3f}", f"{s.sr50:.3f}", f"{s.sr75:.3f}",
                  str(len(report.per_sequence)), str(s.frames))
    return table


def tune_table(results, keys, sequences) -> Table:
    """``tracker tune``'s parameter sets, best first, with the AUC per sequence."""
    table = Table(title=f"OPE success AUC on {len(sequences)} sequence(s), best first")
    for col in (*keys, "AUC", *(s.name for s in sequences)):
        table.add_column(escape(col), justify="right")
    for r in results:
        table.add_row(*(escape(str(r.changed[k])) for k in keys), f"{r.auc:.3f}",
                      *(f"{r.per_sequence[s.name]:.3f}" for s in sequences))
    return table
