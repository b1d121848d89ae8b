"""VOT2017/2018 as a benchmark: the supervised (reset-based) experiment of :mod:`.vot_protocol`, scored
by EAO, accuracy and failures (:mod:`.vot_metrics`); results in the vot-toolkit layout
``<out>/<tracker>/baseline/<seq>/<seq>_001.txt`` and ``vot_scores.json``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .base import NO_SEQUENCE_TRACKED, Benchmark, EvalProgress, EvalReport, EvalRequest
from .registry import register_benchmark

if TYPE_CHECKING:  # the run imports its protocol when it runs: the registry stays light for --help
    from siamcore.datasets import Sequence

    from ..online import OnlineTracker


class VOTBenchmark(Benchmark):
    name = "vot"
    aliases = ("vot2017", "vot2018")
    summary = ("VOT2017/2018 supervised experiment with re-starts: EAO, accuracy, failures; "
               "<out>/<tracker>/baseline/<seq>/<seq>_001.txt, vot_scores.json")

    def load(self, root: Path, names: list[str] | None) -> list[Sequence]:
        from .vot_protocol import load_vot_benchmark

        return load_vot_benchmark(root, names)

    def run(self, tracker: OnlineTracker, sequences: list[Sequence], request: EvalRequest,
            progress: EvalProgress) -> EvalReport:
        from .tables import note, vot_tables
        from .vot_protocol import run_vot

        name = request.tracker_name or tracker.name
        progress.start(f"{name} VOT supervised", None)
        vot = run_vot(tracker, sequences, request.root, request.out, name, on_frame=progress.frame,
                      on_sequence=lambda seq_name, run: progress.sequence(
                          f"  {seq_name}: {len(run.kinds)} frames, {run.failures} failures"))
        report = EvalReport(vot.tracker_dir, skipped=dict(vot.skipped))
        if not vot.per_sequence:
            report.failed = NO_SEQUENCE_TRACKED
            return report
        report.scores = vot.scores()
        report.tables = [*vot_tables(vot, name), note(
            f"results -> {vot.tracker_dir / 'baseline'}, scores -> {vot.tracker_dir / 'vot_scores.json'}")]
        if vot.skipped:
            report.failed = f"{len(vot.skipped)} sequence(s) could not be tracked: {', '.join(vot.skipped)}"
        return report


VOT = register_benchmark(VOTBenchmark())
