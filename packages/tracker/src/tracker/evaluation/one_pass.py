"""OTB-style one-pass evaluation (OPE) as a benchmark: OTB, UAV123, TLP and DAVIS here; LaSOT
(:mod:`.lasot`) and TrackingNet (:mod:`.trackingnet`) are the same run with their own scoring.

The tracker starts from frame 1's ground truth; results go to ``<out>/<tracker>/<seq>.txt`` (OTB
format, :mod:`.ope`), scores to ``<out>/scores.json`` (one key per tracker, merged with what is there)
with the success and precision plots beside it; ``--drift`` also draws the size drift of some of the
sequences (:mod:`.drift`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .base import NO_SEQUENCE_TRACKED, Benchmark, EvalProgress, EvalReport, EvalRequest, EvalUsageError
from .registry import register_benchmark

if TYPE_CHECKING:  # the runs import their protocol when they run: the registry stays light for --help
    from siamcore.datasets import Sequence

    from ..online import OnlineTracker
    from .ope import OPEReport


class OnePassBenchmark(Benchmark):
    """A benchmark run one-pass on the sequences :func:`siamcore.datasets.load_sequences` reads from
    ``layout``; ``invalid_gt``: its rule for ground-truth rows without a box, used when the request
    keeps the OTB toolkit's default."""

    one_pass = True

    def __init__(self, name: str, summary: str, layout: str | None = None, aliases: tuple[str, ...] = (),
                 invalid_gt: str = "otb"):
        self.name, self.summary, self.layout, self.aliases = name, summary, layout or name, aliases
        self.invalid_gt = invalid_gt

    def load(self, root: Path, names: list[str] | None) -> list[Sequence]:
        from siamcore.datasets import load_sequences

        return load_sequences(self.layout, root, names)

    def check(self, request: EvalRequest, sequences: list[Sequence]) -> None:
        self.drift_sequences(request, sequences)

    def drift_sequences(self, request: EvalRequest, sequences: list[Sequence]) -> list[Sequence]:
        """``--drift``'s sequences among those evaluated; an unknown name is refused before any work."""
        if not request.drift:
            return []
        from .drift import pick_sequences

        try:
            return pick_sequences(sequences, request.drift)
        except ValueError as e:
            raise EvalUsageError(f"--drift: {e}") from None

    def run(self, tracker: OnlineTracker, sequences: list[Sequence], request: EvalRequest,
            progress: EvalProgress) -> EvalReport:
        from .ope import run_ope

        name = request.tracker_name or tracker.name
        frames = {s.name: len(s) for s in sequences}
        progress.start(f"{name} OPE", sum(frames.values()))

        def on_sequence(seq_name, seq_run) -> None:
            if seq_run is None:
                progress.sequence(f"  {seq_name}: kept existing results", frames=frames[seq_name])
            else:
                progress.sequence(f"  {seq_name}: {len(seq_run.boxes_xywh)} frames, {seq_run.track_fps:.1f} fps")

        ope = run_ope(tracker, sequences, request.out, name, resume=request.resume, on_frame=progress.frame,
                      on_sequence=on_sequence)
        return self.score(ope, sequences, request, name)

    def score(self, ope: OPEReport, sequences: list[Sequence], request: EvalRequest, name: str) -> EvalReport:
        """Score the results just written, merge them into ``<out>/scores.json``, draw the plots (and the
        drift); the report fails when any sequence could not be tracked."""
        from .drift import drift_outputs, folder_drift
        from .plots import plot_all  # matplotlib: only once there is something to draw
        from .scoring import score_folder, write_scores_json
        from .tables import note, ope_tables

        report = EvalReport(ope.tracker_dir, skipped=dict(ope.skipped))
        invalid_gt = self.invalid_gt if request.invalid_gt in (None, "otb") else request.invalid_gt
        fs = score_folder(ope.tracker_dir, sequences, invalid_gt, name=name)
        if not fs.curves:
            report.failed = NO_SEQUENCE_TRACKED
            return report
        scores_path = Path(request.out) / "scores.json"
        scores = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
        scores[name] = report.scores = fs.scores()
        write_scores_json(scores_path, scores)
        plots = plot_all({name: fs.curves}, request.out)
        report.tables = ope_tables([fs], request.per_sequence)
        report.tables.append(note(f"results -> {ope.tracker_dir}, scores -> {scores_path}, plots -> "
                                  f"{', '.join(p.name for p in plots)}"))
        if tracked := [s for s in self.drift_sequences(request, sequences) if s.name not in ope.skipped]:
            drift_dir = ope.tracker_dir / "drift"
            report.tables += drift_outputs([folder_drift(ope.tracker_dir, tracked, name=name)], {name: drift_dir},
                                           drift_dir)
        if ope.skipped:  # the others are written and scored; a script must still see the failure
            report.failed = (f"{len(ope.skipped)} sequence(s) could not be tracked ({', '.join(ope.skipped)}: see "
                             f"above); the results of the other {len(fs.curves)} are written and scored")
        return report


OTB = register_benchmark(OnePassBenchmark(
    "otb", "OTB-2013/2015, one-pass: success AUC, precision, normalised precision",
    aliases=("otb2015", "otb100", "otb2013")))
UAV123 = register_benchmark(OnePassBenchmark("uav123", "UAV123, one-pass; sub-sequences as frame ranges"))
TLP = register_benchmark(OnePassBenchmark("tlp", "TLP or TinyTLP, one-pass"))
DAVIS = register_benchmark(OnePassBenchmark("davis", "DAVIS, one-pass; the box is the mask's extent"))
